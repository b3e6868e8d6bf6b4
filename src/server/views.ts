/** The dashboard's JSON shapes: pure functions from ledger rows to what the page shows. */
import type { ExperimentRow, RunRow } from '../ledger/types.js';
import { improvementPercent, projectSpend, sandboxOf, summarize } from '../loop/summary.js';
import { storedDrift } from '../loop/drift-watch.js';
import { experimentTree } from '../search/tree.js';
import { parseJson } from './files.js';
import { paretoMetrics } from '../loop/front-view.js';

/** The drift watch's state for the header: drifting or not, and the sentence to show. */
function driftView(
  run: RunRow,
): { drifting: boolean; sentence: string; last: string | null } | null {
  const d = storedDrift(run.drift_json);
  return d ? { drifting: d.drifting, sentence: d.sentence, last: d.last?.sentence ?? null } : null;
}

interface RunConfig {
  budget?: number;
  parents?: { strategy?: string };
  stop?: { experiments?: number; hours?: number };
}

export function experimentJson(r: ExperimentRow) {
  return {
    id: r.id,
    status: r.status,
    state: r.state,
    value: r.primary_value,
    n_runs: r.n_runs,
    spread: r.spread,
    holdout_value: r.holdout_value,
    title: r.title,
    reason: r.reason,
    proposed_at: r.proposed_at,
    started_at: r.started_at,
    recorded_at: r.recorded_at,
    tokens:
      r.input_tokens === null && r.output_tokens === null
        ? null
        : (r.input_tokens ?? 0) + (r.output_tokens ?? 0),
    cost: r.cost_usd,
    /** `parents: islands`: the island it was proposed on. */
    island: r.island,
  };
}

/**
 * Every experiment with the one it was built on (search/tree.ts: the experiment whose commit is
 * its `parent_commit`, else the baseline #0; null for the baseline) and, for the chart, `best`.
 */
export function experimentsJson(rows: ExperimentRow[], best: Map<number, number | null>) {
  const parents = new Map(experimentTree(rows).map((n) => [n.id, n.parent]));
  return rows.map((r) => ({
    ...experimentJson(r),
    parent: parents.get(r.id) ?? null,
    best: best.get(r.id) ?? null,
  }));
}

/** A run's header: state, best, rate, time and experiments left, spend, what is in flight, noise, drift. */
export function runView(
  run: RunRow,
  rows: ExperimentRow[],
  head: string | null,
  { state, pid }: { state: string; pid: number | null },
  spend: { usd: number; tokens: number; proposals: number },
  now: number,
) {
  const s = summarize(run, rows, head);
  const config = (parseJson(run.config_json) ?? {}) as RunConfig;
  const end =
    state === 'running' || state === 'paused'
      ? now
      : Math.max(run.updated_at, ...rows.map((r) => r.recorded_at ?? 0));
  const elapsedMs = Math.max(0, end - run.created_at);
  const hours = elapsedMs / 3_600_000;
  const left: { experiments?: number; hours?: number } = {};
  if (config.stop?.experiments !== undefined)
    left.experiments = Math.max(0, config.stop.experiments - s.candidates);
  if (config.stop?.hours !== undefined) left.hours = Math.max(0, config.stop.hours - hours);
  const spreads = rows
    .filter((r) => (r.n_runs ?? 0) >= 2 && r.spread !== null)
    .map((r) => r.spread!)
    .sort((a, b) => a - b);
  return {
    tag: run.tag,
    branch: run.branch,
    state,
    ledgerState: run.state,
    stopReason: run.stop_reason,
    pid,
    metric: run.metric_name,
    goal: run.goal,
    /** `parents:` of the run (greedy when the program predates it): the page draws the tree for the others. */
    strategy: config.parents?.strategy ?? 'greedy',
    /** Pareto mode: the front's metrics (the page draws the front); null in the scalar mode. */
    pareto: paretoMetrics(run),
    baseline: s.baseline,
    best: s.best,
    bestExperiment: s.bestExperiment,
    bestTitle: s.bestTitle,
    improvementPct: improvementPercent(run.goal, s.baseline, s.best),
    candidates: s.candidates,
    counts: s.counts,
    experimentsPerHour: hours > 0 ? s.candidates / hours : null,
    createdAt: run.created_at,
    elapsedSeconds: elapsedMs / 1000,
    left: {
      experiments: left.experiments ?? null,
      seconds: left.hours !== undefined ? left.hours * 3600 : null,
    },
    spend: {
      usd: spend.usd,
      tokens: spend.tokens,
      projectedUsd: projectSpend(spend.usd, spend.proposals, hours, left),
    },
    budgetSeconds: config.budget ?? null,
    inFlight: s.inFlight.map((r) => ({
      id: r.id,
      state: r.state,
      title: r.title,
      proposed_at: r.proposed_at,
      started_at: r.started_at,
      budgetSeconds: config.budget ?? null,
    })),
    noise: spreads.length ? spreads[Math.floor(spreads.length / 2)] : null,
    sandbox: sandboxOf(run),
    drift: driftView(run),
    now,
  };
}
