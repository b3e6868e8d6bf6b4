/**
 * The Ledger as a library user may see it: read only. The connection is opened read-only, so a
 * reader can never change a run's record (only the harness writes it, through Ledger), and it
 * reads safely while a run is writing (SQLite WAL: a reader sees the last committed state).
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { ledgerPath } from '../loop/context.js';
import { summarize, type RunSummary } from '../loop/summary.js';
import { UserError } from '../program/errors.js';
import { readRef, repoRoot } from '../workspace/git.js';
import { SPEND_SQL, spendOf, type Spend } from './ledger.js';
import type { CommandRow, ExperimentRow, MeasurementRow, RunRow } from './types.js';

export class LedgerReader {
  private readonly db: Database.Database;

  /** `repo`: the repository the ledger belongs to (summary() reads its run branch there). */
  constructor(
    readonly path: string,
    readonly repo: string,
  ) {
    this.db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
  }

  /** Every run, newest first. */
  runs(): RunRow[] {
    return this.db.prepare('SELECT * FROM runs ORDER BY created_at DESC').all() as RunRow[];
  }

  /** The run with this tag, or the newest run when no tag is given. */
  run(tag?: string): RunRow | undefined {
    if (tag === undefined) return this.runs()[0];
    return this.db.prepare('SELECT * FROM runs WHERE tag = ?').get(tag) as RunRow | undefined;
  }

  /** A run's experiments by id: 0 is the baseline. Unfinished ones are included (state is not 'recorded'). */
  experiments(tag: string): ExperimentRow[] {
    return this.db
      .prepare('SELECT * FROM experiments WHERE run_tag = ? ORDER BY id')
      .all(tag) as ExperimentRow[];
  }

  /** What run `tag` has cost so far, as `Ledger.spend` says it. */
  spend(tag: string): Spend {
    return spendOf(this.db.prepare(SPEND_SQL).get(tag) as Spend);
  }

  experiment(tag: string, id: number): ExperimentRow | undefined {
    return this.db
      .prepare('SELECT * FROM experiments WHERE run_tag = ? AND id = ?')
      .get(tag, id) as ExperimentRow | undefined;
  }

  /** Every run of an experiment's commit (repeats, re-measures), in the order they were taken. */
  measurements(tag: string, experimentId: number): MeasurementRow[] {
    return this.db
      .prepare('SELECT * FROM measurements WHERE run_tag = ? AND experiment_id = ? ORDER BY seq')
      .all(tag, experimentId) as MeasurementRow[];
  }

  /** The commands run for an experiment (agent, checks, run, eval, holdout) with their wall times. */
  commands(tag: string, experimentId: number): CommandRow[] {
    return this.db
      .prepare('SELECT * FROM commands WHERE run_tag = ? AND experiment_id = ? ORDER BY started_at')
      .all(tag, experimentId) as CommandRow[];
  }

  /** Notes left for the agent (`autoresearch note`), oldest first. */
  notes(tag: string): string[] {
    return (
      this.db
        .prepare('SELECT text FROM notes WHERE run_tag = ? ORDER BY created_at, rowid')
        .all(tag) as Array<{ text: string }>
    ).map((n) => n.text);
  }

  /** Baseline, best, improvement and counts, as `autoresearch status` shows them; the newest run when no tag is given. */
  async summary(tag?: string): Promise<RunSummary> {
    const run = this.run(tag);
    if (!run)
      throw new UserError(
        `no run ${tag === undefined ? '' : `"${tag}" `}in ${this.path}`,
        this.hint(),
      );
    return summarize(
      run,
      this.experiments(run.tag),
      await readRef(this.repo, `refs/heads/${run.branch}`),
    );
  }

  close(): void {
    this.db.close();
  }

  private hint(): string {
    const tags = this.runs().map((r) => r.tag);
    return tags.length
      ? `pick one of: ${tags.join(', ')}`
      : 'start a run first (autoresearch run, or startRun)';
  }
}

/** Opens the ledger of the repository that holds `cwd`, read only. Close it when done. */
export async function openLedger(cwd: string): Promise<LedgerReader> {
  const repo = await repoRoot(cwd);
  const path = ledgerPath(repo);
  if (!existsSync(path))
    throw new UserError(
      `no runs yet in ${repo} (no ${path})`,
      'start a run first (autoresearch run, or startRun)',
    );
  return new LedgerReader(path, repo);
}
