import { describe, expect, it } from 'vitest';
import { judgeCandidate } from '../../src/bench/policy.js';
import { noiseAwarePolicy, showDiff, sig2 } from '../../src/policy/noise.js';
import { strictPolicy, type DecisionInput } from '../../src/policy/policy.js';
import { createRng } from '../../src/tune/random.js';

const noisy = noiseAwarePolicy({});
const NOISE = { sigma: 0.001, df: 30 };
const inc3 = [1.0, 1.001, 0.999]; // mean 1.0
const min = (
  candidate: number[],
  incumbent: number[],
  extra: Partial<DecisionInput> = {},
): DecisionInput => ({
  goal: 'minimize',
  candidate: { values: candidate },
  incumbent: { values: incumbent },
  ...extra,
});

describe('noise-aware policy: decisions and reasons', () => {
  it('discards a candidate that is not better, with the numbers', () => {
    const d = noisy.decide(min([1.0032], [1.001, 1.0011, 1.0012], { noise: NOISE }));
    expect(d.status).toBe('discard');
    expect(d.reason).toBe('discarded: 1.0032 vs 1.0011 (+0.0021), n=1 vs 3, not better');
    expect(d.stats).toMatchObject({ nCandidate: 1, nIncumbent: 3 });
    expect(d.stats!.diff).toBeCloseTo(0.0021, 12);
    expect(d.stats!.p).toBeGreaterThan(0.5);
  });

  it("keeps a significant improvement: difference, its se, the n's and p", () => {
    const d = noisy.decide(min([0.995, 0.996, 0.994], inc3, { noise: NOISE }));
    expect(d.status).toBe('keep');
    // se = 0.001 * sqrt(1/3 + 1/3) = 0.00082; the difference is shown to the same decimal.
    expect(d.reason).toMatch(/^kept: -0\.00500 \+- 0\.00082, n=3 vs 3, p=\d(\.\d)?e-\d+$/);
    expect(d.stats!.se).toBeCloseTo(0.001 * Math.sqrt(2 / 3), 12);
    expect(d.stats!.p).toBeLessThan(1e-5);
    expect(d.remeasureIncumbent).toBeUndefined();
  });

  it('reruns a candidate that looks better but is not significant yet', () => {
    const d = noisy.decide(min([0.9988], inc3, { noise: NOISE }));
    expect(d.status).toBe('rerun');
    expect(d.reason).toMatch(
      /^looks better \(-0\.0012\) but p=0\.1\d \(needs p < 0\.017\), n=1 vs 3: measuring again$/,
    );
    expect(d.remeasureIncumbent).toBe(false); // 3 incumbent runs >= 2 candidate runs after the rerun
  });

  it('asks to re-measure the incumbent when it would have fewer runs than the candidate', () => {
    expect(noisy.decide(min([0.9995], [1.0], { noise: NOISE })).remeasureIncumbent).toBe(true);
    const two = noisy.decide(min([0.9995, 0.9992], [1.0, 1.0003], { noise: NOISE }));
    expect(two.status).toBe('rerun');
    expect(two.remeasureIncumbent).toBe(true);
    expect(two.reason).toMatch(/measuring again \(incumbent too\)$/);
    expect(noisy.decide(min([0.9995, 0.9992], inc3, { noise: NOISE })).remeasureIncumbent).toBe(
      false,
    );
  });

  it('discards at maxRepeats when still not significant', () => {
    const d = noisy.decide(min([0.9995, 0.9985, 0.9994], inc3, { noise: NOISE }));
    expect(d.status).toBe('discard');
    expect(d.reason).toMatch(
      /^not significant: -0\.00087 \+- 0\.00082, n=3 vs 3, p=0\.1\d \(needs p < 0\.017\)$/,
    );
    expect(
      noiseAwarePolicy({ maxRepeats: 1 }).decide(min([0.9988], inc3, { noise: NOISE })).status,
    ).toBe('discard');
  });

  it('without any noise estimate and one run each: reruns both, then falls back to strict', () => {
    const d = noisy.decide(min([0.99], [1.0]));
    expect(d.status).toBe('rerun');
    expect(d.remeasureIncumbent).toBe(true);
    expect(d.reason).toMatch(/noise is unknown/);
    const once = noiseAwarePolicy({ maxRepeats: 1 });
    const kept = once.decide(min([0.99], [1.0]));
    expect(kept.status).toBe('keep');
    expect(kept.reason).toBe('kept: 0.99 vs 1 (-0.01), n=1 vs 1, noise unknown: strictly better');
    expect(kept.stats).toMatchObject({ se: null, p: null });
    expect(once.decide(min([1.01], [1.0])).status).toBe('discard');
  });

  it('without a run estimate, judges noise from the groups at hand', () => {
    const d = noisy.decide(min([0.99], inc3));
    expect(d.stats!.se).toBeCloseTo(0.001 * Math.sqrt(1 + 1 / 3), 12); // the incumbent's own spread
    // Both sides with own variances: a plain Welch test.
    expect(noisy.decide(min([0.99, 0.991], inc3)).stats!.se).toBeCloseTo(
      Math.sqrt(0.0000005 / 2 + 0.000001 / 3),
      12,
    );
  });

  it('works for maximize', () => {
    const up = noisy.decide({
      goal: 'maximize',
      candidate: { values: [1.005, 1.004, 1.006] },
      incumbent: { values: inc3 },
      noise: NOISE,
    });
    expect(up.status).toBe('keep');
    expect(up.reason).toMatch(/^kept: \+0\.00500 /);
    expect(
      noisy.decide({
        goal: 'maximize',
        candidate: { values: [0.995] },
        incumbent: { values: inc3 },
        noise: NOISE,
      }).status,
    ).toBe('discard');
  });
});

describe('noise-aware policy: minEffect, penalty, deterministic, staleness', () => {
  it('needs the improvement to reach minEffect', () => {
    const p = noiseAwarePolicy({ minEffect: 0.01 });
    const early = p.decide(min([0.995], inc3, { noise: NOISE }));
    expect(early.status).toBe('rerun');
    expect(early.reason).toMatch(/below minEffect 0\.01/);
    const late = p.decide(min([0.995, 0.996, 0.994], inc3, { noise: NOISE }));
    expect(late.status).toBe('discard');
    expect(late.reason).toMatch(
      /^discarded: -0\.00500 \+- 0\.00082, n=3 vs 3, p=.*, below minEffect 0\.01$/,
    );
    expect(p.decide(min([0.985, 0.986, 0.984], inc3, { noise: NOISE })).status).toBe('keep');
  });

  it('a penalty turns a keep into a discard; a negative one turns an equal result into a keep', () => {
    expect(
      noisy.decide(min([0.995, 0.996, 0.994], inc3, { noise: NOISE, penalty: 0.006 })).status,
    ).toBe('discard');
    const less = noisy.decide(min([1.0, 1.001, 0.999], inc3, { noise: NOISE, penalty: -0.005 }));
    expect(less.status).toBe('keep');
    expect(less.reason).toMatch(/, penalty -0\.005$/);
    expect(less.stats!.diff).toBeCloseTo(-0.005, 12);
    // Maximize: a positive penalty is subtracted.
    expect(
      noisy.decide({
        goal: 'maximize',
        candidate: { values: [1.005, 1.004, 1.006] },
        incumbent: { values: inc3 },
        noise: NOISE,
        penalty: 0.006,
      }).status,
    ).toBe('discard');
  });

  it('strict policy honours the penalty too', () => {
    expect(strictPolicy.decide(min([0.99], [1], { penalty: 0.02 })).status).toBe('discard');
    const tie = strictPolicy.decide(min([1], [1], { penalty: -0.001 }));
    expect(tie.status).toBe('keep');
    expect(tie.reason).toBe('kept: 0.999 vs 1 (-0.001, penalty -0.001), strictly better');
    expect(
      strictPolicy.decide({
        goal: 'maximize',
        candidate: { values: [1.01] },
        incumbent: { values: [1] },
        penalty: 0.02,
      }).status,
    ).toBe('discard');
    // No penalty: the reason reads exactly as before.
    expect(strictPolicy.decide(min([0.75], [1])).reason).toBe(
      'kept: 0.75 vs 1 (-0.25), strictly better',
    );
  });

  it('deterministic: keeps only beyond the tolerance, never reruns', () => {
    const det = noiseAwarePolicy({ deterministic: true, tolerance: 0.01 });
    const within = det.decide(min([0.995], [1]));
    expect(within.status).toBe('discard');
    expect(within.reason).toBe('discarded: 0.995 vs 1 (-0.005), within tolerance 0.01');
    expect(det.decide(min([0.98], [1])).status).toBe('keep');
    expect(det.decide(min([0.99], [1])).status).toBe('discard'); // must exceed, not equal (up to rounding)
    expect(det.decide(min([1.02], [1])).reason).toMatch(/not better$/);
    expect(
      noiseAwarePolicy({ deterministic: true, minEffect: 0.05 }).decide(min([0.98], [1])).reason,
    ).toMatch(/below minEffect 0\.05$/);
    expect(noiseAwarePolicy({ deterministic: true }).decide(min([0.999999], [1])).status).toBe(
      'keep',
    );
  });

  it('does not keep against a stale incumbent while the candidate can be measured again', () => {
    const p = noiseAwarePolicy({ staleIncumbentRuns: 10 });
    const input = (n: number, runsSince: number): DecisionInput => ({
      goal: 'minimize',
      candidate: { values: [0.99, 0.991, 0.989].slice(0, n) },
      incumbent: { values: inc3, runsSince },
      noise: NOISE,
    });
    expect(p.decide(input(1, 5)).status).toBe('keep');
    const stale = p.decide(input(1, 20));
    expect(stale.status).toBe('rerun');
    expect(stale.remeasureIncumbent).toBe(true);
    expect(stale.reason).toMatch(/measured 20 runs ago/);
    expect(p.decide(input(3, 20)).status).toBe('keep');
  });

  it('rejects invalid options', () => {
    expect(() => noiseAwarePolicy({ confidence: 1 })).toThrow(RangeError);
    expect(() => noiseAwarePolicy({ maxRepeats: 0 })).toThrow(RangeError);
    expect(() => noiseAwarePolicy({ minEffect: -1 })).toThrow(RangeError);
  });

  it('formats se and p with two significant digits', () => {
    expect(sig2(0.004123)).toBe('0.0041');
    expect(sig2(0.11)).toBe('0.11');
    expect(sig2(3.2e-9)).toBe('3.2e-9');
    expect(showDiff(-0.0031, 0.00062)).toBe('-0.00310');
    expect(showDiff(12.34, 5.6)).toBe('+12.3');
    expect(showDiff(-0.25, null)).toBe('-0.25');
  });
});

describe('noise-aware policy against simulated noise (fixed seeds)', () => {
  const SIGMA = 1;
  /** Share of `trials` candidates with true effect `effect` (in sigma; negative is better) that end kept. */
  function keepRate(
    effect: number,
    trials: number,
    seed: number,
    priorRuns: number,
  ): { rate: number; runs: number } {
    const rng = createRng(seed);
    const measure = (v: number) => v + SIGMA * rng.normal();
    let kept = 0;
    let runs = 0;
    for (let k = 0; k < trials; k++) {
      const inc = [measure(0), measure(0), measure(0)];
      // The run so far: earlier repeated measurements give the pooled noise its degrees of freedom.
      const groups = [
        inc,
        ...(priorRuns ? [Array.from({ length: priorRuns }, () => measure(5))] : []),
      ];
      const j = judgeCandidate(noisy, effect, 0, inc, groups, measure);
      if (j.kept) kept++;
      runs += j.runs;
    }
    return { rate: kept / trials, runs: runs / trials };
  }

  it('keeps a truly neutral candidate in fewer than 5% of 2000 trials', () => {
    expect(keepRate(0, 2000, 1, 30).rate).toBeLessThan(0.05);
    expect(keepRate(0, 2000, 2, 0).rate).toBeLessThan(0.05); // with only the baseline's noise estimate
  });

  it('keeps a true 3-sigma improvement in more than 90% after up to 3 runs', () => {
    const r = keepRate(-3, 2000, 3, 30);
    expect(r.rate).toBeGreaterThan(0.9);
    expect(r.runs).toBeLessThanOrEqual(3);
  });

  it('rarely keeps a worse candidate', () => {
    expect(keepRate(0.5, 2000, 4, 30).rate).toBeLessThan(0.01);
  });
});
