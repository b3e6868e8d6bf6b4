/**
 * Seeded randomness for the optimizer. Everything the tune agent proposes must be reproducible
 * from (seed, history) alone, so nothing here touches Math.random or the clock.
 */
import { decodeConfig, dimsOf, type Dim } from './encode.js';
import type { Config, ParamSpec } from './space.js';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number;
}

/** Mixes any number of integers into one 32-bit seed (murmur3's finalizer per part). */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    // Split so that large or fractional seeds still contribute all their bits.
    const lo = Math.floor(p) >>> 0;
    const hi = Math.floor(p / 2 ** 32) >>> 0;
    for (const x of [lo, hi]) {
      h = Math.imul(h ^ x, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/**
 * A stable seed from a string: FNV-1a over its UTF-16 code units, then mixed. The tune agent
 * seeds from the run tag, so two runs explore different sequences and a resumed one continues its own.
 */
export function stringSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return hashSeed(h >>> 0);
}

/** mulberry32: tiny, fast, passes the usual statistical batteries at the scale we need. */
export function createRng(seed: number): Rng {
  let a = hashSeed(seed);
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | null = null;
  return {
    next,
    normal() {
      // Box-Muller, keeping the second variate for the next call.
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      const u = 1 - next(); // (0, 1]: log(0) is impossible
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(lo, hi) {
      return lo + Math.floor(next() * (hi - lo + 1));
    },
  };
}

/** One uniform coordinate: a unit value, or a choice index (see encode.ts). */
export function uniformCoordinate(dim: Dim, rng: Rng): number {
  return dim.kind === 'cat' ? rng.int(0, dim.choices.length - 1) : rng.next();
}

/** A config drawn uniformly (log-uniformly for `log: true`) from the space. */
export function sampleConfig(params: ParamSpec[], rng: Rng): Config {
  const dims = dimsOf(params);
  return decodeConfig(
    dims,
    dims.map((d) => uniformCoordinate(d, rng)),
  );
}

const PRIMES = [
  2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

function nthPrime(i: number): number {
  if (i < PRIMES.length) return PRIMES[i]!;
  let p = PRIMES[PRIMES.length - 1]!;
  for (let k = PRIMES.length - 1; k < i;) {
    p += 2;
    let prime = true;
    for (let d = 3; d * d <= p; d += 2) if (p % d === 0) prime = false;
    if (prime) k++;
  }
  return p;
}

/**
 * Point `index` (0-based) of a scrambled Halton sequence in [0,1)^dims. The digit permutations
 * (zero kept fixed, so points stay well spread) break the correlations between dimensions that
 * plain Halton shows for larger primes; a random shift makes the first point differ per seed.
 * Same seed, same sequence: the initial design is a function of the seed, and the index is how
 * many points came before, so a resumed run continues the same design.
 */
export function halton(index: number, dims: number, seed: number): number[] {
  const rng = createRng(hashSeed(seed, 0x4a17));
  const point: number[] = [];
  for (let d = 0; d < dims; d++) {
    const base = nthPrime(d);
    const perm = [0];
    for (let k = 1; k < base; k++) perm.push(k);
    for (let k = base - 1; k > 1; k--) {
      const j = 1 + Math.floor(rng.next() * k);
      [perm[k], perm[j]] = [perm[j]!, perm[k]!];
    }
    const shift = rng.next();
    let f = 1;
    let x = 0;
    // index + 1: index 0 would be the all-zero corner before shifting.
    for (let n = index + 1; n > 0; n = Math.floor(n / base)) {
      f /= base;
      x += perm[n % base]! * f;
    }
    point.push((x + shift) % 1);
  }
  return point;
}
