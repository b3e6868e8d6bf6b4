/**
 * From an execution result and its log to a measured outcome: pure apart from reading the log
 * and the optional metrics file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionResult } from '../executors/executor.js';
import {
  checkPrimary,
  type MetricRefusal,
  type Metrics,
  mergeMetrics,
  parseMetricOutput,
  parseMetricsJson,
} from '../metrics/parse.js';

/** `refused`: the names whose last occurrence was not a plain number (constraints need them). */
export type MeasuredOutcome =
  | { kind: 'measured'; value: number; metrics: Metrics; refused: Record<string, MetricRefusal> }
  | {
      kind: 'crash' | 'timeout';
      reason: string;
      metrics: Metrics;
      refused: Record<string, MetricRefusal>;
    }
  | { kind: 'aborted' };

export function tailLines(text: string, lines: number, maxChars = 4000): string {
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail.length > maxChars ? tail.slice(-maxChars) : tail;
}

export function readLogTail(logPath: string | null, lines = 20): string {
  if (!logPath || !existsSync(logPath)) return '';
  return tailLines(readFileSync(logPath, 'utf8'), lines);
}

/** `requirePrimary: false` when a separate `eval` command produces the metric. */
export function measureOutcome(
  result: ExecutionResult,
  logPath: string,
  metric: string | readonly string[],
  metricsFile: string | undefined,
  cwd: string,
  requirePrimary = true,
): MeasuredOutcome {
  if (result.aborted) return { kind: 'aborted' };
  const output = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
  // The executor read the whole stream; the log holds only its head and tail.
  let parsed = result.metrics ?? parseMetricOutput(output);
  let fileProblem: string | null = null;
  if (metricsFile) {
    const path = join(cwd, metricsFile);
    if (existsSync(path)) {
      try {
        parsed = mergeMetrics(parsed, parseMetricsJson(readFileSync(path, 'utf8')));
      } catch (e) {
        fileProblem = `metrics file ${metricsFile} is not valid JSON: ${(e as Error).message}`;
      }
    } else fileProblem = `metrics file ${metricsFile} was not written`;
  }
  const metrics = parsed.values;
  const refused = parsed.refused;
  const tail = tailLines(output, 15);
  const withTail = (reason: string) =>
    tail ? `${reason}\n--- last lines of the log ---\n${tail}` : reason;
  if (result.timedOut)
    return {
      kind: 'timeout',
      reason: withTail(`killed at the hard timeout after ${result.wallSeconds.toFixed(1)}s`),
      metrics,
      refused,
    };
  if (result.exitCode !== 0) {
    const how =
      result.exitCode === null ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
    return { kind: 'crash', reason: withTail(`the run failed (${how})`), metrics, refused };
  }
  if (!requirePrimary) return { kind: 'measured', value: NaN, metrics, refused };
  // Pareto mode names every metric of the front: each run must print them all.
  const names = typeof metric === 'string' ? [metric] : metric;
  let value = NaN;
  for (const name of names) {
    const check = checkPrimary(parsed, name);
    const missing = !Object.hasOwn(metrics, name) && !Object.hasOwn(refused, name);
    if (!check.ok)
      return {
        kind: 'crash',
        reason: withTail(fileProblem && missing ? `${check.reason}; ${fileProblem}` : check.reason),
        metrics,
        refused,
      };
    if (name === names[0]) value = check.value;
  }
  return { kind: 'measured', value, metrics, refused };
}
