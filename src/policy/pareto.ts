/**
 * Pareto mode's decision: does a candidate join the front, and which members leave it. Pure: the
 * loop passes each point's means and runs, and each metric's noise (the same pooled estimate the
 * scalar policy uses, here per metric).
 *
 * A difference counts only beyond its margin: the metric's `tolerance`, or the one-sided t at
 * `confidence` times the standard error of the difference of two means, whichever is larger. A
 * member covers the candidate when, on every metric, it is better or within the margin; the
 * candidate joins when no member covers it. So a change that moves nothing beyond the noise never
 * joins, and a trade-off (better on one metric, worse on another) does. A member leaves when the
 * joining candidate is better beyond the margin on at least one metric and worse beyond it on none.
 */
import type { Goal } from '../ledger/types.js';
import { show } from './policy.js';
import { studentTQuantile } from './stats.js';
import { count } from '../util/words.js';

export interface Objective {
  name: string;
  goal: Goal;
  /** The smallest difference that counts, in the metric's units. */
  tolerance: number;
}

/** One experiment as the front sees it: the mean of each metric over its `n` runs. */
export interface FrontPoint {
  id: number;
  means: Record<string, number>;
  n: number;
}

/** One measurement's noise: its standard deviation, and the degrees of freedom behind it. */
export interface MetricNoise {
  sigma: number;
  df: number;
}

export interface FrontInput {
  objectives: Objective[];
  front: FrontPoint[];
  candidate: FrontPoint;
  /** Per metric name; null or absent: not known yet (no commit measured twice), only `tolerance` counts. */
  noise: Record<string, MetricNoise | null | undefined>;
  /** decision.confidence: how sure a difference must be to count. */
  confidence: number;
}

/** How the candidate compares with one member on one metric. */
type Side = 'better' | 'worse' | 'within';

interface Comparison {
  member: number;
  /** Per metric: the candidate's side, the two means and the margin. */
  metrics: Array<{ name: string; side: Side; candidate: number; member: number; margin: number }>;
}

export interface FrontVerdict {
  joins: boolean;
  /** When it does not join: the member that covers it (the one it is worse than on most metrics). */
  coveredBy: Comparison | null;
  /** When it joins: the members it dominates beyond the noise, which leave the front. */
  leaving: Comparison[];
  reason: string;
}

/** The margin a difference between two means of `a` and `b` runs must exceed. */
export function margin(
  o: Objective,
  noise: MetricNoise | null | undefined,
  a: number,
  b: number,
  confidence: number,
): number {
  if (!noise || noise.sigma === 0) return o.tolerance;
  const t = studentTQuantile(1 - confidence, noise.df);
  return Math.max(o.tolerance, t * noise.sigma * Math.sqrt(1 / a + 1 / b));
}

/** The candidate against one member, metric by metric. */
function compare(input: FrontInput, member: FrontPoint): Comparison {
  const c = input.candidate;
  return {
    member: member.id,
    metrics: input.objectives.map((o) => {
      const cv = c.means[o.name]!;
      const mv = member.means[o.name]!;
      const m = margin(o, input.noise[o.name], c.n, member.n, input.confidence);
      const gain = o.goal === 'minimize' ? mv - cv : cv - mv;
      const side: Side = gain > m ? 'better' : -gain > m ? 'worse' : 'within';
      return { name: o.name, side, candidate: cv, member: mv, margin: m };
    }),
  };
}

const sides = (cmp: Comparison, side: Side) => cmp.metrics.filter((m) => m.side === side).length;

/** The member covers the candidate: better or within the margin on every metric. */
const covers = (cmp: Comparison): boolean => sides(cmp, 'better') === 0;

/** The candidate dominates the member beyond the noise: better on one metric at least, worse on none. */
const dominates = (cmp: Comparison): boolean =>
  sides(cmp, 'better') > 0 && sides(cmp, 'worse') === 0;

export function judgeFront(input: FrontInput): FrontVerdict {
  const comparisons = input.front.map((m) => compare(input, m));
  const covering = comparisons.filter(covers);
  if (covering.length > 0) {
    // The most telling one: the member it is worse than on most metrics, then the oldest.
    const by = covering.reduce((a, b) => (sides(b, 'worse') > sides(a, 'worse') ? b : a));
    return { joins: false, coveredBy: by, leaving: [], reason: coveredReason(by) };
  }
  const leaving = comparisons.filter(dominates);
  return { joins: true, coveredBy: null, leaving, reason: joinReason(comparisons, leaving) };
}

function describe(m: Comparison['metrics'][number]): string {
  const within = `within ${show(m.margin)}`;
  const what =
    m.side === 'within' ? within : `${m.side}${m.margin > 0 ? ` beyond ${show(m.margin)}` : ''}`;
  return `${m.name} ${show(m.candidate)} vs ${show(m.member)} (${what})`;
}

function coveredReason(by: Comparison): string {
  const worse = sides(by, 'worse');
  const verb = worse === 0 ? 'matched' : worse === by.metrics.length ? 'dominated' : 'covered';
  return `discarded: ${verb} by experiment ${by.member} on the front: ${by.metrics.map(describe).join(', ')}`;
}

function joinReason(comparisons: Comparison[], leaving: Comparison[]): string {
  const size = comparisons.length - leaving.length + 1;
  const better = new Set(
    comparisons.flatMap((c) => c.metrics.filter((m) => m.side === 'better').map((m) => m.name)),
  );
  const why =
    better.size === 0
      ? 'the front was empty'
      : `no member is as good on every metric (better beyond the noise on ${[...better].join(', ')})`;
  const gone = leaving.map(
    (l) =>
      `; experiment ${l.member} leaves the front, dominated: ${l.metrics
        .filter((m) => m.side === 'better')
        .map(describe)
        .join(', ')}`,
  );
  return `kept: joins the front (${count(size, 'point')}): ${why}${gone.join('')}`;
}
