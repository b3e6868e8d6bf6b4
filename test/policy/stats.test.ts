import { describe, expect, it } from 'vitest';
import {
  incompleteBeta,
  mean,
  normalCdf,
  pooledNoise,
  studentTCdf,
  studentTSurvival,
  variance,
  welchOneSided,
} from '../../src/policy/stats.js';

// Reference values from scipy.stats (t.cdf / t.sf / norm.cdf), full double precision.
describe('Student t CDF', () => {
  it('matches known values across df', () => {
    expect(studentTSurvival(2.0, 5)).toBeCloseTo(0.050969739414929174, 12); // the classic 0.0510
    expect(studentTSurvival(2.228138851986274, 10)).toBeCloseTo(0.025, 12); // two-sided 5% critical value
    expect(studentTCdf(-3, 30)).toBeCloseTo(0.0026949820328259727, 12);
    expect(studentTCdf(0.7, 3.5)).toBeCloseTo(0.7361829288271606, 12); // fractional df (Welch)
    expect(studentTSurvival(6, 12)).toBeCloseTo(3.108369432429282e-5, 14);
  });

  it('has the closed forms of df = 1 (Cauchy) and df = 2', () => {
    for (const t of [-4, -1, -0.3, 0, 0.5, 1, 7]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 12);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 12);
    }
  });

  it('approaches the normal as df grows', () => {
    expect(studentTCdf(1.96, 1e6)).toBeCloseTo(0.9750019662073651, 10);
    expect(studentTSurvival(1.5, 1e8)).toBeCloseTo(0.06680720284735372, 8);
    expect(studentTCdf(1.959963984540054, Infinity)).toBeCloseTo(0.975, 12);
    expect(normalCdf(-5)).toBeCloseTo(2.866515718791933e-7, 15);
    expect(normalCdf(0)).toBe(0.5);
  });

  it('is symmetric and handles the edges', () => {
    for (const df of [1, 3.3, 40])
      expect(studentTCdf(-1.7, df) + studentTCdf(1.7, df)).toBeCloseTo(1, 14);
    expect(studentTCdf(Infinity, 3)).toBe(1);
    expect(studentTCdf(-Infinity, 3)).toBe(0);
    expect(studentTCdf(1, 0)).toBeNaN();
    expect(incompleteBeta(0, 2, 3)).toBe(0);
    expect(incompleteBeta(1, 2, 3)).toBe(1);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14); // I_x(1,1) = x
  });
});

describe('mean, variance, pooled noise', () => {
  it('computes the sample variance', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(variance([1, 2, 3, 6])).toBeCloseTo(14 / 3, 14);
    expect(variance([5])).toBeNaN();
  });

  it('pools within-group deviations only, skipping single runs', () => {
    // [1,2,3]: SS 2 (df 2); [10,14]: SS 8 (df 1); [7]: no spread. Group means differ and do not count.
    const n = pooledNoise([[1, 2, 3], [10, 14], [7]])!;
    expect(n.df).toBe(3);
    expect(n.sigma).toBeCloseTo(Math.sqrt(10 / 3), 14);
    expect(pooledNoise([[1], [2]])).toBeNull();
    expect(pooledNoise([])).toBeNull();
  });
});

describe('welchOneSided', () => {
  it('uses own variances and the Welch–Satterthwaite df', () => {
    // a = [3,4,5] (var 1); b has one run and takes sigma 2 on 8 df.
    const r = welchOneSided([3, 4, 5], [1], { sigmaB: 2, dfB: 8 });
    expect(r.diff).toBe(3);
    expect(r.se).toBeCloseTo(Math.sqrt(1 / 3 + 4), 14);
    expect(r.df).toBeCloseTo((13 / 3) ** 2 / ((1 / 3) ** 2 / 2 + 16 / 8), 12);
    expect(r.p).toBeCloseTo(0.09146308084756327, 10);
  });

  it("uses the pooled sigma for n = 1 on both sides, with that estimate's df", () => {
    const r = welchOneSided([5], [2], { sigmaA: 1, sigmaB: 1, dfA: 7, dfB: 7 });
    expect(r.se).toBeCloseTo(Math.sqrt(2), 14);
    expect(r.df).toBe(7); // one shared estimate, not two independent ones
    expect(r.p).toBeCloseTo(0.03579090016896483, 12);
    // Without df the sigma is taken as known: the normal.
    expect(welchOneSided([5], [2], { sigmaA: 1, sigmaB: 1 }).p).toBeCloseTo(
      0.016947426762344633,
      12,
    );
  });

  it('prefers the provided sigma for small groups only when asked', () => {
    const own = welchOneSided([1, 2], [0, 0.5], { sigmaA: 10, sigmaB: 10, dfA: 50, dfB: 50 });
    expect(own.se).toBeCloseTo(Math.sqrt(0.5 / 2 + 0.125 / 2), 14);
    const pooled = welchOneSided([1, 2], [0, 0.5], {
      sigmaA: 10,
      sigmaB: 10,
      dfA: 50,
      dfB: 50,
      preferProvided: true,
    });
    expect(pooled.se).toBeCloseTo(10, 12);
    expect(pooled.df).toBe(50);
  });

  it('is one-sided in the direction a > b', () => {
    const up = welchOneSided([2], [1], { sigmaA: 1, sigmaB: 1, dfA: 10, dfB: 10 });
    const down = welchOneSided([1], [2], { sigmaA: 1, sigmaB: 1, dfA: 10, dfB: 10 });
    expect(up.p).toBeLessThan(0.5);
    expect(up.p + down.p).toBeCloseTo(1, 14);
  });

  it('handles zero noise and refuses a lone value without sigma', () => {
    expect(welchOneSided([2, 2], [1, 1]).p).toBe(0);
    expect(welchOneSided([1, 1], [2, 2]).p).toBe(1);
    expect(() => welchOneSided([1], [2, 3])).toThrow(/no sigma/);
    expect(() => welchOneSided([], [2, 3])).toThrow(/empty/);
  });
});
