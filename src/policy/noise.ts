/**
 * The noise-aware policy: keep a candidate only when its improvement exceeds the measured noise.
 * On a noisy metric, keeping on one run is a coin flip (a published overnight run kept 22
 * "improvements", 14 of them smaller than what changing only the seed does). So a candidate that
 * looks better but is not yet significant is measured again ('rerun'), up to `maxRepeats` runs,
 * and is kept only when a one-sided Welch test says it is better at the asked confidence.
 */
import type { Goal } from '../ledger/types.js';
import {
  applyPenalty,
  penaltyNote,
  show,
  type Decision,
  type DecisionInput,
  type DecisionStats,
  type Policy,
} from './policy.js';
import {
  mean,
  pooledNoise,
  studentTQuantile,
  welchOneSided,
  type Noise,
  type WelchOptions,
} from './stats.js';
import { count } from '../util/words.js';

export interface NoiseOptions {
  /** Confidence that a kept candidate is truly better (default 0.95). */
  confidence?: number;
  /** Smallest improvement worth keeping, absolute, in metric units (default 0). */
  minEffect?: number;
  /** The most measurements a candidate gets (default 3). */
  maxRepeats?: number;
  /** The metric has no noise: compare once against `tolerance`, never rerun (default false). */
  deterministic?: boolean;
  /** Deterministic metrics only: the improvement must exceed this (default 0). */
  tolerance?: number;
  /**
   * Incumbent measurements older than this many experiment runs (Measurement.runsSince) are
   * stale (machines drift): a candidate is not kept against them while it can still be measured
   * again; it is rerun with the incumbent re-measured. Off when undefined.
   */
  staleIncumbentRuns?: number;
}

type Resolved = Required<Omit<NoiseOptions, 'staleIncumbentRuns'>> &
  Pick<NoiseOptions, 'staleIncumbentRuns'>;

function resolve(o: NoiseOptions): Resolved {
  const r: Resolved = {
    confidence: o.confidence ?? 0.95,
    minEffect: o.minEffect ?? 0,
    maxRepeats: o.maxRepeats ?? 3,
    deterministic: o.deterministic ?? false,
    tolerance: o.tolerance ?? 0,
    staleIncumbentRuns: o.staleIncumbentRuns,
  };
  if (!(r.confidence > 0 && r.confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${r.confidence}`);
  if (!(r.minEffect >= 0)) throw new RangeError(`minEffect must be >= 0, got ${r.minEffect}`);
  if (!(Number.isInteger(r.maxRepeats) && r.maxRepeats >= 1))
    throw new RangeError(`maxRepeats must be an integer >= 1, got ${r.maxRepeats}`);
  if (!(r.tolerance >= 0)) throw new RangeError(`tolerance must be >= 0, got ${r.tolerance}`);
  return r;
}

/** Two significant digits (se, p): more would be false precision. */
export function sig2(v: number): string {
  if (v !== 0 && Math.abs(v) < 1e-15) return v > 0 ? '<1e-15' : '>-1e-15';
  return Number(v.toPrecision(2)).toString();
}

/** A signed difference, with decimals down to the se's second significant digit (no noise digits). */
export function showDiff(diff: number, se: number | null): string {
  const sign = diff > 0 ? '+' : '';
  if (se === null || !(se > 0) || !Number.isFinite(se)) return sign + show(diff);
  const decimals = Math.min(15, Math.max(0, 1 - Math.floor(Math.log10(se))));
  return sign + diff.toFixed(decimals);
}

/** The run's noise estimate, when it is one that can be used. */
function usable(noise: Noise | undefined): Noise | null {
  return noise && Number.isFinite(noise.sigma) && noise.sigma >= 0 && noise.df > 0 ? noise : null;
}

/** Improvement in the goal's direction: positive when the candidate is better. */
const gainOf = (goal: Goal, diff: number) => (goal === 'minimize' ? -diff : diff);

/**
 * The test options: the run's noise for both sides when given (it rests on far more runs than a
 * 2- or 3-run group), Welch on own variances when both sides have them, and otherwise the noise
 * pooled from the two groups at hand. Null when nothing says how noisy the metric is.
 */
function testOptions(noise: Noise | null, cand: number[], inc: number[]): WelchOptions | null {
  const shared = (n: Noise): WelchOptions => ({
    sigmaA: n.sigma,
    sigmaB: n.sigma,
    dfA: n.df,
    dfB: n.df,
    preferProvided: true,
  });
  if (noise) return shared(noise);
  if (cand.length >= 2 && inc.length >= 2) return {};
  const local = pooledNoise([cand, inc]);
  return local ? shared(local) : null;
}

export function noiseAwarePolicy(options: NoiseOptions = {}): Policy {
  const o = resolve(options);
  // A candidate is tested up to maxRepeats times (once per measurement), and each look is another
  // chance for noise to pass: at p < 0.05 per look, 3 looks keep ~9% of truly neutral candidates
  // (simulated). Splitting 1 - confidence evenly over the looks (Bonferroni) bounds the chance of
  // keeping a candidate that is not better by 1 - confidence overall (~3.5% simulated at 0.95).
  const alpha = (1 - o.confidence) / o.maxRepeats;
  const needs = `needs p < ${sig2(alpha)}`;
  return {
    name: o.deterministic ? 'deterministic' : 'noise-aware',
    decide(input: DecisionInput): Decision {
      const { goal, candidate, incumbent } = input;
      const penalty = input.penalty ?? 0;
      const nC = candidate.values.length;
      const nI = incumbent.values.length;
      if (nC === 0 || nI === 0)
        throw new RangeError('noise-aware policy: both sides need at least one measurement');
      // The penalty shifts every candidate value alike: the mean moves, the spread does not.
      const cand = candidate.values.map((v) => applyPenalty(goal, v, penalty));
      const inc = incumbent.values;
      const c = mean(cand);
      const i = mean(inc);
      const diff = c - i;
      const gain = gainOf(goal, diff);
      const n = `n=${nC} vs ${nI}`;
      const note = penaltyNote(penalty);
      const vs = `${show(c)} vs ${show(i)} (${showDiff(diff, null)}${note})`;

      if (o.deterministic) {
        const stats: DecisionStats = { diff, se: null, p: null, nCandidate: nC, nIncumbent: nI };
        if (gain <= 0) return { status: 'discard', reason: `discarded: ${vs}, not better`, stats };
        // "Exceeds the tolerance" up to float rounding: 1 - 0.99 is 0.010000000000000009, and a
        // result exactly at the tolerance must not pass on the last bit.
        const rounding =
          o.tolerance > 0 ? 1e-12 * Math.max(Math.abs(c), Math.abs(i), o.tolerance) : 0;
        if (gain <= o.tolerance + rounding)
          return {
            status: 'discard',
            reason: `discarded: ${vs}, within tolerance ${show(o.tolerance)}`,
            stats,
          };
        if (gain < o.minEffect)
          return {
            status: 'discard',
            reason: `discarded: ${vs}, below minEffect ${show(o.minEffect)}`,
            stats,
          };
        return {
          status: 'keep',
          reason: `kept: ${vs}, beats tolerance ${show(o.tolerance)}`,
          stats,
        };
      }

      const opts = testOptions(usable(input.noise), cand, inc);
      // Oriented so that "a > b" means "the candidate is better".
      const test =
        opts &&
        (goal === 'minimize' ? welchOneSided(inc, cand, opts) : welchOneSided(cand, inc, opts));
      const se = test ? test.se : null;
      const p = test ? test.p : null;
      // The keep bar: the gain this test would have needed here, at least minEffect.
      const keepBar = test
        ? Math.max(o.minEffect, test.se === 0 ? 0 : studentTQuantile(alpha, test.df) * test.se)
        : null;
      const stats: DecisionStats = {
        diff,
        se,
        p,
        nCandidate: nC,
        nIncumbent: nI,
        alpha,
        keepBar,
        ...(test ? { df: test.df } : {}),
      };
      const canRerun = nC < o.maxRepeats;
      const stale =
        o.staleIncumbentRuns !== undefined && (incumbent.runsSince ?? 0) > o.staleIncumbentRuns;
      // Equal evidence on both sides: the incumbent is measured again when it would otherwise
      // have fewer runs than the candidate after this rerun (or when its runs are stale).
      const remeasureIncumbent = nI < nC + 1 || stale;
      const rerun = (why: string): Decision => ({
        status: 'rerun',
        reason: `${why}, ${n}: measuring again${remeasureIncumbent ? ' (incumbent too)' : ''}`,
        remeasureIncumbent,
        stats,
      });

      if (gain <= 0) {
        const what = diff === 0 ? `${show(c)} ties the incumbent${note}` : vs;
        return { status: 'discard', reason: `discarded: ${what}, ${n}, not better`, stats };
      }

      if (!test) {
        // Both sides have one run and the run has no noise estimate yet: nothing to judge against.
        if (canRerun)
          return rerun(`looks better (${showDiff(diff, null)}${note}) but noise is unknown`);
        return {
          status: 'keep',
          reason: `kept: ${vs}, ${n}, noise unknown: strictly better`,
          stats,
        };
      }

      const d = `${showDiff(diff, se)} +- ${sig2(test.se)}`;
      const significant = test.p < alpha;
      const bigEnough = gain >= o.minEffect;
      if (significant && bigEnough) {
        if (stale && canRerun) {
          return rerun(
            `looks better (${d}, p=${sig2(test.p)}${note}) but the incumbent was measured ${count(incumbent.runsSince ?? 0, 'run')} ago`,
          );
        }
        return { status: 'keep', reason: `kept: ${d}, ${n}, p=${sig2(test.p)}${note}`, stats };
      }
      const why = significant
        ? `below minEffect ${show(o.minEffect)}`
        : `p=${sig2(test.p)} (${needs})`;
      if (canRerun) return rerun(`looks better (${showDiff(diff, se)}${note}) but ${why}`);
      if (!significant)
        return {
          status: 'discard',
          reason: `not significant: ${d}, ${n}, p=${sig2(test.p)} (${needs})${note}`,
          stats,
        };
      return {
        status: 'discard',
        reason: `discarded: ${d}, ${n}, p=${sig2(test.p)}${note}, below minEffect ${show(o.minEffect)}`,
        stats,
      };
    },
  };
}

/**
 * The keep bar of the noise-aware policy with the run's noise: the smallest gain (metric units)
 * that a candidate and an incumbent with `runs` runs each would pass at the last look, the same
 * test the policy runs (the shared noise for both sides, alpha split over the looks), at least
 * minEffect. Zero noise: any gain above minEffect passes.
 */
export function noiseAwareKeepBar(
  noise: Noise,
  options: NoiseOptions = {},
  runs?: number,
): { gain: number; alpha: number; runs: number } {
  const o = resolve(options);
  const n = runs ?? o.maxRepeats;
  const alpha = (1 - o.confidence) / o.maxRepeats;
  const se = noise.sigma * Math.sqrt(2 / n);
  return {
    gain: Math.max(o.minEffect, se === 0 ? 0 : studentTQuantile(alpha, noise.df) * se),
    alpha,
    runs: n,
  };
}
