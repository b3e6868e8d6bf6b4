/**
 * Benchmark of the decision policies on a simulated noisy objective with known true values: the
 * greedy single-run policy (strictPolicy on one measurement each) against the noise-aware policy
 * (baseline measured 3 times, candidates up to 3 runs, incumbent re-measured when asked).
 *
 * Model (minimize, e.g. a validation loss): baseline true value 1.0, each measurement = true value
 * + N(0, SIGMA), SIGMA = 0.01. Each candidate's true effect relative to the current incumbent:
 * 35% exactly neutral, 25% worse by |N(0, SIGMA)|, 40% better by |N(0, SIGMA)| (so most proposals
 * are no help, and the real gains are the size of the noise: median 0.67 sigma). 200 candidates x
 * 200 seeds (~1 s); a third column runs the noise-aware policy with maxRepeats = 10, because 3 runs
 * only resolve improvements of about 2 sigma and leave most of these real gains undetected.
 * `npm run bench` runs the drifting-machine benchmark instead (src/bench/policy-drift.ts), whose
 * iid model is this one with the paired policy added; this file keeps the maxRepeats=10 column.
 * Run with `npx tsx src/bench/policy.ts` or `node dist/bench/policy.js`.
 */
import { pathToFileURL } from 'node:url';
import { createRng, hashSeed, type Rng } from '../tune/random.js';
import { noiseAwarePolicy, type NoiseOptions } from '../policy/noise.js';
import { strictPolicy, type Policy } from '../policy/policy.js';
import { median, pooledNoise } from '../policy/stats.js';

const SIGMA = 0.01;
const BASELINE = 1.0;
/** A "real" improvement for the missed count: at least this many sigma. */
const REAL = 0.5;

/** True effect of one candidate on the metric (negative = better, since we minimize). */
export function drawEffect(rng: Rng, sigma = SIGMA): number {
  const u = rng.next();
  if (u < 0.35) return 0;
  const size = Math.abs(rng.normal()) * sigma;
  return u < 0.6 ? size : -size;
}

interface SimResult {
  keeps: number;
  falseKeeps: number;
  /** Candidates whose true value is not better than the incumbent's (the ones a keep would be false on). */
  nonImproving: number;
  /** Discarded candidates whose true improvement exceeded REAL sigma. */
  missed: number;
  runs: number;
  /** Baseline true value minus final incumbent true value (positive = really improved). */
  trueGain: number;
}

/** Greedy: the incumbent's value is its one measurement; keep any candidate measured lower. */
function simulateGreedy(effects: number[], noiseRng: Rng, sigma = SIGMA): SimResult {
  const measure = (v: number) => v + sigma * noiseRng.normal();
  let incTrue = BASELINE;
  let incValues = [measure(incTrue)];
  const r: SimResult = {
    keeps: 0,
    falseKeeps: 0,
    nonImproving: 0,
    missed: 0,
    runs: 1,
    trueGain: 0,
  };
  for (const effect of effects) {
    const candTrue = incTrue + effect;
    const values = [measure(candTrue)];
    r.runs++;
    const kept =
      strictPolicy.decide({
        goal: 'minimize',
        candidate: { values },
        incumbent: { values: incValues },
      }).status === 'keep';
    tally(r, kept, effect, sigma);
    if (kept) {
      incTrue = candTrue;
      incValues = values;
    }
  }
  r.trueGain = BASELINE - incTrue;
  return r;
}

function tally(r: SimResult, kept: boolean, effect: number, sigma: number): void {
  if (effect >= 0) r.nonImproving++;
  if (kept) {
    r.keeps++;
    if (effect >= 0) r.falseKeeps++;
  } else if (-effect > REAL * sigma) r.missed++;
}

/**
 * Judges one candidate to the end the way the loop would: measure, decide, and on 'rerun' measure
 * the candidate again (and the incumbent when asked). `groups` holds every measured group of the
 * run (the incumbent's array included), so the policy sees the run's pooled noise; it grows.
 */
export function judgeCandidate(
  policy: Policy,
  candTrue: number,
  incTrue: number,
  incValues: number[],
  groups: number[][],
  measure: (v: number) => number,
): { kept: boolean; values: number[]; runs: number } {
  const values = [measure(candTrue)];
  groups.push(values);
  let runs = 1;
  for (;;) {
    const noise = pooledNoise(groups) ?? undefined;
    const d = policy.decide({
      goal: 'minimize',
      candidate: { values },
      incumbent: { values: incValues },
      noise,
    });
    if (d.status !== 'rerun') return { kept: d.status === 'keep', values, runs };
    values.push(measure(candTrue));
    runs++;
    if (d.remeasureIncumbent) {
      incValues.push(measure(incTrue));
      runs++;
    }
  }
}

function simulateNoiseAware(
  effects: number[],
  noiseRng: Rng,
  options: NoiseOptions = {},
  sigma = SIGMA,
): SimResult {
  const policy = noiseAwarePolicy(options);
  const measure = (v: number) => v + sigma * noiseRng.normal();
  let incTrue = BASELINE;
  let incValues = [measure(incTrue), measure(incTrue), measure(incTrue)];
  const groups: number[][] = [incValues];
  const r: SimResult = {
    keeps: 0,
    falseKeeps: 0,
    nonImproving: 0,
    missed: 0,
    runs: 3,
    trueGain: 0,
  };
  for (const effect of effects) {
    const candTrue = incTrue + effect;
    const j = judgeCandidate(policy, candTrue, incTrue, incValues, groups, measure);
    r.runs += j.runs;
    tally(r, j.kept, effect, sigma);
    if (j.kept) {
      incTrue = candTrue;
      incValues = j.values;
    }
  }
  r.trueGain = BASELINE - incTrue;
  return r;
}

export interface BenchPolicyOptions {
  seeds?: number;
  candidates?: number;
  noise?: NoiseOptions;
}

interface Row {
  keeps: number;
  falseKeeps: number;
  falsePct: number;
  pooledFalsePct: number;
  /** All seeds: false keeps / candidates that were not better (the per-candidate error rate). */
  falsePerCandidatePct: number;
  missed: number;
  runs: number;
  gainSigma: number;
}

function summarize(results: SimResult[], sigma: number): Row {
  const keeps = results.reduce((s, r) => s + r.keeps, 0);
  const falseKeeps = results.reduce((s, r) => s + r.falseKeeps, 0);
  return {
    keeps: median(results.map((r) => r.keeps)),
    falseKeeps: median(results.map((r) => r.falseKeeps)),
    falsePct: median(results.map((r) => (r.keeps ? (100 * r.falseKeeps) / r.keeps : 0))),
    pooledFalsePct: keeps ? (100 * falseKeeps) / keeps : 0,
    falsePerCandidatePct:
      (100 * falseKeeps) /
      Math.max(
        1,
        results.reduce((s, r) => s + r.nonImproving, 0),
      ),
    missed: median(results.map((r) => r.missed)),
    runs: median(results.map((r) => r.runs)),
    gainSigma: median(results.map((r) => r.trueGain / sigma)),
  };
}

/** Per seed: greedy, then the noise-aware policy with each of `variants` (same candidates, own noise). */
export function comparePolicies(
  opts: BenchPolicyOptions = {},
  variants: NoiseOptions[] = [opts.noise ?? {}],
): { greedy: Row; noise: Row[] } {
  const seeds = opts.seeds ?? 200;
  const n = opts.candidates ?? 200;
  const greedy: SimResult[] = [];
  const noise: SimResult[][] = variants.map(() => []);
  for (let s = 1; s <= seeds; s++) {
    // One candidate sequence per seed, shared by every policy; separate measurement noise streams.
    const effectRng = createRng(hashSeed(s, 1));
    const effects = Array.from({ length: n }, () => drawEffect(effectRng));
    greedy.push(simulateGreedy(effects, createRng(hashSeed(s, 2))));
    variants.forEach((v, k) =>
      noise[k]!.push(simulateNoiseAware(effects, createRng(hashSeed(s, 3)), v)),
    );
  }
  return { greedy: summarize(greedy, SIGMA), noise: noise.map((r) => summarize(r, SIGMA)) };
}

export async function benchPolicy(opts: BenchPolicyOptions = {}): Promise<string> {
  const seeds = opts.seeds ?? 200;
  const n = opts.candidates ?? 200;
  // The defaults, and more repeats: with gains the size of the noise, 3 runs only resolve ~2 sigma.
  const variants: Array<[string, NoiseOptions]> = [
    ['noise-aware', opts.noise ?? {}],
    ['maxRepeats=10', { ...opts.noise, maxRepeats: 10 }],
  ];
  const { greedy, noise } = comparePolicies(
    opts,
    variants.map((v) => v[1]),
  );
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? '1' : 'inf') : (a / b).toFixed(2));
  const fields: Array<[string, (r: Row) => number, number]> = [
    ['keeps', (r) => r.keeps, 1],
    ['false keeps', (r) => r.falseKeeps, 1],
    ['false keeps, % of keeps', (r) => r.falsePct, 1],
    ['  (all seeds pooled)', (r) => r.pooledFalsePct, 1],
    ['false keeps, % of non-improving (pooled)', (r) => r.falsePerCandidatePct, 2],
    [`missed real (> ${REAL} sigma)`, (r) => r.missed, 1],
    ['experiment runs', (r) => r.runs, 0],
    ['final true gain (sigma)', (r) => r.gainSigma, 2],
  ];
  const header = ['', 'greedy', ...variants.flatMap(([name]) => [name, 'vs greedy'])];
  const rows = fields.map(([label, get, d]) => [
    label,
    get(greedy).toFixed(d),
    ...noise.flatMap((r) => [get(r).toFixed(d), ratio(get(r), get(greedy))]),
  ]);
  const lines = [header, ...rows];
  const w = header.map((_, k) => Math.max(...lines.map((l) => l[k]!.length)));
  const table = lines
    .map((l) => l.map((c, k) => (k === 0 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  '))
    .join('\n');
  return [
    `${n} candidates x ${seeds} seeds, medians over seeds (pooled: all seeds' false keeps / all keeps); minimize, noise sigma = ${SIGMA}`,
    'true effects vs incumbent: 35% neutral, 25% worse by |N(0, sigma)|, 40% better by |N(0, sigma)|',
    'greedy: strict on one run each, baseline once; noise-aware: confidence 0.95, baseline 3 runs, candidates up to maxRepeats (default 3)',
    table,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write((await benchPolicy()) + '\n');
}
