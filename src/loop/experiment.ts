/**
 * One experiment's lifecycle, persisted at every step:
 *   proposing -> committed -> running -> measured -> decided -> recorded
 * Each function takes the experiment from one persisted state to a later one, so a harness
 * killed anywhere can pick it up again (see recover.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentExhausted } from '../agents/agent.js';
import type { ExperimentRow, ExperimentStatus } from '../ledger/types.js';
import { appendResultsTsv } from '../ledger/results-tsv.js';
import { buildBrief, renderBrief } from '../program/brief.js';
import { diffStat, git } from '../workspace/git.js';
import { rebaseCommit } from '../workspace/rebase.js';
import { checkChangedPaths, describeViolations } from '../workspace/rules.js';
import { tamperedFiles } from '../workspace/protect.js';
import { Worktree } from '../workspace/worktree.js';
import type { RunContext } from './context.js';
import { crashPoint } from './crash-point.js';
import { experimentEnvironment } from './environment.js';
import { measureOutcome, readLogTail } from './measure.js';

export const LOG_HEAD_BYTES = 1024 * 1024;
export const LOG_TAIL_BYTES = 1024 * 1024;

export function slotWorktree(ctx: RunContext, slot: number): Worktree {
  return new Worktree(ctx.paths.repo, ctx.paths.slot(slot));
}

const candidateRef = (ctx: RunContext, id: number) => `refs/autoresearch/${ctx.run.tag}/${id}`;

/** Ends an experiment: terminal status, results.tsv, event. */
export function record(ctx: RunContext, id: number, status: ExperimentStatus, patch: Partial<ExperimentRow> = {}): ExperimentRow {
  const tag = ctx.run.tag;
  ctx.ledger.updateExperiment(tag, id, { ...patch, status, state: 'recorded', recorded_at: Date.now() });
  const row = ctx.ledger.getExperiment(tag, id)!;
  appendResultsTsv(ctx.paths.resultsTsv, row);
  ctx.emit({
    type: 'recorded',
    experiment: row,
    incumbent: ctx.incumbent,
    baselineValue: ctx.baselineValue,
    newBest: status === 'keep' && id > 0,
    candidates: ctx.ledger.countCandidates(tag),
  });
  return row;
}

function writeBrief(ctx: RunContext, id: number): { path: string; brief: ReturnType<typeof buildBrief> } {
  const tag = ctx.run.tag;
  const recent = ctx.ledger.recentExperiments(tag, 60);
  const failures = recent.filter((e) => e.state === 'recorded' && ['crash', 'timeout', 'invalid'].includes(e.status ?? '')).slice(-3);
  const c = ctx.program.config;
  const brief = buildBrief({
    experimentId: id,
    objective: { metric: c.metric.name, goal: c.metric.goal, budgetSeconds: c.budget, run: c.run, editable: c.editable, protected: c.protected },
    directions: ctx.program.body,
    incumbent: { ...ctx.incumbent },
    baselineValue: ctx.baselineValue,
    experiments: recent,
    logTails: Object.fromEntries(failures.map((f) => [f.id, readLogTail(f.log_path, 15)])),
  });
  const dir = ctx.paths.experimentDir(id);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'brief.md');
  writeFileSync(path, renderBrief(brief));
  return { path, brief };
}

export type ProposalOutcome = 'ran' | 'exhausted' | 'recorded';

/** Asks the agent for one change against the incumbent, then commits, checks, runs and decides it. */
export async function proposeAndRun(ctx: RunContext, slot: number): Promise<ProposalOutcome> {
  const tag = ctx.run.tag;
  const wt = slotWorktree(ctx, slot);
  const parent = ctx.incumbent;
  await wt.reset(parent.commit);
  const row = ctx.ledger.insertExperiment({
    ...emptyExperiment(tag, slot, ctx.agent.name, parent.commit),
    incumbent_commit: parent.commit,
    incumbent_value: parent.value,
  });
  ctx.emit({ type: 'proposing', id: row.id, slot });
  crashPoint('proposing', row.id);
  const { path: briefPath, brief } = writeBrief(ctx, row.id);
  let proposal;
  try {
    proposal = await ctx.agent.propose({
      workspace: wt.path,
      programDir: join(wt.path, ctx.programDir),
      brief,
      briefPath,
      experimentId: row.id,
      signal: ctx.abort.signal,
    });
  } catch (e) {
    if (e instanceof AgentExhausted) {
      // Nothing was proposed, so there is no experiment to keep on record.
      ctx.ledger.db.prepare('DELETE FROM experiments WHERE run_tag = ? AND id = ?').run(tag, row.id);
      ctx.agentExhausted = true;
      ctx.emit({ type: 'note', level: 'info', text: e.message });
      return 'exhausted';
    }
    if (ctx.abort.signal.aborted) {
      record(ctx, row.id, 'interrupted', { reason: 'the harness stopped while the agent was proposing' });
      return 'recorded';
    }
    record(ctx, row.id, 'failed', { reason: `agent error: ${(e as Error).message}`, finished_at: Date.now() });
    return 'recorded';
  }
  const usage = proposal.usage ?? {};
  const title = proposal.title.split('\n')[0]!.trim().slice(0, 200) || 'untitled change';
  const message = `${title}\n\n${proposal.hypothesis ?? ''}\n\nautoresearch-run: ${tag}\nautoresearch-experiment: ${row.id}\n`;
  const changed = await wt.changedPaths();
  const { commit, tree } = await wt.commit(parent.commit, message, candidateRef(ctx, row.id));
  const stat = await diffStat(wt.path, parent.commit, commit);
  ctx.ledger.updateExperiment(tag, row.id, {
    state: 'committed',
    title,
    hypothesis: proposal.hypothesis ?? null,
    agent_meta_json: proposal.meta === undefined ? null : JSON.stringify(proposal.meta),
    candidate_commit: commit,
    tree,
    files_changed: stat.files,
    lines_added: stat.added,
    lines_deleted: stat.deleted,
    input_tokens: usage.inputTokens ?? null,
    output_tokens: usage.outputTokens ?? null,
    cached_tokens: usage.cachedTokens ?? null,
    cost_usd: usage.costUsd ?? null,
  });
  crashPoint('committed', row.id);
  if (changed.length === 0) {
    record(ctx, row.id, 'skipped', { reason: 'the agent made no change', finished_at: Date.now() });
    return 'recorded';
  }
  const duplicate = ctx.ledger.findByTree(tag, tree, row.id);
  if (duplicate) {
    record(ctx, row.id, 'skipped', { reason: `same files as experiment ${duplicate.id} (${duplicate.status ?? duplicate.state})`, finished_at: Date.now() });
    return 'recorded';
  }
  const violations = checkChangedPaths(changed, ctx.programDir, ctx.program.config.editable, ctx.program.config.protected);
  if (violations.length > 0) {
    record(ctx, row.id, 'invalid', { reason: describeViolations(violations, ctx.program.config.editable), finished_at: Date.now() });
    return 'recorded';
  }
  await runCandidate(ctx, ctx.ledger.getExperiment(tag, row.id)!, slot, wt);
  return 'ran';
}

/** Runs a committed candidate (already checked out in `wt`) and takes it to a decision. */
export async function runCandidate(ctx: RunContext, row: ExperimentRow, slot: number, wt: Worktree): Promise<void> {
  const tag = ctx.run.tag;
  const c = ctx.program.config;
  const cwd = join(wt.path, ctx.programDir);
  const before = tamperedFiles(ctx.protectedHashes, cwd);
  if (before.length > 0) {
    record(ctx, row.id, 'invalid', { reason: `protected files differ from the start of the run: ${before.join(', ')}`, finished_at: Date.now() });
    return;
  }
  const dir = ctx.paths.experimentDir(row.id);
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, 'run.log');
  const startedAt = Date.now();
  ctx.ledger.updateExperiment(tag, row.id, { state: 'running', started_at: startedAt, log_path: logPath });
  crashPoint('running', row.id);
  ctx.emit({ type: 'running', id: row.id, slot, title: row.title ?? '', startedAt, budgetSeconds: c.budget, timeoutSeconds: c.timeout, candidates: ctx.ledger.countCandidates(tag) });
  const env = experimentEnvironment({
    base: ctx.env,
    allow: c.env.allow,
    secrets: c.env.secrets,
    set: c.env.set,
    budgetSeconds: c.budget,
    experimentId: row.id,
    runTag: tag,
  });
  const result = await ctx.executor.run(
    {
      experimentId: row.id,
      command: c.run,
      cwd,
      env,
      budgetSeconds: c.budget,
      timeoutSeconds: c.timeout,
      killGraceSeconds: c.kill_grace,
      logPath,
      logHeadBytes: LOG_HEAD_BYTES,
      logTailBytes: LOG_TAIL_BYTES,
      onStart: (handle) => ctx.ledger.updateExperiment(tag, row.id, { process_json: JSON.stringify(handle) }),
    },
    ctx.abort.signal,
  );
  const outcome = measureOutcome(result, logPath, c.metric.name, c.metrics_file, cwd);
  if (outcome.kind === 'aborted') {
    // Back to `committed`: the next `autoresearch run` re-runs it, so nothing is lost.
    ctx.ledger.updateExperiment(tag, row.id, { state: 'committed', started_at: null, reason: 'interrupted; will be re-run on resume' });
    return;
  }
  const measuredPatch = {
    metrics_json: JSON.stringify(outcome.metrics),
    exit_code: result.exitCode,
    signal: result.signal,
    wall_seconds: result.wallSeconds,
    peak_memory_bytes: result.peakMemoryBytes,
    output_bytes: result.outputBytes,
    finished_at: Date.now(),
  };
  const after = tamperedFiles(ctx.protectedHashes, cwd);
  if (after.length > 0) {
    record(ctx, row.id, 'invalid', { ...measuredPatch, reason: `the experiment changed protected files while it ran: ${after.join(', ')}` });
    return;
  }
  if (outcome.kind !== 'measured') {
    record(ctx, row.id, outcome.kind, { ...measuredPatch, reason: outcome.reason });
    return;
  }
  ctx.ledger.updateExperiment(tag, row.id, { ...measuredPatch, state: 'measured', primary_value: outcome.value });
  crashPoint('measured', row.id);
  await decide(ctx, ctx.ledger.getExperiment(tag, row.id)!);
}

/** Judges a measured candidate against the incumbent of this moment, and moves the branch on keep. */
export async function decide(ctx: RunContext, row: ExperimentRow): Promise<void> {
  await ctx.decisionLock.run(async () => {
    const tag = ctx.run.tag;
    const inc = ctx.incumbent;
    const decision = ctx.policy.decide({ goal: ctx.run.goal, candidate: { values: [row.primary_value!] }, incumbent: { values: [inc.value] } });
    const judged = { incumbent_commit: inc.commit, incumbent_value: Number.isFinite(inc.value) ? inc.value : null };
    if (decision.status === 'discard') {
      record(ctx, row.id, 'discard', { ...judged, reason: decision.reason });
      return;
    }
    let commit = row.candidate_commit!;
    let reason = decision.reason;
    if (row.parent_commit !== inc.commit) {
      // Proposed against an older incumbent (parallel slots): carry the change onto the new one.
      const rebased = await rebaseCommit(ctx.paths.repo, commit, row.parent_commit, inc.commit);
      if (!rebased) {
        record(ctx, row.id, 'discard', { ...judged, reason: `${decision.reason}, but its change conflicts with the newer incumbent (experiment ${inc.experimentId})` });
        return;
      }
      commit = rebased;
      reason = `${reason}; re-based onto experiment ${inc.experimentId}`;
    }
    ctx.ledger.updateExperiment(tag, row.id, { ...judged, state: 'decided', status: 'keep', reason, candidate_commit: commit });
    crashPoint('decided', row.id);
    await applyKeep(ctx, ctx.ledger.getExperiment(tag, row.id)!);
  });
}

/** Moves the branch to a kept candidate (compare-and-swap against the incumbent it was judged on). */
export async function applyKeep(ctx: RunContext, row: ExperimentRow): Promise<void> {
  const ref = `refs/heads/${ctx.run.branch}`;
  const head = (await git(ctx.paths.repo, ['rev-parse', ref])).trim();
  if (head !== row.candidate_commit) {
    await git(ctx.paths.repo, ['update-ref', '-m', `autoresearch: keep experiment ${row.id}`, ref, row.candidate_commit!, row.incumbent_commit!]);
    crashPoint('branch-moved', row.id);
  }
  ctx.incumbent = { experimentId: row.id, commit: row.candidate_commit!, value: row.primary_value!, title: row.title ?? '' };
  record(ctx, row.id, 'keep', {});
}

export function emptyExperiment(tag: string, slot: number, agent: string, parent: string): Omit<ExperimentRow, 'id'> {
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
    cost_usd: null,
  };
}
