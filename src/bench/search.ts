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
import { chooseParent, type SearchNode, type SearchSettings } from '../search/parents.js';
import { createRng, hashSeed } from '../tune/random.js';

interface Outcome {
  best: number;
  evalsToTarget: number | null;
}

function simulate(
  p: Problem,
  settings: SearchSettings,
  agent: SearchAgent,
  seed: number,
  budget: number,
): Outcome {
  const start = createRng(hashSeed(seed, 7));
  // The same stream for every strategy (common random numbers): two strategies differ only where
  // their parents do, so a gap between them is not the luck of different draws.
  const rng = createRng(hashSeed(seed, 11));
  const x0 = Array.from({ length: p.dims }, () => p.lo + start.next() * (p.hi - p.lo));
  const trials: Trial[] = [{ id: 0, parent: null, x: x0, change: { kind: 'start' } }];
  const nodes: SearchNode[] = [
    { id: 0, parent: null, value: p.f(x0), status: 'keep', island: null },
  ];
  let incumbent = 0;
  let evalsToTarget: number | null = nodes[0]!.value! <= p.target ? 0 : null;
  for (let id = 1; id <= budget; id++) {
    // As the loop does (loop/population.ts): the plateau once `plateau_after` in a row were not kept.
    const since = id - 1 - incumbent;
    const plateau = since >= PLATEAU_AFTER ? { since, after: PLATEAU_AFTER } : null;
    const choice = chooseParent(nodes, settings, { id, incumbent, goal: 'minimize', plateau });
    const { x, change } = agent(trials, choice.parent, p, rng);
    const value = p.f(x);
    const kept = value < nodes[incumbent]!.value!;
    trials.push({ id, parent: choice.parent, x, change });
    nodes.push({
      id,
      parent: choice.parent,
      value,
      status: kept ? 'keep' : 'discard',
      island: choice.island,
    });
    if (kept) incumbent = id;
    if (evalsToTarget === null && value <= p.target) evalsToTarget = id;
  }
  return { best: nodes[incumbent]!.value!, evalsToTarget };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** What `parents: greedy | tree | islands` and an unset `plateau_after` give a program. */
const STRATEGIES: SearchSettings[] = (['greedy', 'tree', 'islands'] as const).map((s) =>
  FrontMatterSchema.shape.parents.parse(s),
);
const PLATEAU_AFTER: number = FrontMatterSchema.shape.plateau_after.parse(undefined);

const AGENTS: Array<{ name: string; agent: SearchAgent }> = [
  { name: 'blind mutation', agent: blindAgent },
  { name: 'memory (untried directions, new idea 1 in 4)', agent: memoryAgent },
];

export async function benchSearch(
  allSeeds = Number(process.env.BENCH_SEEDS ?? 30),
  allBudget = Number(process.env.BENCH_BUDGET ?? 150),
): Promise<string> {
  const [tree, islands] = [STRATEGIES[1]!, STRATEGIES[2]!];
  const lines = [
    `settings (the program's defaults): tree explore ${tree.explore}, repairs ${tree.repairs}; ` +
      `islands ${islands.islands}, migrate_every ${islands.migrate_every}; plateau_after ${PLATEAU_AFTER}`,
    `median best (lower is better) | median evaluations to the target (seeds that reached it)`,
  ];
  const sets: Array<[string, Problem[]]> = [
    ['', await problems()],
    ['held out', heldOut()],
  ];
  for (const { name, agent } of AGENTS) {
    for (const [set, all] of sets) {
      lines.push('', `agent: ${name}${set ? `, ${set}` : ''}`);
      lines.push(`${'problem'.padEnd(30)}${STRATEGIES.map((s) => s.strategy.padEnd(26)).join('')}`);
      // Problems on which each strategy's median best is strictly better than greedy's.
      const wins = STRATEGIES.map(() => 0);
      for (const p of all) {
        const seeds = p.seeds ?? allSeeds;
        const budget = p.budget ?? allBudget;
        const medians: number[] = [];
        const cells = STRATEGIES.map((s) => {
          const runs = Array.from({ length: seeds }, (_, i) =>
            simulate(p, s, agent, i + 1, budget),
          );
          const reached = runs.filter((r) => r.evalsToTarget !== null).length;
          const evals = median(runs.map((r) => r.evalsToTarget ?? Infinity));
          const best = Number(median(runs.map((r) => r.best)).toPrecision(4));
          medians.push(best);
          const toTarget = Number.isFinite(evals) ? evals : '>' + budget;
          return `${best} | ${toTarget} (${reached}/${seeds})`.padEnd(26);
        });
        medians.forEach((m, i) => (wins[i]! += m < medians[0]! ? 1 : 0));
        const label = `${p.name} <=${p.target}, ${budget}x${seeds}`;
        lines.push(`${label.padEnd(30)}${cells.join('')}`);
      }
      const beat = STRATEGIES.slice(1).map((s, i) => `${s.strategy} ${wins[i + 1]}/${all.length}`);
      lines.push(`better median than greedy: ${beat.join(', ')}`);
    }
  }
  return lines.join('\n');
}
