/**
 * Metric parsing: pure functions from an experiment's output (and optional JSON file) to numbers.
 * Three formats; for every name only its LAST occurrence counts, whatever the format:
 *   1. summary lines  `val_bpb:          0.997900`
 *   2. METRIC lines   `METRIC val_bpb=0.9979 tokens_per_s=1.2e5`
 *   3. a JSON file    `{ "val_bpb": 0.9979, "extra": { "nested": 1 } }` (nested keys joined by
 *      '.'), applied after the output
 * An occurrence is a plain number or a refusal quoting the line (value.ts says which): a wrong
 * number is never recorded silently. The output is read as a stream (stream.ts), so executors
 * parse all of it, not only what the log keeps.
 */
import { looksNumeric, type MetricRefusal, plainFix, QUOTE_CHARS } from './line.js';
import { MAX_METRIC_NAMES, MetricStream } from './stream.js';
import { quote, readValue } from './value.js';

export { MAX_LINE_BYTES, type MetricRefusal } from './line.js';
export { MAX_METRIC_NAMES, MetricStream } from './stream.js';

export type Metrics = Record<string, number>;

/** What an output (or a metrics file) says: each name is in exactly one of `values`, `refused`. */
export interface ParsedMetrics {
  /** Names whose last occurrence is a plain number. */
  values: Metrics;
  /** Names whose last occurrence was refused, with the line. */
  refused: Record<string, MetricRefusal>;
  /** The output named more than MAX_METRIC_NAMES metrics: later new names were not kept. */
  truncated: boolean;
}

/** Parses a whole output at once (a log file, a side command's output). */
export function parseMetricOutput(output: string): ParsedMetrics {
  const stream = new MetricStream();
  stream.write(output);
  return stream.end();
}

/** The numbers of an output, for callers that only need a value (refused names are absent). */
export function parseMetricsFromOutput(output: string): Metrics {
  return parseMetricOutput(output).values;
}

/**
 * Flattens a JSON metrics file. Numbers and numeric strings (`"12.5"`) are values; a string that
 * starts like a number but is not a plain one (`"12.5ms"`) and `null` are refused; other leaves
 * (text, booleans, arrays) are not metrics.
 */
export function parseMetricsJson(text: string): ParsedMetrics {
  const data = JSON.parse(text) as unknown;
  const found = new Map<string, number | MetricRefusal>();
  const refuse = (key: string, value: unknown, reason: string, plain: string | null) =>
    found.set(key, {
      line: null,
      where: 'the metrics file',
      text: quote(`${JSON.stringify(key)}: ${JSON.stringify(value)}`, QUOTE_CHARS),
      reason,
      fix: plainFix('write', (p) => `${JSON.stringify(key)}: ${p}`, plain),
    });
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'number' && key) found.set(key, value);
    else if (typeof value === 'string' && key && looksNumeric(value.trim())) {
      const r = readValue(value.trim());
      if (r.ok) found.set(key, r.value);
      else refuse(key, value, r.reason, r.plain);
    } else if (value === null && key) refuse(key, value, 'is null', null);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, key ? `${key}.${k}` : k);
    }
  };
  walk(data, '');
  return fromOccurrences(found, false);
}

/** `over`'s names replace `base`'s (the metrics file is applied after the output). */
export function mergeMetrics(base: ParsedMetrics, over: ParsedMetrics): ParsedMetrics {
  const found = new Map<string, number | MetricRefusal>([
    ...Object.entries(base.values),
    ...Object.entries(base.refused),
  ]);
  for (const [k, v] of [...Object.entries(over.values), ...Object.entries(over.refused)])
    found.set(k, v);
  return fromOccurrences(found, base.truncated || over.truncated);
}

function fromOccurrences(
  found: Map<string, number | MetricRefusal>,
  truncated: boolean,
): ParsedMetrics {
  const entries = [...found];
  // fromEntries defines own properties: a metric called `__proto__` stays a metric.
  return {
    values: Object.fromEntries(
      entries.filter((e): e is [string, number] => typeof e[1] === 'number'),
    ),
    refused: Object.fromEntries(
      entries.filter((e): e is [string, MetricRefusal] => typeof e[1] !== 'number'),
    ),
    truncated,
  };
}

/** `val_ms has a unit (ms) on line 12 of the output ("val_ms: 12.5ms"); print a plain number: `val_ms: 12.5`` */
export function describeRefusal(name: string, r: MetricRefusal): string {
  return `${name} ${r.reason} on ${r.where} (${JSON.stringify(r.text)}); ${r.fix}`;
}

export type PrimaryCheck = { ok: true; value: number } | { ok: false; reason: string };

/** The primary metric must be a number, otherwise the experiment is a crash whose reason says why. */
export function checkPrimary(metrics: ParsedMetrics, name: string): PrimaryCheck {
  const refused = Object.hasOwn(metrics.refused, name) ? metrics.refused[name] : undefined;
  if (refused) return { ok: false, reason: `metric ${describeRefusal(name, refused)}` };
  if (!Object.hasOwn(metrics.values, name)) {
    const more = metrics.truncated
      ? ` (the output named too many metrics: only the first ${MAX_METRIC_NAMES} names were kept)`
      : '';
    return { ok: false, reason: `metric ${name} not found in the output${more}` };
  }
  const value = metrics.values[name]!;
  if (!Number.isFinite(value))
    return { ok: false, reason: `metric ${name} is not finite (${value})` };
  return { ok: true, value };
}
