/** A run's summary, computed from ledger rows alone (used by `run`, `status` and reports). */
import type { ExperimentRow, ExperimentStatus, Goal, RunRow } from '../ledger/types.js';

export interface RunSummary {
  tag: string;
  branch: string;
  state: RunRow['state'];
  stopReason: string | null;
  metric: string;
  goal: Goal;
  baseline: number | null;
  best: number | null;
  bestCommit: string | null;
  bestExperiment: number | null;
  bestTitle: string | null;
  /** Improvement of best over baseline in percent, positive when better for the goal. */
  improvementPct: number | null;
  candidates: number;
  counts: Partial<Record<ExperimentStatus, number>>;
  inFlight: ExperimentRow[];
  lastRecorded: ExperimentRow | null;
}

export function improvementPercent(
  goal: Goal,
  baseline: number | null,
  best: number | null,
): number | null {
  if (baseline === null || best === null || baseline === 0) return null;
  const change = ((best - baseline) / Math.abs(baseline)) * 100;
  return goal === 'minimize' ? -change : change;
}

/** The incumbent is the head of the run branch; the caller passes that commit. */
export function summarize(
  run: RunRow,
  rows: ExperimentRow[],
  branchHead: string | null,
): RunSummary {
  const baselineRow = rows.find((r) => r.id === 0 && r.status === 'keep');
  const kept = rows.filter((r) => r.status === 'keep' && r.state === 'recorded');
  const bestRow =
    (branchHead ? kept.find((r) => r.candidate_commit === branchHead) : undefined) ??
    kept.at(-1) ??
    null;
  const counts: RunSummary['counts'] = {};
  let candidates = 0;
  let lastRecorded: ExperimentRow | null = null;
  for (const r of rows) {
    if (r.state !== 'recorded') continue;
    if (!lastRecorded || (r.recorded_at ?? 0) >= (lastRecorded.recorded_at ?? 0)) lastRecorded = r;
    if (r.id === 0) continue;
    counts[r.status!] = (counts[r.status!] ?? 0) + 1;
    if (r.status !== 'interrupted') candidates++;
  }
  const baseline = baselineRow?.primary_value ?? null;
  const best = bestRow?.primary_value ?? null;
  return {
    tag: run.tag,
    branch: run.branch,
    state: run.state,
    stopReason: run.stop_reason,
    metric: run.metric_name,
    goal: run.goal,
    baseline,
    best,
    bestCommit: bestRow?.candidate_commit ?? null,
    bestExperiment: bestRow?.id ?? null,
    bestTitle: bestRow?.title ?? null,
    improvementPct: improvementPercent(run.goal, baseline, best),
    candidates,
    counts,
    inFlight: rows.filter((r) => r.state !== 'recorded'),
    lastRecorded,
  };
}

/**
 * The running best at each recorded experiment, as the progress chart draws it: the current value
 * of the incumbent the experiment was judged against (a keep: its own). Current means the mean of
 * all its runs, so the line moves when the incumbent is measured again; it is not a running
 * minimum of old values, which would leave the line at a value no incumbent has any more and a
 * discard drawn beyond the best it lost to. Rows with no incumbent recorded (a crash before the
 * judgement) take the keep decided last before them.
 */
export function incumbentValues(rows: ExperimentRow[]): Map<number, number | null> {
  const recorded = rows.filter((r) => r.state === 'recorded');
  const keeps = recorded
    .filter((r) => r.status === 'keep' && r.primary_value !== null && r.candidate_commit)
    .sort((a, b) => (a.recorded_at ?? 0) - (b.recorded_at ?? 0) || a.id - b.id);
  const byCommit = new Map(keeps.map((k) => [k.candidate_commit!, k]));
  const out = new Map<number, number | null>();
  for (const r of recorded) {
    if (r.status === 'keep' && r.primary_value !== null) {
      out.set(r.id, r.primary_value);
      continue;
    }
    const judgedAgainst = r.incumbent_commit ? byCommit.get(r.incumbent_commit) : undefined;
    const before = keeps.filter((k) => (k.recorded_at ?? 0) <= (r.recorded_at ?? 0)).at(-1);
    out.set(r.id, (judgedAgainst ?? before)?.primary_value ?? null);
  }
  return out;
}

/**
 * Spend so far and projected for the rest of the run: the average cost of a proposal times the
 * experiments left, or the cost per hour times the hours left; null when nothing bounds the run.
 */
export function projectSpend(
  spentUsd: number,
  proposals: number,
  elapsedHours: number,
  left: { experiments?: number; hours?: number },
): number | null {
  if (proposals === 0) return null;
  const byExperiments =
    left.experiments !== undefined ? (spentUsd / proposals) * left.experiments : null;
  const byHours =
    left.hours !== undefined && elapsedHours > 0 ? (spentUsd / elapsedHours) * left.hours : null;
  if (byExperiments === null) return byHours;
  return byHours === null ? byExperiments : Math.min(byExperiments, byHours);
}

/** How the run's last start sealed agents and experiments (null: a ledger from before the sandbox). */
export function sandboxOf(run: RunRow): { sealed: boolean; text: string } | null {
  if (!run.sandbox_json) return null;
  try {
    return JSON.parse(run.sandbox_json) as { sealed: boolean; text: string };
  } catch {
    return null;
  }
}
