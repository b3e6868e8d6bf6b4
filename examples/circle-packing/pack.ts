const SEED = 1;
const ROWS = 5;
const JITTER = 0.0;
const RESTARTS = 1;
const ITERATIONS = 100;
const STEP = 0.001;
const PENALTY_START = 10.0;
const PENALTY_END = 10000.0;
const HOPS = 0;
const HOP_SIZE = 0.03;
const MARGIN = 1e-12;

/**
 * EDITABLE: builds a packing of 26 circles in the unit square, trying to maximize the sum of radii,
 * and writes it to circles.json as an array of [x, y, r]. verify.ts (protected) checks it and
 * prints the score; this file never prints the metric.
 *
 * Algorithm (with the knobs above):
 *   1. Start from ROWS staggered rows of equal circles (26 spread as evenly as possible), centers
 *      nudged by JITTER with a seeded RNG.
 *   2. Penalty relaxation: Adam on (x, y, r) for ITERATIONS steps, minimizing
 *        -sum(r) + mu * (sum of squared overlaps + squared wall violations + squared negative radii),
 *      with mu growing geometrically from PENALTY_START to PENALTY_END over the run, and a step size
 *      that decays linearly from STEP to 0. This stage decides the structure (which circles touch).
 *   3. Finish (exact local optimum of that structure): L-BFGS on the same penalty with mu raised
 *      from 1e4 to 1e10, then Newton's method on the KKT conditions of the contacts that hold with
 *      equality (an active-set polish, to machine precision).
 *   4. Make it feasible for sure: keep the centers, clamp each radius to its wall distance, scale
 *      down any overlapping pair, then greedily grow each radius as far as its neighbours allow,
 *      always leaving MARGIN of slack so floating-point rounding cannot create an overlap.
 *   RESTARTS independent starts (each with a fresh jitter) are run; the best one is kept. Then
 *   HOPS rounds of basin hopping: shake the best packing (centers by up to HOP_SIZE, radii halved,
 *   one circle moved to a random spot), run stages 2 to 4 again, keep the result if it is better.
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
  const p = Float64Array.from(start.flat());
  const g = new Float64Array(p.length);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const growth = Math.pow(PENALTY_END / PENALTY_START, 1 / Math.max(1, iterations - 1));
  let mu = PENALTY_START;
  for (let t = 1; t <= iterations; t++) {
    penalty(p, mu, g);
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
  return circlesOf(p);
}

function circlesOf(p: ArrayLike<number>): Circle[] {
  const out: Circle[] = [];
  for (let i = 0; i < N; i++) out.push([p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!]);
  return out;
}

/** -sum(r) + mu * (squared overlaps and wall violations, squared negative radii); its gradient into g. */
function penalty(p: Float64Array, mu: number, g: Float64Array): number {
  g.fill(0);
  let f = 0;
  for (let i = 0; i < N; i++) {
    const x = p[3 * i]!;
    const y = p[3 * i + 1]!;
    const r = p[3 * i + 2]!;
    f -= r;
    g[3 * i + 2]! -= 1;
    for (const [w, dx, dy] of [
      [r - x, -1, 0],
      [r + x - 1, 1, 0],
      [r - y, 0, -1],
      [r + y - 1, 0, 1],
    ] as const) {
      if (w <= 0) continue;
      f += mu * w * w;
      g[3 * i + 2]! += 2 * mu * w;
      g[3 * i]! += 2 * mu * w * dx;
      g[3 * i + 1]! += 2 * mu * w * dy;
    }
    if (r < 0) {
      f += mu * r * r;
      g[3 * i + 2]! += 2 * mu * r;
    }
    for (let j = i + 1; j < N; j++) {
      const dx = x - p[3 * j]!;
      const dy = y - p[3 * j + 1]!;
      const d = Math.hypot(dx, dy) || 1e-12;
      const overlap = r + p[3 * j + 2]! - d;
      if (overlap <= 0) continue;
      f += mu * overlap * overlap;
      const k = 2 * mu * overlap;
      g[3 * i + 2]! += k;
      g[3 * j + 2]! += k;
      g[3 * i]! -= (k * dx) / d;
      g[3 * i + 1]! -= (k * dy) / d;
      g[3 * j]! += (k * dx) / d;
      g[3 * j + 1]! += (k * dy) / d;
    }
  }
  return f;
}

/** L-BFGS (memory 8, backtracking line search) on the penalty function at a fixed mu, in place. */
function lbfgs(p: Float64Array, mu: number, iterations: number): void {
  const n = p.length;
  const g = new Float64Array(n);
  let f = penalty(p, mu, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const trial = new Float64Array(n);
  const gNew = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    // Two-loop recursion: d = -H g.
    const d = Float64Array.from(g, (v) => -v);
    const alpha: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const a = dot(S[k]!, d) / dot(Y[k]!, S[k]!);
      alpha[k] = a;
      for (let q = 0; q < n; q++) d[q]! -= a * Y[k]![q]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let q = 0; q < n; q++) d[q]! *= gamma;
    } else {
      const scale = 1e-3 / Math.max(1e-12, Math.sqrt(dot(g, g)));
      for (let q = 0; q < n; q++) d[q]! *= scale;
    }
    for (let k = 0; k < S.length; k++) {
      const b = dot(Y[k]!, d) / dot(Y[k]!, S[k]!);
      for (let q = 0; q < n; q++) d[q]! += (alpha[k]! - b) * S[k]![q]!;
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      S.length = 0;
      Y.length = 0;
      continue;
    }
    let t = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++, t /= 2) {
      for (let q = 0; q < n; q++) trial[q] = p[q]! + t * d[q]!;
      fNew = penalty(trial, mu, gNew);
      if (fNew <= f + 1e-4 * t * slope) break;
    }
    if (!(fNew < f)) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let q = 0; q < n; q++) {
      s[q] = trial[q]! - p[q]!;
      y[q] = gNew[q]! - g[q]!;
    }
    p.set(trial);
    g.set(gNew);
    f = fNew;
    if (dot(s, y) > 1e-20) {
      S.push(s);
      Y.push(y);
      if (S.length > 8) {
        S.shift();
        Y.shift();
      }
    }
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let q = 0; q < a.length; q++) s += a[q]! * b[q]!;
  return s;
}

/** Penalty continuation: L-BFGS at mu = 1e4 .. 1e10 from a relaxed packing; nearly exact contacts. */
function tighten(start: Circle[], iterations: number): Circle[] {
  const p = Float64Array.from(start.flat());
  for (let mu = 1e4; mu <= 1e10; mu *= 10) lbfgs(p, mu, iterations);
  return circlesOf(p);
}

/** A constraint g(z) >= 0 on z = [x0, y0, r0, x1, ...]: a wall of circle i (j < 0), or pair i, j. */
interface Constraint {
  i: number;
  j: number;
  /** The wall: 0 left, 1 right, 2 bottom, 3 top. */
  wall: number;
}

function slack(c: Constraint, z: number[]): number {
  const [x, y, r] = [z[3 * c.i]!, z[3 * c.i + 1]!, z[3 * c.i + 2]!];
  if (c.j < 0) return [x - r, 1 - x - r, y - r, 1 - y - r][c.wall]!;
  return Math.hypot(x - z[3 * c.j]!, y - z[3 * c.j + 1]!) - r - z[3 * c.j + 2]!;
}

/** The gradient of a constraint as (index, value) pairs. */
function gradient(c: Constraint, z: number[]): Array<[number, number]> {
  const i = 3 * c.i;
  if (c.j < 0)
    return [
      [i + (c.wall < 2 ? 0 : 1), c.wall % 2 === 0 ? 1 : -1],
      [i + 2, -1],
    ];
  const j = 3 * c.j;
  const d = Math.hypot(z[i]! - z[j]!, z[i + 1]! - z[j + 1]!);
  const ux = (z[i]! - z[j]!) / d;
  const uy = (z[i + 1]! - z[j + 1]!) / d;
  return [
    [i, ux],
    [i + 1, uy],
    [j, -ux],
    [j + 1, -uy],
    [i + 2, -1],
    [j + 2, -1],
  ];
}

/**
 * Active-set Newton polish: the constraints that nearly hold with equality (slack < tol) are
 * taken as equalities, and Newton's method solves the KKT conditions of "maximize sum r" on them
 * to machine precision. A contact whose multiplier comes out negative is dropped and a constraint
 * the step violates is added, for up to `rounds` rounds. Null when it fails (the caller then keeps
 * the unpolished packing).
 */
function polish(start: Circle[], rounds: number, tol: number): Circle[] | null {
  const n = 3 * N;
  const z = start.flat();
  const all: Constraint[] = [];
  for (let i = 0; i < N; i++) for (let wall = 0; wall < 4; wall++) all.push({ i, j: -1, wall });
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) all.push({ i, j, wall: -1 });
  let active = all.filter((c) => slack(c, z) < tol);
  let lambda = multipliers(active.map((c) => gradient(c, z)));
  for (let round = 0; round < rounds; round++) {
    for (let step = 0; step < 12; step++) {
      const m = active.length;
      const size = n + m;
      // KKT system [H, -A^T; A, 0] (dz, dlambda) = -(grad f - A^T lambda, g), f = -sum r.
      const K = Array.from({ length: size }, () => new Float64Array(size + 1));
      const rhs = new Float64Array(size);
      for (let i = 0; i < N; i++) rhs[3 * i + 2] = 1;
      active.forEach((c, a) => {
        rhs[n + a] = -slack(c, z);
        for (const [q, v] of gradient(c, z)) {
          K[n + a]![q]! += v;
          K[q]![n + a]! -= v;
          rhs[q]! += lambda[a]! * v;
        }
        if (c.j >= 0) hessian(K, c, z, lambda[a]!);
      });
      for (let q = 0; q < size; q++) K[q]![size] = rhs[q]!;
      for (let q = 0; q < n; q++) K[q]![q]! -= 1e-13;
      for (let a = 0; a < m; a++) K[n + a]![n + a]! += 1e-13;
      const delta = solve(K);
      if (!delta) return null;
      let norm = 0;
      for (let q = 0; q < n; q++) {
        z[q]! += delta[q]!;
        norm = Math.max(norm, Math.abs(delta[q]!));
      }
      lambda = lambda.map((l, a) => l + delta[n + a]!);
      if (!(norm < 0.5)) return null;
      if (norm < 1e-15) break;
    }
    let worst = -1;
    lambda.forEach((l, a) => {
      if (l < -1e-9 && (worst < 0 || l < lambda[worst]!)) worst = a;
    });
    const violated = all.filter((c) => !active.includes(c) && slack(c, z) < -1e-14);
    if (worst < 0 && violated.length === 0) break;
    if (worst >= 0) {
      active = active.filter((_, a) => a !== worst);
      lambda = lambda.filter((_, a) => a !== worst);
    }
    active.push(...violated);
    lambda.push(...violated.map(() => 0));
  }
  const out = circlesOf(z);
  return out.every((c) => c.every(Number.isFinite)) ? out : null;
}

/** Adds -lambda times the Hessian of a pair's distance, (I - u u^T) / d on (xi - xj, yi - yj). */
function hessian(K: Float64Array[], c: Constraint, z: number[], lambda: number): void {
  const i = 3 * c.i;
  const j = 3 * c.j;
  const dx = z[i]! - z[j]!;
  const dy = z[i + 1]! - z[j + 1]!;
  const d = Math.hypot(dx, dy);
  const block = [
    [(1 - (dx * dx) / (d * d)) / d, -(dx * dy) / (d * d * d)],
    [-(dx * dy) / (d * d * d), (1 - (dy * dy) / (d * d)) / d],
  ];
  for (const [p, sp] of [
    [i, 1],
    [j, -1],
  ] as const)
    for (const [q, sq] of [
      [i, 1],
      [j, -1],
    ] as const)
      for (let u = 0; u < 2; u++)
        for (let v = 0; v < 2; v++) K[p + u]![q + v]! -= lambda * sp * sq * block[u]![v]!;
}

/** Least-squares multipliers for the start: A A^T lambda = A grad f (with grad f = -1 on the radii). */
function multipliers(grads: Array<Array<[number, number]>>): number[] {
  const m = grads.length;
  const dense = grads.map((g) => {
    const row = new Float64Array(3 * N);
    for (const [q, v] of g) row[q]! += v;
    return row;
  });
  const K = Array.from({ length: m }, () => new Float64Array(m + 1));
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      let s = 0;
      for (let q = 0; q < 3 * N; q++) s += dense[a]![q]! * dense[b]![q]!;
      K[a]![b] = s + (a === b ? 1e-9 : 0);
    }
    let s = 0;
    for (let i = 0; i < N; i++) s -= dense[a]![3 * i + 2]!;
    K[a]![m] = s;
  }
  const lambda = solve(K);
  return lambda ? [...lambda].map((l) => Math.max(0, l)) : new Array<number>(m).fill(0);
}

/** Gaussian elimination with partial pivoting on an augmented matrix [M | b]; null when singular. */
function solve(K: Float64Array[]): Float64Array | null {
  const size = K.length;
  for (let col = 0; col < size; col++) {
    let pivot = col;
    for (let r = col + 1; r < size; r++)
      if (Math.abs(K[r]![col]!) > Math.abs(K[pivot]![col]!)) pivot = r;
    if (!(Math.abs(K[pivot]![col]!) > 1e-300)) return null;
    [K[col], K[pivot]] = [K[pivot]!, K[col]!];
    const top = K[col]!;
    for (let r = col + 1; r < size; r++) {
      const row = K[r]!;
      const f = row[col]! / top[col]!;
      if (f !== 0) for (let c = col; c <= size; c++) row[c]! -= f * top[c]!;
    }
  }
  const x = new Float64Array(size);
  for (let r = size - 1; r >= 0; r--) {
    let s = K[r]![size]!;
    for (let c = r + 1; c < size; c++) s -= K[r]![c]! * x[c]!;
    x[r] = s / K[r]![r]!;
  }
  return x;
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

/** Stages 2 to 4 from a start: the best feasible packing of the structure it settles in. */
function pack(start: Circle[]): Circle[] | null {
  const tight = tighten(relax(start, ITERATIONS), 200);
  const rough = makeFeasible(tight);
  const polished = polish(tight, 10, 1e-6);
  const exact = polished ? makeFeasible(polished) : null;
  const best = exact && sumRadii(exact) > sumRadii(rough) ? exact : rough;
  return best.every((c) => c[2] > 0) ? best : null;
}

/** A basin-hopping move: shake the centers, halve the radii, move one circle somewhere else. */
function shake(circles: Circle[], random: () => number): Circle[] {
  const moved = circles.map(([x, y, r]): Circle => [
    clamp(x + (random() - 0.5) * 2 * HOP_SIZE, 0.01, 0.99),
    clamp(y + (random() - 0.5) * 2 * HOP_SIZE, 0.01, 0.99),
    r / 2,
  ]);
  moved[Math.floor(random() * N)] = [0.05 + 0.9 * random(), 0.05 + 0.9 * random(), 0];
  return moved;
}

function main(): void {
  const random = rng(SEED);
  let best: Circle[] | null = null;
  for (let restart = 0; restart < Math.max(1, RESTARTS); restart++) {
    const packed = pack(initialLayout(ROWS, JITTER, random));
    if (packed && (!best || sumRadii(packed) > sumRadii(best))) best = packed;
  }
  if (!best) throw new Error('no start produced a packing with all radii positive');
  for (let hop = 0; hop < HOPS; hop++) {
    const packed = pack(shake(best, random));
    if (packed && sumRadii(packed) > sumRadii(best)) best = packed;
  }
  writeFileSync('circles.json', JSON.stringify(best) + '\n');
  console.log(
    `pack: wrote ${best.length} circles to circles.json (unverified total ${sumRadii(best).toFixed(6)})`,
  );
}

main();
