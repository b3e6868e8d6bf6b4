/**
 * The decision Policy: keep or discard a measured candidate. Pure functions behind one interface,
 * so the noise-aware policy can replace the strict one without touching the loop.
 */
import type { Goal } from '../ledger/types.js';
import { mean } from './stats.js';

export interface Measurement {
  /** Every measured value of the primary metric (one per run). */
  values: number[];
  /**
   * Experiment runs done since the newest of these values was measured. Optional: only the
   * noise-aware policy's `staleIncumbentRuns` reads it (absent = fresh).
   */
  runsSince?: number;
}

/** Which commit a run measured: the candidate under judgement or the incumbent it is compared with. */
export type Arm = 'candidate' | 'incumbent';

/** One run of a judgement, in the order the runs were measured. */
export interface Run {
  arm: Arm;
  value: number;
}

export interface DecisionInput {
  goal: Goal;
  candidate: Measurement;
  incumbent: Measurement;
  /** The run's measurement noise, pooled over every repeated measurement so far (stats.pooledNoise). */
  noise?: { sigma: number; df: number };
  /**
   * Simplicity penalty in metric units, already signed: a positive value makes the candidate worse
   * (added to its mean when minimizing, subtracted when maximizing); negative rewards less code.
   */
  penalty?: number;
  /**
   * The runs of this judgement in the order they were measured: the candidate's runs and the
   * incumbent's re-measures taken for it, interleaved as the policy asked (Decision.next). The
   * paired policy pairs neighbours and decides on their differences; the others ignore it.
   */
  sequence?: Run[];
  /** Earlier judgements' sequences, oldest first: the paired policy pools their noise. */
  history?: Run[][];
  /**
   * The machine drifts (drift.ts says so of the incumbent's runs): the paired policy then does
   * not screen a first run against the incumbent's earlier runs, it pairs it with a fresh one.
   */
  drifting?: boolean;
}

/** The numbers behind a decision, for the ledger. */
export interface DecisionStats {
  /** Penalty-adjusted candidate mean minus incumbent mean, in metric units. */
  diff: number;
  /** Standard error of diff; null where noise is unknown or not used (deterministic, strict). */
  se: number | null;
  /** One-sided p-value that the candidate is better; null where no test was run. */
  p: number | null;
  nCandidate: number;
  nIncumbent: number;
  /** The p a keep needed at this look: 1 - confidence split over the looks that may keep. */
  alpha?: number;
  /**
   * The keep bar: the smallest gain (metric units, positive = better) that would have been kept
   * with this noise and this many runs (at least min_effect). Null where the noise is unknown.
   */
  keepBar?: number | null;
  /** The keep bar at the last allowed look: smaller gains cannot be confirmed with this noise. */
  keepBarFinal?: number | null;
  /** Degrees of freedom behind se (the noise estimate's). */
  df?: number;
  /** Paired policy: the pairs the decision used (candidate run next to an incumbent run). */
  pairs?: number;
  /** Paired policy: 'log' compares ratios (a machine 2x slower cancels), 'linear' differences. */
  scale?: 'log' | 'linear';
  /** Paired policy: mean gain per pair on `scale` (log: ln of the ratio), positive = better. */
  pairedGain?: number;
  /** Paired policy: the relative change of the candidate, e.g. -0.012 for 1.2% lower (log scale). */
  relative?: number;
  /** Paired policy: the pairs a keep needs, and the most a candidate gets. */
  confirm?: number;
  maxPairs?: number;
}

export interface Decision {
  /** 'rerun': not decided yet; measure the candidate again (and the incumbent, when asked) and decide again. */
  status: 'keep' | 'discard' | 'rerun';
  /** One line a person can read: the numbers and the rule. */
  reason: string;
  /** With 'rerun': measure the incumbent again too, so both sides get equal evidence. */
  remeasureIncumbent?: boolean;
  /**
   * With 'rerun' from the paired policy: exactly the runs to do next, in this order, each
   * appended to DecisionInput.sequence; then decide again.
   */
  next?: Arm[];
  stats?: DecisionStats;
}

export interface Policy {
  readonly name: string;
  decide(input: DecisionInput): Decision;
}

/** Six significant digits, trailing zeros dropped: enough to tell values apart in a reason. */
export const show = (v: number) => Number(v.toPrecision(6)).toString();

/** True when `a` is strictly better than `b` for the goal. */
export function isBetter(goal: Goal, a: number, b: number): boolean {
  return goal === 'minimize' ? a < b : a > b;
}

/** A candidate mean moved by the signed penalty in the goal's "worse" direction. */
export function applyPenalty(goal: Goal, value: number, penalty = 0): number {
  return goal === 'minimize' ? value + penalty : value - penalty;
}

/** ", penalty +0.01" for the reasons; empty without a penalty so old reasons read as before. */
export function penaltyNote(penalty = 0): string {
  return penalty === 0 ? '' : `, penalty ${penalty > 0 ? '+' : ''}${show(penalty)}`;
}

/** Keep on any strict improvement of the mean; ties are discards (equal results add nothing). */
export const strictPolicy: Policy = {
  name: 'strict',
  decide({ goal, candidate, incumbent, penalty = 0 }) {
    // The penalty-adjusted candidate is what is compared (and shown), so a penalty can turn a keep into a discard.
    const c = applyPenalty(goal, mean(candidate.values), penalty);
    const i = mean(incumbent.values);
    const delta = c - i;
    const sign = delta > 0 ? '+' : '';
    const note = penaltyNote(penalty);
    const stats: DecisionStats = {
      diff: delta,
      se: null,
      p: null,
      nCandidate: candidate.values.length,
      nIncumbent: incumbent.values.length,
    };
    if (isBetter(goal, c, i))
      return {
        status: 'keep',
        reason: `kept: ${show(c)} vs ${show(i)} (${sign}${show(delta)}${note}), strictly better`,
        stats,
      };
    return {
      status: 'discard',
      reason:
        delta === 0
          ? `discarded: ${show(c)} ties the incumbent${note}`
          : `discarded: ${show(c)} vs ${show(i)} (${sign}${show(delta)}${note}), not better`,
      stats,
    };
  },
};
