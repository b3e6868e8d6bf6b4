/**
 * results.tsv in the widely used 5-column format, so existing analysis notebooks read it unchanged:
 *   commit  <metric>  memory_gb  status  description
 * - the value is the experiment's current one, the mean of its measurements (0.000000 when none);
 * - memory_gb is `peak_vram_mb / 1024` when the experiment printed peak_vram_mb (the format's own
 *   definition), else its `memory_gb` metric (printed, or the harness's peak memory of the tree);
 * - status is keep, discard or crash; crash, timeout and invalid are all `crash`, the finer status
 *   leading the description (`timeout: <title>`);
 * - proposals with nothing to run are left out: skipped (a duplicate or no change), failed (the
 *   agent produced nothing) and interrupted (the harness stopped while the agent was proposing).
 * Rows are in the order experiments were recorded. The file is rewritten from the ledger (the
 * source of truth) when a run starts and when a recorded experiment is measured again, and
 * appended to, one line per recorded experiment, otherwise, so its cost does not grow with the
 * ledger; a crash between the ledger and the file is repaired by the next rewrite.
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ExperimentRow, ExperimentStatus } from './types.js';

const STATUS: Partial<Record<ExperimentStatus, 'keep' | 'discard' | 'crash'>> = {
  keep: 'keep',
  discard: 'discard',
  crash: 'crash',
  timeout: 'crash',
  invalid: 'crash',
};

/** Peak memory in GiB, as the format defines it, from the experiment's metrics and the harness's measurement. */
function memoryGb(e: Pick<ExperimentRow, 'metrics_json' | 'peak_memory_bytes'>): number {
  let metrics: Record<string, unknown> = {};
  try {
    metrics = (e.metrics_json ? JSON.parse(e.metrics_json) : {}) as Record<string, unknown>;
  } catch {
    // An unreadable record has no memory figure; the harness's own may still be there.
  }
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (finite(metrics.peak_vram_mb)) return metrics.peak_vram_mb / 1024;
  if (finite(metrics.memory_gb)) return metrics.memory_gb;
  return e.peak_memory_bytes ? e.peak_memory_bytes / 1024 ** 3 : 0;
}

/** The line of one recorded experiment, or null for rows that do not belong in the file. */
export function resultsTsvLine(e: ExperimentRow): string | null {
  const status = e.status ? STATUS[e.status] : undefined;
  if (e.state !== 'recorded' || !status) return null;
  const commit = (e.candidate_commit ?? e.parent_commit).slice(0, 7);
  const value =
    e.primary_value !== null && Number.isFinite(e.primary_value)
      ? e.primary_value.toFixed(6)
      : '0.000000';
  const title = (e.title ?? '').replace(/[\t\r\n]+/g, ' ');
  const description = status === e.status ? title : `${e.status}: ${title}`;
  return `${commit}\t${value}\t${memoryGb(e).toFixed(1)}\t${status}\t${description}`;
}

export function renderResultsTsv(metric: string, rows: ExperimentRow[]): string {
  const ordered = [...rows].sort(
    (a, b) => (a.recorded_at ?? 0) - (b.recorded_at ?? 0) || a.id - b.id,
  );
  const lines = [`commit\t${metric}\tmemory_gb\tstatus\tdescription`];
  for (const e of ordered) {
    const line = resultsTsvLine(e);
    if (line !== null) lines.push(line);
  }
  return lines.join('\n') + '\n';
}

export function writeResultsTsv(path: string, metric: string, rows: ExperimentRow[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, renderResultsTsv(metric, rows));
  renameSync(tmp, path);
}

export function appendResultsTsv(path: string, row: ExperimentRow): void {
  const line = resultsTsvLine(row);
  if (line !== null) appendFileSync(path, line + '\n');
}
