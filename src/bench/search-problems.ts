/**
 * The search bench's problems (bench/search.ts): deceptive test functions and circle packing,
 * minimized in a box. `heldOut` problems were added after the first five had been used to compare
 * strategies, with their targets fixed before any strategy ran on them: a change to parent
 * selection that helps on the first five only is tuned to them, not better.
 */
import { loadVerifier, packingObjective } from './packing.js';
import { testFunctions } from '../tune/benchmarks.js';

export interface Problem {
  name: string;
  dims: number;
  lo: number;
  hi: number;
  f: (x: number[]) => number;
  target: number;
  /** Fewer seeds and evaluations than the test functions: each evaluation is a packing. */
  seeds?: number;
  budget?: number;
}

const sum = (x: number[], term: (v: number, i: number) => number) =>
  x.reduce((s, v, i) => s + term(v, i), 0);

const rastrigin = (x: number[]) =>
  10 * x.length + sum(x, (v) => v * v - 10 * Math.cos(2 * Math.PI * v));
const schwefel = (x: number[]) =>
  418.9829 * x.length - sum(x, (v) => v * Math.sin(Math.sqrt(Math.abs(v))));
/** A broad basin at the origin (value 1) and a narrow, deeper one near the corner (value 0). */
const trap = (x: number[]) => {
  const broad = sum(x, (v) => v * v) / x.length;
  const narrow = sum(x, (v) => (v - 0.8) ** 2);
  return Math.min(1 + broad, 20 * narrow);
};

export async function problems(): Promise<Problem[]> {
  const packing = packingObjective(await loadVerifier());
  const hartmann = testFunctions().find((t) => t.name === 'hartmann6')!;
  return [
    { name: 'rastrigin4', dims: 4, lo: -5.12, hi: 5.12, f: rastrigin, target: 3 },
    { name: 'schwefel4', dims: 4, lo: -500, hi: 500, f: schwefel, target: 150 },
    { name: 'trap3', dims: 3, lo: -1, hi: 1, f: trap, target: 0.5 },
    {
      name: 'hartmann6',
      dims: 6,
      lo: 0,
      hi: 1,
      f: (x) => hartmann.f(Object.fromEntries(x.map((v, i) => [`x${i + 1}`, v]))),
      target: -3,
    },
    // Minus the sum of radii of 26 circles; the knobs are the example's, scaled to [0, 1].
    { name: 'packing26', dims: 6, lo: 0, hi: 1, f: packing, target: -2.6, seeds: 20, budget: 60 },
  ];
}

// The held-out functions, in their usual domains (global minimum 0 unless said).
const ackley = (x: number[]) => {
  const n = x.length;
  const r = Math.sqrt(sum(x, (v) => v * v) / n);
  const c = sum(x, (v) => Math.cos(2 * Math.PI * v)) / n;
  return 20 + Math.E - 20 * Math.exp(-0.2 * r) - Math.exp(c);
};
const levy = (x: number[]) => {
  const w = x.map((v) => 1 + (v - 1) / 4);
  const last = w[w.length - 1]!;
  const middle = sum(
    w.slice(0, -1),
    (v) => (v - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * v + 1) ** 2),
  );
  return (
    Math.sin(Math.PI * w[0]!) ** 2 +
    middle +
    (last - 1) ** 2 * (1 + Math.sin(2 * Math.PI * last) ** 2)
  );
};
const griewank = (x: number[]) =>
  1 + sum(x, (v) => (v * v) / 4000) - x.reduce((p, v, i) => p * Math.cos(v / Math.sqrt(i + 1)), 1);
/** Minimum −39.166·d at x = −2.9035; each coordinate in the other basin costs about 14.1. */
const styblinskiTang = (x: number[]) => 0.5 * sum(x, (v) => v ** 4 - 16 * v * v + 5 * v);
/** Minimum about −4.688 in 5 dimensions (m = 10: steep, narrow valleys). */
const michalewicz = (x: number[]) =>
  -sum(x, (v, i) => Math.sin(v) * Math.sin(((i + 1) * v * v) / Math.PI) ** 20);

/**
 * Targets, fixed before any strategy ran on them: ackley ≤ 3, inside the central basins (a few
 * coordinates one lattice step off); levy ≤ 1 and griewank ≤ 0.5, near the global basin;
 * styblinski-tang ≤ −180, at most one coordinate in the wrong basin; michalewicz ≤ −4, most of
 * the valleys found.
 */
export function heldOut(): Problem[] {
  return [
    { name: 'ackley6', dims: 6, lo: -32.768, hi: 32.768, f: ackley, target: 3 },
    { name: 'levy4', dims: 4, lo: -10, hi: 10, f: levy, target: 1 },
    { name: 'griewank5', dims: 5, lo: -600, hi: 600, f: griewank, target: 0.5 },
    { name: 'styblinski5', dims: 5, lo: -5, hi: 5, f: styblinskiTang, target: -180 },
    { name: 'michalewicz5', dims: 5, lo: 0, hi: Math.PI, f: michalewicz, target: -4 },
  ];
}
