import { describe, expect, it } from 'vitest';
import type { ExperimentRow } from '../../src/ledger/types.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { incumbentValues } from '../../src/loop/summary.js';

/** A recorded experiment: its status, current value, the commit it was judged against, when it was decided. */
const row = (
  id: number,
  status: ExperimentRow['status'],
  value: number | null,
  against: number | null,
  recordedAt = id,
): ExperimentRow => ({
  ...emptyExperiment('t', 0, 'tune', 'c0'),
  id,
  state: 'recorded',
  status,
  primary_value: value,
  candidate_commit: `c${id}`,
  incumbent_commit: against === null ? null : `c${against}`,
  recorded_at: recordedAt,
});

describe("the chart's best line (incumbentValues)", () => {
  it('follows the incumbent at its current value: measured again and worse, the line moves with it', () => {
    // minimize: #2 was kept at 9.8; measured again next to later candidates, its mean is now 10.3,
    // worse than #1's 10. The loop still compares against #2: so does the line.
    const rows = [
      row(0, 'keep', 11, null),
      row(1, 'keep', 10, 0),
      row(2, 'keep', 10.3, 1),
      row(3, 'discard', 10.31, 2),
      row(4, 'crash', null, null),
    ];
    expect([...incumbentValues(rows)]).toEqual([
      [0, 11],
      [1, 10],
      [2, 10.3],
      [3, 10.3], // a running minimum would draw 10 here, and this discard beyond the best
      [4, 10.3], // no incumbent recorded: the keep decided last before it
    ]);
  });

  it('takes the incumbent each experiment was judged against, whatever order parallel slots decided in', () => {
    // Slots: #2 was kept before #1 was decided; #1 was judged against #2, #3 against the baseline.
    const rows = [
      row(0, 'keep', 5, null, 0),
      row(1, 'discard', 4.5, 2, 20),
      row(2, 'keep', 4, 0, 10),
      row(3, 'discard', 5.5, 0, 5),
      { ...row(4, null, null, null, 30), state: 'running' as const, recorded_at: null },
    ];
    const line = incumbentValues(rows);
    expect(line.get(1)).toBe(4);
    expect(line.get(3)).toBe(5);
    expect(line.has(4)).toBe(false); // in flight: not on the chart
  });
});
