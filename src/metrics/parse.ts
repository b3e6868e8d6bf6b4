/**
 * Metric parsing: pure functions from an experiment's output (and optional JSON file) to numbers.
 * Three formats, later ones overriding earlier ones for the same name:
 *   1. summary lines  `val_bpb:          0.997900`
 *   2. METRIC lines   `METRIC val_bpb=0.9979 tokens_per_s=1.2e5`
 *   3. a JSON file    `{ "val_bpb": 0.9979, "extra": { "nested": 1 } }` (nested keys joined by '.')
 * The last occurrence of a name in the output wins (a run may print progress before the summary).
 */

export type Metrics = Record<string, number>;

const NUMBER = String.raw`[-+]?(?:(?:\d[\d_]*)?\.?\d+(?:[eE][-+]?\d+)?|nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)`;
const SUMMARY_LINE = new RegExp(String.raw`^\s*([A-Za-z_][\w.\/-]*)\s*[:=]\s*(${NUMBER})(?:\s*(?:%|ms|s|sec|MB|GB|MiB|GiB|KB|kB|mb|gb))?\s*$`);
const METRIC_PAIR = new RegExp(String.raw`([A-Za-z_][\w.\/-]*)=(${NUMBER})(?=\s|$|,)`, 'g');

export function parseNumber(text: string): number {
  const t = text.trim().replace(/_/g, '').toLowerCase();
  if (t === 'nan' || t === '+nan' || t === '-nan') return NaN;
  if (/^[+]?inf(inity)?$/.test(t)) return Infinity;
  if (/^-inf(inity)?$/.test(t)) return -Infinity;
  return Number(t);
}

export function parseMetricsFromOutput(output: string): Metrics {
  const summary: Metrics = {};
  const explicit: Metrics = {};
  for (const rawLine of output.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    const metricLine = /^\s*METRIC\s+(.*)$/.exec(line);
    if (metricLine) {
      for (const m of metricLine[1]!.matchAll(METRIC_PAIR)) explicit[m[1]!] = parseNumber(m[2]!);
      continue;
    }
    const s = SUMMARY_LINE.exec(line);
    if (s) summary[s[1]!] = parseNumber(s[2]!);
  }
  return { ...summary, ...explicit };
}

/** Flattens a JSON metrics file; non-numeric leaves are ignored, numeric strings are accepted. */
export function parseMetricsJson(text: string): Metrics {
  const data = JSON.parse(text) as unknown;
  const out: Metrics = {};
  const walk = (value: unknown, prefix: string) => {
    if (typeof value === 'number') out[prefix] = value;
    else if (typeof value === 'string' && new RegExp(`^${NUMBER}$`).test(value.trim())) out[prefix] = parseNumber(value);
    else if (value === null && prefix) out[prefix] = NaN;
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    }
  };
  walk(data, '');
  return out;
}

export type PrimaryCheck = { ok: true; value: number } | { ok: false; reason: string };

/** The primary metric must be present and finite, otherwise the experiment is a crash. */
export function checkPrimary(metrics: Metrics, name: string): PrimaryCheck {
  if (!(name in metrics)) return { ok: false, reason: `metric ${name} not found in the output` };
  const value = metrics[name]!;
  if (Number.isNaN(value)) return { ok: false, reason: `metric ${name} is NaN` };
  if (!Number.isFinite(value)) return { ok: false, reason: `metric ${name} is infinite (${value})` };
  return { ok: true, value };
}
