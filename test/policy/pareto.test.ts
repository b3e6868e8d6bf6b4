import { describe, expect, it } from 'vitest';
import { judgeFront, margin, type FrontInput, type FrontPoint } from '../../src/policy/pareto.js';

const objectives = [
  { name: 'ms', goal: 'minimize' as const, tolerance: 0 },
  { name: 'heap', goal: 'minimize' as const, tolerance: 0 },
];

const point = (id: number, ms: number, heap: number, n = 3): FrontPoint => ({
  id,
  means: { ms, heap },
  n,
});

/** Each metric's noise: one run's standard deviation, known from plenty of repeats. */
function input(front: FrontPoint[], candidate: FrontPoint, sigma = { ms: 1, heap: 1 }): FrontInput {
  return {
    objectives,
    front,
    candidate,
    noise: { ms: { sigma: sigma.ms, df: 30 }, heap: { sigma: sigma.heap, df: 30 } },
    confidence: 0.95,
  };
}

describe('Pareto front with noise', () => {
  // sigma 1, n 3 and 3, t(0.05, 30) = 1.697: differences count beyond 1.697 * sqrt(2/3) = 1.386.
  const m = margin(objectives[0]!, { sigma: 1, df: 30 }, 3, 3, 0.95);

  it('takes the margin from the noise of the two means', () => {
    expect(m).toBeCloseTo(1.386, 2);
    expect(margin({ ...objectives[0]!, tolerance: 5 }, { sigma: 1, df: 30 }, 3, 3, 0.95)).toBe(5);
    expect(margin(objectives[0]!, null, 3, 3, 0.95)).toBe(0);
  });

  it('a candidate better on every metric joins and the member it dominates leaves', () => {
    const v = judgeFront(input([point(0, 100, 50)], point(4, 90, 40)));
    expect(v.joins).toBe(true);
    expect(v.leaving.map((l) => l.member)).toEqual([0]);
    expect(v.reason).toMatch(/^kept: joins the front \(1 point\)/);
    expect(v.reason).toContain('experiment 0 leaves the front, dominated: ms 90 vs 100');
  });

  it('a no-op never joins: every difference is within the noise', () => {
    const v = judgeFront(input([point(0, 100, 50)], point(1, 100.5, 49.2)));
    expect(v.joins).toBe(false);
    expect(v.coveredBy?.member).toBe(0);
    expect(v.reason).toMatch(
      /^discarded: matched by experiment 0 on the front: ms 100.5 vs 100 \(within 1.38/,
    );
  });

  it('a trade-off joins, and the member stays', () => {
    const v = judgeFront(input([point(0, 100, 50)], point(2, 80, 60)));
    expect(v.joins).toBe(true);
    expect(v.leaving).toEqual([]);
    expect(v.reason).toContain('(2 points)');
    expect(v.reason).toContain('better beyond the noise on ms');
  });

  it('a candidate better than one member but covered by another is discarded, naming it', () => {
    const front = [point(0, 100, 50), point(3, 80, 45)];
    const v = judgeFront(input(front, point(5, 90, 48)));
    expect(v.joins).toBe(false);
    expect(v.coveredBy?.member).toBe(3);
    expect(v.reason).toMatch(/dominated by experiment 3 on the front: ms 90 vs 80 \(worse beyond/);
  });

  it('differences within the noise do not count, however consistent their sign', () => {
    // 1.0 better on both: within the margin of 1.386, so the member covers it.
    expect(judgeFront(input([point(0, 100, 50)], point(1, 99, 49))).joins).toBe(false);
    // With less noise the same difference counts: it joins and the member leaves.
    const quiet = judgeFront(input([point(0, 100, 50)], point(1, 99, 49), { ms: 0.1, heap: 0.1 }));
    expect(quiet.joins).toBe(true);
    expect(quiet.leaving.map((l) => l.member)).toEqual([0]);
  });

  it('a joining trade-off removes only the members it beats beyond the noise on no worse metric', () => {
    // 7 beats 0 on ms and is within the noise on heap: 0 leaves. Against 3 it is a trade-off.
    const front = [point(0, 100, 50), point(3, 60, 80)];
    const v = judgeFront(input(front, point(7, 90, 50.5)));
    expect(v.joins).toBe(true);
    expect(v.leaving.map((l) => l.member)).toEqual([0]);
  });

  it('reads maximize goals the other way round', () => {
    const goals = { ...input([point(0, 100, 50)], point(1, 90, 60)) };
    goals.objectives = objectives.map((o) => ({ ...o, goal: 'maximize' as const }));
    const v = judgeFront(goals);
    expect(v.joins).toBe(true);
    expect(v.leaving).toEqual([]);
    goals.candidate = point(1, 90, 40);
    expect(judgeFront(goals).coveredBy?.member).toBe(0);
  });
});
