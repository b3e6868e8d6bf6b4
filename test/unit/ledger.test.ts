import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import type { ExperimentStatus } from '../../src/ledger/types.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { tempDir } from '../helpers/temp.js';

describe('Ledger', () => {
  it('opens a ledger written before runs had work_dir: the column is added, the run kept', () => {
    const path = join(tempDir('ar-ledger-'), 'ledger.sqlite');
    // The runs table as the first release wrote it.
    const old = new Database(path);
    old.exec(`CREATE TABLE runs (tag TEXT PRIMARY KEY, branch TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      program_path TEXT NOT NULL, program_dir TEXT NOT NULL, base_commit TEXT NOT NULL, metric_name TEXT NOT NULL,
      goal TEXT NOT NULL CHECK (goal IN ('minimize','maximize')), config_json TEXT NOT NULL, protected_json TEXT NOT NULL,
      state TEXT NOT NULL, stop_reason TEXT, pid INTEGER, heartbeat_at INTEGER)`);
    old.prepare(`INSERT INTO runs VALUES ('t', 'autoresearch/t', 1, 2, 'program.md', '', 'abc', 'score', 'minimize', '{}', '{}', 'stopped', 'reached 3 experiments', NULL, NULL)`).run();
    old.close();

    const ledger = new Ledger(path);
    expect(ledger.getRun('t')).toMatchObject({ tag: 't', state: 'stopped', stop_reason: 'reached 3 experiments', work_dir: null });
    ledger.updateRun('t', { work_dir: '/shared/x/t' });
    ledger.close();
    // Opening it again does not add the column twice.
    const again = new Ledger(path);
    expect(again.getRun('t')?.work_dir).toBe('/shared/x/t');
    again.close();
  });
});

describe('Ledger trailing runs of one outcome (stop conditions)', () => {
  it('counts the latest skipped and failed proposals; interrupted ones neither count nor break a run', () => {
    const ledger = new Ledger(join(tempDir('ar-ledger-'), 'ledger.sqlite'));
    ledger.db.prepare(`INSERT INTO runs (tag, branch, created_at, updated_at, program_path, program_dir, base_commit, metric_name, goal, config_json, protected_json, state)
      VALUES ('t', 'autoresearch/t', 1, 1, 'program.md', '', 'abc', 'score', 'minimize', '{}', '{}', 'running')`).run();
    const add = (status: ExperimentStatus | null) =>
      ledger.insertExperiment({ ...emptyExperiment('t', 0, 'tune', 'abc'), state: status ? 'recorded' : 'running', status });
    add('keep'); // the baseline: never counted
    expect(ledger.trailingSkips('t')).toBe(0);
    for (const s of ['skipped', 'discard', 'skipped', 'skipped', 'interrupted', 'skipped'] as const) add(s);
    expect(ledger.trailingSkips('t')).toBe(3);
    expect(ledger.trailingFailures('t')).toBe(0);
    add(null); // in flight: not recorded yet
    expect(ledger.trailingSkips('t')).toBe(3);
    add('failed');
    expect(ledger.trailingSkips('t')).toBe(0);
    expect(ledger.trailingFailures('t')).toBe(1);
    ledger.close();
  });
});

describe('Ledger re-measured experiments', () => {
  it('lists the recorded experiments with a successful run measured after their decision', () => {
    const ledger = new Ledger(join(tempDir('ar-ledger-'), 'ledger.sqlite'));
    ledger.db.prepare(`INSERT INTO runs (tag, branch, created_at, updated_at, program_path, program_dir, base_commit, metric_name, goal, config_json, protected_json, state)
      VALUES ('t', 'autoresearch/t', 1, 1, 'program.md', '', 'abc', 'score', 'minimize', '{}', '{}', 'running')`).run();
    const later = Date.now() + 3_600_000;
    const add = (recordedAt: number | null) =>
      ledger.insertExperiment({ ...emptyExperiment('t', 0, 'tune', 'abc'), state: recordedAt === null ? 'running' : 'recorded', status: recordedAt === null ? null : 'keep', recorded_at: recordedAt }).id;
    const measure = (id: number, value: number | null, during = id) =>
      ledger.addMeasurement({ run_tag: 't', experiment_id: id, during_id: during, commit_sha: `c${id}`, slot: 0, value, metrics_json: null, exit_code: 0, wall_seconds: 1, peak_memory_bytes: null, log_path: null });
    const remeasured = add(1); // decided long ago, measured again next to experiment 4
    const fresh = add(later); // its runs all came before its decision
    const failedAgain = add(1); // measured again, but that run failed
    const running = add(null);
    measure(remeasured, 1, running);
    measure(fresh, 2);
    measure(failedAgain, null, running);
    measure(running, 3);
    expect(ledger.remeasuredAfterDecision('t')).toEqual([remeasured]);
  });
});
