/**
 * The policy benchmark on a machine that drifts: greedy (one run each), the loop's former
 * noise-aware policy (Welch on the run's pooled noise, incumbent runs from any time) and the paired
 * policy the loop uses (candidate and incumbent measured alternately, paired differences), on the same
 * candidates, each on its own copy of the same simulated machine (src/bench/machine.ts).
 *
 * Candidates as in the iid benchmark (src/bench/policy.ts): true effect vs the incumbent 35%
 * neutral, 25% worse by |N(0, sigma)|, 40% better by |N(0, sigma)|. A false keep is a kept
 * candidate whose true effect is not an improvement; the true gain is what the final incumbent
 * really improved on the baseline, in sigma. Runs counts every measurement, baseline included.
 * Run with `npx tsx src/bench/policy-drift.ts` or `node dist/bench/policy-drift.js`.
 */
import { pathToFileURL } from 'node:url';
import { createRng, hashSeed } from '../tune/random.js';
import { noiseAwarePolicy, type NoiseOptions } from '../policy/noise.js';
import { pairedPolicy, type PairedOptions } from '../policy/paired.js';
import type { Run } from '../policy/policy.js';
import { pooledNoise } from '../policy/stats.js';
import { drawEffect } from './policy.js';
import { judgePaired } from './judge.js';
import {
  BASELINE,
  createWorld,
  MODEL_NOTES,
  MODELS,
  SIGMA,
  type Model,
  type World,
} from './machine.js';

interface Outcome {
  keeps: number;
  falseKeeps: number;
  nonImproving: number;
  runs: number;
  /** Baseline true value minus the final incumbent's, in sigma (positive = really improved). */
  gain: number;
}

const outcome = (): Outcome => ({ keeps: 0, falseKeeps: 0, nonImproving: 0, runs: 0, gain: 0 });

function tally(r: Outcome, kept: boolean, effect: number): void {
  if (effect >= 0) r.nonImproving++;
  if (kept) {
    r.keeps++;
    if (effect >= 0) r.falseKeeps++;
  }
}

/** Greedy: baseline once, each candidate once, kept when it measures lower than the incumbent's one run. */
function simulateGreedy(effects: number[], world: World): Outcome {
  const r = outcome();
  let incTrue = BASELINE;
  let incValue = world.measure(incTrue);
  effects.forEach((effect, k) => {
    world.onCandidate(k, effects.length);
    const value = world.measure(incTrue + effect);
    const kept = value < incValue;
    tally(r, kept, effect);
    if (kept) [incTrue, incValue] = [incTrue + effect, value];
  });
  return { ...r, runs: world.runs, gain: (BASELINE - incTrue) / SIGMA };
}

/**
 * Today's noise-aware policy as the loop drives it: baseline 3 runs, the candidate re-run while
 * promising, the incumbent re-measured when asked; the incumbent's runs from any time count, and
 * runsSince (in experiments) lets `staleIncumbentRuns` force a re-measure before a keep.
 */
function simulateNoiseAware(effects: number[], world: World, options: NoiseOptions = {}): Outcome {
  const policy = noiseAwarePolicy({ staleIncumbentRuns: 25, ...options });
  const r = outcome();
  let incTrue = BASELINE;
  let incValues = [0, 1, 2].map(() => world.measure(incTrue));
  let incMeasuredAt = 0;
  const groups: number[][] = [incValues];
  effects.forEach((effect, k) => {
    world.onCandidate(k, effects.length);
    const candTrue = incTrue + effect;
    const values = [world.measure(candTrue)];
    groups.push(values);
    for (;;) {
      const d = policy.decide({
        goal: 'minimize',
        candidate: { values },
        incumbent: { values: incValues, runsSince: k - incMeasuredAt },
        noise: pooledNoise(groups) ?? undefined,
      });
      if (d.status !== 'rerun') {
        tally(r, d.status === 'keep', effect);
        if (d.status === 'keep') [incTrue, incValues, incMeasuredAt] = [candTrue, values, k];
        return;
      }
      if (d.remeasureIncumbent) {
        incValues.push(world.measure(incTrue));
        incMeasuredAt = k;
      }
      values.push(world.measure(candTrue));
    }
  });
  return { ...r, runs: world.runs, gain: (BASELINE - incTrue) / SIGMA };
}

/**
 * The paired policy as the loop should drive it (bench/judge.ts). The incumbent's newest runs
 * serve the screen.
 */
function simulatePaired(effects: number[], world: World, options: PairedOptions = {}): Outcome {
  const policy = pairedPolicy(options);
  const r = outcome();
  let incTrue = BASELINE;
  let incValues = [0, 1, 2].map(() => world.measure(incTrue));
  let incMeasuredAt = 0;
  const history: Run[][] = [];
  // The run's noise (as the loop passes it) only matters until a judgement has two pairs: the baseline's.
  const noise = pooledNoise([incValues]) ?? undefined;
  effects.forEach((effect, k) => {
    world.onCandidate(k, effects.length);
    const candTrue = incTrue + effect;
    const j = judgePaired(
      policy,
      (arm) => world.measure(arm === 'candidate' ? candTrue : incTrue),
      { values: incValues, runsSince: k - incMeasuredAt },
      history,
      noise,
    );
    tally(r, j.status === 'keep', effect);
    if (j.remeasured.length > 0) [incValues, incMeasuredAt] = [[...incValues, ...j.remeasured], k];
    if (j.status === 'keep') [incTrue, incValues, incMeasuredAt] = [candTrue, j.candidate, k];
  });
  return { ...r, runs: world.runs, gain: (BASELINE - incTrue) / SIGMA };
}

export interface Row {
  /** All seeds pooled: false keeps / candidates that were not better, in %. */
  falsePct: number;
  /** Means over seeds: the gain per seed varies widely, and a mean settles faster than a median. */
  keeps: number;
  gain: number;
  runs: number;
}

function summarize(rs: Outcome[]): Row {
  const sum = (f: (r: Outcome) => number) => rs.reduce((s, r) => s + f(r), 0);
  return {
    falsePct:
      (100 * sum((r) => r.falseKeeps)) /
      Math.max(
        1,
        sum((r) => r.nonImproving),
      ),
    keeps: sum((r) => r.keeps) / rs.length,
    gain: sum((r) => r.gain) / rs.length,
    runs: sum((r) => r.runs) / rs.length,
  };
}

export interface DriftBenchOptions {
  seeds?: number;
  /** Seeds are firstSeed .. firstSeed + seeds - 1 (default 1). */
  firstSeed?: number;
  candidates?: number;
  models?: readonly Model[];
  paired?: PairedOptions;
}

export const POLICIES = ['greedy', 'noise-aware', 'paired'] as const;
/** Seeds per model in `npm run bench` (~7 s on a shared 2-core machine): fewer leave the gains +-10%. */
const SEEDS = 100;

/** Per model and seed: the same candidates for every policy, each on its own copy of the machine. */
export function compareOnDrift(
  opts: DriftBenchOptions = {},
): Record<Model, Record<(typeof POLICIES)[number], Row>> {
  const seeds = opts.seeds ?? SEEDS;
  const n = opts.candidates ?? 200;
  const out = {} as Record<Model, Record<(typeof POLICIES)[number], Row>>;
  (opts.models ?? MODELS).forEach((model, m) => {
    const rs: Record<(typeof POLICIES)[number], Outcome[]> = {
      greedy: [],
      'noise-aware': [],
      paired: [],
    };
    const first = opts.firstSeed ?? 1;
    for (let s = first; s < first + seeds; s++) {
      const effectRng = createRng(hashSeed(s, 1));
      const effects = Array.from({ length: n }, () => drawEffect(effectRng));
      // The same machine (seed) for every policy: the same events, its own measurements.
      const world = () => createWorld(model, createRng(hashSeed(s, 100 + m)));
      rs.greedy.push(simulateGreedy(effects, world()));
      rs['noise-aware'].push(simulateNoiseAware(effects, world()));
      rs.paired.push(simulatePaired(effects, world(), opts.paired));
    }
    out[model] = {
      greedy: summarize(rs.greedy),
      'noise-aware': summarize(rs['noise-aware']),
      paired: summarize(rs.paired),
    };
  });
  return out;
}

export async function benchPolicyDrift(opts: DriftBenchOptions = {}): Promise<string> {
  const seeds = opts.seeds ?? SEEDS;
  const n = opts.candidates ?? 200;
  const models = opts.models ?? MODELS;
  const res = compareOnDrift(opts);
  const header = [
    'model',
    'policy',
    'false keeps %',
    'keeps',
    'true gain (sigma)',
    '% of greedy',
    'runs',
    'runs/candidate',
  ];
  const lines: string[][] = [header];
  for (const model of models) {
    for (const p of POLICIES) {
      const r = res[model][p];
      const ofGreedy =
        res[model].greedy.gain > 0 ? ((100 * r.gain) / res[model].greedy.gain).toFixed(0) : '-';
      lines.push([
        p === 'greedy' ? model : '',
        p,
        r.falsePct.toFixed(2),
        r.keeps.toFixed(1),
        r.gain.toFixed(2),
        ofGreedy,
        r.runs.toFixed(0),
        (r.runs / n).toFixed(2),
      ]);
    }
  }
  const w = header.map((_, k) => Math.max(...lines.map((l) => l[k]!.length)));
  const table = lines
    .map((l) => l.map((c, k) => (k < 2 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join('  '))
    .join('\n');
  const verdicts = models.map((model) => {
    const r = res[model];
    const ok = (b: boolean) => (b ? 'met' : 'NOT MET');
    const share = r.greedy.gain > 0 ? (100 * r.paired.gain) / r.greedy.gain : NaN;
    return `${model}: false keeps ${r.paired.falsePct.toFixed(2)}% (< 5%: ${ok(r.paired.falsePct < 5)}), true gain ${share.toFixed(0)}% of greedy's (>= 80%: ${ok(share >= 80)})`;
  });
  return [
    `${n} candidates x ${seeds} seeds per model; minimize a timing, baseline ${BASELINE}, noise sigma = ${SIGMA}`,
    'false keeps: all seeds pooled, % of the candidates that were not better; keeps, true gain, runs: means over seeds',
    "greedy: one run each; noise-aware: the loop's former policy (Welch, repeats.max 3, stale after 25); paired: the loop's policy (confirm 2, repeats.max 3 pairs, refresh_incumbent 5)",
    ...models.map((m) => `  ${m}: ${MODEL_NOTES[m]}`),
    table,
    'paired policy against the targets:',
    ...verdicts.map((v) => `  ${v}`),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write((await benchPolicyDrift()) + '\n');
}
