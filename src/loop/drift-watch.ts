/**
 * The drift watch: at every look of a judgement (so after every re-measure of the incumbent), is
 * the incumbent, the same code measured again and again, still measuring what it did? Its runs,
 * the run's own secondary metrics and the machine samples stored with them go to detectDrift.
 * When drift exceeds the noise the loop says so once (a warning, a `drift` event for webhooks),
 * keeps the sentence on the run (`status`, the dashboard, the brief read it), and stops trusting
 * the incumbent's earlier runs: every candidate is then measured next to a fresh incumbent run.
 */
import type { MeasurementRow } from '../ledger/types.js';
import { detectDrift, type DriftVerdict, type Timed } from '../policy/drift.js';
import { sig2 } from '../policy/noise.js';
import { pairedNoise, scaleOf } from '../policy/paired.js';
import type { Run } from '../policy/policy.js';
import type { RunContext } from './context.js';
import type { MachineSample } from './machine.js';

export interface DriftState {
  drifting: boolean;
  kind: DriftVerdict['kind'];
  /** One line for a person, with the numbers. */
  sentence: string;
  /** The incumbent watched (its experiment), and the experiment during which this was said. */
  incumbent: number;
  experimentId: number;
  at: number;
  /** The latest drift said, kept after it ends (or after the incumbent changed). */
  last?: { sentence: string; incumbent: number; experimentId: number; at: number };
}

/**
 * The incumbent's newest runs looked at. A step stays in them for this many runs and then
 * leaves: a machine that changed speed once and stayed there is steady again, and the
 * incumbent's recent runs can be trusted again.
 */
const DRIFT_WINDOW = 30;
/** A secondary metric drifts beyond this many standard errors (stricter than the primary's 3.5: several are watched). */
const SECONDARY_K = 4.5;
/** Added by the harness, not the run: a fixed-budget run's wall time says nothing of the machine's speed. */
const HARNESS_METRICS = new Set(['wall_seconds', 'memory_gb']);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => `${x > 0 ? '+' : ''}${sig2(100 * x)}%`;

function parse<T>(json: string | null): T | null {
  try {
    return json ? (JSON.parse(json) as T) : null;
  } catch {
    return null;
  }
}

/** The incumbent's runs: those of its commit (a re-based keep that was not re-measured stands on its candidate's). */
function incumbentRuns(ctx: RunContext): MeasurementRow[] {
  const inc = ctx.incumbent;
  const all = ctx.ledger
    .measurementsOf(ctx.run.tag, inc.experimentId)
    .filter((m) => m.value !== null && Number.isFinite(m.value));
  const own = all.filter((m) => m.commit_sha === inc.commit);
  return (own.length > 0 ? own : all).slice(-DRIFT_WINDOW);
}

/** Secondary metrics of the incumbent that drift: "its steps -12% since run 40 (z=-6.1)". */
function secondaryDrifts(
  ctx: RunContext,
  runs: MeasurementRow[],
): Array<{ name: string; verdict: DriftVerdict }> {
  const series = new Map<string, Timed[]>();
  for (const m of runs) {
    const metrics = parse<Record<string, unknown>>(m.metrics_json) ?? {};
    for (const [name, v] of Object.entries(metrics)) {
      if (
        name === ctx.run.metric_name ||
        HARNESS_METRICS.has(name) ||
        typeof v !== 'number' ||
        !Number.isFinite(v)
      )
        continue;
      series.set(name, [...(series.get(name) ?? []), { value: v, at: m.id }]);
    }
  }
  return [...series]
    .map(([name, s]) => ({ name, verdict: detectDrift({ runs: s, k: SECONDARY_K }) }))
    .filter((d) => d.verdict.drifting);
}

/** Steal and memory stall before and after the step, when the runs carry machine samples. */
function machineNote(runs: MeasurementRow[], since: number | null): string {
  if (since === null) return '';
  const samples = runs
    .map((m) => ({ at: m.id, s: parse<MachineSample>(m.machine_json) }))
    .filter((x) => x.s !== null);
  const notes: string[] = [];
  const field = (key: 'steal' | 'memoryPressure', label: string) => {
    const before = samples
      .filter((x) => x.at < since && x.s![key] !== undefined)
      .map((x) => x.s![key]!);
    const after = samples
      .filter((x) => x.at >= since && x.s![key] !== undefined)
      .map((x) => x.s![key]!);
    if (before.length && after.length && (mean(before) > 0 || mean(after) > 0))
      notes.push(`${label} ${sig2(100 * mean(before))}% -> ${sig2(100 * mean(after))}%`);
  };
  field('steal', 'CPU steal');
  field('memoryPressure', 'memory stall');
  return notes.length ? `; ${notes.join(', ')}` : '';
}

const changeOf = (v: DriftVerdict) => {
  const x = v.kind === 'trend' && v.trendSpan ? v.trendSpan.change : v.shift;
  return v.scale === 'log' ? pct(x) : sig2(x);
};
const shapeOf = (v: DriftVerdict) =>
  v.kind === 'trend' && v.trendSpan
    ? `${changeOf(v)} from run ${v.trendSpan.from} to run ${v.trendSpan.to} (z=${sig2(v.trendZ)})`
    : `${changeOf(v)} since run ${v.since} (z=${sig2(v.z)})`;

/** The verdict on the incumbent now, in one sentence; pure but for reading the ledger. */
function driftVerdict(
  ctx: RunContext,
  history: Run[][],
): { drifting: boolean; kind: DriftVerdict['kind']; sentence: string } {
  const runs = incumbentRuns(ctx);
  const values = runs.map((m) => m.value!);
  const scale = scaleOf(values);
  const paired = pairedNoise(history, scale);
  const load = runs.flatMap((m) => {
    const s = parse<MachineSample>(m.machine_json);
    return s && Number.isFinite(s.load) ? [{ value: s.load, at: m.id }] : [];
  });
  const primary = detectDrift({
    runs: runs.map((m) => ({ value: m.value!, at: m.id })),
    noise: paired ? { sigma: paired.sigma / Math.SQRT2, df: paired.df } : null,
    load,
  });
  const secondary = secondaryDrifts(ctx, runs);
  const also = secondary.map((d) => `${d.name} ${shapeOf(d.verdict)}`);
  if (primary.drifting) {
    return {
      drifting: true,
      kind: primary.kind,
      sentence:
        primary.sentence +
        machineNote(runs, primary.since) +
        (also.length ? `; also its ${also.join(', ')}` : ''),
    };
  }
  if (secondary.length > 0) {
    const first = secondary[0]!.verdict;
    return {
      drifting: true,
      kind: first.kind,
      sentence: `drift: the incumbent's ${also.join(', ')}, while its ${ctx.run.metric_name} stays within the noise; the machine's speed may have changed${machineNote(runs, first.since)}`,
    };
  }
  return { drifting: false, kind: primary.kind, sentence: primary.sentence };
}

/** The drift state the run stored (status, dashboard and brief read it; a resumed run starts from it). */
export function storedDrift(json: string | null): DriftState | undefined {
  return parse<DriftState>(json) ?? undefined;
}

/**
 * Looks at the incumbent during experiment `duringId`; says so when drift starts (a warning and
 * a `drift` event) and when it is over, and stores the state on the run. Null for a
 * deterministic metric: what does not vary cannot drift.
 */
export function watchDrift(ctx: RunContext, duringId: number, history: Run[][]): DriftState | null {
  if (ctx.program.config.metric.deterministic) return null;
  const v = driftVerdict(ctx, history);
  const prev = ctx.drift;
  const inc = ctx.incumbent.experimentId;
  const now = Date.now();
  const state: DriftState = { ...v, incumbent: inc, experimentId: duringId, at: now };
  if (v.drifting)
    state.last = { sentence: v.sentence, incumbent: inc, experimentId: duringId, at: now };
  else if (prev?.last) state.last = prev.last;
  ctx.drift = state;
  ctx.ledger.updateRun(ctx.run.tag, { drift_json: JSON.stringify(state) });
  const wasDrifting = prev?.drifting === true && prev.incumbent === inc;
  if (v.drifting && !wasDrifting) {
    ctx.emit({
      type: 'note',
      level: 'warn',
      text: `experiment ${duringId}: ${v.sentence}; until it ends, every candidate is measured next to a fresh run of the incumbent`,
    });
    ctx.emit({
      type: 'drift',
      drifting: true,
      text: v.sentence,
      experimentId: duringId,
      incumbent: inc,
    });
  } else if (!v.drifting && wasDrifting && v.kind === 'none') {
    ctx.emit({
      type: 'note',
      level: 'info',
      text: `experiment ${duringId}: drift over: ${v.sentence}`,
    });
    ctx.emit({
      type: 'drift',
      drifting: false,
      text: v.sentence,
      experimentId: duringId,
      incumbent: inc,
    });
  }
  return state;
}
