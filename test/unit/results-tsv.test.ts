import { describe, expect, it } from 'vitest';
import { renderResultsTsv, resultsTsvLine } from '../../src/ledger/results-tsv.js';
import type { ExperimentRow } from '../../src/ledger/types.js';
import { emptyExperiment } from '../../src/loop/experiment.js';

const row = (id: number, patch: Partial<ExperimentRow>): ExperimentRow => ({
  ...emptyExperiment('t', 0, 'x', 'p'.repeat(40)),
  id,
  state: 'recorded',
  status: 'keep',
  candidate_commit: `${id}`.padEnd(40, 'c'),
  title: `idea ${id}`,
  primary_value: 1,
  recorded_at: id,
  ...patch,
});

describe('results.tsv', () => {
  it("gives memory_gb as peak_vram_mb / 1024 when the experiment printed it, else its memory_gb metric, else the harness's peak", () => {
    const line = (patch: Partial<ExperimentRow>) => resultsTsvLine(row(1, patch))!.split('\t')[2];
    expect(
      line({
        metrics_json: JSON.stringify({ val_bpb: 0.99, peak_vram_mb: 45060.2, memory_gb: 0.5 }),
        peak_memory_bytes: 3 * 1024 ** 3,
      }),
    ).toBe('44.0');
    expect(
      line({
        metrics_json: JSON.stringify({ memory_gb: 12.34 }),
        peak_memory_bytes: 3 * 1024 ** 3,
      }),
    ).toBe('12.3');
    // NaN is stored as null: not a figure, so the harness's measurement stands.
    expect(
      line({
        metrics_json: JSON.stringify({ peak_vram_mb: null }),
        peak_memory_bytes: 3 * 1024 ** 3,
      }),
    ).toBe('3.0');
    expect(line({ metrics_json: null, peak_memory_bytes: null })).toBe('0.0');
  });

  it('maps statuses onto keep, discard and crash, and leaves out proposals that ran nothing', () => {
    const rows = [
      row(0, { title: 'baseline', primary_value: 5 }),
      row(1, { status: 'discard', primary_value: 6 }),
      row(2, { status: 'crash', primary_value: null }),
      row(3, { status: 'timeout', primary_value: null }),
      row(4, { status: 'invalid', primary_value: null, title: 'edit\tthe\nevaluator' }),
      row(5, { status: 'skipped' }),
      row(6, { status: 'failed', candidate_commit: null }),
      row(7, { status: 'interrupted', candidate_commit: null }),
      row(8, { state: 'running', status: null }),
    ];
    expect(renderResultsTsv('val_bpb', rows).split('\n')).toEqual([
      'commit\tval_bpb\tmemory_gb\tstatus\tdescription',
      '0cccccc\t5.000000\t0.0\tkeep\tbaseline',
      '1cccccc\t6.000000\t0.0\tdiscard\tidea 1',
      '2cccccc\t0.000000\t0.0\tcrash\tidea 2',
      '3cccccc\t0.000000\t0.0\tcrash\ttimeout: idea 3',
      '4cccccc\t0.000000\t0.0\tcrash\tinvalid: edit the evaluator',
      '',
    ]);
  });
});
