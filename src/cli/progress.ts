/**
 * Live progress for `autoresearch run`: on a terminal, a status line redrawn in place (experiment
 * n of N, a bar of elapsed vs budget, best so far, last decision) under a log of decisions; when
 * output is not a terminal, one plain line per event.
 */
import type { LoopEvent } from '../loop/events.js';
import { improvementPercent } from '../loop/summary.js';
import { formatDuration } from '../program/duration.js';
import { bar, experimentLine, fmtPct, fmtValue } from './format.js';

interface Running {
  id: number;
  startedAt: number;
  budget: number;
}

export class ProgressReporter {
  private running = new Map<number, Running>();
  private candidates = 0;
  private max?: number;
  private best: number | null = null;
  private baseline: number | null = null;
  private goal: 'minimize' | 'maximize' = 'minimize';
  private last = '';
  private timer?: NodeJS.Timeout;
  private statusShown = false;

  constructor(
    private readonly out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean },
    private readonly live = Boolean(out.isTTY),
  ) {}

  setGoal(goal: 'minimize' | 'maximize'): void {
    this.goal = goal;
  }

  handle = (event: LoopEvent): void => {
    switch (event.type) {
      case 'run-start':
        this.max = event.maxExperiments;
        this.print(
          `${event.resumed ? 'resuming' : 'starting'} run ${event.tag} on branch ${event.branch} (${event.slots} slot${event.slots > 1 ? 's' : ''}${event.maxExperiments ? `, up to ${event.maxExperiments} experiments` : ''}); files in ${event.runDir}${event.workDir !== event.runDir ? `, worktrees and logs in ${event.workDir}` : ''}`,
        );
        this.print(`${event.sealed ? '' : 'warning: '}sandbox: ${event.sandbox}`);
        break;
      case 'proposing':
        if (!this.live) this.print(`#${event.id} proposing (slot ${event.slot})`);
        break;
      case 'running':
        this.candidates = event.candidates;
        this.running.set(event.id, {
          id: event.id,
          startedAt: event.startedAt,
          budget: event.budgetSeconds,
        });
        if (!this.live)
          this.print(
            `#${event.id} running: ${event.title || 'baseline'} (budget ${formatDuration(event.budgetSeconds)})`,
          );
        this.ensureTimer();
        break;
      case 'recorded': {
        this.running.delete(event.experiment.id);
        this.candidates = event.candidates;
        this.baseline =
          event.baselineValue ??
          (event.experiment.id === 0 ? event.experiment.primary_value : this.baseline);
        this.best = Number.isFinite(event.incumbent.value) ? event.incumbent.value : this.best;
        const e = event.experiment;
        this.last = `#${e.id} ${e.status}`;
        const pct = fmtPct(improvementPercent(this.goal, this.baseline, this.best));
        const marker = event.newBest ? `  new best${pct ? ` (${pct} vs baseline)` : ''}` : '';
        this.print(experimentLine(e, this.live) + marker);
        break;
      }
      case 'note':
        this.print(`${event.level === 'warn' ? 'warning: ' : ''}${event.text}`);
        break;
      case 'run-stop': {
        this.stopTimer();
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
            `  baseline:    ${fmtValue(s.baseline)}`,
            `  best:        ${fmtValue(s.best)}${s.bestExperiment !== null ? ` at #${s.bestExperiment} ${s.bestCommit?.slice(0, 10)} (${s.bestTitle})` : ''}`,
            `  improvement: ${fmtPct(s.improvementPct) || '—'}`,
            `  branch:      ${s.branch}`,
          ].join('\n'),
        );
        break;
      }
    }
  };

  private statusLine(): string {
    const parts: string[] = [];
    const n = this.candidates + this.running.size;
    parts.push(`exp ${n}${this.max ? `/${this.max}` : ''}`);
    for (const r of this.running.values()) {
      const elapsed = (Date.now() - r.startedAt) / 1000;
      parts.push(
        `#${r.id} ${bar(elapsed / r.budget, 16)} ${formatDuration(elapsed)}/${formatDuration(r.budget)}`,
      );
    }
    parts.push(
      `best ${fmtValue(this.best)} ${fmtPct(improvementPercent(this.goal, this.baseline, this.best))}`,
    );
    if (this.last) parts.push(`last ${this.last}`);
    return parts.join('  ');
  }

  private print(text: string): void {
    if (this.live && this.statusShown) this.out.write('\r\x1b[2K');
    this.out.write(text + '\n');
    this.statusShown = false;
    if (this.live && this.running.size > 0) this.redraw();
  }

  private redraw(): void {
    const cols = (this.out as NodeJS.WriteStream).columns ?? 120;
    this.out.write('\r\x1b[2K' + this.statusLine().slice(0, cols - 1));
    this.statusShown = true;
  }

  private ensureTimer(): void {
    if (!this.live || this.timer) return;
    this.timer = setInterval(() => (this.running.size > 0 ? this.redraw() : undefined), 250);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.statusShown) this.out.write('\r\x1b[2K');
    this.statusShown = false;
  }
}
