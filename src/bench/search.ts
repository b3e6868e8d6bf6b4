/**
 * Parent selection (search/parents.ts) side by side: greedy, tree and islands with the same
 * evaluation budget on deceptive test functions (many local optima) and on circle packing through
 * a parametrized constructor (bench/packing.ts, scored by the example's strict verifier), no
 * processes. Each evaluation is the chosen parent changed by a stand-in for the agent
 * (bench/search-agents.ts): a blind mutation, and one that remembers what was tried from each
 * parent. The strategies run with the program's defaults, the plateau rule included. Reports the
 * median best value after the budget and the median evaluations to a target (with how many seeds
 * reached it).
 */
import { blindAgent, memoryAgent, type SearchAgent, type Trial } from './search-agents.js';
import { heldOut, problems, type Problem } from './search-problems.js';
import { FrontMatterSchema } from '../program/schema.js';
import { parseProgram } from '../program/program.js';
import { chooseParent, type SearchNode, type SearchSettings } from '../search/parents.js';
import { createRng, hashSeed } from '../tune/random.js';
import { judgePaired } from './judge.js';
import { programPolicy } from '../policy/paired.js';
import type { Run } from '../policy/policy.js';
import { mean, median, pooledNoise } from '../policy/stats.js';

interface Outcome {
  /** The true value of the final incumbent (under noise, not what it was measured at). */
  best: number;
  /** The evaluation (run) after which the incumbent's true value first met the target. */
  evalsToTarget: number | null;
  /** Evaluations spent (runs, the baseline's not counted): the budget, or a judgement's few over it. */
  evaluations: number;
  /** Candidates judged, and kept. */
  candidates: number;
  keeps: number;
  /** Discarded candidates that were truly better than the incumbent (the noise hid the gain). */
  missed: number;
  /** Keeps built on a discarded experiment (never with greedy). */
  keepsOnDiscarded: number;
}

/**
 * Noise for the noisy tables: this fraction of the gap between a random point's value (the
 * median of 101 points drawn uniformly in the box) and the target. The default was fixed before
 * any strategy ran with noise, and not tuned afterwards; BENCH_NOISE sets another to see how the
 * ranking moves with the noise.
 */
const NOISE_OF_GAP = 0.02;

export function noiseOf(p: Problem, fraction = NOISE_OF_GAP): number {
  const rng = createRng(hashSeed(12345, 1));
  const values = Array.from({ length: 101 }, () =>
    p.f(Array.from({ length: p.dims }, () => p.lo + rng.next() * (p.hi - p.lo))),
  );
  return fraction * Math.abs(median(values) - p.target);
}

/**
 * One search of `budget` evaluations. Without noise every evaluation is one exact value and a
 * candidate is kept when it is lower than the incumbent. With noise (sigma > 0) every run
 * measures the true value plus N(0, sigma), and the loop's own decision runs as a noisy program
 * configures it: the baseline measured three times, each candidate judged by the paired policy
 * with the program's defaults (a first run that looks worse discarded on it, a keep confirmed by
 * two pairs or more); every run, the incumbent's re-measures included, counts as an evaluation.
 * A node's value for parent selection is the mean of its runs, as the ledger records it.
 */
export function simulate(
  p: Problem,
  settings: SearchSettings,
  agent: SearchAgent,
  seed: number,
  budget: number,
  sigma = 0,
): Outcome {
  const start = createRng(hashSeed(seed, 7));
  // The same streams for every strategy (common random numbers): two strategies differ only where
  // their parents do, so a gap between them is not the luck of different draws.
  const rng = createRng(hashSeed(seed, 11));
  const noiseRng = createRng(hashSeed(seed, 13));
  const x0 = Array.from({ length: p.dims }, () => p.lo + start.next() * (p.hi - p.lo));
  const trials: Trial[] = [{ id: 0, parent: null, x: x0, change: { kind: 'start' } }];
  const truth = [p.f(x0)];
  const measure = (id: number) => truth[id]! + sigma * noiseRng.normal();
  let incValues = sigma > 0 ? Array.from({ length: BASELINE_RUNS }, () => measure(0)) : [truth[0]!];
  let incMeasuredAt = 0;
  // What the search spends: the baseline's runs are the same for every strategy, not counted.
  let evals = 0;
  const nodes: SearchNode[] = [
    { id: 0, parent: null, value: mean(incValues), status: 'keep', island: null },
  ];
  const policy = sigma > 0 ? programPolicy(NOISY) : null;
  const history: Run[][] = [];
  const noise = pooledNoise([incValues]) ?? undefined;
  let incumbent = 0;
  let keeps = 0;
  let missed = 0;
  let keepsOnDiscarded = 0;
  let evalsToTarget: number | null = truth[0]! <= p.target ? 0 : null;
  let id = 1;
  for (; evals < budget; id++) {
    // As the loop does (loop/population.ts): the plateau once `plateau_after` in a row were not kept.
    const since = id - 1 - incumbent;
    const plateau = since >= PLATEAU_AFTER ? { since, after: PLATEAU_AFTER } : null;
    const choice = chooseParent(nodes, settings, { id, incumbent, goal: 'minimize', plateau });
    const { x, change } = agent(trials, choice.parent, p, rng);
    trials.push({ id, parent: choice.parent, x, change });
    truth.push(p.f(x));
    let kept: boolean;
    let values: number[];
    if (!policy) {
      values = [truth[id]!];
      kept = values[0]! < incValues[0]!;
      evals++;
    } else {
      const j = judgePaired(
        policy,
        (arm) => measure(arm === 'candidate' ? id : incumbent),
        { values: incValues, runsSince: id - incMeasuredAt },
        history,
        noise,
      );
      evals += j.candidate.length + j.remeasured.length;
      if (j.remeasured.length > 0)
        [incValues, incMeasuredAt] = [[...incValues, ...j.remeasured], id];
      [kept, values] = [j.status === 'keep', j.candidate];
    }
    nodes.push({
      id,
      parent: choice.parent,
      value: mean(values),
      status: kept ? 'keep' : 'discard',
      island: choice.island,
    });
    if (!kept && truth[id]! < truth[incumbent]!) missed++;
    if (kept && nodes[choice.parent]!.status === 'discard') keepsOnDiscarded++;
    if (kept) [incumbent, incValues, incMeasuredAt, keeps] = [id, values, id, keeps + 1];
    if (evalsToTarget === null && truth[incumbent]! <= p.target) evalsToTarget = evals;
  }
  const candidates = id - 1;
  return {
    best: truth[incumbent]!,
    evalsToTarget,
    evaluations: evals,
    candidates,
    keeps,
    missed,
    keepsOnDiscarded,
  };
}

/** What `parents: greedy | tree | islands` and an unset `plateau_after` give a program. */
const STRATEGIES: SearchSettings[] = (['greedy', 'tree', 'islands'] as const).map((s) =>
  FrontMatterSchema.shape.parents.parse(s),
);
const PLATEAU_AFTER: number = FrontMatterSchema.shape.plateau_after.parse(undefined);

/** What a program with a noisy metric and every other setting left out gets (`repeats`, `decision`). */
const NOISY = parseProgram(
  '---\nmetric: { name: value, goal: minimize }\nrun: ./run.sh\neditable: [x]\n---\n',
  'the search bench',
).config;
const BASELINE_RUNS = NOISY.repeats.baseline;

const AGENTS: Array<{ name: string; agent: SearchAgent }> = [
  { name: 'blind mutation', agent: blindAgent },
  { name: 'memory (untried directions, new idea 1 in 4)', agent: memoryAgent },
];

/** Seeds per problem in the noisy tables: with 30 the medians' order changed on re-drawing. */
const NOISY_SEEDS = 100;

/**
 * Two-sided sign test: the chance of a split at least this uneven between `wins` and `losses`
 * if either strategy were as likely to do better on a seed (ties left out).
 */
export function signTest(wins: number, losses: number): number {
  const n = wins + losses;
  if (n === 0) return 1;
  let tail = 0;
  let term = 0.5 ** n; // C(n, 0) / 2^n
  for (let k = 0; k <= Math.min(wins, losses); k++) {
    tail += term;
    term = (term * (n - k)) / (k + 1);
  }
  return Math.min(1, 2 * tail);
}

/** Per seed (the same seed, so the same start and draws): where `b` ended better than `a`, and worse. */
function perSeed(a: Outcome[], b: Outcome[]): { wins: number; losses: number } {
  let wins = 0;
  let losses = 0;
  a.forEach((r, i) => {
    if (b[i]!.best < r.best) wins++;
    else if (b[i]!.best > r.best) losses++;
  });
  return { wins, losses };
}

/**
 * Where the noise leaves greedy and the others apart: how often a truly better candidate was
 * discarded, and how many keeps each strategy built on a discarded experiment.
 */
function whyNoise(outcomes: Outcome[][]): string {
  const sum = (os: Outcome[], f: (o: Outcome) => number) => os.reduce((t, o) => t + f(o), 0);
  const pct = (a: number, b: number) => `${Math.round((100 * a) / Math.max(1, b))}%`;
  const missed = STRATEGIES.map(
    (s, i) =>
      `${s.strategy} ${pct(
        sum(outcomes[i]!, (o) => o.missed),
        sum(outcomes[i]!, (o) => o.candidates),
      )}`,
  );
  const onDiscarded = STRATEGIES.slice(1).map(
    (s, i) =>
      `${s.strategy} ${pct(
        sum(outcomes[i + 1]!, (o) => o.keepsOnDiscarded),
        sum(outcomes[i + 1]!, (o) => o.keeps),
      )}`,
  );
  return (
    `candidates truly better than the incumbent but discarded: ${missed.join(', ')}; ` +
    `keeps built on a discarded experiment: ${onDiscarded.join(', ')}`
  );
}

export async function benchSearch(
  allSeeds = Number(process.env.BENCH_SEEDS ?? 30),
  allBudget = Number(process.env.BENCH_BUDGET ?? 150),
  noiseFraction = Number(process.env.BENCH_NOISE ?? NOISE_OF_GAP),
): Promise<string> {
  const [tree, islands] = [STRATEGIES[1]!, STRATEGIES[2]!];
  const lines = [
    `settings (the program's defaults): tree explore ${tree.explore}, repairs ${tree.repairs}; ` +
      `islands ${islands.islands}, migrate_every ${islands.migrate_every}; plateau_after ${PLATEAU_AFTER}`,
    `median best (lower is better) | median evaluations to the target (seeds that reached it); ` +
      `seeds on which tree and islands ended better-worse than greedy`,
    `noisy: every run measures the value + N(0, sigma), sigma ${noiseFraction} of a random ` +
      `point's gap to the target; judged by the paired policy with a noisy program's defaults ` +
      `(baseline ${BASELINE_RUNS} runs, not counted); every run counts; best = the true value`,
  ];
  const sets: Array<[string, Problem[]]> = [
    ['', await problems()],
    ['held out', heldOut()],
  ];
  for (const noisy of [false, true])
    for (const { name, agent } of AGENTS)
      for (const [set, all] of sets) {
        const title = [name, set, noisy ? 'noisy' : ''].filter(Boolean).join(', ');
        lines.push('', `agent: ${title}`);
        lines.push(
          `${'problem'.padEnd(30)}${STRATEGIES.map((s) => s.strategy.padEnd(26)).join('')}per seed`,
        );
        // Problems on which each strategy's median best is strictly better than greedy's; and
        // on which it ended better on significantly more seeds (or worse).
        const wins = STRATEGIES.map(() => 0);
        const signif = STRATEGIES.map(() => ({ better: 0, worse: 0 }));
        const pooled = STRATEGIES.map((): Outcome[] => []);
        for (const p of all) {
          const seeds = p.seeds ?? (noisy ? NOISY_SEEDS : allSeeds);
          const budget = p.budget ?? allBudget;
          const sigma = noisy ? noiseOf(p, noiseFraction) : 0;
          const medians: number[] = [];
          const outcomes = STRATEGIES.map((s) =>
            Array.from({ length: seeds }, (_, i) => simulate(p, s, agent, i + 1, budget, sigma)),
          );
          const cells = outcomes.map((runs) => {
            const reached = runs.filter((r) => r.evalsToTarget !== null).length;
            const evals = median(runs.map((r) => r.evalsToTarget ?? Infinity));
            const best = Number(median(runs.map((r) => r.best)).toPrecision(4));
            medians.push(best);
            const toTarget = Number.isFinite(evals) ? evals : '>' + budget;
            return `${best} | ${toTarget} (${reached}/${seeds})`.padEnd(26);
          });
          medians.forEach((m, i) => (wins[i]! += m < medians[0]! ? 1 : 0));
          outcomes.forEach((o, i) => pooled[i]!.push(...o));
          const splits = outcomes.slice(1).map((o, i) => {
            const { wins: w, losses: l } = perSeed(outcomes[0]!, o);
            if (signTest(w, l) < 0.05) signif[i + 1]![w > l ? 'better' : 'worse']++;
            return `${w}-${l}`;
          });
          const label = `${p.name} <=${p.target}, ${budget}x${seeds}`;
          lines.push(`${label.padEnd(30)}${cells.join('')}${splits.join(' ')}`);
        }
        const beat = STRATEGIES.slice(1).map(
          (s, i) => `${s.strategy} ${wins[i + 1]}/${all.length}`,
        );
        const sign = STRATEGIES.slice(1).map(
          (s, i) =>
            `${s.strategy} ${signif[i + 1]!.better}/${all.length} (worse ${signif[i + 1]!.worse})`,
        );
        lines.push(`better median than greedy: ${beat.join(', ')}`);
        lines.push(`better on more seeds (sign test, p < 0.05): ${sign.join(', ')}`);
        if (noisy) lines.push(whyNoise(pooled));
      }
  return lines.join('\n');
}
