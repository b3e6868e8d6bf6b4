/**
 * Standard black-box test functions and a study runner, used by `src/bench/tune.ts` and the
 * tests to check that the optimizer actually beats random search, as a function of evaluations
 * (the only cost that matters when each evaluation is a training run).
 */
import { propose, type Goal, type HistoryEntry } from './optimizer.js';
import { createRng, hashSeed } from './random.js';
import type { Config, ParamSpec, SearchSpace, Strategy } from './space.js';
import type { TpeOptions } from './tpe.js';

export interface TestFunction {
  name: string;
  space: SearchSpace;
  /** Noiseless value (minimized). */
  f: (c: Config) => number;
  /** Known global minimum. */
  optimum: number;
  /** The value a run must reach (by the true value of its incumbent) to count as solved. */
  target: number;
  /** Standard deviation of the Gaussian noise added to observations (0: noiseless). */
  noise: number;
}

function floats(names: string[], min: number, max: number): ParamSpec[] {
  return names.map((name) => ({ name, file: 'bench.py', type: 'float', min, max, log: false }));
}

function space(params: ParamSpec[]): SearchSpace {
  return {
    strategy: 'tpe',
    initial: Math.min(10, Math.max(4, 2 * params.length)),
    seed: 0,
    params,
  };
}

const num = (c: Config, k: string): number => c[k] as number;

function branin(c: Config): number {
  const x1 = num(c, 'x1');
  const x2 = num(c, 'x2');
  const b = 5.1 / (4 * Math.PI ** 2);
  const cc = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 ** 2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const H6_ALPHA = [1, 1.2, 3, 3.2];

function hartmann6(c: Config): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++)
      inner += H6_A[i]![j]! * (num(c, `x${j + 1}`) - H6_P[i]![j]! * 1e-4) ** 2;
    s += H6_ALPHA[i]! * Math.exp(-inner);
  }
  return -s;
}

function rosenbrock4(c: Config): number {
  let s = 0;
  for (let i = 1; i < 4; i++) {
    const a = num(c, `x${i}`);
    const b = num(c, `x${i + 1}`);
    s += 100 * (b - a * a) ** 2 + (1 - a) ** 2;
  }
  return s;
}

export function testFunctions(): TestFunction[] {
  const base = [
    {
      name: 'branin',
      space: space([...floats(['x1'], -5, 10), ...floats(['x2'], 0, 15)]),
      f: branin,
      optimum: 0.397887,
      target: 0.5,
      sigma: 0.1,
    },
    {
      name: 'hartmann6',
      space: space(floats(['x1', 'x2', 'x3', 'x4', 'x5', 'x6'], 0, 1)),
      f: hartmann6,
      optimum: -3.32237,
      target: -2.5,
      sigma: 0.1,
    },
    {
      name: 'rosenbrock4',
      space: space(floats(['x1', 'x2', 'x3', 'x4'], -2, 2)),
      f: rosenbrock4,
      optimum: 0,
      target: 30,
      sigma: 10,
    },
  ];
  return base.flatMap(({ sigma, ...t }) => [
    { ...t, noise: 0 },
    { ...t, name: `${t.name}+noise`, noise: sigma },
  ]);
}

export interface StudyResult {
  /** Evaluations until the incumbent's true value reached the target; null if never. */
  evalsToTarget: number | null;
  /** True value of the best-observed config after the budget. */
  best: number;
}

/**
 * One optimization run: `budget` suggestions, each evaluated (with noise) and appended. With
 * `slots` > 1, suggestions come in rounds of that many, each made while the others of its round
 * are pending, as parallel slots propose while the other slots run.
 */
export function runStudy(
  fn: TestFunction,
  strategy: Strategy,
  seed: number,
  budget: number,
  tpe?: Partial<TpeOptions>,
  goal: Goal = 'minimize',
  slots = 1,
): StudyResult {
  const noise = createRng(hashSeed(seed, 0x0b5e));
  const history: HistoryEntry[] = [];
  let bestObserved = Infinity;
  let incumbentTrue = Infinity;
  let evalsToTarget: number | null = null;
  let t = 0;
  while (t < budget) {
    const pending: Config[] = [];
    while (pending.length < slots && t + pending.length < budget) {
      pending.push(
        propose({
          space: fn.space,
          history,
          pending,
          goal,
          strategy,
          seed,
          ...(tpe ? { tpe } : {}),
        }).config,
      );
    }
    for (const config of pending) {
      t++;
      const truth = fn.f(config);
      const observed = truth + fn.noise * noise.normal();
      history.push({ config, value: goal === 'minimize' ? observed : -observed });
      if (observed < bestObserved) {
        bestObserved = observed;
        incumbentTrue = truth;
      }
      if (evalsToTarget === null && incumbentTrue <= fn.target) evalsToTarget = t;
    }
  }
  return { evalsToTarget, best: incumbentTrue };
}
