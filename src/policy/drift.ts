/**
 * Drift detection: does the incumbent, the same code measured again and again through the night,
 * still measure what it did? Its re-measurements are compared with the noise of one run, measured
 * where drift cannot reach it (paired differences, or differences of successive runs). Two
 * shapes are looked for: a step (the machine got faster or slower at some moment: the split of
 * the runs into before and after whose means differ most) and a trend (a steady slope). Pure; the
 * loop shows the sentence in status, dashboard, brief and webhooks, and trusts the incumbent's
 * old runs less while it says `drifting`.
 */
import { show } from './policy.js';
import { sig2 } from './noise.js';
import { mean, type Noise } from './stats.js';
import { scaleOf, type Scale } from './paired.js';

export interface Timed {
  value: number;
  /** When it was measured, in runs of the night (a measurement's id in the ledger): only the order and the distances matter. */
  at: number;
}

export interface DriftInput {
  /** The incumbent's runs, any order (sorted by `at` here). */
  runs: Timed[];
  /**
   * The noise of one run on the scale (relative on a positive metric, e.g. 0.01 for 1%), measured
   * free of drift: pairedNoise(history) / sqrt(2). Without it, the successive runs' differences
   * give it (a drift moves neighbours alike).
   */
  noise?: Noise | null;
  /** Optional machine load samples (e.g. the load average at each run), only reported. */
  load?: Timed[];
  /** How many standard errors make a drift (default 3.5: the best of many splits is looked at). */
  k?: number;
  scale?: 'auto' | 'linear';
}

export interface DriftVerdict {
  drifting: boolean;
  /** 'step' or 'trend' when drifting (the stronger), else 'none'; 'unknown' with too few runs. */
  kind: 'step' | 'trend' | 'none' | 'unknown';
  scale: Scale;
  /** Runs looked at. */
  n: number;
  /** Newest runs minus older runs at the best split: relative (0.05 = 5% higher now) on the log scale, else metric units. */
  shift: number;
  /** shift over its standard error. */
  z: number;
  /** `at` of the first run after the best split: about when the step happened. */
  since: number | null;
  /** Change per 100 runs (relative on the log scale), and its z. */
  trend: number;
  trendZ: number;
  /**
   * The fitted trend over the runs looked at: its change (relative on the log scale) from the
   * first run's `at` to the last's. What a sentence says: a rate per 100 runs read off a handful
   * of runs compounds into an absurd figure (+6100%).
   */
  trendSpan: { from: number; to: number; change: number } | null;
  /** The noise of one run used (on the scale). */
  sigma: number | null;
  load?: { before: number; after: number };
  /** One line for a person, with the numbers. */
  sentence: string;
}

const fromScale = (x: number, scale: Scale) => (scale === 'log' ? Math.exp(x) - 1 : x);

function showChange(x: number, scale: Scale): string {
  const sign = x > 0 ? '+' : '';
  return scale === 'log' ? `${sign}${sig2(100 * x)}%` : `${sign}${show(Number(x.toPrecision(3)))}`;
}

/** The noise of one run from successive differences (von Neumann): a slow drift or one step barely moves it. */
function successiveNoise(xs: number[]): Noise | null {
  if (xs.length < 3) return null;
  let ss = 0;
  for (let k = 1; k < xs.length; k++) ss += (xs[k]! - xs[k - 1]!) ** 2;
  return { sigma: Math.sqrt(ss / (2 * (xs.length - 1))), df: xs.length - 1 };
}

export function detectDrift(input: DriftInput): DriftVerdict {
  const k = input.k ?? 3.5;
  const runs = [...input.runs].filter((r) => Number.isFinite(r.value)).sort((a, b) => a.at - b.at);
  const scale = scaleOf(
    runs.map((r) => r.value),
    input.scale ?? 'auto',
  );
  const xs = runs.map((r) => (scale === 'log' ? Math.log(r.value) : r.value));
  const n = xs.length;
  const given =
    input.noise && Number.isFinite(input.noise.sigma) && input.noise.sigma > 0 ? input.noise : null;
  const noise = given ?? successiveNoise(xs);
  const base = {
    scale,
    n,
    shift: 0,
    z: 0,
    since: null,
    trend: 0,
    trendZ: 0,
    trendSpan: null,
    sigma: noise?.sigma ?? null,
  };
  // Given no noise, successive runs that never differ mean identical runs: nothing moved.
  if (n >= 4 && noise && noise.sigma === 0) {
    return {
      ...base,
      drifting: false,
      kind: 'none',
      sentence: `no drift: the incumbent's ${n} runs are identical`,
    };
  }
  if (n < 4 || !noise || !(noise.sigma > 0)) {
    return {
      ...base,
      drifting: false,
      kind: 'unknown',
      sentence: `too few runs of the incumbent to tell drift from noise (n=${n}, needs 4)`,
    };
  }
  const sigma = noise.sigma;

  // Step: the split (at least 2 runs each side) whose before/after means differ most in units of their se.
  let best = { z: 0, shift: 0, at: 0 };
  for (let s = 2; s <= n - 2; s++) {
    const shift = mean(xs.slice(s)) - mean(xs.slice(0, s));
    const z = shift / (sigma * Math.sqrt(1 / s + 1 / (n - s)));
    if (Math.abs(z) > Math.abs(best.z)) best = { z, shift, at: s };
  }
  // Trend: the least-squares slope against time.
  const ts = runs.map((r) => r.at);
  const tm = mean(ts);
  const sxx = ts.reduce((s, t) => s + (t - tm) ** 2, 0);
  const slope = sxx > 0 ? ts.reduce((s, t, i) => s + (t - tm) * xs[i]!, 0) / sxx : 0;
  const trendZ = sxx > 0 ? slope / (sigma / Math.sqrt(sxx)) : 0;

  const since = runs[best.at]?.at ?? null;
  const verdict: DriftVerdict = {
    ...base,
    shift: fromScale(best.shift, scale),
    z: best.z,
    since,
    trend: fromScale(100 * slope, scale),
    trendZ,
    trendSpan: {
      from: ts[0]!,
      to: ts[n - 1]!,
      change: fromScale(slope * (ts[n - 1]! - ts[0]!), scale),
    },
    drifting: Math.abs(best.z) > k || Math.abs(trendZ) > k,
    kind: 'none',
    sentence: '',
  };
  const noiseNote = `noise ${scale === 'log' ? `${sig2(100 * sigma)}%` : sig2(sigma)} a run`;
  if (input.load && input.load.length > 1 && since !== null) {
    const before = input.load.filter((l) => l.at < since).map((l) => l.value);
    const after = input.load.filter((l) => l.at >= since).map((l) => l.value);
    if (before.length > 0 && after.length > 0)
      verdict.load = { before: mean(before), after: mean(after) };
  }
  const loadNote = verdict.load
    ? `; machine load ${show(Number(verdict.load.before.toPrecision(3)))} -> ${show(Number(verdict.load.after.toPrecision(3)))}`
    : '';
  if (!verdict.drifting) {
    verdict.sentence = `no drift: the incumbent's ${n} runs agree within the noise (largest shift ${showChange(verdict.shift, scale)}, z=${sig2(best.z)}; ${noiseNote})${loadNote}`;
    return verdict;
  }
  verdict.kind = Math.abs(best.z) >= Math.abs(trendZ) ? 'step' : 'trend';
  verdict.sentence =
    verdict.kind === 'step'
      ? `drift: the incumbent measures ${showChange(verdict.shift, scale)} since run ${since} compared with before (z=${sig2(best.z)}; ${noiseNote}); the machine's speed changed${loadNote}`
      : `drift: the incumbent moved ${showChange(verdict.trendSpan!.change, scale)} from run ${verdict.trendSpan!.from} to run ${verdict.trendSpan!.to}, a steady trend (z=${sig2(trendZ)}; ${noiseNote}); the machine is drifting${loadNote}`;
  return verdict;
}
