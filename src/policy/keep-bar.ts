/**
 * The keep bar as the brief states it: the gain a change needs, with the noise of this moment,
 * to be kept. An agent that sees "discard -0.136" and no bar reads a contradiction; with
 * "a decrease of about 0.16 is needed" it knows the idea was too small to tell from noise.
 */
import type { ExperimentRow } from '../ledger/types.js';
import type { DecisionStats } from './policy.js';
import { noiseAwareKeepBar, sig2 } from './noise.js';
import type { Noise } from './stats.js';

export interface KeepBar {
  /** The gain (metric units, positive = better) a change needs to be kept. */
  gain: number;
  /** Runs of each side (or pairs) the bar assumes. */
  runs: number;
  unit: 'runs' | 'pairs';
  /** How it was computed, in one short clause. */
  how: string;
  /** A deterministic metric: one run each, any gain above `gain` keeps. */
  deterministic?: boolean;
}

export interface KeepBarSettings {
  confidence: number;
  minEffect: number;
  /** The most runs (or pairs) a candidate gets: the last look, where the bar is lowest. */
  maxRuns: number;
  deterministic: boolean;
  tolerance: number;
}

/**
 * From the newest decision that states its final keep bar (the paired policy does), else from
 * the run's pooled noise and the noise-aware policy's test. Null when the noise is not known yet.
 */
export function currentKeepBar(
  experiments: ExperimentRow[],
  noise: Noise | null,
  s: KeepBarSettings,
): KeepBar | null {
  if (s.deterministic)
    return {
      gain: Math.max(s.tolerance, s.minEffect),
      runs: 1,
      unit: 'runs',
      how: 'the metric is deterministic',
      deterministic: true,
    };
  for (let k = experiments.length - 1; k >= 0; k--) {
    const e = experiments[k]!;
    if (e.id <= 0 || e.state !== 'recorded' || !e.decision_json) continue;
    const stats = JSON.parse(e.decision_json) as DecisionStats;
    if (stats.keepBarFinal == null || !Number.isFinite(stats.keepBarFinal)) continue;
    const test = stats.alpha !== undefined ? ` at p < ${sig2(stats.alpha)}` : '';
    return {
      gain: stats.keepBarFinal,
      runs: stats.maxPairs ?? s.maxRuns,
      unit: 'pairs',
      how: `paired t-test${test}, from the noise as of experiment ${e.id}`,
    };
  }
  if (!noise || !Number.isFinite(noise.sigma)) return null;
  const bar = noiseAwareKeepBar(
    noise,
    { confidence: s.confidence, minEffect: s.minEffect, maxRepeats: s.maxRuns },
    s.maxRuns,
  );
  const test = `one-sided t-test at p < ${sig2(bar.alpha)} on the noise sd ${sig2(noise.sigma)} of repeated runs (df ${noise.df})`;
  const floor =
    s.minEffect > 0 && bar.gain === s.minEffect
      ? `min_effect ${sig2(s.minEffect)}, above the ${test}`
      : test;
  return { gain: bar.gain, runs: bar.runs, unit: 'runs', how: floor };
}
