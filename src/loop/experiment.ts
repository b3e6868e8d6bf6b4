/**
 * One experiment's lifecycle, persisted at every step:
 *   proposing -> committed -> running -> measured -> decided -> recorded
 * Each function takes the experiment from one persisted state to a later one, so a harness
 * killed anywhere can pick it up again (see recover.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentExhausted } from '../agents/agent.js';
import type { ExperimentRow } from '../ledger/types.js';
import { buildBrief, renderBriefWithin } from '../program/brief.js';
import { pooledNoise } from '../policy/stats.js';
import { diffStat } from '../workspace/git.js';
import { checkChangedPaths, describeViolations } from '../workspace/rules.js';
import { Worktree } from '../workspace/worktree.js';
import type { RunContext } from './context.js';
import { crashPoint } from './crash-point.js';
import { readLogTail } from './measure.js';
import { runCandidate } from './candidate.js';
import { record } from './record.js';

export { record };

export function slotWorktree(ctx: RunContext, slot: number): Worktree {
  return new Worktree(ctx.paths.repo, ctx.paths.slot(slot));
}

const candidateRef = (ctx: RunContext, id: number) => `refs/autoresearch/${ctx.run.tag}/${id}`;

function writeBrief(ctx: RunContext, id: number): { path: string; brief: ReturnType<typeof buildBrief> } {
  const tag = ctx.run.tag;
  const recent = ctx.ledger.recentExperiments(tag, 60);
  const failures = recent.filter((e) => e.state === 'recorded' && ['crash', 'timeout', 'invalid'].includes(e.status ?? '')).slice(-3);
  const c = ctx.program.config;
  const kept = ctx.ledger.keptExperiments(tag);
  const brief = buildBrief({
    experimentId: id,
    objective: { metric: c.metric.name, goal: c.metric.goal, budgetSeconds: c.budget, run: c.run, editable: c.editable, protected: c.protected },
    directions: ctx.program.body,
    incumbent: {
      ...ctx.incumbent,
      noise: pooledNoise(ctx.ledger.repeatedGroups(tag))?.sigma ?? null,
      changes: kept.filter((k) => k.id > 0 && k.recorded_at! <= (kept.find((x) => x.candidate_commit === ctx.incumbent.commit)?.recorded_at ?? Infinity)).map((k) => `${k.id}: ${k.title ?? ''}`),
    },
    notes: ctx.ledger.notes(tag),
    baselineValue: ctx.baselineValue,
    experiments: recent,
    logTails: Object.fromEntries(failures.map((f) => [f.id, readLogTail(f.log_path, 15)])),
  });
  const dir = ctx.paths.experimentDir(id);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'brief.md');
  writeFileSync(path, renderBriefWithin(brief, c.brief_tokens));
  return { path, brief };
}

export type ProposalOutcome = 'ran' | 'exhausted' | 'recorded';

/** Asks the agent for one change against the incumbent, then commits, checks, runs and decides it. */
export async function proposeAndRun(ctx: RunContext, slot: number): Promise<ProposalOutcome> {
  const wt = slotWorktree(ctx, slot);
  const prepared = await prepareCandidate(ctx, slot, wt);
  if (typeof prepared === 'string') return prepared;
  await runCandidate(ctx, prepared, slot, wt);
  return 'ran';
}

/**
 * The agent's half of an experiment: a change proposed against the incumbent of this moment in
 * `wt`, committed and checked against the rules. Returns the committed row when it should run,
 * or how it ended without a run.
 */
export async function prepareCandidate(ctx: RunContext, slot: number, wt: Worktree): Promise<ExperimentRow | 'exhausted' | 'recorded'> {
  const tag = ctx.run.tag;
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
    cache_write_tokens: usage.cacheWriteTokens ?? null,
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
  return ctx.ledger.getExperiment(tag, row.id)!;
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
    cache_write_tokens: null,
    cost_usd: null,
    n_runs: null,
    spread: null,
    penalty: null,
    decision_json: null,
    holdout_value: null,
    holdout_json: null,
  };
}
