/**
 * Truncated-normal arithmetic in log space for the Parzen estimators. Far-off kernels have
 * densities that underflow doubles, and the TPE compares ratios of such densities, so every
 * quantity stays a logarithm until the end.
 */
import type { Rng } from './random.js';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log P(Z > z) for a standard normal Z. Uses Numerical Recipes' erfc approximation (relative
 * error < 1.2e-7 everywhere), evaluated in log space so that it stays finite deep in the tail.
 */
function logUpperTail(z: number): number {
  const x = z / Math.SQRT2;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.5 * ax);
  const poly =
    -ax * ax -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t *
                          (-1.13520398 +
                            t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const logErfcAbs = Math.log(t) + poly; // log erfc(|x|)
  if (x >= 0) return logErfcAbs - Math.LN2;
  // erfc(-|x|) = 2 - erfc(|x|)
  return Math.log(1 - 0.5 * Math.exp(logErfcAbs));
}

/** log P(a < Z < b) for a standard normal, accurate when both bounds are in the same tail. */
function logMass(a: number, b: number): number {
  if (b <= a) return -Infinity;
  if (a >= 0) return logDiff(logUpperTail(a), logUpperTail(b));
  if (b <= 0) return logDiff(logUpperTail(-b), logUpperTail(-a));
  return Math.log(Math.max(1e-300, 1 - Math.exp(logUpperTail(-a)) - Math.exp(logUpperTail(b))));
}

/** log(e^x - e^y) for x >= y. */
function logDiff(x: number, y: number): number {
  if (y === -Infinity) return x;
  const d = y - x;
  return d >= 0 ? -Infinity : x + Math.log1p(-Math.exp(d));
}

/** Log density at x of N(mu, sigma) truncated to [0, 1]. */
export function logTruncPdf(x: number, mu: number, sigma: number): number {
  const z = (x - mu) / sigma;
  return -0.5 * z * z - Math.log(sigma) - LOG_SQRT_2PI - logMass(-mu / sigma, (1 - mu) / sigma);
}

/** Log probability that N(mu, sigma) truncated to [0, 1] falls in [a, b]. */
export function logTruncMass(a: number, b: number, mu: number, sigma: number): number {
  return logMass((a - mu) / sigma, (b - mu) / sigma) - logMass(-mu / sigma, (1 - mu) / sigma);
}

/** A draw from N(mu, sigma) truncated to [0, 1]; rejection is cheap since sigma <= 1 here. */
export function sampleTrunc(rng: Rng, mu: number, sigma: number): number {
  for (let i = 0; i < 64; i++) {
    const x = mu + sigma * rng.normal();
    if (x >= 0 && x <= 1) return x;
  }
  return Math.min(1, Math.max(0, mu)); // a kernel hugging an edge: its mode is as good as any draw
}

export function logSumExp(xs: number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}
