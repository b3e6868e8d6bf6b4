/**
 * results.tsv in the widely used 5-column format, so existing analysis notebooks read it:
 *   commit  <metric>  memory_gb  status  description
 * Rewritten from the ledger (the source of truth) atomically after every recorded experiment.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { ExperimentRow } from './types.js';

export function renderResultsTsv(metric: string, rows: ExperimentRow[]): string {
  const lines = [`commit\t${metric}\tmemory_gb\tstatus\tdescription`];
  for (const e of rows) {
    if (e.state !== 'recorded' || e.status === 'interrupted') continue;
    const commit = (e.candidate_commit ?? e.parent_commit).slice(0, 7);
    const value = e.primary_value !== null && Number.isFinite(e.primary_value) ? e.primary_value.toFixed(6) : '0.000000';
    const memory = e.peak_memory_bytes ? (e.peak_memory_bytes / 1024 ** 3).toFixed(1) : '0.0';
    const description = (e.title ?? '').replace(/[\t\r\n]+/g, ' ');
    lines.push(`${commit}\t${value}\t${memory}\t${e.status}\t${description}`);
  }
  return lines.join('\n') + '\n';
}

export function writeResultsTsv(path: string, metric: string, rows: ExperimentRow[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, renderResultsTsv(metric, rows));
  renameSync(tmp, path);
}
