/** The message of the commit `autoresearch apply` makes: what it brings, and what each kept change gained. */
import type { ExperimentRow } from '../ledger/types.js';
import type { ChosenChange } from '../loop/runs.js';
import { improvementPercent } from '../loop/summary.js';
import { fmtPct, fmtValue } from './format.js';
import { count } from '../util/words.js';

/** An agent wrote the title: one line, no control characters, bounded. */
function cleanTitle(title: string | null): string {
  const line = (title ?? '').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return (line.length > 72 ? line.slice(0, 71) + '…' : line) || '(untitled)';
}

function gain(change: ChosenChange, from: number | null, to: number | null): string {
  const pct = fmtPct(improvementPercent(change.run.goal, from, to));
  return `${change.run.metric_name} ${fmtValue(from)} -> ${fmtValue(to)}${pct ? ` (${pct})` : ''}`;
}

/**
 * `included`: the run's experiments whose commits the branch receives, oldest first. Kept ones
 * are listed with their gain over the incumbent they were judged against; the applied experiment,
 * when it was not kept, with its status.
 */
export function applyMessage(
  change: ChosenChange,
  included: ExperimentRow[],
  kind: 'merge' | 'squash',
): string {
  const { run, experiment } = change;
  const kept = included.filter((r) => r.status === 'keep');
  const start = included[0]?.incumbent_value ?? null;
  const headline = gain(change, start, experiment.primary_value);
  const n = kept.length;
  const subject =
    kind === 'squash'
      ? `autoresearch ${run.tag}: ${headline}, ${count(n, 'kept change')}`
      : `Merge autoresearch ${run.tag} ${change.label}: ${headline}`;
  const lines = included.map((r) =>
    r.status === 'keep'
      ? `- #${r.id} ${cleanTitle(r.title)}: ${gain(change, r.incumbent_value, r.primary_value)}`
      : `- #${r.id} ${cleanTitle(r.title)}: ${run.metric_name} ${fmtValue(r.primary_value)} (${r.status ?? r.state}, not kept)`,
  );
  return [
    subject,
    '',
    ...lines,
    '',
    `From run ${run.tag} (branch ${run.branch}, program ${run.program_path}), experiment ${change.label} at ${change.commit.slice(0, 10)}.`,
    '',
    `autoresearch-run: ${run.tag}`,
    `autoresearch-experiment: ${experiment.id}`,
    '',
  ].join('\n');
}
