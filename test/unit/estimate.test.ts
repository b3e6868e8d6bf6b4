import { describe, expect, it } from 'vitest';
import { baselineEstimate } from '../../src/loop/estimate.js';

describe('when the first candidate starts (baselineEstimate)', () => {
  const now = new Date(2026, 10, 30, 13, 50, 0); // local time, as the line is read

  it("counts the baseline's repeats in rounds of as many slots as there are", () => {
    const at = (runs: number, slots: number) =>
      baselineEstimate({ runs, budgetSeconds: 300, slots, now });
    expect(at(3, 1)).toBe('baseline: 3 repeats × 5m 00s on 1 slot; first candidate at ~14:05');
    expect(at(3, 4)).toBe(
      'baseline: 3 repeats × 5m 00s on 3 slots at once; first candidate at ~13:55',
    );
    expect(at(5, 2)).toBe(
      'baseline: 5 repeats × 5m 00s on 2 slots, 3 rounds; first candidate at ~14:05',
    );
    expect(at(1, 1)).toBe('baseline: 1 run × 5m 00s on 1 slot; first candidate at ~13:55');
  });
});
