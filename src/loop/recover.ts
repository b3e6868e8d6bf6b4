/**
 * Resume after a crash (`kill -9`, power loss) or Ctrl-C: every experiment the ledger shows as
 * unfinished is taken to a terminal state, so none is lost and none is counted twice.
 */
import type { ProcessHandle } from '../executors/executor.js';
import { LocalExecutor } from '../executors/local.js';
import type { ExperimentRow } from '../ledger/types.js';
import { git } from '../workspace/git.js';
import type { RunContext } from './context.js';
import { runCandidate } from './candidate.js';
import { slotWorktree } from './experiment.js';
import { applyKeep, record } from './lifecycle.js';

/**
 * Agents the last harness left running (it died while they proposed) are killed before anything
 * else happens: one could otherwise go on writing into a slot a new candidate is made in. Sealed,
 * they died with it already (bwrap --die-with-parent); this finds the unsealed ones by the process
 * group or cgroup recorded when they started, and the experiment id in their environment.
 */
export async function killAgentOrphans(ctx: RunContext): Promise<void> {
  const agents = new LocalExecutor();
  for (const row of ctx.ledger.unfinishedExperiments(ctx.run.tag)) {
    if (row.state !== 'proposing' || !row.agent_process_json) continue;
    const killed = await agents.killLeftovers(JSON.parse(row.agent_process_json) as ProcessHandle, {
      AUTORESEARCH_EXPERIMENT_ID: String(row.id),
    });
    if (killed > 0)
      ctx.emit({
        type: 'note',
        level: 'info',
        text: `experiment ${row.id}: killed ${killed} process(es) of the agent interrupted while proposing`,
      });
  }
}

export async function recoverUnfinished(ctx: RunContext): Promise<number> {
  const rows = ctx.ledger.unfinishedExperiments(ctx.run.tag).filter((r) => r.id > 0);
  for (const row of rows) {
    if (ctx.abort.signal.aborted) break;
    await recoverOne(ctx, row);
  }
  return rows.length;
}

/** An experiment whose harness died keeps running as an orphan; it must not race its re-run. */
async function killOrphans(ctx: RunContext, row: ExperimentRow): Promise<void> {
  const handle = JSON.parse(row.process_json!) as ProcessHandle;
  const mark = { AUTORESEARCH_EXPERIMENT_ID: String(row.id), AUTORESEARCH_RUN_TAG: ctx.run.tag };
  const killed = await ctx.executor.killLeftovers(handle, mark);
  if (killed > 0)
    ctx.emit({
      type: 'note',
      level: 'info',
      text: `experiment ${row.id}: killed ${killed} orphaned process(es) of the interrupted run`,
    });
}

async function recoverOne(ctx: RunContext, row: ExperimentRow): Promise<void> {
  const note = (text: string) =>
    ctx.emit({ type: 'note', level: 'info', text: `experiment ${row.id}: ${text}` });
  switch (row.state) {
    case 'proposing':
      note('the agent was interrupted while proposing; recorded as interrupted');
      record(ctx, row.id, 'interrupted', {
        reason: 'the harness stopped while the agent was proposing',
      });
      return;
    case 'committed':
    case 'running':
    case 'measured': {
      const handle =
        row.process_json && row.state === 'running'
          ? (JSON.parse(row.process_json) as ProcessHandle)
          : undefined;
      if (handle?.jobId && ctx.executor.reattach) {
        note(`was in flight when the harness stopped; following job ${handle.jobId} to its end`);
      } else {
        const stored = ctx.ledger.measurementsDuring(ctx.run.tag, row.id).length;
        const resumed = `was in flight when the harness stopped; its judgement goes on from the ${stored} run${stored === 1 ? '' : 's'} stored`;
        note(
          row.state === 'measured'
            ? 'was measured but not decided; deciding now'
            : stored > 0
              ? resumed
              : 'was in flight when the harness stopped; running it again',
        );
        if (row.process_json) await killOrphans(ctx, row);
      }
      // A job still running in its own worktree is left there; anything else runs again in slot 0.
      const reattach = handle?.jobId && ctx.executor.reattach ? handle : undefined;
      const slot = reattach ? row.slot : 0;
      const wt = slotWorktree(ctx, slot);
      if (!reattach) await wt.reset(row.candidate_commit!);
      ctx.inFlight++;
      try {
        await runCandidate(ctx, row, slot, wt, reattach);
      } finally {
        ctx.inFlight--;
      }
      return;
    }
    case 'decided': {
      // Only keeps pass through `decided`: finish moving the branch if it had not moved yet.
      const head = (
        await git(ctx.paths.repo, ['rev-parse', `refs/heads/${ctx.run.branch}`])
      ).trim();
      if (head === row.candidate_commit || head === row.incumbent_commit) {
        note('was kept but not recorded; finishing');
        await ctx.decisionLock.run(() => applyKeep(ctx, row));
      } else {
        // Pareto mode: the members it would have made leave stay on the front (idempotent, so a
        // harness killed before the record below does it again).
        ctx.ledger.rejoinFront(ctx.run.tag, row.id);
        record(ctx, row.id, 'discard', {
          reason: `${row.reason ?? 'kept'}, but the branch moved on before it was recorded`,
        });
      }
      return;
    }
    case 'recorded':
      return;
  }
}
