/**
 * results.tsv in the widely used 5-column format, so existing analysis notebooks read it:
 *   commit  <metric>  memory_gb  status  description
 * Rows are in the order experiments were recorded. The file is rewritten from the ledger (the
 * source of truth) when a run starts, then appended to, one line per recorded experiment, so its
 * cost does not grow with the ledger; a crash between the two is repaired by the next rewrite.
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ExperimentRow } from './types.js';

/** The line of one recorded experiment, or null for rows that do not belong in the file. */
export function resultsTsvLine(e: ExperimentRow): string | null {
  if (e.state !== 'recorded' || e.status === 'interrupted') return null;
  const commit = (e.candidate_commit ?? e.parent_commit).slice(0, 7);
  const value = e.primary_value !== null && Number.isFinite(e.primary_value) ? e.primary_value.toFixed(6) : '0.000000';
  const memory = e.peak_memory_bytes ? (e.peak_memory_bytes / 1024 ** 3).toFixed(1) : '0.0';
  const description = (e.title ?? '').replace(/[\t\r\n]+/g, ' ');
  return `${commit}\t${value}\t${memory}\t${e.status}\t${description}`;
}

export function renderResultsTsv(metric: string, rows: ExperimentRow[]): string {
  const ordered = [...rows].sort((a, b) => (a.recorded_at ?? 0) - (b.recorded_at ?? 0) || a.id - b.id);
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
