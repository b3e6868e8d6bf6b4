const SEED = 1;
const ROWS = 5;
const JITTER = 0.0;
const RESTARTS = 1;
const ITERATIONS = 100;
const STEP = 0.001;
const PENALTY_START = 10.0;
const PENALTY_END = 10000.0;
const MARGIN = 1e-12;

/**
 * EDITABLE: builds a packing of 26 circles in the unit square, trying to maximize the sum of radii,
 * and writes it to circles.json as an array of [x, y, r]. verify.ts (protected) checks it and
 * prints the score; this file never prints the metric.
 *
 * Algorithm (deliberately simple, with the knobs above):
 *   1. Start from ROWS staggered rows of equal circles (26 spread as evenly as possible), centers
 *      nudged by JITTER with a seeded RNG.
 *   2. Penalty relaxation: Adam on (x, y, r) for ITERATIONS steps, minimizing
 *        -sum(r) + mu * (sum of squared overlaps + squared wall violations + squared negative radii),
 *      with mu growing geometrically from PENALTY_START to PENALTY_END over the run, and a step size
 *      that decays linearly from STEP to 0.
 *   3. Make it feasible for sure: keep the centers, clamp each radius to its wall distance, scale
 *      down any overlapping pair, then greedily grow each radius as far as its neighbours allow,
 *      always leaving MARGIN of slack so floating-point rounding cannot create an overlap.
 *   RESTARTS independent starts (each with a fresh jitter) are run; the best feasible one is kept.
 */
import { writeFileSync } from 'node:fs';

const N = 26;

type Circle = [number, number, number];

/** mulberry32: a small seeded RNG, so every run with the same knobs gives the same packing. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ROWS staggered rows, equal radii small enough that nothing overlaps. */
function initialLayout(rows: number, jitter: number, random: () => number): Circle[] {
  const circles: Circle[] = [];
  const base = Math.floor(N / rows);
  const extra = N % rows;
  let widest = 0;
  for (let row = 0; row < rows; row++) {
    const count = base + (row < extra ? 1 : 0);
    widest = Math.max(widest, count);
    for (let k = 0; k < count; k++) {
      const x = (k + 0.5) / count + (jitter ? (random() - 0.5) * 2 * jitter : 0);
      const y = (row + 0.5) / rows + (jitter ? (random() - 0.5) * 2 * jitter : 0);
      circles.push([clamp(x, 0.01, 0.99), clamp(y, 0.01, 0.99), 0]);
    }
  }
  const r0 = 0.5 / Math.max(widest, rows);
  for (const c of circles) c[2] = r0;
  return circles;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Penalty relaxation with Adam on the flat vector [x0, y0, r0, x1, y1, r1, ...]. */
function relax(start: Circle[], iterations: number): Circle[] {
  const p = start.flat();
  const g = new Array<number>(p.length).fill(0);
  const m = new Array<number>(p.length).fill(0);
  const v = new Array<number>(p.length).fill(0);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const growth = Math.pow(PENALTY_END / PENALTY_START, 1 / Math.max(1, iterations - 1));
  let mu = PENALTY_START;
  for (let t = 1; t <= iterations; t++) {
    g.fill(0);
    for (let i = 0; i < N; i++) {
      const x = p[3 * i]!;
      const y = p[3 * i + 1]!;
      const r = p[3 * i + 2]!;
      g[3 * i + 2]! -= 1; // d(-sum r)/dr
      // Walls: violation w = r - x (left), r - (1 - x) (right), same for y.
      const left = r - x;
      if (left > 0) {
        g[3 * i + 2]! += 2 * mu * left;
        g[3 * i]! -= 2 * mu * left;
      }
      const right = r + x - 1;
      if (right > 0) {
        g[3 * i + 2]! += 2 * mu * right;
        g[3 * i]! += 2 * mu * right;
      }
      const bottom = r - y;
      if (bottom > 0) {
        g[3 * i + 2]! += 2 * mu * bottom;
        g[3 * i + 1]! -= 2 * mu * bottom;
      }
      const top = r + y - 1;
      if (top > 0) {
        g[3 * i + 2]! += 2 * mu * top;
        g[3 * i + 1]! += 2 * mu * top;
      }
      if (r < 0) g[3 * i + 2]! += 2 * mu * r;
      for (let j = i + 1; j < N; j++) {
        const dx = x - p[3 * j]!;
        const dy = y - p[3 * j + 1]!;
        const d = Math.hypot(dx, dy) || 1e-12;
        const overlap = r + p[3 * j + 2]! - d;
        if (overlap > 0) {
          const k = 2 * mu * overlap;
          g[3 * i + 2]! += k;
          g[3 * j + 2]! += k;
          // d(overlap)/dxi = -dx/d, d(overlap)/dxj = +dx/d
          g[3 * i]! -= (k * dx) / d;
          g[3 * i + 1]! -= (k * dy) / d;
          g[3 * j]! += (k * dx) / d;
          g[3 * j + 1]! += (k * dy) / d;
        }
      }
    }
    const lr = STEP * (1 - (t - 1) / iterations);
    for (let q = 0; q < p.length; q++) {
      m[q] = beta1 * m[q]! + (1 - beta1) * g[q]!;
      v[q] = beta2 * v[q]! + (1 - beta2) * g[q]! * g[q]!;
      const mHat = m[q]! / (1 - beta1 ** t);
      const vHat = v[q]! / (1 - beta2 ** t);
      p[q]! -= (lr * mHat) / (Math.sqrt(vHat) + 1e-12);
    }
    for (let i = 0; i < N; i++) {
      p[3 * i] = clamp(p[3 * i]!, 1e-6, 1 - 1e-6);
      p[3 * i + 1] = clamp(p[3 * i + 1]!, 1e-6, 1 - 1e-6);
    }
    mu *= growth;
  }
  const out: Circle[] = [];
  for (let i = 0; i < N; i++) out.push([p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!]);
  return out;
}

/** Keep the centers; pick radii that are feasible with MARGIN to spare, then grow them greedily. */
function makeFeasible(circles: Circle[]): Circle[] {
  const c = circles.map(([x, y, r]) => [x, y, r] as Circle);
  const wall = (i: number) => Math.min(c[i]![0], 1 - c[i]![0], c[i]![1], 1 - c[i]![1]) - MARGIN;
  const dist = (i: number, j: number) => Math.hypot(c[i]![0] - c[j]![0], c[i]![1] - c[j]![1]);
  for (let i = 0; i < N; i++) c[i]![2] = Math.max(0, Math.min(c[i]![2], wall(i)));
  // Shrinking never breaks a pair already fixed, so one pass over the pairs suffices.
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      const room = dist(i, j) - MARGIN;
      const sum = c[i]![2] + c[j]![2];
      if (sum > room) {
        const f = Math.max(0, room) / sum;
        c[i]![2] *= f;
        c[j]![2] *= f;
      }
    }
  }
  // Grow each radius to the most its walls and current neighbours allow (never shrinks).
  for (let sweep = 0; sweep < 3; sweep++) {
    for (let i = 0; i < N; i++) {
      let best = wall(i);
      for (let j = 0; j < N; j++)
        if (j !== i) best = Math.min(best, dist(i, j) - c[j]![2] - MARGIN);
      if (best > c[i]![2]) c[i]![2] = best;
    }
  }
  return c;
}

function sumRadii(circles: Circle[]): number {
  return circles.reduce((s, c) => s + c[2], 0);
}

function main(): void {
  const random = rng(SEED);
  let best: Circle[] | null = null;
  for (let restart = 0; restart < Math.max(1, RESTARTS); restart++) {
    const start = initialLayout(ROWS, JITTER, random);
    const packed = makeFeasible(relax(start, ITERATIONS));
    if (packed.some((c) => !(c[2] > 0))) continue;
    if (!best || sumRadii(packed) > sumRadii(best)) best = packed;
  }
  if (!best) throw new Error('no start produced a packing with all radii positive');
  writeFileSync('circles.json', JSON.stringify(best) + '\n');
  console.log(
    `pack: wrote ${best.length} circles to circles.json (unverified total ${sumRadii(best).toFixed(6)})`,
  );
}

main();
