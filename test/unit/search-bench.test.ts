import { describe, expect, it } from 'vitest';
import { blindAgent } from '../../src/bench/search-agents.js';
import type { Problem } from '../../src/bench/search-problems.js';
import { noiseOf, signTest, simulate } from '../../src/bench/search.js';
import { FrontMatterSchema } from '../../src/program/schema.js';

const greedy = FrontMatterSchema.shape.parents.parse('greedy');
/** Every point as good as any other: a keep can only be the noise's doing. */
const flat: Problem = { name: 'flat', dims: 2, lo: 0, hi: 1, f: () => 1, target: 0 };
/** The first coordinate, minimized: real improvements everywhere. */
const slope: Problem = { name: 'slope', dims: 2, lo: 0, hi: 1, f: (x) => x[0]!, target: 0.05 };

describe('search bench: a noisy metric', () => {
  it('judges candidates as the loop does: a lucky run is not kept, a real gain is', () => {
    let lucky = 0;
    let judged = 0;
    let exact = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const o = simulate(flat, greedy, blindAgent, seed, 10, 0.1);
      [lucky, judged] = [lucky + o.keeps, judged + o.candidates];
      // Exact values keep nothing here: no candidate is lower.
      exact += simulate(flat, greedy, blindAgent, seed, 10).keeps;
    }
    expect(exact).toBe(0);
    // Kept on one lower run, a fifth of them would be (the records of a noisy series: about
    // 2 in 10); the paired policy keeps a candidate that is not better under 5% of the time
    // (its confidence, 0.95): a candidate whose first run looks better gets pairs, not a keep.
    expect(judged).toBeGreaterThan(400);
    expect(lucky / judged).toBeLessThan(0.05);
    const real = simulate(slope, greedy, blindAgent, 1, 150, 0.01);
    expect(real.keeps).toBeGreaterThan(3);
    expect(real.best).toBeLessThan(0.3);
  });

  it('counts every run against the budget and reports the true value, not a measured one', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const o = simulate(slope, greedy, blindAgent, seed, 50, 10);
      // A judgement started under the budget finishes: at most three pairs past it.
      expect(o.evaluations).toBeGreaterThanOrEqual(50);
      expect(o.evaluations).toBeLessThan(50 + 6);
      // Noise of 10 on values in [0, 1]: a measured mean would be far outside them.
      expect(o.best).toBeGreaterThanOrEqual(0);
      expect(o.best).toBeLessThanOrEqual(1);
    }
    // Without noise one evaluation is one candidate.
    expect(simulate(slope, greedy, blindAgent, 1, 50).evaluations).toBe(50);
  });

  it('counts the real gains the noise hid, and the keeps built on a discarded experiment', () => {
    const tree = FrontMatterSchema.shape.parents.parse('tree');
    let [hidden, onDiscardedGreedy, onDiscardedTree] = [0, 0, 0];
    for (let seed = 1; seed <= 10; seed++) {
      // Noise of about a tenth of the range: many real gains measure as none.
      const g = simulate(slope, greedy, blindAgent, seed, 150, 0.1);
      [hidden, onDiscardedGreedy] = [hidden + g.missed, onDiscardedGreedy + g.keepsOnDiscarded];
      onDiscardedTree += simulate(slope, tree, blindAgent, seed, 150, 0.1).keepsOnDiscarded;
      // Nothing is truly better on a flat problem: nothing can be missed.
      expect(simulate(flat, greedy, blindAgent, seed, 60, 0.1).missed).toBe(0);
    }
    expect(hidden).toBeGreaterThan(10);
    expect(onDiscardedGreedy).toBe(0);
    expect(onDiscardedTree).toBeGreaterThan(0);
  });

  it('sets the noise from the gap between a random point and the target', () => {
    // Random points of x[0] have a median near 0.5; the target 0.05: a gap near 0.45.
    expect(noiseOf(slope)).toBeGreaterThan(0.02 * 0.35);
    expect(noiseOf(slope)).toBeLessThan(0.02 * 0.55);
  });
});

describe('search bench: the sign test', () => {
  it('gives the two-sided binomial chance of a split at least this uneven', () => {
    expect(signTest(5, 5)).toBe(1);
    expect(signTest(0, 0)).toBe(1);
    // 9 of 10: P(X <= 1) = 11 / 1024, twice.
    expect(signTest(9, 1)).toBeCloseTo(22 / 1024, 12);
    expect(signTest(1, 9)).toBeCloseTo(22 / 1024, 12);
    expect(signTest(60, 40)).toBeGreaterThan(0.05);
    expect(signTest(61, 38)).toBeLessThan(0.05);
  });
});
