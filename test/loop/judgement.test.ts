/** The judgement's runs as the loop rebuilds them from the ledger at every look (src/loop/judgement.ts). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import type { MeasurementRow } from '../../src/ledger/types.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { judgementSequence } from '../../src/loop/judgement.js';
import { tempDir } from '../helpers/temp.js';
import { runRow } from '../helpers/rows.js';

const run = (commit: string, value: number, id = 0): MeasurementRow =>
  ({
    id,
    run_tag: 't',
    experiment_id: 1,
    seq: 0,
    during_id: 1,
    commit_sha: commit,
    slot: 0,
    value,
    metrics_json: null,
    exit_code: 0,
    wall_seconds: 1,
    peak_memory_bytes: null,
    log_path: null,
    measured_at: 0,
    machine_json: null,
  }) as MeasurementRow;

describe('a judgement from its stored runs', () => {
  it("labels the candidate's runs and the incumbent's, in the order measured", () => {
    expect(
      judgementSequence([run('c', 1), run('i', 2), run('i', 3), run('c', 4)], 'c', 'i'),
    ).toEqual([
      { arm: 'candidate', value: 1 },
      { arm: 'incumbent', value: 2 },
      { arm: 'incumbent', value: 3 },
      { arm: 'candidate', value: 4 },
    ]);
  });

  it('starts after a run of other code: an incumbent replaced meanwhile, the candidate before its re-base', () => {
    // C I(old) | I(new) C: pairing C with I(new) would pair runs that were not neighbours.
    expect(
      judgementSequence([run('c', 1), run('old', 2), run('new', 3), run('c', 4)], 'c', 'new'),
    ).toEqual([
      { arm: 'incumbent', value: 3 },
      { arm: 'candidate', value: 4 },
    ]);
    // Re-based onto the incumbent: the runs of the proposed commit no longer count; nothing of c2 yet.
    expect(
      judgementSequence([run('c', 1), run('i', 2), run('i', 3), run('c', 4)], 'c2', 'i'),
    ).toEqual([]);
  });

  it('reads the runs in the order they were stored, across commits and slots, and the other judgements newest last', () => {
    const ledger = new Ledger(join(tempDir('ar-judge-'), 'ledger.sqlite'));
    ledger.createRun(
      runRow('t', {
        branch: 'b',
        created_at: 0,
        updated_at: 0,
        base_commit: 'base',
        metric_name: 's',
      }),
    );
    for (const id of [0, 1, 2])
      ledger.insertExperiment({
        ...emptyExperiment('t', 0, 'x', 'base'),
        id,
        candidate_commit: id === 0 ? 'base' : `c${id}`,
        incumbent_commit: 'base',
      });
    const add = (experiment_id: number, during_id: number, commit_sha: string, value: number) =>
      ledger.addMeasurement({
        run_tag: 't',
        experiment_id,
        during_id,
        commit_sha,
        slot: 0,
        value,
        metrics_json: null,
        exit_code: 0,
        wall_seconds: 1,
        peak_memory_bytes: null,
        log_path: null,
      });
    add(0, 0, 'base', 5);
    // Two judgements at once in two slots: their runs interleave in time.
    add(2, 2, 'c2', 4);
    add(1, 1, 'c1', 6);
    add(0, 2, 'base', 5.1);
    add(0, 1, 'base', 5.2);
    add(0, 2, 'base', 5.3);
    add(2, 2, 'c2', 4.1);
    const during2 = ledger.measurementsDuring('t', 2);
    expect(during2.map((m) => m.value)).toEqual([4, 5.1, 5.3, 4.1]);
    expect(during2.map((m) => m.id)).toEqual([...during2.map((m) => m.id)].sort((a, b) => a - b));
    expect(judgementSequence(during2, 'c2', 'base').map((r) => r.arm)).toEqual([
      'candidate',
      'incumbent',
      'incumbent',
      'candidate',
    ]);
    // The other judgements of two runs or more, the one that measured last at the end.
    expect(
      ledger.recentJudgements('t', 99, 10).map((j) => [j.id, j.candidate, j.runs.length]),
    ).toEqual([
      [1, 'c1', 2],
      [2, 'c2', 4],
    ]);
    expect(ledger.recentJudgements('t', 2, 10).map((j) => j.id)).toEqual([1]);
    ledger.close();
  });
});
