/** Ledger rows for tests that write a ledger or feed pure functions directly. */
import type { ExperimentRow, RunRow } from '../../src/ledger/types.js';
import { emptyExperiment } from '../../src/loop/experiment.js';

export const experimentRow = (id: number, patch: Partial<ExperimentRow>): ExperimentRow => ({
  ...emptyExperiment('t', 0, 'x', 'p'),
  id,
  ...patch,
});

/** A run `tag` minimizing `score`, running, with no harness; `fields` override any column. */
export const runRow = (tag: string, fields: Partial<RunRow> = {}): RunRow => ({
  tag,
  branch: `autoresearch/${tag}`,
  created_at: 1,
  updated_at: 1,
  program_path: 'program.md',
  program_dir: '',
  base_commit: 'abc',
  metric_name: 'score',
  goal: 'minimize',
  config_json: '{}',
  protected_json: '{}',
  state: 'running',
  stop_reason: null,
  pid: null,
  heartbeat_at: null,
  work_dir: null,
  sandbox_json: null,
  drift_json: null,
  ...fields,
});
