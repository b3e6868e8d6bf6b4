/**
 * A simulated machine that drifts, for the policy benchmark. Time is the number of runs done so
 * far: every measurement happens at one moment and the machine's state at that moment applies to
 * it, so measuring the candidate next to the incumbent matters (the iid benchmark ignores time).
 *
 * A measurement of code whose true value is v (a timing: lower is better) is
 * speed(t) * (v + sigma(t) * e): the machine's speed scales the whole run, noise included.
 */
import type { Rng } from '../tune/random.js';

export const SIGMA = 0.01;
export const BASELINE = 1.0;

export const MODELS = ['iid', 'step', 'drift', 'heavy', 'hetero', 'load'] as const;
export type Model = (typeof MODELS)[number];

/** One line per model, for the bench's header. */
export const MODEL_NOTES: Record<Model, string> = {
  iid: 'independent N(0, sigma) around a fixed mean (the old benchmark)',
  step: 'the machine gets 5% (5 sigma) faster or slower (each seed draws which) at a random run among the first four of candidate N/2',
  drift:
    'the machine gets 2% (2 sigma) faster or slower (each seed draws which) every 100 runs, linearly',
  heavy: "Student's t noise with 3 df, scaled to sd sigma (rare large outliers)",
  hetero: 'the noise grows over the night: sd = sigma * (1 + t / 500 runs)',
  load: 'another job comes and goes (on/off, mean 30 runs each): 10% slower while it runs',
};

export interface World {
  /** Measures code of true value `v` now, and moves the clock on by one run. */
  measure(v: number): number;
  /** Candidate `k` (0-based) of `total` is about to be judged (events of the night are placed by candidate). */
  onCandidate(k: number, total: number): void;
  /** Runs done so far. */
  readonly runs: number;
}

/** Student's t with `df` degrees of freedom: a normal over the root of a scaled chi-square. */
function studentT(rng: Rng, df: number): number {
  let chi = 0;
  for (let k = 0; k < df; k++) chi += rng.normal() ** 2;
  return rng.normal() / Math.sqrt(chi / df);
}

/** A fresh machine of the given model; `rng` drives both its noise and its events. */
export function createWorld(model: Model, rng: Rng, sigma = SIGMA): World {
  let t = 0;
  let stepAt = Infinity;
  let busy = false;
  // Which way the machine drifts is drawn once, before anything else, so every copy agrees.
  const direction = rng.next() < 0.5 ? -1 : 1;
  const speed = (): number => {
    if (model === 'step') return t >= stepAt ? 1 + 0.05 * direction : 1;
    if (model === 'drift') return 1 + 2e-4 * direction * t;
    if (model === 'load') return busy ? 1.1 : 1;
    return 1;
  };
  const noise = (): number => {
    if (model === 'heavy') return studentT(rng, 3) / Math.sqrt(3); // t(3) has variance 3
    if (model === 'hetero') return (1 + t / 500) * rng.normal();
    return rng.normal();
  };
  return {
    measure(v) {
      if (model === 'load' && rng.next() < 1 / 30) busy = !busy;
      const m = speed() * (v + sigma * noise());
      t++;
      return m;
    },
    onCandidate(k, total) {
      if (model === 'step' && k === total >> 1) stepAt = t + rng.int(0, 3);
    },
    get runs() {
      return t;
    },
  };
}
