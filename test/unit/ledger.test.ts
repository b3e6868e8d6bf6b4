import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import type { ExperimentStatus } from '../../src/ledger/types.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { runRow } from '../helpers/rows.js';
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
    old
      .prepare(
        `INSERT INTO runs VALUES ('t', 'autoresearch/t', 1, 2, 'program.md', '', 'abc', 'score', 'minimize', '{}', '{}', 'stopped', 'reached 3 experiments', NULL, NULL)`,
      )
      .run();
    old.close();

    const ledger = new Ledger(path);
    expect(ledger.getRun('t')).toMatchObject({
      tag: 't',
      state: 'stopped',
      stop_reason: 'reached 3 experiments',
      work_dir: null,
    });
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
    ledger.createRun(runRow('t'));
    const add = (status: ExperimentStatus | null) =>
      ledger.insertExperiment({
        ...emptyExperiment('t', 0, 'tune', 'abc'),
        state: status ? 'recorded' : 'running',
        status,
      });
    add('keep'); // the baseline: never counted
    expect(ledger.trailingSkips('t')).toBe(0);
    for (const s of ['skipped', 'discard', 'skipped', 'skipped', 'interrupted', 'skipped'] as const)
      add(s);
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
    ledger.createRun(runRow('t'));
    const later = Date.now() + 3_600_000;
    const add = (recordedAt: number | null) =>
      ledger.insertExperiment({
        ...emptyExperiment('t', 0, 'tune', 'abc'),
        state: recordedAt === null ? 'running' : 'recorded',
        status: recordedAt === null ? null : 'keep',
        recorded_at: recordedAt,
      }).id;
    const measure = (id: number, value: number | null, during = id) =>
      ledger.addMeasurement({
        run_tag: 't',
        experiment_id: id,
        during_id: during,
        commit_sha: `c${id}`,
        slot: 0,
        value,
        metrics_json: null,
        exit_code: 0,
        wall_seconds: 1,
        peak_memory_bytes: null,
        log_path: null,
      });
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

describe('Ledger.deleteRun', () => {
  it('removes every row of the run (experiments, runs measured, commands, re-runs, notes) and nothing of another run', () => {
    const ledger = new Ledger(join(tempDir('ar-ledger-'), 'ledger.sqlite'));
    const fill = (tag: string) => {
      ledger.createRun(runRow(tag, { state: 'failed' }));
      const id = ledger.insertExperiment({
        ...emptyExperiment(tag, 0, 'baseline', 'abc'),
        id: 0,
        state: 'recorded',
        status: 'crash',
      }).id;
      ledger.addMeasurement({
        run_tag: tag,
        experiment_id: id,
        during_id: id,
        commit_sha: 'abc',
        slot: 0,
        value: 5,
        metrics_json: null,
        exit_code: 0,
        wall_seconds: 1,
        peak_memory_bytes: null,
        log_path: null,
      });
      ledger.addCommand({
        run_tag: tag,
        experiment_id: id,
        kind: 'run',
        started_at: 1,
        wall_seconds: 1,
        exit_code: 3,
        signal: null,
        timed_out: 0,
        sealed: 1,
        log_path: null,
      });
      ledger.requestRerun(tag, id);
      ledger.addNote(tag, 'try smaller steps');
    };
    fill('old');
    fill('other');
    ledger.deleteRun('old');
    expect(ledger.getRun('old')).toBeUndefined();
    expect(ledger.listExperiments('old')).toEqual([]);
    // A tag started afresh would otherwise take the old base commit's runs for its own baseline's.
    expect(ledger.measurementsOf('old', 0)).toEqual([]);
    expect(ledger.commandsOf('old', 0)).toEqual([]);
    expect(ledger.takeRerun('old')).toBeNull();
    expect(ledger.notes('old')).toEqual([]);
    expect(ledger.getRun('other')?.state).toBe('failed');
    expect(ledger.measurementsOf('other', 0)).toHaveLength(1);
    expect(ledger.commandsOf('other', 0)).toHaveLength(1);
    expect(ledger.notes('other')).toEqual(['try smaller steps']);
    expect(ledger.takeRerun('other')).toBe(0);
    ledger.close();
  });
});
