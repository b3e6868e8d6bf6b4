/**
 * The research Brief: a fresh, bounded context for every proposal, built by this one module so
 * every agent sees the same thing. Pure: data in, data and Markdown out (brief-render.ts).
 * It says why: each history row carries the decision's reason and n, the keep bar is stated,
 * close calls get advice, and instructions the harness carries out are named as its job.
 */
import type { ExperimentRow, ExperimentStatus, Goal } from '../ledger/types.js';
import type { KeepBar } from '../policy/keep-bar.js';
import { decisionStats, historyReason, nearMiss, type NearMiss } from './brief-reasons.js';
import { harnessDuties, type HarnessDuty } from './harness-duties.js';
import {
  briefLessons,
  briefRepeats,
  type BriefLesson,
  type BriefPlateau,
  type BriefRepeat,
} from './brief-memory.js';
import { groupIdeas, sketchOf } from './novelty.js';
import type { BriefParent } from './brief-parent.js';

export { renderBrief, renderBriefWithin } from './brief-render.js';

export interface BriefHistoryItem {
  id: number;
  status: ExperimentStatus;
  value: number | null;
  /** Runs behind `value` (its mean); null when not measured. */
  n: number | null;
  /** The value includes runs measured after its decision (the incumbent re-measured, a rerun). */
  remeasured: boolean;
  /**
   * The difference the decision compared (candidate minus incumbent, penalty included), else
   * value minus the incumbent value at the time it was judged; null when not measured.
   */
  delta: number | null;
  /** Why it ended so, in a few words (brief-reasons.ts). */
  reason: string;
  /** The program's `brief_metrics:` of this experiment (null: not printed). */
  metrics: Record<string, number | null>;
  title: string;
}

export interface BriefFailure {
  id: number;
  status: ExperimentStatus;
  title: string;
  /** The first line of the recorded reason. */
  reason: string;
  /** The rest of the reason (e.g. the failing part of the checks' output), when there is no log tail. */
  detail?: string;
  logTail?: string;
}

/** Pareto mode: the front's metrics and its members, oldest first. */
export interface BriefFront {
  metrics: Array<{ name: string; goal: Goal }>;
  members: Array<{ id: number; title: string; values: Record<string, number> }>;
}

export interface Brief {
  experimentId: number;
  objective: {
    metric: string;
    goal: Goal;
    budgetSeconds: number;
    run: string;
    editable: string[];
    protected: string[];
  };
  /** The human's research directions: the Markdown body of program.md. */
  directions: string;
  incumbent: {
    commit: string;
    value: number | null;
    experimentId: number;
    title: string;
    /** The run's measurement noise (standard deviation), when measured. */
    noise?: number | null;
    /** The kept changes that lead from the baseline to the incumbent, oldest first. */
    changes?: string[];
  };
  baseline: { value: number | null };
  /** The gain a change needs to be kept with the noise of this moment (null: not known yet). */
  keepBar: KeepBar | null;
  /** One sentence when the machine's measurements drift. */
  drift?: string;
  /** Pareto mode: the front the candidate must not be covered by. */
  front?: BriefFront;
  /** The secondary metrics shown per history row (program's `brief_metrics:`). */
  metricColumns: string[];
  history: BriefHistoryItem[];
  /** Older experiments not listed one by one, summarized as counts. */
  olderSummary: Partial<Record<ExperimentStatus, number>>;
  /** Recent discards that were better but narrowly not significant. */
  nearMisses: NearMiss[];
  failures: BriefFailure[];
  /**
   * Ideas tried more than once, with how each try ended: the same title once numbers are masked,
   * or the same change (normalized diffs alike, program/novelty.ts).
   */
  repeated: Array<{ idea: string; tries: Array<{ id: number; status: ExperimentStatus }> }>;
  /** What other slots are trying right now (parallel runs), to avoid duplicates. */
  inFlight: Array<{ id: number; slot: number; title: string }>;
  notes: string[];
  /** What the agents said they learned, newest last (bounded: brief-memory.ts). */
  lessons: BriefLesson[];
  /** Recent candidates the harness flagged as repeats of a discarded idea before they ran. */
  repeats: BriefRepeat[];
  /** Set when `plateau_after` or more experiments in a row were not kept. */
  plateau?: BriefPlateau;
  /** The experiment the worktree holds, when it is not the incumbent (search strategies). */
  parent?: BriefParent;
  /** What program.md asks the agent to do that the harness does (commit, run, loop...). */
  harnessDuties: HarnessDuty[];
}

export interface BriefInput {
  experimentId: number;
  objective: Brief['objective'];
  directions: string;
  incumbent: Brief['incumbent'];
  baselineValue: number | null;
  experiments: ExperimentRow[];
  /** Log tails of recent failures, by experiment id. */
  logTails?: Record<number, string>;
  notes?: string[];
  maxHistory?: number;
  maxFailures?: number;
  /** The program's `brief_metrics:`: secondary metrics shown as columns of the history. */
  briefMetrics?: string[];
  /** Experiments whose value includes runs measured after their decision. */
  remeasured?: number[];
  /** The keep bar of this moment (policy/keep-bar.ts currentKeepBar). */
  keepBar?: KeepBar | null;
  /** The drift watch's sentence while the machine drifts (loop/drift-watch.ts): results near it are less certain. */
  drift?: string;
  /** Pareto mode: the front of this moment. */
  front?: BriefFront;
  /** The newest lessons from the ledger (Ledger.lessons), oldest first. */
  lessons?: Array<{
    id: number;
    status: ExperimentStatus | null;
    title: string | null;
    lessons: string;
  }>;
  /** The plateau of this moment (program/plateau.ts), when on one. */
  plateau?: BriefPlateau;
  /** The candidate's parent when it is not the incumbent. */
  parent?: BriefParent;
}

export function buildBrief(input: BriefInput): Brief {
  const maxHistory = input.maxHistory ?? 30;
  const maxFailures = input.maxFailures ?? 3;
  const goal = input.objective.goal;
  const done = input.experiments.filter(
    (e) => e.state === 'recorded' && e.id > 0 && e.status !== 'interrupted',
  );
  const recent = done.slice(-maxHistory);
  const older = done.slice(0, done.length - recent.length);
  const olderSummary: Brief['olderSummary'] = {};
  for (const e of older) olderSummary[e.status!] = (olderSummary[e.status!] ?? 0) + 1;
  const metricColumns = (input.briefMetrics ?? []).filter(
    (m, i, all) => m !== input.objective.metric && all.indexOf(m) === i,
  );
  const remeasured = new Set(input.remeasured ?? []);
  const history = recent.map((e) => historyItem(e, goal, metricColumns, remeasured.has(e.id)));
  const failures = done
    .filter(
      (e) =>
        e.status === 'crash' ||
        e.status === 'timeout' ||
        e.status === 'invalid' ||
        e.status === 'failed',
    )
    .slice(-maxFailures)
    .map((e) => failure(e, input.logTails?.[e.id]));
  return {
    experimentId: input.experimentId,
    objective: input.objective,
    directions: input.directions.trim(),
    incumbent: input.incumbent,
    baseline: { value: input.baselineValue },
    keepBar: input.keepBar ?? null,
    ...(input.drift ? { drift: input.drift } : {}),
    ...(input.front ? { front: input.front } : {}),
    metricColumns,
    history,
    olderSummary,
    nearMisses: recent
      .map((e) => nearMiss(e, goal))
      .filter((m): m is NearMiss => m !== null)
      .slice(-3),
    failures,
    repeated: repeatedIdeas(done),
    inFlight: input.experiments
      .filter((e) => e.state !== 'recorded' && e.id !== input.experimentId && e.id > 0 && e.title)
      .map((e) => ({ id: e.id, slot: e.slot, title: e.title! })),
    notes: input.notes ?? [],
    lessons: briefLessons(input.lessons ?? []),
    repeats: briefRepeats(done),
    ...(input.plateau ? { plateau: input.plateau } : {}),
    ...(input.parent ? { parent: input.parent } : {}),
    harnessDuties: harnessDuties(input.directions),
  };
}

function historyItem(
  e: ExperimentRow,
  goal: Goal,
  columns: string[],
  remeasured: boolean,
): BriefHistoryItem {
  const stats = decisionStats(e);
  const judged =
    e.primary_value !== null && e.incumbent_value !== null
      ? e.primary_value - e.incumbent_value
      : null;
  const metrics = parseMetrics(e.metrics_json);
  return {
    id: e.id,
    status: e.status!,
    value: e.primary_value,
    n: e.primary_value === null ? null : e.n_runs,
    remeasured: remeasured && e.primary_value !== null,
    delta: stats && Number.isFinite(stats.diff) ? stats.diff : judged,
    reason: historyReason(e, goal),
    metrics: Object.fromEntries(
      columns.map((m) => [
        m,
        typeof metrics[m] === 'number' && Number.isFinite(metrics[m])
          ? (metrics[m] as number)
          : null,
      ]),
    ),
    title: e.title ?? '(untitled)',
  };
}

function parseMetrics(json: string | null): Record<string, unknown> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * A reason's first line is the headline; what follows a "--- ... ---" line (a log tail, the
 * failing part of the checks' output) is detail, shown only when no log tail says the same.
 */
function failure(e: ExperimentRow, logTail: string | undefined): BriefFailure {
  const [headline = '', ...rest] = (e.reason ?? '').split('\n');
  const detail = rest.join('\n').trim();
  return {
    id: e.id,
    status: e.status!,
    title: e.title ?? '(untitled)',
    reason: headline,
    ...(logTail ? { logTail } : detail ? { detail } : {}),
  };
}

function repeatedIdeas(done: ExperimentRow[]): Brief['repeated'] {
  const tries = done
    .filter((e) => e.title)
    .map((e) => ({
      id: e.id,
      title: e.title!,
      status: e.status!,
      sketch: sketchOf(e.idea_sketch),
    }));
  return groupIdeas(tries)
    .filter((g) => g.length > 1)
    .map((g) => ({ idea: g[0]!.title, tries: g.map((t) => ({ id: t.id, status: t.status })) }))
    .sort((a, b) => b.tries.length - a.tries.length)
    .slice(0, 10);
}
