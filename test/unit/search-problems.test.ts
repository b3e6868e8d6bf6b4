import { describe, expect, it } from 'vitest';
import { heldOut } from '../../src/bench/search-problems.js';

const problem = (name: string) => heldOut().find((p) => p.name === name)!;

describe('search bench: the held-out problems', () => {
  it('take their known global minima where the literature puts them', () => {
    expect(problem('ackley6').f(Array(6).fill(0))).toBeCloseTo(0, 12);
    expect(problem('levy4').f(Array(4).fill(1))).toBeCloseTo(0, 12);
    expect(problem('griewank5').f(Array(5).fill(0))).toBeCloseTo(0, 12);
    expect(problem('styblinski5').f(Array(5).fill(-2.903534))).toBeCloseTo(-39.16617 * 5, 3);
    // Michalewicz's 2-d minimum, -1.8013 at (2.20, 1.57): the same sum, two of its five terms.
    const m = problem('michalewicz5').f;
    expect(m([2.20291, 1.5708, 0, 0, 0])).toBeCloseTo(-1.8013, 3);
  });

  it('are above their targets at a point away from the minimum', () => {
    for (const p of heldOut()) {
      const mid = Array(p.dims).fill((p.lo + p.hi) / 2 + (p.hi - p.lo) / 7);
      expect(p.f(mid), p.name).toBeGreaterThan(p.target);
    }
  });
});
