/**
 * Live progress for `autoresearch run`: on a terminal, a status line redrawn in place (experiment
 * n of N, what each slot is doing and for how long: proposing, checks, a run with its bar, eval,
 * holdout; the running experiment's title, best so far, last decision) under a log of decisions;
 * when output is not a terminal, one plain line per event.
 */
import type { Goal } from '../ledger/types.js';
import type { LoopEvent, Phase } from '../loop/events.js';
import { improvementPercent } from '../loop/summary.js';
import { formatDuration } from '../program/duration.js';
import { count } from '../util/words.js';
import { bar, experimentLine, fmtPct, fmtValue } from './format.js';

/** What one experiment is doing on one slot. */
export interface Activity {
  id: number;
  slot: number;
  phase: 'proposing' | Phase;
  startedAt: number;
  title: string;
  /** The experiment whose commit runs: `id`, or the incumbent measured beside it. */
  of: number;
  /** Which run of that commit, from 1. */
  run: number;
  budgetSeconds: number | null;
}

export interface StatusView {
  candidates: number;
  max?: number;
  activities: Activity[];
  best: number | null;
  baseline: number | null;
  goal: Goal;
  /** The last decision, e.g. "#6 discard". */
  last: string;
  /** Runs of the baseline, for "run 2/3". */
  baselineRuns?: number;
}

/** 12s, 1:05, 1:02:03: short enough for several slots on one line. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, '0');
  return s < 3600 ? `${mm}:${ss}` : `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}`;
}

/**
 * One activity: "#7 proposing 12s", "#7 checks 31s", "#7 run [###.......] 1:05/5:00" (this run
 * alone: a repeat starts its own bar), "#0 run 2/3 …" for the baseline's repeats, "#7 run 2 …",
 * "#7 incumbent #3 …" when the incumbent is measured beside it.
 */
export function activityText(a: Activity, now: number, baselineRuns?: number): string {
  const elapsed = (now - a.startedAt) / 1000;
  if (a.phase !== 'run') return `#${a.id} ${a.phase} ${clock(elapsed)}`;
  const which =
    a.of !== a.id
      ? `incumbent #${a.of}`
      : a.id === 0 && baselineRuns && baselineRuns > 1
        ? `run ${a.run}/${baselineRuns}`
        : a.run > 1
          ? `run ${a.run}`
          : 'run';
  const budget = a.budgetSeconds;
  return budget
    ? `#${a.id} ${which} ${bar(elapsed / budget, 10)} ${clock(elapsed)}/${clock(budget)}`
    : `#${a.id} ${which} ${clock(elapsed)}`;
}

const fit = (text: string, width: number) =>
  text.length <= width ? text : width <= 1 ? '' : `${text.slice(0, width - 1)}…`;

/**
 * The terminal's status line, shorter than `columns` (the cursor stays on it): the count, every
 * activity and the best always; the title of the experiment being worked on and the last
 * decision where there is room.
 */
export function statusLine(v: StatusView, now: number, columns: number): string {
  const width = Math.max(20, columns - 1);
  const acts = [...v.activities].sort((a, b) => a.slot - b.slot || a.id - b.id);
  const working = new Set(acts.filter((a) => a.id > 0).map((a) => a.id));
  const head = `exp ${v.candidates + working.size}${v.max ? `/${v.max}` : ''}`;
  const best = `best ${fmtValue(v.best)} ${fmtPct(improvementPercent(v.goal, v.baseline, v.best))}`;
  const shown = [head, ...acts.map((a) => activityText(a, now, v.baselineRuns)), best.trimEnd()];
  const essential = shown.join('  ');
  if (essential.length >= width) return fit(essential, width);
  // The title of the one experiment in flight (with several, each has its own line in the log).
  const titled = acts.filter((a) => a.title && a.id > 0);
  const title = new Set(titled.map((a) => a.id)).size === 1 ? titled[0]!.title : '';
  let room = width - essential.length;
  let titleText = '';
  if (title && room >= 10) {
    titleText = fit(title.split('\n')[0]!.trim(), room - 2);
    room -= titleText.length + 2;
  }
  const last = v.last && room >= v.last.length + 7 ? `last ${v.last}` : '';
  const parts = [head, ...shown.slice(1, -1)];
  if (titleText) parts.push(titleText);
  parts.push(shown.at(-1)!);
  if (last) parts.push(last);
  return parts.join('  ');
}

export class ProgressReporter {
  private activities = new Map<string, Activity>();
  private candidates = 0;
  private max?: number;
  private baselineRuns?: number;
  private best: number | null = null;
  private baseline: number | null = null;
  private goal: Goal = 'minimize';
  private last = '';
  private timer?: NodeJS.Timeout;
  private statusShown = false;

  constructor(
    private readonly out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean },
    private readonly live = Boolean(out.isTTY),
  ) {}

  setGoal(goal: Goal): void {
    this.goal = goal;
  }

  handle = (event: LoopEvent): void => {
    switch (event.type) {
      case 'run-start':
        this.max = event.maxExperiments;
        this.baselineRuns = event.baselineRuns;
        this.print(
          `${event.resumed ? 'resuming' : 'starting'} run ${event.tag} on branch ${event.branch} (${count(event.slots, 'slot')}${event.maxExperiments ? `, up to ${count(event.maxExperiments, 'experiment')}` : ''}); files in ${event.runDir}${event.workDir !== event.runDir ? `, worktrees and logs in ${event.workDir}` : ''}`,
        );
        this.print(`${event.sealed ? '' : 'warning: '}sandbox: ${event.sandbox}`);
        break;
      case 'proposing':
        this.track({
          id: event.id,
          slot: event.slot,
          phase: 'proposing',
          startedAt: Date.now(),
          title: '',
          of: event.id,
          run: 0,
          budgetSeconds: null,
        });
        if (!this.live) this.print(`#${event.id} proposing (slot ${event.slot})`);
        break;
      case 'phase': {
        const key = `${event.id}/${event.slot}`;
        if (event.ended) {
          const a = this.activities.get(key);
          if (a && a.phase === event.phase && a.startedAt === event.startedAt)
            this.activities.delete(key);
          break;
        }
        const { type: _type, ended: _ended, ...activity } = event;
        this.track(activity);
        if (!this.live) {
          const line = phaseLine(event, this.baselineRuns);
          if (line) this.print(line);
        }
        break;
      }
      case 'running':
        this.candidates = event.candidates;
        for (const a of this.activities.values()) if (a.id === event.id) a.title = event.title;
        if (!this.live)
          this.print(
            `#${event.id} running: ${event.title || 'baseline'} (budget ${formatDuration(event.budgetSeconds)})`,
          );
        break;
      case 'recorded': {
        for (const [key, a] of this.activities)
          if (a.id === event.experiment.id) this.activities.delete(key);
        this.candidates = event.candidates;
        this.baseline =
          event.baselineValue ??
          (event.experiment.id === 0 ? event.experiment.primary_value : this.baseline);
        this.best = Number.isFinite(event.incumbent.value) ? event.incumbent.value : this.best;
        const e = event.experiment;
        this.last = `#${e.id} ${e.status}`;
        const pct = fmtPct(improvementPercent(this.goal, this.baseline, this.best));
        const marker = event.joinedFront
          ? '  joins the front'
          : event.newBest
            ? `  new best${pct ? ` (${pct} vs baseline)` : ''}`
            : '';
        this.print(experimentLine(e, this.live) + marker);
        break;
      }
      case 'note':
        this.print(`${event.level === 'warn' ? 'warning: ' : ''}${event.text}`);
        break;
      case 'run-stop': {
        this.close();
        if (event.failed) break; // the command prints the error itself
        const s = event.summary;
        const counts =
          Object.entries(s.counts)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ') || 'none';
        this.print(
          [
            `stopped: ${event.reason}`,
            `  experiments: ${s.candidates} (${counts})`,
            ...(event.front
              ? [
                  `  front:       ${count(event.front.length, 'point')} (apply one: autoresearch apply <id>)`,
                  ...event.front.map((m) => `    ${m}`),
                ]
              : [
                  `  baseline:    ${fmtValue(s.baseline)}`,
                  `  best:        ${fmtValue(s.best)}${s.bestExperiment !== null ? ` at #${s.bestExperiment} ${s.bestCommit?.slice(0, 10)} (${s.bestTitle})` : ''}`,
                  `  improvement: ${fmtPct(s.improvementPct) || '—'}`,
                ]),
            `  branch:      ${s.branch}`,
          ].join('\n'),
        );
        break;
      }
    }
  };

  /** Stops redrawing and clears the status line (the end of a run, or of `rerun`'s measurement). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.activities.clear();
    if (this.statusShown) this.out.write('\r\x1b[2K');
    this.statusShown = false;
  }

  private track(a: Activity): void {
    const key = `${a.id}/${a.slot}`;
    // The title is known from the proposal on; a phase of the incumbent's run keeps the candidate's.
    const title = a.title || this.activities.get(key)?.title || '';
    this.activities.set(key, { ...a, title });
    if (!this.live || this.timer) return;
    this.timer = setInterval(() => (this.activities.size > 0 ? this.redraw() : undefined), 250);
    this.timer.unref();
  }

  private print(text: string): void {
    if (this.live && this.statusShown) this.out.write('\r\x1b[2K');
    this.out.write(text + '\n');
    this.statusShown = false;
    if (this.live && this.activities.size > 0) this.redraw();
  }

  private redraw(): void {
    const view: StatusView = {
      candidates: this.candidates,
      max: this.max,
      activities: [...this.activities.values()],
      best: this.best,
      baseline: this.baseline,
      goal: this.goal,
      last: this.last,
      baselineRuns: this.baselineRuns,
    };
    const cols = (this.out as NodeJS.WriteStream).columns ?? 80;
    this.out.write('\r\x1b[2K' + statusLine(view, Date.now(), cols));
    this.statusShown = true;
  }
}

/**
 * A pipe's line for a phase: the checks and the holdout as they start, and every run but a
 * candidate's first (which `running` announces): the baseline's repeats, a candidate's later
 * runs, the incumbent measured beside it. Evaluations follow their run and say nothing.
 */
function phaseLine(
  e: Extract<LoopEvent, { type: 'phase' }>,
  baselineRuns: number | undefined,
): string | null {
  const where = `(slot ${e.slot})`;
  if (e.phase === 'checks' || e.phase === 'holdout') return `#${e.id} ${e.phase} ${where}`;
  if (e.phase !== 'run' || (e.of === e.id && e.run === 1)) return null;
  if (e.of !== e.id) return `#${e.id} running the incumbent #${e.of} beside it ${where}`;
  const of = e.id === 0 && baselineRuns ? `/${baselineRuns}` : '';
  return `#${e.id} run ${e.run}${of} ${where}`;
}
