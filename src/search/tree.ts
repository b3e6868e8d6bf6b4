/**
 * The experiment tree from ledger rows: each experiment points at the one whose commit it was
 * built on (its `parent_commit`). Pure; parent selection (parents.ts) reads it.
 */
import type { ExperimentRow } from '../ledger/types.js';
import type { SearchNode } from './parents.js';

type TreeRow = Pick<
  ExperimentRow,
  | 'id'
  | 'state'
  | 'status'
  | 'parent_commit'
  | 'candidate_commit'
  | 'proposed_commit'
  | 'primary_value'
  | 'island'
>;

export function experimentTree(rows: TreeRow[]): SearchNode[] {
  const byCommit = new Map<string, number>();
  for (const r of rows) {
    if (r.proposed_commit) byCommit.set(r.proposed_commit, r.id);
    if (r.candidate_commit) byCommit.set(r.candidate_commit, r.id);
  }
  return rows.map((r) => {
    const parent = r.id === 0 ? null : (byCommit.get(r.parent_commit) ?? 0);
    return {
      id: r.id,
      parent,
      value: r.primary_value,
      status: r.state === 'recorded' ? r.status : null,
      island: r.island,
    };
  });
}
