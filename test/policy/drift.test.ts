import { describe, expect, it } from 'vitest';
import { detectDrift, type Timed } from '../../src/policy/drift.js';
import { createRng } from '../../src/tune/random.js';

/** The incumbent (true value 1) measured at runs `at`, with 1% noise, on a machine of speed `speed(at)`. */
function series(seed: number, ats: number[], speed: (at: number) => number = () => 1): Timed[] {
  const rng = createRng(seed);
  return ats.map((at) => ({ at, value: speed(at) * (1 + 0.01 * rng.normal()) }));
}
const every = (n: number, step = 5) => Array.from({ length: n }, (_, k) => k * step);

describe('drift detection', () => {
  it('a steady machine: no drift, and a sentence that says the runs agree', () => {
    const v = detectDrift({ runs: series(1, every(30)) });
    expect(v.drifting).toBe(false);
    expect(v.kind).toBe('none');
    expect(v.scale).toBe('log');
    expect(v.sentence).toMatch(
      /^no drift: the incumbent's 30 runs agree within the noise \(largest shift [+-][\d.]+%, z=[-\d.]+; noise [\d.]+% a run\)$/,
    );
  });

  it('rarely cries wolf: fewer than 3% of 400 steady series of 20 runs are called drifting', () => {
    let alarms = 0;
    for (let s = 1; s <= 400; s++)
      if (detectDrift({ runs: series(1000 + s, every(20)) }).drifting) alarms++;
    expect(alarms / 400).toBeLessThan(0.03);
  });

  it('a step: finds when the machine got 5% faster and by how much', () => {
    const v = detectDrift({ runs: series(2, every(30), (at) => (at >= 100 ? 0.95 : 1)) });
    expect(v.drifting).toBe(true);
    expect(v.kind).toBe('step');
    expect(v.since).toBe(100);
    expect(v.shift).toBeGreaterThan(-0.06);
    expect(v.shift).toBeLessThan(-0.04);
    expect(v.sentence).toMatch(
      /^drift: the incumbent measures -[\d.]+% since run 100 compared with before \(z=-[\d.]+; noise [\d.]+% a run\); the machine's speed changed$/,
    );
  });

  it('a slow trend: the change per 100 runs, and the sentence says how far it went over the runs seen', () => {
    // 2% slower every 100 runs, measured over 300 runs.
    const runs = series(3, every(60), (at) => 1 + 0.0002 * at);
    const v = detectDrift({ runs });
    expect(v.drifting).toBe(true);
    expect(v.kind).toBe('trend');
    expect(v.trend).toBeGreaterThan(0.015);
    expect(v.trend).toBeLessThan(0.025);
    const [first, last] = [runs[0]!.at, runs.at(-1)!.at];
    expect(v.trendSpan).toMatchObject({ from: first, to: last });
    // About 2% per 100 runs over the span, not compounded past it.
    const expected = 0.0002 * (last - first);
    expect(v.trendSpan!.change).toBeGreaterThan(expected * 0.75);
    expect(v.trendSpan!.change).toBeLessThan(expected * 1.25);
    expect(v.sentence).toMatch(
      new RegExp(
        `^drift: the incumbent moved \\+[\\d.]+% from run ${first} to run ${last}, a steady trend \\(z=`,
      ),
    );
  });

  it('a steep trend over a few runs reads as what happened, not as a rate per 100 runs', () => {
    // Six runs 4% apart (the code-perf demo's incumbent once): +22% over them, not +5000%.
    const runs = [5.45, 5.67, 5.9, 6.13, 6.38, 6.64].map((value, i) => ({ value, at: 10 + i }));
    const v = detectDrift({ runs, noise: { sigma: 0.014, df: 10 } });
    expect(v.kind).toBe('trend');
    expect(v.trend).toBeGreaterThan(10); // per 100 runs, compounded: the figure not to print
    expect(v.trendSpan!.change).toBeGreaterThan(0.2);
    expect(v.trendSpan!.change).toBeLessThan(0.25);
    expect(v.sentence).toMatch(
      /^drift: the incumbent moved \+2\d% from run 10 to run 15, a steady trend/,
    );
  });

  it('judges against the noise it is given (drift-free, from paired differences)', () => {
    const runs = series(4, every(20), (at) => (at >= 50 ? 0.97 : 1));
    expect(detectDrift({ runs, noise: { sigma: 0.01, df: 40 } }).drifting).toBe(true);
    // A metric ten times noisier makes the same 3% shift ordinary.
    expect(detectDrift({ runs, noise: { sigma: 0.1, df: 40 } }).drifting).toBe(false);
  });

  it('reports the machine load around the step when given', () => {
    const runs = series(5, every(30), (at) => (at >= 75 ? 1.1 : 1));
    const load = every(30).map((at) => ({ at, value: at >= 75 ? 3 : 1 }));
    const v = detectDrift({ runs, load });
    expect(v.load).toEqual({ before: 1, after: 3 });
    expect(v.sentence).toMatch(/; machine load 1 -> 3$/);
  });

  it('says it cannot tell with too few runs; works on a linear scale for metrics that are not positive', () => {
    expect(detectDrift({ runs: series(6, every(3)) })).toMatchObject({
      drifting: false,
      kind: 'unknown',
    });
    // A metric that repeats exactly has no noise to measure a drift against, and no drift.
    expect(detectDrift({ runs: every(5).map((at) => ({ at, value: 2 })) })).toMatchObject({
      drifting: false,
      kind: 'none',
      sentence: "no drift: the incumbent's 5 runs are identical",
    });
    const rng = createRng(7);
    const runs = every(30).map((at) => ({ at, value: (at >= 100 ? 0.5 : 0) + 0.1 * rng.normal() }));
    const v = detectDrift({ runs });
    expect(v.scale).toBe('linear');
    expect(v.kind).toBe('step');
    expect(v.shift).toBeCloseTo(0.5, 0);
  });
});
