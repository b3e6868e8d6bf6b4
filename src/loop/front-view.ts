/**
 * The Pareto front as readers see it (report, status, apply, the dashboard, the brief): pure
 * functions of the run's stored configuration, its experiment rows and their runs.
 */
import type { ExperimentRow, Goal, MeasurementRow, RunRow } from '../ledger/types.js';
import type { FrontPoint } from '../policy/pareto.js';

export interface ParetoMetric {
  name: string;
  goal: Goal;
}

/** A member of the front, with each metric's mean over its runs. */
export interface FrontMember {
  id: number;
  title: string;
  commit: string;
  values: Record<string, number>;
}

/** A member of the front: kept, and not dominated by a later keep since. */
export const onFront = (e: Pick<ExperimentRow, 'status' | 'left_front_by'>): boolean =>
  e.status === 'keep' && e.left_front_by === null;

/** The run's Pareto metrics (`metric:` a list) from its stored configuration; null in the scalar mode. */
export function paretoMetrics(run: Pick<RunRow, 'config_json'>): ParetoMetric[] | null {
  try {
    const c = JSON.parse(run.config_json) as { pareto?: ParetoMetric[] | null };
    return Array.isArray(c.pareto) && c.pareto.length > 1 ? c.pareto : null;
  } catch {
    return null;
  }
}

/** One metric's value in a run: the primary is the run's value, the others are in its metrics. */
export function metricOf(run: MeasurementRow, name: string, primary: string): number | null {
  if (name === primary) return run.value;
  const v = (JSON.parse(run.metrics_json ?? '{}') as Record<string, unknown>)[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** An experiment's point: each metric's mean over `runs` (its commit's). Null without runs. */
export function frontPoint(
  metrics: ParetoMetric[],
  id: number,
  runs: MeasurementRow[],
): FrontPoint | null {
  const means: Record<string, number> = {};
  for (const o of metrics) {
    const vs = runs.map((r) => metricOf(r, o.name, metrics[0]!.name)).filter((v) => v !== null);
    if (vs.length === 0) return null;
    means[o.name] = vs.reduce((a, b) => a + b, 0) / vs.length;
  }
  return { id, means, n: runs.length };
}

/** The runs of an experiment's own commit, from all of its runs. */
export const ownRuns = (e: ExperimentRow, runs: MeasurementRow[]): MeasurementRow[] =>
  runs.filter((m) => m.value !== null && m.commit_sha === e.candidate_commit);

/** The front's members, oldest first, each with its means (`runsOf`: an experiment's runs). */
export function frontMembers(
  metrics: ParetoMetric[],
  rows: ExperimentRow[],
  runsOf: (id: number) => MeasurementRow[],
): FrontMember[] {
  return rows.filter(onFront).flatMap((e) => {
    const p = e.candidate_commit ? frontPoint(metrics, e.id, ownRuns(e, runsOf(e.id))) : null;
    return p
      ? [
          {
            id: e.id,
            title: e.title ?? (e.id === 0 ? 'baseline' : ''),
            commit: e.candidate_commit!,
            values: p.means,
          },
        ]
      : [];
  });
}

const fmt = (v: number | undefined) =>
  v === undefined ? '—' : Number(v.toPrecision(6)).toString();

/** `#4 (ms 7.011, heap 11.02): title`, for messages. */
export function describeMember(
  metrics: Array<Pick<ParetoMetric, 'name'>>,
  m: Pick<FrontMember, 'id' | 'title' | 'values'>,
): string {
  return `#${m.id} (${metrics.map((o) => `${o.name} ${fmt(m.values[o.name])}`).join(', ')})${m.title ? `: ${m.title}` : ''}`;
}

/**
 * The dashboard's scatter: every judged experiment with a point (faint), the members flagged,
 * and which experiment made a former member leave.
 */
export function frontScatter(
  metrics: ParetoMetric[],
  rows: ExperimentRow[],
  runsOf: (id: number) => MeasurementRow[],
) {
  return {
    metrics,
    points: rows.flatMap((e) => {
      if ((e.status !== 'keep' && e.status !== 'discard') || !e.candidate_commit) return [];
      const p = frontPoint(metrics, e.id, ownRuns(e, runsOf(e.id)));
      if (!p) return [];
      const member = onFront(e);
      return [
        {
          id: e.id,
          title: e.title,
          status: e.status,
          member,
          leftBy: e.left_front_by,
          values: p.means,
        },
      ];
    }),
  };
}
