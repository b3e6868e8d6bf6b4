/**
 * The paired policy: confirmed keeps that survive a drifting machine. Comparing a candidate run
 * now with incumbent runs from an hour ago lets any change of machine speed in between decide
 * (a shared machine reported +14.69% and its own re-run of the best gave +4.45%). So the
 * candidate and the incumbent are measured alternately (C I I C C I ...), each candidate run is
 * paired with the incumbent run next to it in time, and the decision rests on the paired
 * differences: whatever the machine did between two moments is in both runs of a pair and
 * cancels. On a positive metric the differences are taken on the log scale, so a machine 2x
 * slower, which doubles a timing, cancels too. A keep needs at least `confirm` pairs (never one
 * lucky run) and a one-sided paired t-test at the asked confidence; the noise of one difference
 * is pooled over the recent judgements of the run (a 2-pair group alone has one degree of freedom).
 */
import type { Goal } from '../ledger/types.js';
import type { Program } from '../program/program.js';
import {
  applyPenalty,
  isBetter,
  penaltyNote,
  show,
  type Arm,
  type Decision,
  type DecisionInput,
  type DecisionStats,
  type Policy,
  type Run,
} from './policy.js';
import { noiseAwarePolicy, showDiff, sig2 } from './noise.js';
import { mean, studentTQuantile, studentTSurvival, type Noise } from './stats.js';
import { count } from '../util/words.js';

export interface PairedOptions {
  /** Confidence that a kept candidate is truly better (default 0.95). */
  confidence?: number;
  /** Smallest improvement worth keeping, absolute, in metric units (default 0). */
  minEffect?: number;
  /** Pairs a keep needs at least (default 2; at least 2, so one run never keeps). */
  confirm?: number;
  /** The most pairs a candidate gets (default 3). */
  maxPairs?: number;
  /** The metric has no noise: compare once against `tolerance`, as the noise-aware policy does. */
  deterministic?: boolean;
  tolerance?: number;
  /**
   * A first candidate run that is not better than the incumbent's newest runs is discarded at
   * once (one run, as today), when those runs are at most this many experiments old
   * (Measurement.runsSince). Older, or while the machine drifts (DecisionInput.drifting), a drift
   * could make a good candidate look worse: it is paired instead. Default 5; 0 screens only
   * against runs taken during this very experiment. The loop passes `repeats.refresh_incumbent`.
   */
  screenRuns?: number;
  /** The noise of a difference is pooled over the newest judgements up to this many degrees of freedom (default 30): noise that changes over time is followed. */
  noiseWindow?: number;
  /** 'auto' (default): log scale when every value is positive, else linear; 'linear': always differences. */
  scale?: 'auto' | 'linear';
}

type Resolved = Required<PairedOptions>;

function resolve(o: PairedOptions): Resolved {
  const r: Resolved = {
    confidence: o.confidence ?? 0.95,
    minEffect: o.minEffect ?? 0,
    confirm: o.confirm ?? 2,
    maxPairs: o.maxPairs ?? 3,
    deterministic: o.deterministic ?? false,
    tolerance: o.tolerance ?? 0,
    screenRuns: o.screenRuns ?? 5,
    noiseWindow: o.noiseWindow ?? 30,
    scale: o.scale ?? 'auto',
  };
  if (!(r.confidence > 0 && r.confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${r.confidence}`);
  if (!(r.minEffect >= 0)) throw new RangeError(`minEffect must be >= 0, got ${r.minEffect}`);
  if (!(Number.isInteger(r.confirm) && r.confirm >= 2))
    throw new RangeError(`confirm must be an integer >= 2 (one run never keeps), got ${r.confirm}`);
  if (!(Number.isInteger(r.maxPairs) && r.maxPairs >= r.confirm))
    throw new RangeError(
      `maxPairs must be an integer >= confirm (${r.confirm}), got ${r.maxPairs}`,
    );
  if (!(r.screenRuns >= 0)) throw new RangeError(`screenRuns must be >= 0, got ${r.screenRuns}`);
  if (!(r.noiseWindow >= 1)) throw new RangeError(`noiseWindow must be >= 1, got ${r.noiseWindow}`);
  return r;
}

/** A candidate run and the incumbent run next to it in time. */
export interface Pair {
  candidate: number;
  incumbent: number;
}

/**
 * Pairs neighbours of different arms, left to right: C I I C -> (C, I), (I, C). A run whose
 * neighbours are of its own arm (a crash between the two runs of a pair) stays unpaired.
 */
export function pairRuns(sequence: Run[]): { pairs: Pair[]; paired: boolean[] } {
  const pairs: Pair[] = [];
  const paired = sequence.map(() => false);
  for (let k = 0; k + 1 < sequence.length; k++) {
    const a = sequence[k]!;
    const b = sequence[k + 1]!;
    if (a.arm === b.arm) continue;
    pairs.push(
      a.arm === 'candidate'
        ? { candidate: a.value, incumbent: b.value }
        : { candidate: b.value, incumbent: a.value },
    );
    paired[k] = paired[k + 1] = true;
    k++;
  }
  return { pairs, paired };
}

const other = (arm: Arm): Arm => (arm === 'candidate' ? 'incumbent' : 'candidate');

/**
 * What to measure next: the partner of an unpaired last run, or else a pair that starts with the
 * arm measured last (C I, I C, C I ...). The alternating order cancels a linear drift over every
 * two pairs, and switches commits every other run instead of every run.
 */
export function nextRuns(sequence: Run[]): Arm[] {
  if (sequence.length === 0) return ['candidate'];
  const { paired } = pairRuns(sequence);
  const last = sequence[sequence.length - 1]!.arm;
  return paired[sequence.length - 1] ? [last, other(last)] : [other(last)];
}

export type Scale = 'log' | 'linear';

/** Log when every value is positive (a ratio then exists), unless told to stay linear. */
export function scaleOf(values: number[], option: 'auto' | 'linear' = 'auto'): Scale {
  return option === 'auto' && values.length > 0 && values.every((v) => v > 0 && Number.isFinite(v))
    ? 'log'
    : 'linear';
}

/** Candidate minus incumbent on the scale, for every pair (the noise does not care for the sign). */
function differences(pairs: Pair[], scale: Scale): number[] {
  return pairs.map((p) =>
    scale === 'log' ? Math.log(p.candidate) - Math.log(p.incumbent) : p.candidate - p.incumbent,
  );
}

function sumSquares(xs: number[]): number {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0);
}

/**
 * The noise of one paired difference, pooled within earlier judgements (each judgement's true
 * effect differs, so only the spread inside one counts), newest first until `window` degrees of
 * freedom. Judgements with fewer than two pairs, or a value the scale cannot take, add nothing.
 */
export function pairedNoise(history: Run[][], scale: Scale, window = 30): Noise | null {
  let ss = 0;
  let df = 0;
  for (let k = history.length - 1; k >= 0 && df < window; k--) {
    const { pairs } = pairRuns(history[k]!);
    if (pairs.length < 2) continue;
    if (scale === 'log' && !pairs.every((p) => p.candidate > 0 && p.incumbent > 0)) continue;
    ss += sumSquares(differences(pairs, scale));
    df += pairs.length - 1;
  }
  return df === 0 ? null : { sigma: Math.sqrt(ss / df), df };
}

function describe(next: Arm[]): string {
  if (next.length === 1) return `the ${next[0]}`;
  return `a pair (${next[0]}, then ${next[1]})`;
}

/** Gain on the scale (positive = better) in metric units, around the incumbent's level `ref`. */
function toMetric(gain: number, scale: Scale, goal: Goal, ref: number): number {
  if (scale === 'linear') return gain;
  return goal === 'minimize' ? ref * (1 - Math.exp(-gain)) : ref * (Math.exp(gain) - 1);
}

const pct = (rel: number) => `${rel > 0 ? '+' : ''}${sig2(100 * rel)}%`;

export function pairedPolicy(options: PairedOptions = {}): Policy {
  const o = resolve(options);
  if (o.deterministic)
    return noiseAwarePolicy({
      deterministic: true,
      tolerance: o.tolerance,
      minEffect: o.minEffect,
    });
  // A candidate may be kept at each look n = confirm .. maxPairs, and each look is another chance
  // for noise to pass. Splitting 1 - confidence evenly over those looks (Bonferroni) bounds the
  // chance that a candidate that is not better is ever kept by 1 - confidence. Looks before
  // `confirm` cannot keep and discards cannot be false keeps, so neither spends any of it.
  const alpha = (1 - o.confidence) / (o.maxPairs - o.confirm + 1);
  const needs = `needs p < ${sig2(alpha)}`;

  return {
    name: 'paired',
    decide(input: DecisionInput): Decision {
      const { goal } = input;
      const penalty = input.penalty ?? 0;
      const note = penaltyNote(penalty);
      // Without the time order nothing can be paired, and a loop that does not pass it would
      // be asked for runs forever: say so instead.
      const given = input.sequence;
      if (!given)
        throw new RangeError(
          "paired policy: pass this judgement's runs in the order they were measured (DecisionInput.sequence)",
        );
      // The penalty moves every candidate value alike, before pairing (and before the log).
      const sequence =
        penalty === 0
          ? given
          : given.map((r) =>
              r.arm === 'candidate'
                ? { arm: r.arm, value: applyPenalty(goal, r.value, penalty) }
                : r,
            );
      const nC = sequence.reduce((k, r) => k + (r.arm === 'candidate' ? 1 : 0), 0);
      if (nC === 0)
        throw new RangeError('paired policy: the sequence needs at least one candidate run');
      const { pairs, paired } = pairRuns(sequence);
      const rerun = (why: string, stats: DecisionStats): Decision => {
        const next = nextRuns(sequence);
        return {
          status: 'rerun',
          reason: `${why}: measuring ${describe(next)}`,
          next,
          remeasureIncumbent: next.includes('incumbent'),
          stats,
        };
      };
      const base = {
        alpha,
        confirm: o.confirm,
        maxPairs: o.maxPairs,
        pairs: pairs.length,
        nCandidate: nC,
      };

      if (pairs.length === 0) {
        // Before any pair: a first run that is not even better than the incumbent's newest runs
        // is discarded on that run, as the noise-aware policy does. A drift can only cost a good
        // candidate here, never keep a bad one, and only while those runs are recent.
        const c = mean(sequence.filter((r) => r.arm === 'candidate').map((r) => r.value));
        const newest = input.incumbent.values.slice(-3);
        const age = input.incumbent.runsSince ?? 0;
        if (newest.length === 0 || age > o.screenRuns || input.drifting) {
          const stats: DecisionStats = { ...base, diff: NaN, se: null, p: null, nIncumbent: 0 };
          const why =
            newest.length === 0
              ? 'no incumbent run to compare with'
              : input.drifting
                ? 'the machine drifts'
                : `the incumbent was measured ${count(age, 'experiment')} ago`;
          return rerun(`${why}, to compare in pairs`, stats);
        }
        const i = mean(newest);
        const stats: DecisionStats = {
          ...base,
          diff: c - i,
          se: null,
          p: null,
          nIncumbent: newest.length,
        };
        const vs = `${show(c)} vs ${show(i)} (${showDiff(c - i, null)}${note})`;
        if (!isBetter(goal, c, i))
          return {
            status: 'discard',
            reason: `discarded: ${vs}, n=${nC} vs the incumbent's newest ${newest.length}, not better`,
            stats,
          };
        return rerun(
          `looks better (${showDiff(c - i, null)}${note}) than the incumbent's newest runs, to confirm in pairs`,
          stats,
        );
      }

      const t = pairedTest(
        pairs,
        goal,
        scaleOf(
          sequence.map((r) => r.value),
          o.scale,
        ),
        o.noiseWindow,
        input,
      );
      const n = pairs.length;
      const bar = (k: number) =>
        t.noise
          ? Math.max(
              o.minEffect,
              toMetric(
                studentTQuantile(alpha, t.noise.df) * (t.noise.sigma / Math.sqrt(k)),
                t.scale,
                goal,
                t.ref,
              ),
            )
          : null;
      const stats: DecisionStats = {
        ...base,
        diff: t.diff,
        se: t.se,
        p: t.p,
        nIncumbent: sequence.length - nC,
        scale: t.scale,
        pairedGain: t.gain,
        ...(t.relative !== undefined ? { relative: t.relative } : {}),
        ...(t.noise ? { df: t.noise.df } : {}),
        keepBar: bar(Math.max(n, o.confirm)),
        keepBarFinal: bar(o.maxPairs),
      };
      const left = paired.filter((x) => !x).length;
      const pn = `${count(n, 'pair')}${left ? ` (${count(left, 'unpaired run')} left out)` : ''}`;
      const rel = t.relative !== undefined ? ` (${pct(t.relative)})` : '';
      const d = `paired ${showDiff(t.diff, t.se)}${t.se !== null ? ` +- ${sig2(t.se)}` : ''}${rel}`;

      if (!(t.gain > 0))
        return { status: 'discard', reason: `discarded: ${d}, ${pn}, not better${note}`, stats };
      if (t.p === null)
        return rerun(`looks better (${d}${note}) but noise is unknown, ${pn}`, stats);
      const ps = `p=${sig2(t.p)}`;
      if (n < o.confirm)
        return rerun(`looks better (${d}, ${ps}${note}) but ${pn} < confirm ${o.confirm}`, stats);
      const significant = t.p < alpha;
      const bigEnough = (goal === 'minimize' ? -t.diff : t.diff) >= o.minEffect;
      if (significant && bigEnough)
        return { status: 'keep', reason: `kept: ${d}, ${pn}, ${ps} (${needs})${note}`, stats };
      const why = significant ? `below minEffect ${show(o.minEffect)}` : `${ps} (${needs})`;
      if (n < o.maxPairs) return rerun(`looks better (${d}${note}) but ${why}, ${pn}`, stats);
      if (!significant) {
        const keepBar =
          stats.keepBar != null ? `; keeping needs a gain of ${sig2(stats.keepBar)}` : '';
        return {
          status: 'discard',
          reason: `not significant: ${d}, ${pn}, ${ps} (${needs}${keepBar})${note}`,
          stats,
        };
      }
      return {
        status: 'discard',
        reason: `discarded: ${d}, ${pn}, ${ps}${note}, below minEffect ${show(o.minEffect)}`,
        stats,
      };
    },
  };
}

interface PairedTest {
  scale: Scale;
  /** Mean gain per pair on the scale, positive = the candidate is better. */
  gain: number;
  /** Mean of candidate minus incumbent over the pairs, metric units; se in metric units. */
  diff: number;
  se: number | null;
  p: number | null;
  relative?: number;
  noise: Noise | null;
  /** The incumbent's level in the pairs (geometric mean), to turn log differences into metric units. */
  ref: number;
}

/** One-sided paired t-test that the candidate is better, on the noise of a difference. */
function pairedTest(
  pairs: Pair[],
  goal: Goal,
  scale: Scale,
  window: number,
  input: DecisionInput,
): PairedTest {
  const ds = differences(pairs, scale);
  const gain = (goal === 'minimize' ? -1 : 1) * mean(ds);
  const ref = scale === 'log' ? Math.exp(mean(pairs.map((p) => Math.log(p.incumbent)))) : NaN;
  const diff = mean(pairs.map((p) => p.candidate - p.incumbent));
  const magnitude = Math.max(
    ...pairs.map((p) => Math.max(Math.abs(p.candidate), Math.abs(p.incumbent))),
  );
  const noise = noiseOf(ds, input.history ?? [], scale, window, input.noise, ref, magnitude);
  const se = noise ? noise.sigma / Math.sqrt(ds.length) : null;
  const p =
    se === null || !noise
      ? null
      : se === 0
        ? gain > 0
          ? 0
          : 1
        : studentTSurvival(gain / se, noise.df);
  return {
    scale,
    gain,
    diff,
    se: se === null ? null : scale === 'log' ? se * ref : se,
    p,
    ...(scale === 'log' ? { relative: Math.exp(mean(ds)) - 1 } : {}),
    noise,
    ref,
  };
}

/**
 * The noise of one difference: this judgement's own spread pooled with the recent judgements'.
 * Before any judgement had two pairs, the run's noise of one measurement stands in for theirs
 * (a difference of two runs has sqrt(2) of it; relative on the log scale): a drift inflates that
 * one, which only makes the test stricter. Null when nothing says how noisy the metric is.
 */
function noiseOf(
  ds: number[],
  history: Run[][],
  scale: Scale,
  window: number,
  runNoise: Noise | undefined,
  ref: number,
  magnitude: number,
): Noise | null {
  const usable =
    runNoise && Number.isFinite(runNoise.sigma) && runNoise.sigma >= 0 && runNoise.df > 0;
  const past =
    pairedNoise(history, scale, window) ??
    (usable
      ? {
          sigma: Math.SQRT2 * (scale === 'log' ? runNoise.sigma / ref : runNoise.sigma),
          df: runNoise.df,
        }
      : null);
  const ownDf = ds.length - 1;
  const df = (past?.df ?? 0) + ownDf;
  if (df === 0) return null;
  const ss = (past ? past.sigma ** 2 * past.df : 0) + (ownDf > 0 ? sumSquares(ds) : 0);
  const sigma = Math.sqrt(ss / df);
  // The rounding of identical values (ln 4 - ln 5, twice) is not noise: below it, there is none.
  const rounding = 1e-12 * (scale === 'log' ? 1 : magnitude);
  return { sigma: sigma < rounding ? 0 : sigma, df };
}

/**
 * The decision policy a program gets: a deterministic metric is compared once against its
 * tolerance; a noisy one in pairs, with the program's `decision` and `repeats`.
 */
export function programPolicy(
  config: Pick<Program['config'], 'metric' | 'decision' | 'repeats'>,
): Policy {
  return config.metric.deterministic
    ? pairedPolicy({
        deterministic: true,
        tolerance: config.metric.tolerance,
        minEffect: config.decision.min_effect,
      })
    : pairedPolicy({
        confidence: config.decision.confidence,
        minEffect: config.decision.min_effect,
        confirm: config.repeats.confirm,
        maxPairs: config.repeats.max,
        screenRuns: config.repeats.refresh_incumbent,
      });
}
