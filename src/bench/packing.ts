/**
 * Circle packing as a search-bench problem: the example's constructor (examples/circle-packing:
 * staggered rows, Adam on a penalty with a growing weight, then radii made feasible), cheaper (at
 * most 400 steps, no restarts, no exact finish) and parametrized by a knob vector in [0, 1]^6.
 * The example's protected strict verifier scores every packing: an invalid one is worth 0.
 */
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const N = 26;
const MARGIN = 1e-12;
type Circle = [number, number, number];
type Verify = (circles: unknown) => { valid: boolean; sum: number };

/** The example's verifier, loaded from its TypeScript source. */
export async function loadVerifier(): Promise<Verify> {
  const url = new URL('../../examples/circle-packing/verify.ts', import.meta.url);
  const mod = (await tsImport(fileURLToPath(url), import.meta.url)) as { verifyPacking: Verify };
  return mod.verifyPacking;
}

interface Knobs {
  seed: number;
  rows: number;
  jitter: number;
  iterations: number;
  step: number;
  penaltyStart: number;
  penaltyEnd: number;
}

/** A point of the unit cube as knobs, on the example's ranges (log scales where it has them). */
function knobs(u: number[]): Knobs {
  const log = (v: number, lo: number, hi: number) => lo * Math.pow(hi / lo, v);
  return {
    seed: Math.floor(u[0]! * 1000),
    rows: 3 + Math.min(4, Math.floor(u[1]! * 5)),
    jitter: 0.1 * u[2]!,
    iterations: Math.round(log(u[3]!, 50, 400)),
    step: log(u[4]!, 1e-4, 0.03),
    penaltyStart: log(u[5]!, 1, 1000),
    penaltyEnd: 1e4,
  };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function start(k: Knobs): number[] {
  const random = mulberry32(k.seed);
  const p: number[] = [];
  const width = Math.ceil(N / k.rows);
  for (let row = 0; row < k.rows; row++) {
    const count = Math.floor(N / k.rows) + (row < N % k.rows ? 1 : 0);
    for (let c = 0; c < count; c++) {
      const x = (c + 0.5) / count + (random() - 0.5) * 2 * k.jitter;
      const y = (row + 0.5) / k.rows + (random() - 0.5) * 2 * k.jitter;
      p.push(clamp(x, 0.01, 0.99), clamp(y, 0.01, 0.99), 0.5 / Math.max(width, k.rows));
    }
  }
  return p;
}

/** Adam on -sum(r) + mu * (squared overlaps and wall violations), mu growing geometrically. */
function relax(p: number[], k: Knobs): void {
  const g = new Float64Array(p.length);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  const growth = Math.pow(k.penaltyEnd / k.penaltyStart, 1 / Math.max(1, k.iterations - 1));
  let mu = k.penaltyStart;
  for (let t = 1; t <= k.iterations; t++, mu *= growth) {
    g.fill(0);
    for (let i = 0; i < N; i++) {
      const [x, y, r] = [p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!];
      g[3 * i + 2]! -= 1;
      for (const [w, dx, dy] of [
        [r - x, -1, 0],
        [r + x - 1, 1, 0],
        [r - y, 0, -1],
        [r + y - 1, 0, 1],
      ] as const) {
        if (w <= 0) continue;
        g[3 * i + 2]! += 2 * mu * w;
        g[3 * i]! += 2 * mu * w * dx;
        g[3 * i + 1]! += 2 * mu * w * dy;
      }
      for (let j = i + 1; j < N; j++) {
        const dx = x - p[3 * j]!;
        const dy = y - p[3 * j + 1]!;
        const d = Math.hypot(dx, dy) || 1e-12;
        const overlap = r + p[3 * j + 2]! - d;
        if (overlap <= 0) continue;
        const f = 2 * mu * overlap;
        g[3 * i + 2]! += f;
        g[3 * j + 2]! += f;
        g[3 * i]! -= (f * dx) / d;
        g[3 * i + 1]! -= (f * dy) / d;
        g[3 * j]! += (f * dx) / d;
        g[3 * j + 1]! += (f * dy) / d;
      }
    }
    const lr = k.step * (1 - (t - 1) / k.iterations);
    for (let q = 0; q < p.length; q++) {
      m[q] = 0.9 * m[q]! + 0.1 * g[q]!;
      v[q] = 0.999 * v[q]! + 0.001 * g[q]! * g[q]!;
      p[q]! -= (lr * (m[q]! / (1 - 0.9 ** t))) / (Math.sqrt(v[q]! / (1 - 0.999 ** t)) + 1e-12);
      if (q % 3 !== 2) p[q] = clamp(p[q]!, 1e-6, 1 - 1e-6);
    }
  }
}

/** The example's finish: clamp to the walls, scale down overlapping pairs, grow greedily. */
function feasible(p: number[]): Circle[] {
  const c: Circle[] = [];
  for (let i = 0; i < N; i++) c.push([p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!]);
  const wall = (i: number) => Math.min(c[i]![0], 1 - c[i]![0], c[i]![1], 1 - c[i]![1]) - MARGIN;
  const dist = (i: number, j: number) => Math.hypot(c[i]![0] - c[j]![0], c[i]![1] - c[j]![1]);
  for (let i = 0; i < N; i++) c[i]![2] = Math.max(0, Math.min(c[i]![2], wall(i)));
  for (let i = 0; i < N; i++)
    for (let j = i + 1; j < N; j++) {
      const room = dist(i, j) - MARGIN;
      const sum = c[i]![2] + c[j]![2];
      if (sum > room) {
        c[i]![2] *= Math.max(0, room) / sum;
        c[j]![2] *= Math.max(0, room) / sum;
      }
    }
  for (let sweep = 0; sweep < 3; sweep++)
    for (let i = 0; i < N; i++) {
      let best = wall(i);
      for (let j = 0; j < N; j++)
        if (j !== i) best = Math.min(best, dist(i, j) - c[j]![2] - MARGIN);
      if (best > c[i]![2]) c[i]![2] = best;
    }
  return c;
}

/** The packing a knob vector builds: minus its verified sum of radii (lower is better). */
export function packingObjective(verify: Verify): (u: number[]) => number {
  return (u) => {
    const k = knobs(u);
    const p = start(k);
    relax(p, k);
    return -verify(feasible(p)).sum;
  };
}
