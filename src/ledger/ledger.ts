/**
 * The Ledger: the durable record of every run and experiment (SQLite, WAL). Every state change
 * of an experiment is one short transaction, so a harness killed at any moment leaves a ledger
 * that says exactly where each experiment was.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  CommandRow,
  ExperimentRow,
  ExperimentStatus,
  MeasurementRow,
  RunRow,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  tag TEXT PRIMARY KEY,
  branch TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  program_path TEXT NOT NULL,
  program_dir TEXT NOT NULL,
  base_commit TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  goal TEXT NOT NULL CHECK (goal IN ('minimize','maximize')),
  config_json TEXT NOT NULL,
  protected_json TEXT NOT NULL,
  state TEXT NOT NULL,
  stop_reason TEXT,
  pid INTEGER,
  heartbeat_at INTEGER,
  work_dir TEXT
);
CREATE TABLE IF NOT EXISTS experiments (
  run_tag TEXT NOT NULL REFERENCES runs(tag),
  id INTEGER NOT NULL,
  slot INTEGER NOT NULL,
  state TEXT NOT NULL,
  status TEXT,
  reason TEXT,
  agent TEXT NOT NULL,
  title TEXT,
  hypothesis TEXT,
  agent_meta_json TEXT,
  parent_commit TEXT NOT NULL,
  candidate_commit TEXT,
  tree TEXT,
  files_changed INTEGER,
  lines_added INTEGER,
  lines_deleted INTEGER,
  incumbent_commit TEXT,
  incumbent_value REAL,
  primary_value REAL,
  metrics_json TEXT,
  exit_code INTEGER,
  signal TEXT,
  wall_seconds REAL,
  peak_memory_bytes INTEGER,
  output_bytes INTEGER,
  log_path TEXT,
  process_json TEXT,
  proposed_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  recorded_at INTEGER,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cached_tokens INTEGER,
  cache_write_tokens INTEGER,
  cost_usd REAL,
  n_runs INTEGER,
  spread REAL,
  penalty REAL,
  decision_json TEXT,
  holdout_value REAL,
  holdout_json TEXT,
  PRIMARY KEY (run_tag, id)
);
CREATE TABLE IF NOT EXISTS measurements (
  run_tag TEXT NOT NULL,
  experiment_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  during_id INTEGER NOT NULL,
  commit_sha TEXT NOT NULL,
  slot INTEGER,
  value REAL,
  metrics_json TEXT,
  exit_code INTEGER,
  wall_seconds REAL,
  peak_memory_bytes INTEGER,
  log_path TEXT,
  measured_at INTEGER NOT NULL,
  PRIMARY KEY (run_tag, experiment_id, seq)
);
CREATE TABLE IF NOT EXISTS reruns (
  run_tag TEXT NOT NULL,
  experiment_id INTEGER NOT NULL,
  requested_at INTEGER NOT NULL,
  done_at INTEGER
);
CREATE TABLE IF NOT EXISTS notes (
  run_tag TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
  run_tag TEXT NOT NULL,
  experiment_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  wall_seconds REAL NOT NULL,
  exit_code INTEGER,
  signal TEXT,
  timed_out INTEGER NOT NULL,
  sealed INTEGER NOT NULL,
  log_path TEXT
);
CREATE INDEX IF NOT EXISTS commands_experiment ON commands (run_tag, experiment_id);
CREATE INDEX IF NOT EXISTS measurements_during ON measurements (run_tag, during_id);
CREATE INDEX IF NOT EXISTS experiments_tree ON experiments (run_tag, tree);
CREATE INDEX IF NOT EXISTS experiments_state ON experiments (run_tag, state);
CREATE INDEX IF NOT EXISTS experiments_status ON experiments (run_tag, status);
`;

/** A run's spend: `usd` and `tokens` are the totals, `measured*` the experiments' metered part. */
export interface Spend {
  usd: number;
  tokens: number;
  /** Proposals with a known price, of all proposals. */
  priced: number;
  proposals: number;
  measuredUsd: number;
  measuredTokens: number;
}

/**
 * A run's spend, for the Ledger and its read-only twin alike: the agent's proposals (the baseline
 * has none) and, apart, what the experiments' commands metered (the baseline's included).
 */
export const SPEND_SQL =
  'SELECT COALESCE(SUM(CASE WHEN id > 0 THEN cost_usd END), 0) AS usd, COALESCE(SUM(CASE WHEN id > 0 THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0) AS tokens, COUNT(CASE WHEN id > 0 THEN cost_usd END) AS priced, COUNT(CASE WHEN id > 0 THEN 1 END) AS proposals, COALESCE(SUM(measured_cost_usd), 0) AS measuredUsd, COALESCE(SUM(measured_tokens), 0) AS measuredTokens FROM experiments WHERE run_tag = ?';

/** SPEND_SQL's row as a Spend: `usd` and `tokens` are the totals, the metered part included. */
export function spendOf(row: Spend): Spend {
  return { ...row, usd: row.usd + row.measuredUsd, tokens: row.tokens + row.measuredTokens };
}

type Patch<T> = Partial<Omit<T, 'run_tag' | 'id' | 'tag'>>;

const ADDED_COLUMNS: Array<[table: string, column: string, decl: string]> = [
  ['runs', 'work_dir', 'TEXT'],
  ['experiments', 'cache_write_tokens', 'INTEGER'],
  ['experiments', 'proposed_commit', 'TEXT'],
  ['experiments', 'agent_process_json', 'TEXT'],
  ['runs', 'sandbox_json', 'TEXT'],
  ['measurements', 'machine_json', 'TEXT'],
  ['runs', 'drift_json', 'TEXT'],
  ['experiments', 'lessons', 'TEXT'],
  ['experiments', 'idea_sketch', 'TEXT'],
  ['experiments', 'novelty_json', 'TEXT'],
  ['experiments', 'island', 'INTEGER'],
  ['experiments', 'measured_cost_usd', 'REAL'],
  ['experiments', 'measured_tokens', 'REAL'],
  ['commands', 'meter_json', 'TEXT'],
  ['experiments', 'left_front_by', 'INTEGER'],
];

export class Ledger {
  /** Every SQL statement of the harness is a method of this class: nothing outside holds the connection. */
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: 5000 });
    this.db.pragma('journal_mode = WAL');
    // NORMAL keeps WAL durable across a process crash (kill -9); only an OS crash can lose the tail.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.addMissingColumns();
  }

  /** Columns added after a ledger was first written: an older ledger gains them in place, its rows kept. */
  private addMissingColumns(): void {
    for (const [table, column, decl] of ADDED_COLUMNS) {
      const have = (
        this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>
      ).some((c) => c.name === column);
      if (!have) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`);
    }
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn`'s writes in one transaction (many rows at once: a benchmark's history). */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  // ---- runs ----

  createRun(run: RunRow): void {
    const cols = Object.keys(run);
    this.stmt(
      `INSERT INTO runs (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`,
    ).run(run);
  }

  getRun(tag: string): RunRow | undefined {
    return this.stmt('SELECT * FROM runs WHERE tag = ?').get(tag) as RunRow | undefined;
  }

  listRuns(): RunRow[] {
    return this.stmt('SELECT * FROM runs ORDER BY created_at DESC').all() as RunRow[];
  }

  updateRun(tag: string, patch: Patch<RunRow>): void {
    const cols = Object.keys(patch);
    if (cols.length === 0) return;
    this.stmt(
      `UPDATE runs SET ${cols.map((c) => `${c} = @${c}`).join(', ')}, updated_at = @__now WHERE tag = @__tag`,
    ).run({
      ...patch,
      __now: Date.now(),
      __tag: tag,
    });
  }

  // ---- experiments ----

  /** Allocates the next id and inserts the row in one transaction (ids never collide across slots). */
  insertExperiment(row: Omit<ExperimentRow, 'id'> & { id?: number }): ExperimentRow {
    const tx = this.db.transaction(() => {
      const id = row.id ?? this.lastExperimentId(row.run_tag) + 1;
      const full = { ...row, id } as ExperimentRow;
      const cols = Object.keys(full);
      this.stmt(
        `INSERT INTO experiments (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`,
      ).run(full);
      return full;
    });
    return tx.immediate();
  }

  updateExperiment(tag: string, id: number, patch: Patch<ExperimentRow>): void {
    const cols = Object.keys(patch);
    if (cols.length === 0) return;
    this.stmt(
      `UPDATE experiments SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE run_tag = @__tag AND id = @__id`,
    ).run({
      ...patch,
      __tag: tag,
      __id: id,
    });
  }

  /** Removes an experiment that never was one (the agent had nothing to propose), with what it left. */
  deleteExperiment(tag: string, id: number): void {
    this.db.transaction(() => {
      this.stmt('DELETE FROM commands WHERE run_tag = ? AND experiment_id = ?').run(tag, id);
      this.stmt('DELETE FROM experiments WHERE run_tag = ? AND id = ?').run(tag, id);
    })();
  }

  /**
   * Everything of a run, in one transaction: its experiments, every run measured, commands,
   * re-run requests and notes. A tag started afresh (its baseline never worked) must find none of
   * them, or the old base commit's runs would be taken for the new one's.
   */
  deleteRun(tag: string): void {
    this.db
      .transaction(() => {
        for (const table of ['commands', 'measurements', 'reruns', 'notes', 'experiments'])
          this.stmt(`DELETE FROM ${table} WHERE run_tag = ?`).run(tag);
        this.stmt('DELETE FROM runs WHERE tag = ?').run(tag);
      })
      .immediate();
  }

  // ---- commands ----

  /** A command run, and what its meter says it spent added to its experiment's, in one transaction. */
  addCommand(row: CommandRow, spent?: { usd: number; tokens: number }): void {
    this.db.transaction(() => {
      this.stmt(
        'INSERT INTO commands (run_tag, experiment_id, kind, started_at, wall_seconds, exit_code, signal, timed_out, sealed, log_path, meter_json) VALUES (@run_tag, @experiment_id, @kind, @started_at, @wall_seconds, @exit_code, @signal, @timed_out, @sealed, @log_path, @meter_json)',
      ).run({ ...row, meter_json: row.meter_json ?? null });
      if (spent)
        this.stmt(
          'UPDATE experiments SET measured_cost_usd = COALESCE(measured_cost_usd, 0) + ?, measured_tokens = COALESCE(measured_tokens, 0) + ? WHERE run_tag = ? AND id = ?',
        ).run(spent.usd, spent.tokens, row.run_tag, row.experiment_id);
    })();
  }

  commandsOf(tag: string, id: number): CommandRow[] {
    return this.stmt(
      'SELECT * FROM commands WHERE run_tag = ? AND experiment_id = ? ORDER BY started_at',
    ).all(tag, id) as CommandRow[];
  }

  /** What refs/autoresearch/<tag>/* should hold: every committed experiment's proposed and carried commits. */
  candidateCommits(
    tag: string,
  ): Array<{ id: number; proposed: string | null; candidate: string | null; recorded: number }> {
    return this.stmt(
      "SELECT id, proposed_commit AS proposed, candidate_commit AS candidate, state = 'recorded' AS recorded FROM experiments WHERE run_tag = ? AND id > 0 AND candidate_commit IS NOT NULL",
    ).all(tag) as Array<{
      id: number;
      proposed: string | null;
      candidate: string | null;
      recorded: number;
    }>;
  }

  getExperiment(tag: string, id: number): ExperimentRow | undefined {
    return this.stmt('SELECT * FROM experiments WHERE run_tag = ? AND id = ?').get(tag, id) as
      ExperimentRow | undefined;
  }

  /** The highest experiment id of the run (-1 before the baseline). */
  lastExperimentId(tag: string): number {
    const row = this.stmt('SELECT MAX(id) AS m FROM experiments WHERE run_tag = ?').get(tag) as {
      m: number | null;
    };
    return row.m ?? -1;
  }

  listExperiments(tag: string): ExperimentRow[] {
    return this.stmt('SELECT * FROM experiments WHERE run_tag = ? ORDER BY id').all(
      tag,
    ) as ExperimentRow[];
  }

  /** The most recent `limit` experiments, oldest first (for briefs and progress). */
  recentExperiments(tag: string, limit: number): ExperimentRow[] {
    const rows = this.stmt(
      'SELECT * FROM experiments WHERE run_tag = ? ORDER BY id DESC LIMIT ?',
    ).all(tag, limit) as ExperimentRow[];
    return rows.reverse();
  }

  unfinishedExperiments(tag: string): ExperimentRow[] {
    return this.stmt(
      "SELECT * FROM experiments WHERE run_tag = ? AND state != 'recorded' ORDER BY id",
    ).all(tag) as ExperimentRow[];
  }

  /** An earlier experiment with the same tree (a duplicate candidate), if any. */
  findByTree(tag: string, tree: string, excludeId: number): ExperimentRow | undefined {
    return this.stmt(
      'SELECT * FROM experiments WHERE run_tag = ? AND tree = ? AND id != ? ORDER BY id LIMIT 1',
    ).get(tag, tree, excludeId) as ExperimentRow | undefined;
  }

  /** The newest `limit` lessons the agents returned, oldest first, with how each experiment ended. */
  lessons(
    tag: string,
    limit: number,
  ): Array<{ id: number; status: ExperimentStatus | null; title: string | null; lessons: string }> {
    const rows = this.stmt(
      "SELECT id, status, title, lessons FROM experiments WHERE run_tag = ? AND id > 0 AND lessons IS NOT NULL AND lessons != '' ORDER BY id DESC LIMIT ?",
    ).all(tag, limit) as Array<{
      id: number;
      status: ExperimentStatus | null;
      title: string | null;
      lessons: string;
    }>;
    return rows.reverse();
  }

  /** Recorded experiments of a status with an idea sketch (what a new candidate is compared with). */
  ideasWith(
    tag: string,
    status: ExperimentStatus,
  ): Array<{ id: number; title: string | null; idea_sketch: string }> {
    return this.stmt(
      "SELECT id, title, idea_sketch FROM experiments WHERE run_tag = ? AND id > 0 AND state = 'recorded' AND status = ? AND idea_sketch IS NOT NULL ORDER BY id",
    ).all(tag, status) as Array<{ id: number; title: string | null; idea_sketch: string }>;
  }

  /** Every recorded experiment's id and status, in id order (the plateau's streak). */
  outcomes(tag: string): Array<{ id: number; status: ExperimentStatus | null }> {
    return this.stmt(
      "SELECT id, status FROM experiments WHERE run_tag = ? AND state = 'recorded' ORDER BY id",
    ).all(tag) as Array<{ id: number; status: ExperimentStatus | null }>;
  }

  countByStatus(tag: string): Partial<Record<ExperimentStatus, number>> {
    const rows = this.stmt(
      "SELECT status, COUNT(*) AS n FROM experiments WHERE run_tag = ? AND state = 'recorded' AND id > 0 GROUP BY status",
    ).all(tag) as {
      status: ExperimentStatus;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Candidates that count toward `stop.experiments`: recorded, not the baseline, not interrupted. */
  countCandidates(tag: string): number {
    const row = this.stmt(
      "SELECT COUNT(*) AS n FROM experiments WHERE run_tag = ? AND id > 0 AND state = 'recorded' AND status != 'interrupted'",
    ).get(tag) as { n: number };
    return row.n;
  }

  // ---- measurements (every run of a commit: repeats, re-measures of the incumbent) ----

  addMeasurement(
    m: Omit<MeasurementRow, 'id' | 'seq' | 'measured_at' | 'machine_json'> & {
      machine_json?: string | null;
    },
  ): MeasurementRow {
    const tx = this.db.transaction(() => {
      const seq =
        ((
          this.stmt(
            'SELECT MAX(seq) AS m FROM measurements WHERE run_tag = ? AND experiment_id = ?',
          ).get(m.run_tag, m.experiment_id) as { m: number | null }
        ).m ?? -1) + 1;
      const row = { ...m, machine_json: m.machine_json ?? null, seq, measured_at: Date.now() };
      const info = this.stmt(
        'INSERT INTO measurements (run_tag, experiment_id, seq, during_id, commit_sha, slot, value, metrics_json, exit_code, wall_seconds, peak_memory_bytes, log_path, measured_at, machine_json) VALUES (@run_tag, @experiment_id, @seq, @during_id, @commit_sha, @slot, @value, @metrics_json, @exit_code, @wall_seconds, @peak_memory_bytes, @log_path, @measured_at, @machine_json)',
      ).run(row);
      return { ...row, id: Number(info.lastInsertRowid) };
    });
    return tx.immediate();
  }

  /** Measurements of an experiment, optionally only those of one commit (a re-based keep is a new commit). */
  measurementsOf(tag: string, experimentId: number, commit?: string): MeasurementRow[] {
    const rows = this.stmt(
      'SELECT rowid AS id, * FROM measurements WHERE run_tag = ? AND experiment_id = ? ORDER BY seq',
    ).all(tag, experimentId) as MeasurementRow[];
    return commit ? rows.filter((r) => r.commit_sha === commit) : rows;
  }

  /** Experiments with a run measured after their decision (the incumbent next to later candidates, a rerun). */
  remeasuredAfterDecision(tag: string): number[] {
    const rows = this.stmt(
      "SELECT DISTINCT m.experiment_id AS id FROM measurements m JOIN experiments e ON e.run_tag = m.run_tag AND e.id = m.experiment_id WHERE m.run_tag = ? AND e.state = 'recorded' AND m.value IS NOT NULL AND m.measured_at > e.recorded_at ORDER BY m.experiment_id",
    ).all(tag) as { id: number }[];
    return rows.map((r) => r.id);
  }

  /**
   * Every run taken while experiment `duringId` was judged (its candidate's runs and the
   * incumbent's re-measures), in the order they were measured: the judgement's sequence.
   */
  measurementsDuring(tag: string, duringId: number): MeasurementRow[] {
    return this.stmt(
      'SELECT rowid AS id, * FROM measurements WHERE run_tag = ? AND during_id = ? ORDER BY rowid',
    ).all(tag, duringId) as MeasurementRow[];
  }

  /**
   * The runs of the newest `limit` judgements other than experiment `exceptId` that measured more
   * than once (only those can tell the noise of a paired difference), oldest first, each with
   * the commits it was judged on.
   */
  recentJudgements(
    tag: string,
    exceptId: number,
    limit: number,
  ): Array<{
    id: number;
    candidate: string | null;
    incumbent: string | null;
    runs: MeasurementRow[];
  }> {
    const ids = (
      this.stmt(
        'SELECT during_id AS id FROM measurements WHERE run_tag = ? AND during_id > 0 AND during_id != ? GROUP BY during_id HAVING COUNT(*) > 1 ORDER BY MAX(rowid) DESC LIMIT ?',
      ).all(tag, exceptId, limit) as Array<{ id: number }>
    ).map((r) => r.id);
    return ids.reverse().map((id) => {
      const e = this.getExperiment(tag, id);
      return {
        id,
        candidate: e?.candidate_commit ?? null,
        incumbent: e?.incumbent_commit ?? null,
        runs: this.measurementsDuring(tag, id),
      };
    });
  }

  /** Values of every commit measured at least twice: the run's evidence about its noise (grouped by commit). */
  repeatedGroups(tag: string): number[][] {
    const rows = this.stmt(
      'SELECT commit_sha AS experiment_id, value FROM measurements WHERE run_tag = ? AND value IS NOT NULL AND commit_sha IN (SELECT commit_sha FROM measurements WHERE run_tag = ? AND value IS NOT NULL GROUP BY commit_sha HAVING COUNT(*) > 1) ORDER BY commit_sha, seq',
    ).all(tag, tag) as { experiment_id: string; value: number }[];
    const groups = new Map<string, number[]>();
    for (const r of rows)
      groups.set(r.experiment_id, [...(groups.get(r.experiment_id) ?? []), r.value]);
    return [...groups.values()];
  }

  /** The kept experiment whose commit this is (what a candidate was re-based onto), if any. */
  keptIdOf(tag: string, commit: string): number | null {
    const row = this.stmt(
      "SELECT id FROM experiments WHERE run_tag = ? AND candidate_commit = ? AND status = 'keep' ORDER BY id DESC LIMIT 1",
    ).get(tag, commit) as { id: number } | undefined;
    return row?.id ?? null;
  }

  /** Pareto mode: members dominated by experiment `by` leave the front (a member leaves once). */
  leaveFront(tag: string, ids: number[], by: number): void {
    for (const id of ids)
      this.stmt(
        'UPDATE experiments SET left_front_by = ? WHERE run_tag = ? AND id = ? AND left_front_by IS NULL',
      ).run(by, tag, id);
  }

  /** Pareto mode: a keep that never happened (recover.ts) gives back the members it had dominated. */
  rejoinFront(tag: string, by: number): void {
    this.stmt(
      'UPDATE experiments SET left_front_by = NULL WHERE run_tag = ? AND left_front_by = ?',
    ).run(tag, by);
  }

  /** Every run with a value, in the order measured: each metric's noise is pooled from them (Pareto mode). */
  measuredRuns(tag: string): MeasurementRow[] {
    return this.stmt(
      'SELECT rowid AS id, * FROM measurements WHERE run_tag = ? AND value IS NOT NULL ORDER BY rowid',
    ).all(tag) as MeasurementRow[];
  }

  /** Kept experiments in the order they were kept (the branch's history). */
  keptExperiments(tag: string): ExperimentRow[] {
    return this.stmt(
      "SELECT * FROM experiments WHERE run_tag = ? AND status = 'keep' AND state = 'recorded' ORDER BY recorded_at, id",
    ).all(tag) as ExperimentRow[];
  }

  /** Asks the loop to measure an experiment's commit once more (to check it reproduces). */
  requestRerun(tag: string, experimentId: number): void {
    this.stmt('INSERT INTO reruns (run_tag, experiment_id, requested_at) VALUES (?, ?, ?)').run(
      tag,
      experimentId,
      Date.now(),
    );
  }

  /** Claims the oldest pending re-run request, if any (one slot takes it). */
  takeRerun(tag: string): number | null {
    const tx = this.db.transaction(() => {
      const row = this.stmt(
        'SELECT rowid AS r, experiment_id FROM reruns WHERE run_tag = ? AND done_at IS NULL ORDER BY requested_at, rowid LIMIT 1',
      ).get(tag) as { r: number; experiment_id: number } | undefined;
      if (!row) return null;
      this.stmt('UPDATE reruns SET done_at = ? WHERE rowid = ?').run(Date.now(), row.r);
      return row.experiment_id;
    });
    return tx.immediate();
  }

  /** A steering note from the human: it goes into every following brief. */
  addNote(tag: string, text: string): void {
    this.stmt('INSERT INTO notes (run_tag, created_at, text) VALUES (?, ?, ?)').run(
      tag,
      Date.now(),
      text,
    );
  }

  notes(tag: string): string[] {
    return (
      this.stmt('SELECT text FROM notes WHERE run_tag = ? ORDER BY created_at, rowid').all(tag) as {
        text: string;
      }[]
    ).map((n) => n.text);
  }

  /**
   * What this run has cost so far: the agent's proposals (tokens are input + output) plus what
   * the experiments' commands metered (`meter:`, the baseline's included). `measured*`: that part.
   */
  spend(tag: string): Spend {
    return spendOf(this.stmt(SPEND_SQL).get(tag) as Spend);
  }

  /** Proposals before experiment `id` that were not interrupted (in flight ones count). */
  proposalsBefore(tag: string, id: number): number {
    const row = this.stmt(
      "SELECT COUNT(*) AS n FROM experiments WHERE run_tag = ? AND id > 0 AND id < ? AND (status IS NULL OR status != 'interrupted')",
    ).get(tag, id) as { n: number };
    return row.n;
  }

  /** Trailing run of `failed` proposals (for the agent-failure stop condition). */
  trailingFailures(tag: string): number {
    return this.trailing(tag, 'failed');
  }

  /** Trailing run of `skipped` proposals: duplicates, no change (for `stop.skips_in_a_row`). */
  trailingSkips(tag: string): number {
    return this.trailing(tag, 'skipped');
  }

  /** How many of the latest recorded proposals have `status`; interrupted ones neither count nor break the run. */
  private trailing(tag: string, status: ExperimentStatus): number {
    // Read lazily from the newest: the loop asks before every proposal, and the run may be long.
    const rows = this.stmt(
      "SELECT status FROM experiments WHERE run_tag = ? AND state = 'recorded' AND id > 0 AND status != 'interrupted' ORDER BY id DESC",
    ).iterate(tag) as IterableIterator<{
      status: ExperimentStatus;
    }>;
    let n = 0;
    for (const r of rows) {
      if (r.status !== status) break;
      n++;
    }
    return n;
  }
}
