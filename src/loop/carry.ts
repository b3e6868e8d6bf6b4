/**
 * Carrying a candidate onto a newer incumbent. A candidate is proposed against the incumbent of
 * its moment; by the time it runs (pipelining) or wins (parallel slots), another experiment may
 * have been kept. Its change is then carried onto the new incumbent:
 * - by the agent itself when it can make the same proposal again (`Agent.reapply`: the tune
 *   agent writes its whole configuration, so what runs is exactly the configuration it proposed,
 *   not a textual merge of two configurations);
 * - else by a three-way merge of trees (git merge-tree); null when the changes conflict.
 * The carried commit is kept reachable under refs/autoresearch/<tag>/<id>-rebased (and the ref
 * dropped when the carry is not used). Carrying runs git, maybe the agent: never under the
 * decision lock; only `settleCarried`, the ledger write that follows, is.
 */
import { basename, join } from 'node:path';
import type { ExperimentRow } from '../ledger/types.js';
import { diffStat, git } from '../workspace/git.js';
import { rebaseCommit } from '../workspace/rebase.js';
import { describeViolations } from '../workspace/rules.js';
import { snapshot } from '../workspace/snapshot.js';
import { treeOf } from '../workspace/trees.js';
import type { Worktree } from '../workspace/worktree.js';
import type { RunContext } from './context.js';
import type { Incumbent } from './events.js';
import { snapshotRules } from './experiment.js';
import { awaitRuns, carried as carriedOnto, keep, record } from './lifecycle.js';

interface Carried {
  commit: string;
  tree: string;
}

const carriedRef = (ctx: RunContext, id: number) =>
  `refs/autoresearch/${ctx.run.tag}/${id}-rebased`;

/** A carried commit that will not be used: its ref goes, so the run's refs stay what the ledger says. */
export async function dropCarried(ctx: RunContext, id: number): Promise<void> {
  await git(ctx.paths.repo, ['update-ref', '-d', carriedRef(ctx, id)]);
}

async function carryOnto(
  ctx: RunContext,
  row: ExperimentRow,
  wt: Worktree,
  inc: Incumbent,
): Promise<Carried | null> {
  const ref = carriedRef(ctx, row.id);
  // Only the agent that made the proposal can make it again (a resumed run may use another one).
  if (ctx.agent.reapply && row.agent === ctx.agent.name && row.agent_meta_json) {
    const message = await git(ctx.paths.repo, ['log', '-1', '--format=%B', row.candidate_commit!]);
    await wt.reset(inc.commit);
    wt.touched();
    try {
      await ctx.agent.reapply(JSON.parse(row.agent_meta_json), join(wt.path, ctx.programDir));
    } catch (e) {
      ctx.emit({
        type: 'note',
        level: 'warn',
        text: `experiment ${row.id}: ${ctx.agent.name} could not make its proposal again on experiment ${inc.experimentId}: ${(e as Error).message}`,
      });
      return null;
    }
    const snap = await snapshot(
      wt,
      inc.commit,
      snapshotRules(ctx),
      ctx.paths.indexFile(basename(wt.path)),
    );
    if (snap.violations.length > 0) {
      ctx.emit({
        type: 'note',
        level: 'warn',
        text: `experiment ${row.id}: carried onto experiment ${inc.experimentId}, it breaks the rules: ${describeViolations(snap.violations, ctx.program.config.editable)}`,
      });
      return null;
    }
    return { commit: await wt.commit(inc.commit, snap.tree, message, ref), tree: snap.tree };
  }
  const commit = await rebaseCommit(
    ctx.paths.repo,
    row.candidate_commit!,
    row.parent_commit,
    inc.commit,
  );
  if (!commit) return null;
  await git(ctx.paths.repo, ['update-ref', ref, commit]);
  return { commit, tree: await treeOf(ctx.paths.repo, commit) };
}

export type CarryOutcome =
  | { kind: 'conflicts' }
  | { kind: 'already-in' }
  | {
      kind: 'carried';
      commit: string;
      tree: string;
      stat: { files: number; added: number; deleted: number };
    };

/**
 * Carries `row` onto `inc` and says what that gives: a conflict, nothing new (the change is in
 * the incumbent already), or a commit with its diff stat against `inc`. Git and maybe the agent:
 * never under the decision lock.
 */
export async function carryAndCompare(
  ctx: RunContext,
  row: ExperimentRow,
  wt: Worktree,
  inc: Incumbent,
): Promise<CarryOutcome> {
  const carried = await carryOnto(ctx, row, wt, inc);
  if (!carried) return { kind: 'conflicts' };
  if (carried.tree === (await git(ctx.paths.repo, ['rev-parse', `${inc.commit}^{tree}`])).trim()) {
    await dropCarried(ctx, row.id);
    return { kind: 'already-in' };
  }
  return {
    kind: 'carried',
    ...carried,
    stat: await diffStat(ctx.paths.repo, inc.commit, carried.commit),
  };
}

/**
 * A prepared candidate about to run (pipelining) whose incumbent was replaced while it waited:
 * carried onto the new incumbent first, so it is measured where it would be kept. When its change
 * no longer applies, or is already in the incumbent, it is skipped with the reason, and the agent,
 * already preparing the next candidate against the new incumbent, proposes again from there.
 */
export async function carryBeforeRun(
  ctx: RunContext,
  row: ExperimentRow,
  wt: Worktree,
): Promise<ExperimentRow | 'recorded'> {
  const inc = ctx.incumbent;
  // Only greedy builds on the incumbent; other strategies' candidates, and every candidate of a
  // Pareto front (compared with all its members, not one incumbent), are judged as they are.
  const c = ctx.program.config;
  if (row.parent_commit === inc.commit || c.parents.strategy !== 'greedy' || c.pareto) return row;
  const skip = (reason: string): 'recorded' => {
    record(ctx, row.id, 'skipped', { reason, finished_at: Date.now() });
    return 'recorded';
  };
  const carried = await carryAndCompare(ctx, row, wt, inc);
  if (carried.kind === 'conflicts')
    return skip(
      `its change no longer applies on top of experiment ${inc.experimentId}, kept while it waited to run; the next proposal starts from there`,
    );
  if (carried.kind === 'already-in')
    return skip(
      `its change is already in experiment ${inc.experimentId}, kept while it waited to run`,
    );
  const duplicate = ctx.ledger.findByTree(ctx.run.tag, carried.tree, row.id);
  if (duplicate) {
    await dropCarried(ctx, row.id);
    return skip(
      `on top of experiment ${inc.experimentId} it is the same as experiment ${duplicate.id} (${duplicate.status ?? duplicate.state})`,
    );
  }
  const now = carriedOnto(ctx, row.id, inc, carried, carried.stat, {
    incumbent_commit: inc.commit,
    incumbent_value: Number.isFinite(inc.value) ? inc.value : null,
  });
  ctx.emit({
    type: 'note',
    level: 'info',
    text: `experiment ${row.id}: carried onto experiment ${inc.experimentId}, kept while it waited to run`,
  });
  return now;
}

/** A keep decided against `onto`, waiting for the candidate's change to be carried onto it. */
export interface PendingKeep {
  onto: Incumbent;
  judged: Partial<ExperimentRow>;
  /** The policy's reason, and the reason recorded with the keep. */
  decision: string;
  reason: string;
}

/**
 * A keep carried onto `pending.onto`, still the incumbent (under the decision lock): discarded when
 * its change conflicts or is in the incumbent already; with `verify_rebased`, a carried commit
 * with other files than those measured is judged afresh; else kept as carried.
 */
export async function settleCarried(
  ctx: RunContext,
  row: ExperimentRow,
  pending: PendingKeep,
  outcome: CarryOutcome,
): Promise<'keep' | 'discard' | 'rebased'> {
  const { onto, judged } = pending;
  if (outcome.kind !== 'carried') {
    const why =
      outcome.kind === 'conflicts' ? 'its change conflicts with' : 'its change is already in';
    record(ctx, row.id, 'discard', {
      ...judged,
      reason: `${pending.decision}, but ${why} the newer incumbent (experiment ${onto.experimentId})`,
    });
    return 'discard';
  }
  if (outcome.tree !== row.tree && ctx.program.config.verify_rebased) {
    // Its runs were taken on top of an older incumbent: the combination is judged afresh.
    carriedOnto(ctx, row.id, onto, outcome, outcome.stat, {
      ...judged,
      reason: `${pending.decision}; re-based onto experiment ${onto.experimentId}: measuring the re-based commit`,
    });
    awaitRuns(ctx, row.id);
    return 'rebased';
  }
  // The same files as measured (the incumbent's change is overwritten, as a tune configuration
  // does): the measurements stand. Else verify_rebased is off.
  const same = outcome.tree === row.tree ? ' (the files it was measured with)' : '';
  await keep(ctx, row, {
    ...judged,
    tree: outcome.tree,
    candidate_commit: outcome.commit,
    reason: `${pending.reason}; re-based onto experiment ${onto.experimentId}${same}`,
  });
  return 'keep';
}
