/** Constraints on secondary metrics (`memory_gb <= 60`): pure parsing and checking. */
import { describeRefusal, type MetricRefusal, type Metrics } from '../metrics/parse.js';
import { CONSTRAINT_PATTERN } from '../program/schema.js';

export interface Constraint {
  metric: string;
  op: '<=' | '<' | '>=' | '>' | '==' | '!=';
  bound: number;
  text: string;
}

export function parseConstraint(text: string): Constraint {
  const m = CONSTRAINT_PATTERN.exec(text);
  if (!m) throw new Error(`not a constraint: ${text}`);
  return { metric: m[1]!, op: m[2] as Constraint['op'], bound: Number(m[3]), text: text.trim() };
}

function holds(value: number, op: Constraint['op'], bound: number): boolean {
  switch (op) {
    case '<=':
      return value <= bound;
    case '<':
      return value < bound;
    case '>=':
      return value >= bound;
    case '>':
      return value > bound;
    case '==':
      return value === bound;
    case '!=':
      return value !== bound;
  }
}

/**
 * The first violated constraint, as a reason; null when all hold. A missing metric is a
 * violation, and so is one whose last print was refused (`refused`: the line is quoted).
 */
export function violatedConstraint(
  constraints: Constraint[],
  metrics: Metrics,
  refused: Record<string, MetricRefusal> = {},
): string | null {
  for (const c of constraints) {
    const refusal = Object.hasOwn(refused, c.metric) ? refused[c.metric] : undefined;
    if (refusal)
      return `constraint ${c.text} cannot be checked: ${describeRefusal(c.metric, refusal)}`;
    const value = Object.hasOwn(metrics, c.metric) ? metrics[c.metric] : undefined;
    if (value === undefined || Number.isNaN(value))
      return `constraint ${c.text} cannot be checked: ${c.metric} was not reported`;
    if (!holds(value, c.op, c.bound))
      return `violates constraint ${c.text} (${c.metric} = ${Number(value.toPrecision(6))})`;
  }
  return null;
}

/** Numbers the harness measured itself, available to constraints unless the experiment printed its own. */
export function withHarnessMetrics(
  metrics: Metrics,
  peakMemoryBytes: number | null,
  wallSeconds: number,
): Metrics {
  const out = { ...metrics };
  if (out.memory_gb === undefined && peakMemoryBytes !== null)
    out.memory_gb = peakMemoryBytes / 1024 ** 3;
  if (out.wall_seconds === undefined) out.wall_seconds = wallSeconds;
  return out;
}
