/**
 * The research Brief: a fresh, bounded context for every proposal, built by this one module so
 * every agent sees the same thing. Pure: data in, data and Markdown out.
 */
import type { ExperimentRow, ExperimentStatus, Goal } from '../ledger/types.js';

export interface BriefHistoryItem {
  id: number;
  status: ExperimentStatus;
  value: number | null;
  /** Value minus the incumbent value at the time it was judged (null when not measured). */
  delta: number | null;
  title: string;
}

export interface BriefFailure {
  id: number;
  status: ExperimentStatus;
  title: string;
  reason: string;
  logTail?: string;
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
  history: BriefHistoryItem[];
  /** Older experiments not listed one by one, summarized as counts. */
  olderSummary: Partial<Record<ExperimentStatus, number>>;
  failures: BriefFailure[];
  /** Ideas tried more than once (same title once numbers are masked), with how each try ended. */
  repeated: Array<{ idea: string; tries: Array<{ id: number; status: ExperimentStatus }> }>;
  /** What other slots are trying right now (parallel runs), to avoid duplicates. */
  inFlight: Array<{ id: number; slot: number; title: string }>;
  notes: string[];
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
  /** The drift watch's sentence while the machine drifts (loop/drift-watch.ts): results near it are less certain. */
  drift?: string;
  maxHistory?: number;
  maxFailures?: number;
}

export function buildBrief(input: BriefInput): Brief {
  const maxHistory = input.maxHistory ?? 30;
  const maxFailures = input.maxFailures ?? 3;
  const done = input.experiments.filter((e) => e.state === 'recorded' && e.id > 0 && e.status !== 'interrupted');
  const recent = done.slice(-maxHistory);
  const older = done.slice(0, done.length - recent.length);
  const olderSummary: Brief['olderSummary'] = {};
  for (const e of older) olderSummary[e.status!] = (olderSummary[e.status!] ?? 0) + 1;
  const history = recent.map((e) => ({
    id: e.id,
    status: e.status!,
    value: e.primary_value,
    delta: e.primary_value !== null && e.incumbent_value !== null ? e.primary_value - e.incumbent_value : null,
    title: e.title ?? '(untitled)',
  }));
  const failures = done
    .filter((e) => e.status === 'crash' || e.status === 'timeout' || e.status === 'invalid' || e.status === 'failed')
    .slice(-maxFailures)
    .map((e) => ({ id: e.id, status: e.status!, title: e.title ?? '(untitled)', reason: e.reason ?? '', logTail: input.logTails?.[e.id] }));
  return {
    experimentId: input.experimentId,
    objective: input.objective,
    directions: input.directions.trim(),
    incumbent: input.incumbent,
    baseline: { value: input.baselineValue },
    history,
    olderSummary,
    failures,
    repeated: repeatedIdeas(done),
    inFlight: input.experiments
      .filter((e) => e.state !== 'recorded' && e.id !== input.experimentId && e.id > 0 && e.title)
      .map((e) => ({ id: e.id, slot: e.slot, title: e.title! })),
    notes: input.notes ?? [],
  };
}

/** The shape of an idea: its title with numbers masked, so "LR 0.04 -> 0.02" and "LR 0.04 -> 0.01" match. */
export function ideaKey(title: string): string {
  return title.toLowerCase().replace(/[-+]?\d+(\.\d+)?(e[-+]?\d+)?/g, '#').replace(/\s+/g, ' ').trim();
}

function repeatedIdeas(done: ExperimentRow[]): Brief['repeated'] {
  const groups = new Map<string, { idea: string; tries: Array<{ id: number; status: ExperimentStatus }> }>();
  for (const e of done) {
    if (!e.title) continue;
    const key = ideaKey(e.title);
    const g = groups.get(key) ?? { idea: e.title, tries: [] };
    g.tries.push({ id: e.id, status: e.status! });
    groups.set(key, g);
  }
  return [...groups.values()].filter((g) => g.tries.length > 1).sort((a, b) => b.tries.length - a.tries.length).slice(0, 10);
}

const fmt = (v: number | null) => (v === null ? '—' : Number(v.toPrecision(7)).toString());
const fmtDelta = (v: number | null) => (v === null ? '' : `${v > 0 ? '+' : ''}${Number(v.toPrecision(4))}`);

/** About four characters per token for English and code: enough to keep a brief under a budget. */
export const CHARS_PER_TOKEN = 4;

/**
 * Renders the brief within `maxTokens` (approximately). It degrades in steps that keep it
 * readable: older history rows are folded into the counts, log tails get shorter, then the
 * directions are cut at a line boundary with a note. Nothing is cut mid-line.
 */
export function renderBriefWithin(brief: Brief, maxTokens: number): string {
  const limit = maxTokens * CHARS_PER_TOKEN;
  let b = brief;
  let text = renderBrief(b);
  while (text.length > limit && b.history.length > 5) {
    const drop = Math.max(1, Math.floor(b.history.length / 4));
    const olderSummary = { ...b.olderSummary };
    for (const h of b.history.slice(0, drop)) olderSummary[h.status] = (olderSummary[h.status] ?? 0) + 1;
    b = { ...b, history: b.history.slice(drop), olderSummary };
    text = renderBrief(b);
  }
  for (const lines of [8, 3, 0]) {
    if (text.length <= limit) break;
    b = { ...b, failures: b.failures.map((f) => ({ ...f, logTail: f.logTail ? f.logTail.split('\n').slice(-lines).join('\n') || undefined : undefined })) };
    text = renderBrief(b);
  }
  if (text.length > limit) {
    const over = text.length - limit;
    const kept: string[] = [];
    let size = 0;
    const budget = Math.max(0, b.directions.length - over - 200);
    for (const line of b.directions.split('\n')) {
      if (size + line.length + 1 > budget) break;
      kept.push(line);
      size += line.length + 1;
    }
    b = { ...b, directions: `${kept.join('\n')}\n\n(the rest of program.md is left out to keep this brief under ${maxTokens} tokens)` };
    text = renderBrief(b);
  }
  return text;
}

export function renderBrief(brief: Brief): string {
  const o = brief.objective;
  const lines: string[] = [];
  lines.push(`# Research brief for experiment ${brief.experimentId}`, '');
  lines.push('## Objective', '');
  lines.push(`- ${o.goal === 'minimize' ? 'Lower' : 'Raise'} the metric \`${o.metric}\` (goal: ${o.goal}).`);
  lines.push(`- Each experiment runs \`${o.run}\` with a fixed budget of ${o.budgetSeconds}s (AUTORESEARCH_TIME_BUDGET).`);
  lines.push(`- You may change only: ${o.editable.join(', ')}.`);
  if (o.protected.length > 0) lines.push(`- Never change: ${o.protected.join(', ')} (a change makes the experiment invalid).`);
  lines.push('- Make one focused change, then stop. The harness runs, measures and decides; do not run the experiment yourself.', '');
  lines.push('## Incumbent (best so far)', '');
  lines.push(`- ${o.metric} = ${fmt(brief.incumbent.value)} at experiment ${brief.incumbent.experimentId} (${brief.incumbent.commit.slice(0, 10)}): ${brief.incumbent.title}`);
  if (brief.incumbent.noise != null) lines.push(`- measurement noise (standard deviation of repeated runs): ${fmt(brief.incumbent.noise)}`);
  lines.push(`- baseline: ${fmt(brief.baseline.value)}`);
  if (brief.incumbent.changes && brief.incumbent.changes.length > 0) {
    lines.push('- kept changes since the baseline, oldest first:', ...brief.incumbent.changes.map((c) => `  - ${c}`));
  }
  lines.push('');
  if (brief.notes.length > 0) {
    lines.push('## Steering notes from the human', '', ...brief.notes.map((n) => `- ${n}`), '');
  }
  if (brief.inFlight.length > 0) {
    lines.push('## Being tried right now in other slots (do not duplicate)', '', ...brief.inFlight.map((e) => `- ${e.id} (slot ${e.slot}): ${e.title}`), '');
  }
  lines.push('## History', '');
  const older = Object.entries(brief.olderSummary);
  if (older.length > 0) lines.push(`Earlier: ${older.map(([s, n]) => `${n} ${s}`).join(', ')}.`, '');
  if (brief.history.length === 0) lines.push('No experiments yet besides the baseline.');
  else {
    lines.push('| id | status | value | delta | change |', '|---|---|---|---|---|');
    for (const h of brief.history) lines.push(`| ${h.id} | ${h.status} | ${fmt(h.value)} | ${fmtDelta(h.delta)} | ${h.title.replace(/\|/g, '\\|')} |`);
  }
  lines.push('');
  if (brief.repeated.length > 0) {
    lines.push('## Ideas already tried more than once', '');
    for (const r of brief.repeated) lines.push(`- ${r.idea} (or the same with other numbers): ${r.tries.map((t) => `${t.id} ${t.status}`).join(', ')}`);
    lines.push('');
  }
  if (brief.failures.length > 0) {
    lines.push('## Recent failures', '');
    for (const f of brief.failures) {
      lines.push(`### ${f.id} ${f.status}: ${f.title}`, '', f.reason);
      if (f.logTail) lines.push('', '```', f.logTail.trimEnd(), '```');
      lines.push('');
    }
  }
  lines.push('## Research directions (program.md)', '', brief.directions || '(none given)', '');
  return lines.join('\n');
}
