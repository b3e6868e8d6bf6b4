/**
 * The brief's word on the candidate's parent when it is not the incumbent (search strategies
 * `tree` and `islands`, search/parents.ts): what the agent's worktree holds and what to do with it.
 */
import { PLATEAU_EXPLORE, type ParentReason } from '../search/parents.js';

export interface BriefParent {
  experimentId: number;
  commit: string;
  title: string;
  /** How it ended (keep, discard, crash, timeout). */
  status: string;
  value: number | null;
  why: Exclude<ParentReason, 'incumbent'>;
  /** islands: the island the new experiment belongs to. */
  island: number | null;
  /** Why it ended as it did (the ledger's reason), for a repair above all. */
  reason: string | null;
  /** Set when the run's plateau (experiments without a keep) made the search explore more. */
  plateau?: number;
}

const fmt = (v: number | null) => (v === null ? '—' : Number(v.toPrecision(7)).toString());

const WHY: Record<BriefParent['why'], string> = {
  promising:
    'the tree search chose it as the most promising node to expand (a good value, few children yet)',
  repair: 'it crashed: this experiment is a repair attempt',
  island: 'it is the best of this island, one of several sub-populations searched side by side',
  migration: 'the global best migrates to this island, the weakest one',
};

const PLATEAU: Record<BriefParent['why'], string> = {
  promising: `the tree search weighs less-visited nodes ${PLATEAU_EXPLORE} times as much as before`,
  repair: 'repairs still come first',
  island: 'it builds on the island whose best has been tried least',
  migration: 'the global best migrates at once rather than on its schedule',
};

export function parentSection(parent: BriefParent | undefined, metric: string): string[] {
  if (!parent) return [];
  const lines = [
    `## Your starting point: experiment ${parent.experimentId}, not the incumbent`,
    '',
    `- Your worktree holds experiment ${parent.experimentId} (${parent.commit.slice(0, 10)}, ${parent.status}${parent.value !== null ? `, ${metric} = ${fmt(parent.value)}` : ''}): ${parent.title}`,
    `- Why: ${WHY[parent.why]}${parent.island !== null ? ` (island ${parent.island})` : ''}.`,
  ];
  if (parent.plateau !== undefined)
    lines.push(
      `- The run is on a plateau (${parent.plateau} experiments without a keep), so the search explores more: ${PLATEAU[parent.why]}. A structurally different idea from here is worth more than another small variation.`,
    );
  if (parent.why === 'repair') {
    if (parent.reason) lines.push(`- What happened: ${parent.reason.split('\n')[0]}`);
    lines.push(
      '- Fix what made it fail and keep its idea: the history and failures below show its log.',
    );
  } else {
    lines.push(
      '- Improve on it. It is kept only if the result beats the incumbent above (the run branch holds the global best).',
    );
  }
  return [...lines, ''];
}
