/**
 * The decision Policy: keep or discard a measured candidate. Pure functions behind one interface,
 * so the noise-aware policy can replace the strict one without touching the loop.
 */
import type { Goal } from '../ledger/types.js';

export interface Measurement {
  /** Every measured value of the primary metric (one per run). */
  values: number[];
}

export interface DecisionInput {
  goal: Goal;
  candidate: Measurement;
  incumbent: Measurement;
}

export interface Decision {
  status: 'keep' | 'discard';
  /** One line a person can read: the numbers and the rule. */
  reason: string;
}

export interface Policy {
  readonly name: string;
  decide(input: DecisionInput): Decision;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const show = (v: number) => Number(v.toPrecision(6)).toString();

/** True when `a` is strictly better than `b` for the goal. */
export function isBetter(goal: Goal, a: number, b: number): boolean {
  return goal === 'minimize' ? a < b : a > b;
}

/** Keep on any strict improvement of the mean; ties are discards (equal results add nothing). */
export const strictPolicy: Policy = {
  name: 'strict',
  decide({ goal, candidate, incumbent }) {
    const c = mean(candidate.values);
    const i = mean(incumbent.values);
    const delta = c - i;
    const sign = delta > 0 ? '+' : '';
    if (isBetter(goal, c, i)) return { status: 'keep', reason: `kept: ${show(c)} vs ${show(i)} (${sign}${show(delta)}), strictly better` };
    return {
      status: 'discard',
      reason: delta === 0 ? `discarded: ${show(c)} ties the incumbent` : `discarded: ${show(c)} vs ${show(i)} (${sign}${show(delta)}), not better`,
    };
  },
};
