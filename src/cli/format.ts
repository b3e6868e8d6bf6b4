/** Small formatting helpers shared by the CLI's tables, progress and status. */
import type { ExperimentRow, ExperimentStatus } from '../ledger/types.js';

export function fmtValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  return abs !== 0 && (abs >= 1e6 || abs < 1e-4)
    ? v.toExponential(4)
    : String(Number(v.toFixed(6)));
}

function fmtDelta(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  return `${v > 0 ? '+' : ''}${Number(v.toPrecision(4))}`;
}

export function fmtPct(p: number | null): string {
  return p === null ? '' : `${p >= 0 ? '+' : ''}${p.toFixed(2)}%`;
}

export function bar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

const COLORS: Partial<Record<ExperimentStatus, string>> = {
  keep: '32',
  discard: '90',
  crash: '31',
  timeout: '31',
  invalid: '33',
  failed: '31',
  skipped: '90',
};

function colorStatus(status: ExperimentStatus | null, color: boolean): string {
  const s = (status ?? '?').padEnd(9);
  const code = status ? COLORS[status] : undefined;
  return color && code ? `\x1b[${code}m${s}\x1b[0m` : s;
}

function firstLine(text: string | null | undefined, max = 60): string {
  const line = (text ?? '').split('\n')[0]!.trim();
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

/** One line per experiment, as in the results table and the progress log. */
export function experimentLine(e: ExperimentRow, color = false): string {
  const id = `#${e.id}`.padStart(4);
  const value = fmtValue(e.primary_value).padStart(10);
  const delta =
    e.id === 0
      ? 'baseline'
      : e.primary_value !== null && e.incumbent_value !== null
        ? fmtDelta(e.primary_value - e.incumbent_value)
        : '';
  // Every decision is explained: the policy's numbers for keeps and discards, the cause otherwise.
  const detail = e.id === 0 || !e.reason ? '' : `  (${firstLine(e.reason, 90)})`;
  return `${id} ${colorStatus(e.status, color)} ${value} ${delta.padEnd(10)} ${firstLine(e.title, 60)}${detail}`;
}
