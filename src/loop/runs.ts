/**
 * The runs of a repository after the fact, as the ledger records them: what `autoresearch runs`
 * lists, and the experiment `diff` and `apply` mean by `<id>` or `best`. Read only: a reader of
 * the ledger and the refs, never a writer.
 */
import type { LedgerReader } from '../ledger/reader.js';
import type { ExperimentRow, RunRow } from '../ledger/types.js';
import { UserError } from '../program/errors.js';
import { listRefs, readRef } from '../workspace/git.js';
import { runState } from './control.js';
import { summarize, type RunSummary } from './summary.js';
import { describeMember, frontMembers, onFront, paretoMetrics } from './front-view.js';
import { count } from '../util/words.js';

/**
 * running and paused: a live harness; stopped: by a person (`run` resumes it); finished: a stop
 * condition was reached; failed: its baseline did not work; crashed: its harness died (`run`
 * resumes it).
 */
export type RunActivity = 'running' | 'paused' | 'stopped' | 'finished' | 'failed' | 'crashed';

export interface RunOverview {
  tag: string;
  branch: string;
  program: string;
  state: RunActivity;
  /** The live harness's pid (running or paused). */
  pid: number | null;
  stopReason: string | null;
  metric: string;
  goal: RunRow['goal'];
  baseCommit: string;
  /** Candidates recorded, the baseline not counted. */
  experiments: number;
  baseline: number | null;
  best: number | null;
  bestExperiment: number | null;
  bestCommit: string | null;
  improvementPct: number | null;
  /** The agent's and the experiments' metered spend (`meter:`) together. */
  spend: { usd: number; tokens: number };
  createdAt: number;
  /** The newest write of the run: an experiment proposed or recorded, a heartbeat, a state change. */
  lastActivity: number;
}

/** What a person sees of a run's state, from the ledger and whether its harness lives. */
export function activityOf(repo: string, run: RunRow): { state: RunActivity; pid: number | null } {
  const { state, pid } = runState(repo, run);
  return { state: state === 'not running' ? 'crashed' : (state as RunActivity), pid };
}

function overview(
  repo: string,
  run: RunRow,
  rows: ExperimentRow[],
  s: RunSummary,
  spend: { usd: number; tokens: number },
): RunOverview {
  const { state, pid } = activityOf(repo, run);
  let last = Math.max(run.updated_at, run.heartbeat_at ?? 0);
  for (const r of rows) last = Math.max(last, r.proposed_at, r.recorded_at ?? 0);
  return {
    tag: run.tag,
    branch: run.branch,
    program: run.program_path,
    state,
    pid,
    stopReason: run.stop_reason,
    metric: run.metric_name,
    goal: run.goal,
    baseCommit: run.base_commit,
    experiments: s.candidates,
    baseline: s.baseline,
    best: s.best,
    bestExperiment: s.bestExperiment,
    bestCommit: s.bestCommit,
    improvementPct: s.improvementPct,
    spend: { usd: spend.usd, tokens: spend.tokens },
    createdAt: run.created_at,
    lastActivity: last,
  };
}

/** Every run of the ledger, newest first. The run branches are read from git's files, no process. */
export async function runsOverview(reader: LedgerReader): Promise<RunOverview[]> {
  const runs = reader.runs();
  const heads = await listRefs(
    reader.repo,
    runs.map((r) => `refs/heads/${r.branch}`),
  );
  return runs.map((run) => {
    const rows = reader.experiments(run.tag);
    const s = summarize(run, rows, heads.get(`refs/heads/${run.branch}`) ?? null);
    return overview(reader.repo, run, rows, s, reader.spend(run.tag));
  });
}

/** Run `tag` (default: the newest), or an error naming the runs there are. */
export function pickRun(reader: LedgerReader, tag?: string): RunRow {
  const run = reader.run(tag);
  if (run) return run;
  const tags = reader.runs().map((r) => r.tag);
  throw new UserError(
    `no run ${tag === undefined ? '' : `"${tag}" `}in the ledger`,
    tags.length ? `pick one of: ${tags.join(', ')} (--tag)` : 'autoresearch run',
  );
}

/** An experiment's commit and the commit its change is measured from. */
export interface ChosenChange {
  run: RunRow;
  /** The experiment (for `best`: the incumbent's; null when nothing was kept over the baseline). */
  experiment: ExperimentRow;
  commit: string;
  /** Its parent for one experiment; the run's base commit for `best`. */
  from: string;
  /** `#3` or `best (#3)`, for messages. */
  label: string;
  rows: ExperimentRow[];
  /** Pareto mode: why the experiment is not on the front (dominated, by whom); absent when it is. */
  offFront?: string;
}

/** `which`: an experiment id, or `best` (the run's incumbent against the run's base commit). */
export async function pickChange(
  reader: LedgerReader,
  run: RunRow,
  which = 'best',
): Promise<ChosenChange> {
  const rows = reader.experiments(run.tag);
  const results = `autoresearch results --tag ${run.tag}`;
  const pareto = paretoMetrics(run);
  if (which === 'best' && pareto) {
    const front = frontMembers(pareto, rows, (id) => reader.measurements(run.tag, id));
    throw new UserError(
      `run ${run.tag} is in Pareto mode: there is no single best, but a front of ${count(front.length, 'point')}, each better on some metric:\n${front.map((m) => `  ${describeMember(pareto, m)}`).join('\n')}`,
      `name one: autoresearch apply <id> --tag ${run.tag}`,
    );
  }
  if (which === 'best') {
    const s = summarize(run, rows, await readRef(reader.repo, `refs/heads/${run.branch}`));
    const best = rows.find((r) => r.id === s.bestExperiment);
    if (!best || !s.bestCommit || best.id === 0)
      throw new UserError(
        `run ${run.tag} has kept nothing over its baseline: there is no change to show or apply`,
        results,
      );
    return {
      run,
      experiment: best,
      commit: s.bestCommit,
      from: run.base_commit,
      label: `best (#${best.id})`,
      rows,
    };
  }
  const id = /^#?\d{1,9}$/.test(which.trim()) ? Number(which.trim().replace('#', '')) : NaN;
  const row = rows.find((r) => r.id === id);
  if (!row)
    throw new UserError(`run ${run.tag} has no experiment ${which} (an id, or best)`, results);
  if (row.id === 0)
    throw new UserError(
      `experiment 0 is the baseline of run ${run.tag}: the commit the run started from, no change`,
      `autoresearch diff best --tag ${run.tag}   (everything the run kept)`,
    );
  if (!row.candidate_commit)
    throw new UserError(
      `experiment ${row.id} of run ${run.tag} has no commit (${row.status ?? row.state}${row.reason ? `: ${row.reason.split('\n')[0]}` : ''})`,
      results,
    );
  return {
    run,
    experiment: row,
    commit: row.candidate_commit,
    from: row.parent_commit,
    label: `#${row.id}`,
    rows,
    ...(pareto && !onFront(row) ? { offFront: offFront(row) } : {}),
  };
}

/** Why a Pareto run's experiment is not on its front, in one line. */
function offFront(row: ExperimentRow): string {
  if (row.left_front_by !== null)
    return `experiment ${row.id} is no longer on the Pareto front: experiment ${row.left_front_by} dominates it`;
  const reason = row.reason?.split('\n')[0];
  return `experiment ${row.id} is not on the Pareto front${reason ? ` (${reason})` : ''}`;
}
