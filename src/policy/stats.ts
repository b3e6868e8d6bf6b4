/**
 * The statistics the noise-aware policy needs, written out here (no dependency): means, variances,
 * the run's pooled measurement noise, Student's t distribution and a one-sided Welch test. The
 * one `mean`, `median` and `variance` of the code base: the loop, TPE and the benches use them.
 * Pure functions; accuracy targets ~1e-8 on the t CDF, far below what any decision depends on.
 */

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The middle value; the mean of the two middle ones for an even count. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Sum of squared deviations from the mean (the numerator of the sample variance). */
function sumSquares(xs: number[]): number {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0);
}

/** Sample variance (n - 1 denominator); NaN below two values, where it is undefined. */
export function variance(xs: number[]): number {
  return xs.length < 2 ? NaN : sumSquares(xs) / (xs.length - 1);
}

export interface Noise {
  /** Standard deviation of one measurement. */
  sigma: number;
  /** Degrees of freedom behind it: how much to trust sigma. */
  df: number;
}

/**
 * Within-group standard deviation pooled over groups of repeated measurements of the same code:
 * sum of squared deviations inside each group of n >= 2, over the sum of (n - 1). Groups differ in
 * their true means, so only within-group spread measures noise. Null when no group has two values.
 */
export function pooledNoise(groups: number[][]): Noise | null {
  let ss = 0;
  let df = 0;
  for (const g of groups) {
    if (g.length < 2) continue;
    ss += sumSquares(g);
    df += g.length - 1;
  }
  return df === 0 ? null : { sigma: Math.sqrt(ss / df), df };
}

// Lanczos approximation (g = 7, n = 9): ~1e-15 relative accuracy for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x); // reflection
  const z = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) s += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/**
 * ln B(a, b). For a large argument, ln Γ(big) - ln Γ(big + small) cancels catastrophically (both
 * ~1e9 at df = 1e8), so that difference comes from Stirling's series taken as a difference.
 */
function logBeta(a: number, b: number): number {
  const big = Math.max(a, b);
  const small = Math.min(a, b);
  if (big < 1e4) return logGamma(a) + logGamma(b) - logGamma(a + b);
  const s = big + small;
  // (big - 1/2) ln big - (s - 1/2) ln s + small, rearranged around log1p, plus the 1/(12z) terms.
  const head = -(big - 0.5) * Math.log1p(small / big) - small * Math.log(s) + small;
  const tail = 1 / (12 * big) - 1 / (12 * s) - (1 / (360 * big ** 3) - 1 / (360 * s ** 3));
  return logGamma(small) + head + tail;
}

const TINY = 1e-300;
const EPS = 1e-15;
// Convergence takes O(sqrt(max(a, b))) steps near the switch point; this covers df up to ~1e8.
const MAX_ITER = 100_000;

/** Continued fraction for the incomplete beta (modified Lentz), valid for x < (a + 1) / (a + b + 2). */
function betaFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return h;
  }
  return h; // not converged: only for absurd parameters; the value is still close
}

/**
 * Regularized incomplete beta I_x(a, b). `y` is 1 - x, passed separately when the caller can
 * compute it without cancellation (the t CDF near t = 0 needs that for accuracy).
 */
export function incompleteBeta(x: number, a: number, b: number, y = 1 - x): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log(y) - logBeta(a, b));
  // The fraction converges fast only on one side of the mean; use the symmetry I_x(a,b) = 1 - I_y(b,a).
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a;
  return 1 - (front * betaFraction(y, b, a)) / b;
}

/** Regularized upper incomplete gamma Q(a, x) (series below a + 1, continued fraction above). */
function upperGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const lg = logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < MAX_ITER; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lg);
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - lg) * h;
}

/** Standard normal CDF, via erfc(z) = Q(1/2, z^2) so both tails keep full relative accuracy. */
export function normalCdf(z: number): number {
  const tail = 0.5 * upperGamma(0.5, (z * z) / 2);
  return z < 0 ? tail : 1 - tail;
}

/**
 * Student's t CDF P(T <= t) with `df` degrees of freedom (any real df > 0; Infinity is the normal).
 * Uses P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2).
 */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  if (df === Infinity) return normalCdf(t);
  const t2 = t * t;
  const tail = 0.5 * incompleteBeta(df / (df + t2), df / 2, 0.5, t2 / (df + t2));
  return t < 0 ? tail : 1 - tail;
}

/** Upper tail P(T > t): computed directly so small p-values keep their digits. */
export function studentTSurvival(t: number, df: number): number {
  return studentTCdf(-t, df);
}

export interface WelchOptions {
  /** Noise to use for `a` when it has no variance of its own (n = 1): the run's pooled sigma. */
  sigmaA?: number;
  sigmaB?: number;
  /** Degrees of freedom of sigmaA/sigmaB; Infinity (a known sigma) when omitted. */
  dfA?: number;
  dfB?: number;
  /**
   * Use the provided sigma even for groups of n >= 2 when it rests on at least as many degrees of
   * freedom as the group's own variance. A 2-run group's own variance has df = 1, which makes any test
   * hopeless, while the run's pooled noise may rest on dozens of runs of the same harness.
   */
  preferProvided?: boolean;
}

export interface WelchResult {
  /** Test statistic diff / se. */
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** One-sided p-value for mean(a) > mean(b). */
  p: number;
  /** mean(a) - mean(b). */
  diff: number;
  /** Standard error of diff. */
  se: number;
}

/** The variance term of one group: its sigma^2 (own or provided), its df, and whether provided. */
function groupVariance(
  xs: number[],
  sigma: number | undefined,
  df: number | undefined,
  prefer: boolean,
  label: string,
) {
  if (xs.length === 0) throw new RangeError(`welchOneSided: group ${label} is empty`);
  const ownDf = xs.length - 1;
  const providedDf = df ?? Infinity;
  const useProvided = sigma !== undefined && (ownDf === 0 || (prefer && providedDf >= ownDf));
  if (useProvided) return { v: sigma * sigma, df: providedDf, provided: true };
  if (ownDf === 0)
    throw new RangeError(`welchOneSided: group ${label} has one value and no sigma to use`);
  return { v: variance(xs), df: ownDf, provided: false };
}

/**
 * One-sided Welch t-test of "mean(a) > mean(b)". A group with a single value has no variance of
 * its own and takes the provided sigma/df (the run's noise estimate) instead.
 */
export function welchOneSided(a: number[], b: number[], opts: WelchOptions = {}): WelchResult {
  const prefer = opts.preferProvided ?? false;
  const ga = groupVariance(a, opts.sigmaA, opts.dfA, prefer, 'a');
  const gb = groupVariance(b, opts.sigmaB, opts.dfB, prefer, 'b');
  const va = ga.v / a.length;
  const vb = gb.v / b.length;
  const se = Math.sqrt(va + vb);
  const diff = mean(a) - mean(b);
  // Satterthwaite assumes independent variance estimates; when both groups lean on the same
  // pooled estimate there is only one, with its own df (counting it twice would overstate df).
  const shared = ga.provided && gb.provided && opts.sigmaA === opts.sigmaB && ga.df === gb.df;
  let df: number;
  if (shared) df = ga.df;
  else if (va + vb === 0) df = ga.df + gb.df;
  else {
    const denom =
      (ga.df === Infinity ? 0 : (va * va) / ga.df) + (gb.df === Infinity ? 0 : (vb * vb) / gb.df);
    df = denom === 0 ? Infinity : (va + vb) ** 2 / denom;
  }
  if (se === 0) {
    // No noise at all: the difference is exact.
    const t = diff > 0 ? Infinity : diff < 0 ? -Infinity : 0;
    return { t, df, p: diff > 0 ? 0 : diff < 0 ? 1 : 0.5, diff, se };
  }
  const t = diff / se;
  return { t, df, p: studentTSurvival(t, df), diff, se };
}

const quantiles = new Map<string, number>();

/**
 * The t that a one-sided test at level `alpha` must exceed: P(T > t) = alpha. Bisection on the
 * survival function (monotone), exact to ~1e-12. Remembered per (alpha, df): a run asks for the
 * same few over and over, and a bisection costs ~100 survival evaluations.
 */
export function studentTQuantile(alpha: number, df: number): number {
  if (!(alpha > 0 && alpha < 1) || !(df > 0)) return NaN;
  const key = `${alpha}:${df}`;
  let t = quantiles.get(key);
  if (t === undefined) {
    t = bisectQuantile(alpha, df);
    if (quantiles.size < 10_000) quantiles.set(key, t);
  }
  return t;
}

function bisectQuantile(alpha: number, df: number): number {
  let lo = -1;
  let hi = 1;
  while (studentTSurvival(lo, df) < alpha) lo *= 2;
  while (studentTSurvival(hi, df) > alpha) hi *= 2;
  for (let k = 0; k < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); k++) {
    const mid = (lo + hi) / 2;
    if (studentTSurvival(mid, df) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
