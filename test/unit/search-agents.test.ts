import { describe, expect, it } from 'vitest';
import {
  FIRST_STEP,
  memoryAgent,
  nextRefinement,
  type Trial,
} from '../../src/bench/search-agents.js';
import { createRng } from '../../src/tune/random.js';

const box = { dims: 2, lo: -1, hi: 1 };
const root = (x = [0, 0]): Trial => ({ id: 0, parent: null, x, change: { kind: 'start' } });
const key = (s: { level: number; coord: number; sign: number }) =>
  `${s.level}:${s.coord}:${s.sign}`;

/** Builds `n` refinements of experiment `parent`, each recorded as its child. */
function refine(trials: Trial[], parent: number, n: number, seed = 1) {
  const rng = createRng(seed);
  const steps = [];
  for (let i = 0; i < n; i++) {
    const step = nextRefinement(trials, parent, box, rng)!;
    steps.push(step);
    trials.push({
      id: trials.length,
      parent,
      x: trials[parent]!.x,
      change: { kind: 'step', ...step },
    });
  }
  return steps;
}

describe('the search bench memory agent', () => {
  it('tries every direction from a parent once before halving the step, then each again at half', () => {
    for (const seed of [1, 2, 3]) {
      const steps = refine([root()], 0, 12, seed);
      // 2 dims: 4 directions a level; none repeated while one is left.
      expect(new Set(steps.slice(0, 4).map(key)).size).toBe(4);
      expect(steps.slice(0, 4).every((s) => s.level === 0)).toBe(true);
      expect(new Set(steps.slice(4, 8).map(key)).size).toBe(4);
      expect(steps.slice(4, 8).every((s) => s.level === 1)).toBe(true);
      expect(steps.slice(8).every((s) => s.level === 2)).toBe(true);
    }
  });

  it("remembers per parent, and counts the way back to a parent's parent as tried", () => {
    const trials = [root()];
    refine(trials, 0, 4);
    const up = trials.find(
      (t) => t.change.kind === 'step' && t.change.coord === 0 && t.change.sign === 1,
    )!;
    // A child of `up` starts afresh at the first step, without the step back down to the root.
    const steps = refine(trials, up.id, 3);
    expect(steps.every((s) => s.level === 0)).toBe(true);
    expect(steps.map(key)).not.toContain('0:0:-1');
    expect(refine(trials, up.id, 1)[0]!.level).toBe(1);
  });

  it('does not push a knob past its bound', () => {
    const trials = [root([1, 0])];
    const steps = refine(trials, 0, 3);
    expect(steps.map(key)).not.toContain('0:0:1');
    expect(refine(trials, 0, 1)[0]!.level).toBe(1);
  });

  it('moves one knob by the step of its level, or draws one or two knobs afresh', () => {
    const rng = createRng(7);
    const trials = [root([0.3, -0.2])];
    let ideas = 0;
    for (let i = 0; i < 200; i++) {
      const { x, change } = memoryAgent(trials, 0, box, rng);
      const moved = x.map((v, j) => v - trials[0]!.x[j]!).filter((d) => d !== 0);
      if (change.kind === 'step') {
        expect(moved).toHaveLength(1);
        const size = (FIRST_STEP * (box.hi - box.lo)) / 2 ** change.level;
        expect(moved[0]).toBeCloseTo(change.sign * size, 12);
      } else {
        expect(change.kind).toBe('idea');
        expect(moved.length).toBeGreaterThanOrEqual(1);
        expect(moved.length).toBeLessThanOrEqual(2);
        ideas++;
      }
      trials.push({ id: trials.length, parent: 0, x, change });
    }
    expect(ideas / 200).toBeGreaterThan(0.15);
    expect(ideas / 200).toBeLessThan(0.35);
  });
});
