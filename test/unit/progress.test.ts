import { describe, expect, it, vi } from 'vitest';
import { ProgressReporter } from '../../src/cli/progress.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import type { ExperimentRow } from '../../src/ledger/types.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    stream: { isTTY, columns: 200, write: (s: string) => (chunks.push(s), true) },
    text: () => chunks.join(''),
  };
}

const row = (
  id: number,
  status: ExperimentRow['status'],
  value: number,
  incumbent: number | null,
  title: string,
): ExperimentRow => ({
  ...emptyExperiment('t', 0, 'tune', 'abc'),
  id,
  state: 'recorded',
  status,
  primary_value: value,
  incumbent_value: incumbent,
  title,
});

describe('progress display', () => {
  it('prints one plain line per event when not a terminal', () => {
    const out = sink(false);
    const p = new ProgressReporter(out.stream);
    p.setGoal('minimize');
    p.handle({
      type: 'run-start',
      tag: 't',
      branch: 'autoresearch/t',
      resumed: false,
      runDir: '/x',
      workDir: '/x',
      maxExperiments: 3,
      slots: 1,
      sealed: false,
      sandbox: 'UNSEALED: bubblewrap (bwrap) is not installed',
    });
    p.handle({
      type: 'running',
      id: 0,
      slot: 0,
      title: '',
      startedAt: Date.now(),
      budgetSeconds: 10,
      timeoutSeconds: 20,
      candidates: 0,
    });
    p.handle({
      type: 'recorded',
      experiment: row(0, 'keep', 2, null, 'baseline'),
      incumbent: { experimentId: 0, commit: 'a', value: 2, title: 'baseline' },
      baselineValue: 2,
      newBest: false,
      candidates: 0,
    });
    p.handle({
      type: 'recorded',
      experiment: row(1, 'keep', 1.5, 2, 'LR 0.04 -> 0.02'),
      incumbent: { experimentId: 1, commit: 'b', value: 1.5, title: 'x' },
      baselineValue: 2,
      newBest: true,
      candidates: 1,
    });
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(
      'starting run t on branch autoresearch/t (1 slot, up to 3 experiments); files in /x',
    );
    expect(lines[1]).toBe('warning: sandbox: UNSEALED: bubblewrap (bwrap) is not installed');
    expect(lines[2]).toBe('#0 running: baseline (budget 10s)');
    expect(lines[4]).toMatch(
      /^ {2}#1 keep\s+1\.5 -0\.5\s+LR 0\.04 -> 0\.02 {2}new best \(\+25\.00% vs baseline\)$/,
    );
    expect(out.text()).not.toContain('\x1b[');
  });

  it('redraws a status line with a budget bar on a terminal', () => {
    vi.useFakeTimers(); // the redraw timer and the clock move when the test says so
    const out = sink(true);
    const p = new ProgressReporter(out.stream);
    p.handle({
      type: 'run-start',
      tag: 't',
      branch: 'b',
      resumed: true,
      runDir: '/x',
      workDir: '/x',
      maxExperiments: 12,
      slots: 1,
      sealed: true,
      sandbox: 'sealed',
    });
    p.handle({
      type: 'running',
      id: 4,
      slot: 0,
      title: 'x',
      startedAt: Date.now() - 5000,
      budgetSeconds: 10,
      timeoutSeconds: 20,
      candidates: 3,
    });
    expect(out.text()).not.toContain('exp 4/12');
    vi.advanceTimersByTime(250);
    const text = out.text();
    vi.useRealTimers();
    expect(text).toContain('resuming run t');
    expect(text).toMatch(/\r\x1b\[2Kexp 4\/12 {2}#4 \[#{8}\.{8}\] 5\.3s\/10s/);
    p.handle({
      type: 'run-stop',
      reason: 'reached 12 experiments',
      summary: {
        tag: 't',
        branch: 'b',
        state: 'finished',
        stopReason: null,
        metric: 'm',
        goal: 'minimize',
        baseline: 2,
        best: 1,
        bestCommit: 'abc',
        bestExperiment: 3,
        bestTitle: 'y',
        improvementPct: 50,
        candidates: 12,
        counts: { keep: 2, discard: 10 },
        inFlight: [],
        lastRecorded: null,
      },
    });
    expect(out.text()).toContain('stopped: reached 12 experiments');
    expect(out.text()).toContain('experiments: 12 (2 keep, 10 discard)');
  });
});
