/**
 * The experiment lifecycle: every change of an experiment's state, each persisted in one ledger
 * write before anything depends on it, so a harness killed anywhere finds each experiment where
 * the ledger says it is (recover.ts takes it from there).
 *
 *   proposing -> committed -> running <-> measured -> decided -> recorded
 *       |            |          |                                   ^
 *       +------------+----------+---- (invalid, skipped, crash ...) +
 *
 * `running` goes back to `committed` when the harness is interrupted (the next start runs it
 * again); a keep passes through `decided` until the branch has moved. The crash points of the
 * crash-safety tests sit right after each write. The rest of the loop calls these functions and
 * never writes `state` itself.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appendResultsTsv, resultsTsvLine, writeResultsTsv } from '../ledger/results-tsv.js';
import type { ExperimentRow, ExperimentStatus } from '../ledger/types.js';
import { git, resolveRef } from '../workspace/git.js';
import type { RunContext, RunSetup } from './context.js';
import { crashPoint } from './crash-point.js';
import type { Incumbent } from './events.js';

type Patch = Partial<ExperimentRow>;

/**
 * A new experiment, built on `parent` in `slot` (the incumbent, or another experiment under a
 * search strategy, with its `island`): the agent is about to work.
 */
export function beginProposal(
  ctx: RunContext,
  slot: number,
  agent: string,
  parent: Incumbent,
  island: number | null = null,
): ExperimentRow {
  const row = ctx.ledger.insertExperiment({
    ...emptyExperiment(ctx.run.tag, slot, agent, parent.commit),
    incumbent_commit: ctx.incumbent.commit,
    incumbent_value: ctx.incumbent.value,
    island,
  });
  ctx.emit({ type: 'proposing', id: row.id, slot });
  crashPoint('proposing', row.id);
  return row;
}

/** The agent had nothing to propose: there never was an experiment. */
export function withdrawProposal(ctx: RunContext, id: number): void {
  ctx.ledger.deleteExperiment(ctx.run.tag, id);
}

/** The proposal is a commit (title, files, tokens): it can be checked and run. */
export function commitProposal(
  ctx: RunContext,
  id: number,
  committed: Patch & { candidate_commit: string; tree: string },
): void {
  ctx.ledger.updateExperiment(ctx.run.tag, id, { ...committed, state: 'committed' });
  crashPoint('committed', id);
}

/** Experiment 0: the unchanged starting commit, to be measured. */
export function beginBaseline(ctx: RunContext, tree: string): ExperimentRow {
  const base = ctx.run.base_commit;
  return ctx.ledger.insertExperiment({
    ...emptyExperiment(ctx.run.tag, 0, 'baseline', base),
    id: 0,
    state: 'committed',
    title: 'baseline',
    candidate_commit: base,
    tree,
  });
}

/**
 * A candidate now stands on a newer incumbent: its change carried onto `onto` as `commit`. What
 * was measured before belongs to the old commit; its judgement starts again on this one.
 */
export function carried(
  ctx: RunContext,
  id: number,
  onto: Incumbent,
  commit: { commit: string; tree: string },
  stat: { files: number; added: number; deleted: number },
  patch: Patch = {},
): ExperimentRow {
  ctx.ledger.updateExperiment(ctx.run.tag, id, {
    ...patch,
    parent_commit: onto.commit,
    candidate_commit: commit.commit,
    tree: commit.tree,
    files_changed: stat.files,
    lines_added: stat.added,
    lines_deleted: stat.deleted,
  });
  return ctx.ledger.getExperiment(ctx.run.tag, id)!;
}

/** The candidate's runs begin (checks passed). */
export function startRunning(ctx: RunContext, row: ExperimentRow, slot: number): void {
  const c = ctx.program.config;
  const startedAt = Date.now();
  ctx.ledger.updateExperiment(ctx.run.tag, row.id, {
    state: 'running',
    started_at: startedAt,
    log_path: join(ctx.paths.experimentDir(row.id), 'run.log'),
  });
  crashPoint('running', row.id);
  ctx.emit({
    type: 'running',
    id: row.id,
    slot,
    title: row.title ?? '',
    startedAt,
    budgetSeconds: c.budget,
    timeoutSeconds: c.timeout,
    candidates: ctx.ledger.countCandidates(ctx.run.tag),
  });
}

/** A run of the candidate is stored: it can be decided. */
export function measured(ctx: RunContext, id: number): void {
  ctx.ledger.updateExperiment(ctx.run.tag, id, { state: 'measured' });
  crashPoint('measured', id);
}

/** The policy asked for more runs (`patch`: what the look found, and why). */
export function awaitRuns(ctx: RunContext, id: number, patch: Patch = {}): void {
  ctx.ledger.updateExperiment(ctx.run.tag, id, { ...patch, state: 'running' });
}

/** Interrupted (Ctrl-C, SIGTERM): the next start runs it again. */
export function backToCommitted(ctx: RunContext, id: number): void {
  ctx.ledger.updateExperiment(ctx.run.tag, id, {
    state: 'committed',
    started_at: null,
    reason: 'interrupted; will be re-run on resume',
  });
}

/** Kept, the branch not moved yet: a harness killed now finishes the keep on resume. */
function decideKeep(ctx: RunContext, id: number, patch: Patch): ExperimentRow {
  ctx.ledger.updateExperiment(ctx.run.tag, id, { ...patch, state: 'decided', status: 'keep' });
  crashPoint('decided', id);
  return ctx.ledger.getExperiment(ctx.run.tag, id)!;
}

/** Kept: decided, then the branch moves to it (under the decision lock). */
export async function keep(ctx: RunContext, row: ExperimentRow, patch: Patch): Promise<void> {
  await applyKeep(ctx, decideKeep(ctx, row.id, patch));
}

/**
 * Pareto mode: the candidate joins the front, and the members it dominates leave it, in one
 * ledger write; then the branch moves to it (the newest member). Under the decision lock.
 */
export async function joinFront(
  ctx: RunContext,
  row: ExperimentRow,
  patch: Patch,
  leaving: number[],
): Promise<void> {
  ctx.ledger.batch(() => {
    ctx.ledger.leaveFront(ctx.run.tag, leaving, row.id);
    ctx.ledger.updateExperiment(ctx.run.tag, row.id, {
      ...patch,
      state: 'decided',
      status: 'keep',
    });
  });
  crashPoint('decided', row.id);
  await applyKeep(ctx, ctx.ledger.getExperiment(ctx.run.tag, row.id)!);
}

/**
 * Moves the branch to a decided keep (compare-and-swap against the incumbent it was judged on)
 * and records it: the incumbent is now this experiment. Under the decision lock. A swap that
 * fails is fine only when the branch is at the keep already (a resumed run whose harness stopped
 * after moving it); the branch is read only then.
 */
export async function applyKeep(ctx: RunContext, row: ExperimentRow): Promise<void> {
  const ref = `refs/heads/${ctx.run.branch}`;
  let moved = true;
  try {
    await git(ctx.paths.repo, [
      'update-ref',
      '-m',
      `autoresearch: keep experiment ${row.id}`,
      ref,
      row.candidate_commit!,
      row.incumbent_commit!,
    ]);
  } catch (e) {
    if ((await resolveRef(ctx.paths.repo, ref)) !== row.candidate_commit) throw e;
    moved = false;
  }
  if (moved) crashPoint('branch-moved', row.id);
  ctx.incumbent = {
    experimentId: row.id,
    commit: row.candidate_commit!,
    value: row.primary_value!,
    title: row.title ?? '',
  };
  record(ctx, row.id, 'keep', {});
}

/** The baseline measured: it is the first incumbent. */
export function recordBaseline(ctx: RunContext, value: number, reason: string): void {
  ctx.incumbent = { experimentId: 0, commit: ctx.run.base_commit, value, title: 'baseline' };
  record(ctx, 0, 'keep', { reason });
}

/** Ends an experiment: its terminal status in the ledger, its line in results.tsv, an event. */
export function record(
  ctx: RunContext,
  id: number,
  status: ExperimentStatus,
  patch: Patch = {},
): ExperimentRow {
  const tag = ctx.run.tag;
  ctx.ledger.updateExperiment(tag, id, {
    ...patch,
    status,
    state: 'recorded',
    recorded_at: Date.now(),
  });
  crashPoint('recorded', id);
  const row = ctx.ledger.getExperiment(tag, id)!;
  appendResultsTsv(ctx.paths.resultsTsv, row);
  ctx.emit({
    type: 'recorded',
    experiment: row,
    incumbent: ctx.incumbent,
    baselineValue: ctx.baselineValue,
    newBest: status === 'keep' && id > 0,
    joinedFront: status === 'keep' && id > 0 && ctx.program.config.pareto !== null,
    candidates: ctx.ledger.countCandidates(tag),
  });
  return row;
}

/** results.tsv from the ledger, whole (at the start of a run, after a re-measurement). */
export function rewriteResultsTsv(ctx: RunSetup): void {
  mkdirSync(dirname(ctx.paths.resultsTsv), { recursive: true });
  writeResultsTsv(
    ctx.paths.resultsTsv,
    ctx.run.metric_name,
    ctx.ledger.listExperiments(ctx.run.tag),
  );
}

/**
 * An experiment's value was re-derived from its measurements. results.tsv shows current means, so
 * once its line is in the file (recorded: the incumbent re-measured, `autoresearch rerun`), the
 * file is rewritten; before that, `record` appends the final value.
 */
export function remeasured(ctx: RunSetup, id: number): void {
  const row = ctx.ledger.getExperiment(ctx.run.tag, id);
  if (row && resultsTsvLine(row) !== null) rewriteResultsTsv(ctx);
}

export function emptyExperiment(
  tag: string,
  slot: number,
  agent: string,
  parent: string,
): Omit<ExperimentRow, 'id'> {
  return {
    run_tag: tag,
    slot,
    state: 'proposing',
    status: null,
    reason: null,
    agent,
    title: null,
    hypothesis: null,
    agent_meta_json: null,
    parent_commit: parent,
    candidate_commit: null,
    tree: null,
    files_changed: null,
    lines_added: null,
    lines_deleted: null,
    incumbent_commit: null,
    incumbent_value: null,
    primary_value: null,
    metrics_json: null,
    exit_code: null,
    signal: null,
    wall_seconds: null,
    peak_memory_bytes: null,
    output_bytes: null,
    log_path: null,
    process_json: null,
    proposed_at: Date.now(),
    started_at: null,
    finished_at: null,
    recorded_at: null,
    input_tokens: null,
    output_tokens: null,
    cached_tokens: null,
    cache_write_tokens: null,
    cost_usd: null,
    n_runs: null,
    spread: null,
    penalty: null,
    decision_json: null,
    holdout_value: null,
    holdout_json: null,
    proposed_commit: null,
    agent_process_json: null,
    lessons: null,
    idea_sketch: null,
    novelty_json: null,
    island: null,
    measured_cost_usd: null,
    measured_tokens: null,
    left_front_by: null,
  };
}
