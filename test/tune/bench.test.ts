import { describe, expect, it } from 'vitest';
import { benchTune } from '../../src/bench/tune.js';
import { median } from '../../src/policy/stats.js';
import { runStudy, testFunctions } from '../../src/tune/benchmarks.js';

describe('benchmarks', () => {
  it('test functions have their known minima', () => {
    const byName = new Map(testFunctions().map((f) => [f.name, f]));
    expect(byName.get('branin')!.f({ x1: Math.PI, x2: 2.275 })).toBeCloseTo(0.397887, 5);
    const h = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573];
    expect(
      byName.get('hartmann6')!.f(Object.fromEntries(h.map((v, i) => [`x${i + 1}`, v]))),
    ).toBeCloseTo(-3.32237, 4);
    expect(byName.get('rosenbrock4')!.f({ x1: 1, x2: 1, x3: 1, x4: 1 })).toBe(0);
  });

  it('TPE ends closer to the optimum than random search', () => {
    for (const fn of testFunctions().filter((f) => f.noise === 0)) {
      const best = (strategy: 'tpe' | 'random'): number =>
        median([1, 2, 3, 4, 5, 6, 7].map((seed) => runStudy(fn, strategy, seed, 40).best));
      expect(best('tpe'), fn.name).toBeLessThan(best('random'));
    }
  });

  it('renders a report with every function', async () => {
    // The layout, not the statistics: few samples for the random-search estimate, whose default
    // 200,000 took 5 of this test's 5.3 s.
    const report = await benchTune({ seeds: 2, budget: 12, estimateSamples: 2_000 });
    for (const f of testFunctions()) expect(report).toContain(f.name);
    expect(report).toMatch(/random\/TPE/);
  });
});
