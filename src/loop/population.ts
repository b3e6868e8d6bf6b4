/**
 * The run's population as the loop sees it: the next candidate's parent (search/parents.ts on
 * the ledger's experiment tree) and the refs of the island heads. Everything is derived from the
 * ledger, so a resumed run goes on choosing from the same population.
 */
import type { BriefParent } from '../program/brief-parent.js';
import { onPlateau } from '../program/plateau.js';
import {
  chooseParent,
  islandHeads,
  islandMemberIds,
  type ParentChoice,
} from '../search/parents.js';
import { experimentTree } from '../search/tree.js';
import type { RunContext } from './context.js';
import type { Incumbent } from './events.js';
import { onFront } from './front-view.js';

export interface NextParent {
  /** The id the new experiment gets (the choice may depend on it: islands). */
  id: number;
  parent: Incumbent;
  choice: ParentChoice;
  /** What the brief says about the parent, when it is not the incumbent. */
  brief?: BriefParent;
}

/**
 * Chooses the parent of the experiment about to be inserted. Synchronous, and the caller inserts
 * the row before its next await, so two slots never get the same id.
 */
export function nextParent(ctx: RunContext): NextParent {
  const { parents: settings, plateau_after: after } = ctx.program.config;
  // Greedy builds on the incumbent whatever the history holds: a long run's thousands of rows
  // are not read for every proposal.
  if (settings.strategy === 'greedy' && !ctx.program.config.pareto) {
    const id = Math.max(0, ctx.ledger.lastExperimentId(ctx.run.tag)) + 1;
    const choice = chooseParent([], settings, {
      id,
      incumbent: ctx.incumbent.experimentId,
      goal: ctx.run.goal,
    });
    return { id, parent: ctx.incumbent, choice };
  }
  const rows = ctx.ledger.listExperiments(ctx.run.tag);
  const id = (rows.at(-1)?.id ?? 0) + 1;
  // On a plateau the strategies explore more (search/parents.ts); greedy ignores it.
  const since = onPlateau(ctx.ledger.outcomes(ctx.run.tag), after);
  const choice = chooseParent(experimentTree(rows), settings, {
    id,
    incumbent: ctx.incumbent.experimentId,
    goal: ctx.run.goal,
    plateau: since === null ? null : { since, after },
    front: ctx.program.config.pareto ? rows.filter(onFront).map((r) => r.id) : null,
  });
  const row = rows.find((r) => r.id === choice.parent);
  if (choice.parent === ctx.incumbent.experimentId || !row?.candidate_commit)
    return { id, parent: ctx.incumbent, choice: { ...choice, parent: ctx.incumbent.experimentId } };
  const parent: Incumbent = {
    experimentId: row.id,
    commit: row.candidate_commit,
    value: row.primary_value ?? NaN,
    title: row.title ?? '',
  };
  return {
    id,
    parent,
    choice,
    brief: {
      experimentId: row.id,
      commit: row.candidate_commit,
      title: row.title ?? '',
      status: row.status ?? 'unknown',
      value: row.primary_value,
      why: choice.why === 'incumbent' ? 'promising' : choice.why,
      island: choice.island,
      reason: row.reason,
      ...(choice.plateau !== undefined ? { plateau: choice.plateau } : {}),
    },
  };
}

const islandRef = (tag: string, k: number) => `refs/autoresearch/${tag}/island-${k}`;

/**
 * `parents: islands`: each island's head under refs/autoresearch/<tag>/island-<k>, from the
 * ledger. `members`: the commits a ref may lag on (the harness moves it as the head changes).
 */
export function islandRefs(
  ctx: RunContext,
): Array<{ ref: string; commit: string; members: Set<string> }> {
  const settings = ctx.program.config.parents;
  if (settings.strategy !== 'islands') return [];
  const rows = ctx.ledger.listExperiments(ctx.run.tag).filter((r) => r.state === 'recorded');
  const commitOf = new Map(rows.map((r) => [r.id, r.candidate_commit]));
  const nodes = experimentTree(rows);
  return islandHeads(nodes, settings.islands, ctx.run.goal).flatMap((head, k) => {
    const commit = commitOf.get(head.id);
    if (!commit) return [];
    const members = new Set(
      [...islandMemberIds(nodes, k)].map((id) => commitOf.get(id)).filter((c): c is string => !!c),
    );
    return [{ ref: islandRef(ctx.run.tag, k), commit, members }];
  });
}
