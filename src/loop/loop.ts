/**
 * The orchestrator: baseline, then N slots each looping propose -> run -> decide until a stop
 * condition holds. It owns the loop; agents only propose.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRow } from '../ledger/types.js';
import { UserError } from '../program/errors.js';
import { git, readRef } from '../workspace/git.js';
import type { RunContext } from './context.js';
import type { Incumbent } from './events.js';
import { measureBaseline, rerunExperiment } from './candidate.js';
import { prepareCandidate, proposeAndRun, slotWorktree } from './experiment.js';
import { runCandidate } from './candidate.js';
import { Worktree } from '../workspace/worktree.js';
import type { ExperimentRow } from '../ledger/types.js';
import { carryBeforeRun } from './carry.js';
import { Mutex } from './mutex.js';
import { storedDrift } from './drift-watch.js';
import { killAgentOrphans, recoverUnfinished } from './recover.js';
import { beginBaseline, rewriteResultsTsv } from './lifecycle.js';
import { verifyRefs } from './refs.js';
import { stopReason } from './stop.js';
import { baselineEstimate } from './estimate.js';
import { summarize, type RunSummary } from './summary.js';
import { describeFront } from './front.js';

/** What the caller provides; the rest of the RunContext is the loop's own state. */
export type LoopInput = Pick<
  RunContext,
  | 'run'
  | 'paths'
  | 'program'
  | 'programDir'
  | 'ledger'
  | 'agent'
  | 'executor'
  | 'sandbox'
  | 'policy'
  | 'limits'
  | 'protectedHashes'
  | 'emit'
  | 'env'
> & {
  resumed: boolean;
  /** Aborting it kills experiments in flight and stops the loop (Ctrl-C). */
  abort?: AbortController;
  /**
   * Measure the pending re-run requests, then end (`measureReruns`): no proposal, no recovery of
   * experiments a dead harness left (the next `run` does that), and the run's state and stop
   * reason are put back as they were.
   */
  rerunsOnly?: { before: Pick<RunRow, 'state' | 'stop_reason'> | null };
};

export interface LoopResult {
  reason: string;
  summary: RunSummary;
}

export async function runLoop(input: LoopInput): Promise<LoopResult> {
  const ctx: RunContext = {
    ...input,
    abort: input.abort ?? new AbortController(),
    incumbent: { experimentId: 0, commit: input.run.base_commit, value: NaN, title: 'baseline' },
    baselineValue: null,
    stopRequested: false,
    agentExhausted: false,
    startedAt: Date.now(),
    inFlight: 0,
    decisionLock: new Mutex(),
    drift: storedDrift(input.run.drift_json),
  };
  const tag = ctx.run.tag;
  ctx.emit({
    type: 'run-start',
    tag,
    branch: ctx.run.branch,
    resumed: input.resumed,
    runDir: ctx.paths.runDir,
    workDir: ctx.paths.workDir,
    maxExperiments: ctx.limits.maxExperiments,
    slots: ctx.limits.slots,
    sealed: ctx.sandbox.sealed,
    sandbox: ctx.sandbox.describe(),
    baselineRuns: ctx.program.config.repeats.baseline,
  });
  const heartbeat = setInterval(
    () => ctx.ledger.updateRun(tag, { heartbeat_at: Date.now() }),
    5000,
  );
  heartbeat.unref();
  let reason = 'stopped';
  let finalState: RunRow['state'] = 'stopped';
  try {
    // Bring results.tsv in line with the ledger (a crash may have come between the two).
    mkdirSync(ctx.paths.runDir, { recursive: true });
    rewriteResultsTsv(ctx);
    await killAgentOrphans(ctx);
    if (input.rerunsOnly) checkRerunsOnly(ctx);
    await ensureBaseline(ctx);
    if (!ctx.abort.signal.aborted && !input.rerunsOnly) await recoverUnfinished(ctx);
    await verifyRefs(ctx, 'at start');
    const reasons = await Promise.all(
      Array.from({ length: ctx.limits.slots }, (_, slot) =>
        input.rerunsOnly ? rerunSlot(ctx, slot) : slotLoop(ctx, slot),
      ),
    );
    reason = ctx.abort.signal.aborted
      ? 'interrupted'
      : (reasons.find((r) => r !== null) ?? 'stopped');
    await ctx.decisionLock.run(() => verifyRefs(ctx, 'at the end of the run'));
    finalState = ctx.abort.signal.aborted || ctx.stopRequested ? 'stopped' : 'finished';
  } catch (e) {
    reason = (e as Error).message;
    finalState = 'failed';
    throw e;
  } finally {
    clearInterval(heartbeat);
    const before = input.rerunsOnly?.before;
    ctx.ledger.updateRun(tag, {
      state: before ? before.state : finalState,
      stop_reason: before ? before.stop_reason : reason,
      pid: null,
      heartbeat_at: Date.now(),
    });
    if (finalState === 'failed') {
      // Webhooks hear about a run that died as well as one that finished.
      const summary = summarize(
        ctx.ledger.getRun(tag)!,
        ctx.ledger.listExperiments(tag),
        ctx.incumbent.commit,
      );
      ctx.emit({
        type: 'run-stop',
        reason: `error: ${reason.split('\n')[0]}`,
        summary,
        failed: true,
      });
    }
  }
  const summary = summarize(
    ctx.ledger.getRun(tag)!,
    ctx.ledger.listExperiments(tag),
    ctx.incumbent.commit,
  );
  const front = describeFront(ctx);
  ctx.emit({ type: 'run-stop', reason, summary, ...(front ? { front } : {}) });
  return { reason, summary };
}

/**
 * `autoresearch pause` leaves a PAUSE file: the loop finishes what is in flight and waits before
 * the next proposal until the file is gone (resume), a stop is requested, or Ctrl-C.
 */
async function waitWhilePaused(ctx: RunContext): Promise<void> {
  let announced = false;
  while (
    existsSync(ctx.paths.pauseFile) &&
    !ctx.abort.signal.aborted &&
    !existsSync(ctx.paths.stopFile)
  ) {
    if (!announced)
      ctx.emit({ type: 'note', level: 'info', text: 'paused: `autoresearch resume` continues' });
    announced = true;
    await new Promise((r) => setTimeout(r, 300));
  }
  if (announced && !existsSync(ctx.paths.pauseFile))
    ctx.emit({ type: 'note', level: 'info', text: 'resumed' });
}

function currentStop(ctx: RunContext): string | null {
  if (existsSync(ctx.paths.stopFile)) ctx.stopRequested = true;
  if (ctx.abort.signal.aborted) return 'interrupted';
  const spend =
    ctx.limits.maxSpendUsd !== undefined || ctx.limits.maxTokens !== undefined
      ? ctx.ledger.spend(ctx.run.tag)
      : undefined;
  return stopReason({
    spentUsd: spend?.usd,
    maxSpendUsd: ctx.limits.maxSpendUsd,
    tokensUsed: spend?.tokens,
    maxTokens: ctx.limits.maxTokens,
    candidates: ctx.ledger.countCandidates(ctx.run.tag) + ctx.inFlight,
    maxExperiments: ctx.limits.maxExperiments,
    elapsedHours: (Date.now() - ctx.startedAt) / 3_600_000,
    maxHours: ctx.limits.maxHours,
    trailingFailures: ctx.ledger.trailingFailures(ctx.run.tag),
    maxFailures: ctx.limits.maxFailures,
    trailingSkips: ctx.ledger.trailingSkips(ctx.run.tag),
    maxSkips: ctx.limits.maxSkips,
    stopRequested: ctx.stopRequested,
    agentExhausted: ctx.agentExhausted,
  });
}

/**
 * A pipelined slot: while one candidate runs in the slot's worktree, the agent already prepares
 * the next in a second worktree, against the incumbent of that moment, so the accelerator does
 * not wait for the agent. A candidate whose incumbent moved meanwhile is re-based when it wins.
 */
async function pipelinedSlotLoop(ctx: RunContext, slot: number): Promise<string | null> {
  const runner = slotWorktree(ctx, slot);
  const proposer = new Worktree(ctx.paths.repo, `${ctx.paths.slot(slot)}-propose`);
  let reason: string | null = null;
  const prepare = async (): Promise<ExperimentRow | 'exhausted' | 'recorded' | null> => {
    await waitWhilePaused(ctx);
    reason = currentStop(ctx);
    if (reason) return null;
    ctx.inFlight++;
    return prepareCandidate(ctx, slot, proposer).then(
      (r) => {
        if (typeof r === 'string') ctx.inFlight--;
        return r;
      },
      (e: unknown) => {
        ctx.inFlight--;
        throw e;
      },
    );
  };
  let next = prepare();
  for (;;) {
    const prepared = await next;
    // Between two candidates the slot's accelerator is free for re-run requests, as in a sequential slot.
    await serveReruns(ctx, slot, runner);
    if (prepared === null) break;
    next = prepare();
    next.catch(() => {}); // awaited on the next turn; this only keeps Node from calling it unhandled meanwhile
    if (typeof prepared === 'string') continue;
    try {
      const current = await carryBeforeRun(ctx, prepared, runner);
      if (current === 'recorded') continue;
      await runner.reset(current.candidate_commit!);
      await runCandidate(ctx, current, slot, runner);
    } finally {
      ctx.inFlight--;
    }
  }
  return reason;
}

/** Re-run requests (`autoresearch rerun`, the dashboard) come first, even when the run has reached its limit. */
async function serveReruns(ctx: RunContext, slot: number, wt: Worktree): Promise<void> {
  for (;;) {
    const rerun = ctx.abort.signal.aborted ? null : ctx.ledger.takeRerun(ctx.run.tag);
    if (rerun === null) return;
    await rerunExperiment(ctx, rerun, slot, wt);
  }
}

/**
 * `measureReruns` measures in the run's worktrees: not before a baseline, and not while a harness
 * that died mid-run may have left an experiment's processes or cluster job running there (the
 * next `run` recovers those first, then serves the request).
 */
function checkRerunsOnly(ctx: RunContext): void {
  const tag = ctx.run.tag;
  const resume = `autoresearch run --tag ${tag}   (recovers the run, then measures the re-run before its next proposal)`;
  if (ctx.ledger.getExperiment(tag, 0)?.state !== 'recorded')
    throw new UserError(`run ${tag} has no baseline yet: nothing to measure again`, resume);
  const left = ctx.ledger
    .unfinishedExperiments(tag)
    .find((e) => e.state === 'running' && e.process_json);
  if (left)
    throw new UserError(
      `run ${tag} stopped while experiment ${left.id} ran, and what it started may still run in its worktree`,
      resume,
    );
}

/** A slot of `measureReruns`: the pending requests, shared with the other slots, then done. */
async function rerunSlot(ctx: RunContext, slot: number): Promise<null> {
  await serveReruns(ctx, slot, slotWorktree(ctx, slot));
  return null;
}

async function slotLoop(ctx: RunContext, slot: number): Promise<string | null> {
  if (ctx.limits.pipeline) return pipelinedSlotLoop(ctx, slot);
  for (;;) {
    await waitWhilePaused(ctx);
    await serveReruns(ctx, slot, slotWorktree(ctx, slot));
    const reason = currentStop(ctx);
    if (reason) return reason;
    ctx.inFlight++;
    try {
      await proposeAndRun(ctx, slot);
    } finally {
      ctx.inFlight--;
    }
  }
}

/**
 * Experiment 0 measures the unchanged starting commit; every candidate is judged against it first.
 * A baseline recorded as failed is never measured again: the next start deletes the run and
 * begins afresh from HEAD (setup.ts), so that a fixed commit is what runs.
 */
async function ensureBaseline(ctx: RunContext): Promise<void> {
  const tag = ctx.run.tag;
  let baseline = ctx.ledger.getExperiment(tag, 0);
  if (!baseline || baseline.state !== 'recorded') {
    const wt = slotWorktree(ctx, 0);
    await wt.reset(ctx.run.base_commit);
    baseline ??= beginBaseline(ctx, await wt.treeOf(ctx.run.base_commit));
    ctx.emit({
      type: 'note',
      level: 'info',
      text: `running the baseline (${ctx.run.base_commit.slice(0, 10)})`,
    });
    // The baseline's repeats come before any candidate: say when that will be.
    const c = ctx.program.config;
    const runs = c.repeats.baseline - ctx.ledger.measurementsOf(tag, 0, ctx.run.base_commit).length;
    if (runs > 0) {
      const now = new Date();
      const text = baselineEstimate({
        runs,
        budgetSeconds: c.budget,
        slots: ctx.limits.slots,
        now,
      });
      ctx.emit({ type: 'note', level: 'info', text });
    }
    await measureBaseline(ctx, wt);
    baseline = ctx.ledger.getExperiment(tag, 0)!;
    if (baseline.state !== 'recorded') {
      if (ctx.abort.signal.aborted) return; // Ctrl-C: the next start measures it again
      throw new UserError(
        'the baseline was aborted before it was measured',
        `autoresearch run --tag ${tag}   (measures it again)`,
      );
    }
  }
  if (baseline.status !== 'keep') {
    throw new UserError(
      `the baseline did not produce a usable ${ctx.run.metric_name}: ${baseline.status}: ${baseline.reason}`,
      `fix the run command or the code, commit, and run again (log: ${baseline.log_path ?? join(ctx.paths.experimentDir(0), 'run.log')})`,
    );
  }
  ctx.baselineValue = baseline.primary_value;
  ctx.incumbent = await currentIncumbent(ctx);
}

/**
 * The incumbent is whatever the branch points at, when the ledger knows that commit as kept.
 * Anything else means someone else moved the branch: it is set back to the ledger's latest keep.
 */
async function currentIncumbent(ctx: RunContext): Promise<Incumbent> {
  const ref = `refs/heads/${ctx.run.branch}`;
  const head = await readRef(ctx.paths.repo, ref);
  const rows = ctx.ledger.listExperiments(ctx.run.tag);
  const known = rows.filter((r) => r.candidate_commit === head && r.status === 'keep').at(-1);
  const row =
    known ??
    rows
      .filter((r) => r.status === 'keep' && r.state === 'recorded')
      .sort((a, b) => (a.recorded_at ?? 0) - (b.recorded_at ?? 0))
      .at(-1)!;
  if (!known) {
    await git(ctx.paths.repo, [
      'update-ref',
      '-m',
      'autoresearch: restore from the ledger',
      ref,
      row.candidate_commit!,
    ]);
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: `branch ${ctx.run.branch} was moved to ${head?.slice(0, 10) ?? 'nothing'}, which the ledger does not know as kept; restored to experiment ${row.id} (${row.candidate_commit!.slice(0, 10)}): only the harness moves it`,
    });
  }
  return {
    experimentId: row.id,
    commit: row.candidate_commit!,
    value: row.primary_value!,
    title: row.title ?? '',
  };
}
