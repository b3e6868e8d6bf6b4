import { describe, expect, it, vi } from 'vitest';
import {
  activityText,
  clock,
  ProgressReporter,
  statusLine,
  type Activity,
  type StatusView,
} from '../../src/cli/progress.js';
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
      joinedFront: false,
      candidates: 0,
    });
    p.handle({
      type: 'recorded',
      experiment: row(1, 'keep', 1.5, 2, 'LR 0.04 -> 0.02'),
      incumbent: { experimentId: 1, commit: 'b', value: 1.5, title: 'x' },
      baselineValue: 2,
      newBest: true,
      joinedFront: false,
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

  it('redraws a status line with the bar of the run in flight on a terminal', () => {
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
    p.handle({ ...phase('run', 4, Date.now() - 5000), budgetSeconds: 10 });
    expect(out.text()).not.toContain('exp 4/12');
    vi.advanceTimersByTime(250);
    const text = out.text();
    vi.useRealTimers();
    expect(text).toContain('resuming run t');
    expect(text).toMatch(/\r\x1b\[2Kexp 4\/12 {2}#4 run \[#{5}\.{5}\] 5s\/10s {2}x {2}best/);
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

  it('in Pareto mode says a keep joins the front, and ends with the front, not one best', () => {
    const out = sink(false);
    const p = new ProgressReporter(out.stream);
    p.handle({
      type: 'recorded',
      experiment: row(1, 'keep', 4, 5, 'faster, more memory'),
      incumbent: { experimentId: 1, commit: 'b', value: 4, title: 'x' },
      baselineValue: 5,
      newBest: true,
      joinedFront: true,
      candidates: 1,
    });
    p.handle({
      type: 'run-stop',
      reason: 'the agent has no more proposals',
      front: ['#0 (speed 5, mem 5): baseline', '#1 (speed 4, mem 6): faster, more memory'],
      summary: {
        tag: 't',
        branch: 'autoresearch/t',
        state: 'finished',
        stopReason: null,
        metric: 'speed',
        goal: 'minimize',
        baseline: 5,
        best: 4,
        bestCommit: 'abc',
        bestExperiment: 1,
        bestTitle: 'faster, more memory',
        improvementPct: 20,
        candidates: 1,
        counts: { keep: 1 },
        inFlight: [],
        lastRecorded: null,
      },
    });
    const text = out.text();
    expect(text).toMatch(/#1 keep .*faster, more memory {2}joins the front\n/);
    expect(text).not.toContain('new best');
    expect(text).toContain(
      '  front:       2 points (apply one: autoresearch apply <id>)\n' +
        '    #0 (speed 5, mem 5): baseline\n' +
        '    #1 (speed 4, mem 6): faster, more memory\n',
    );
    expect(text).not.toMatch(/best:|improvement:/);
  });
});

/** A phase event of experiment `id` on slot 0, as measurement.ts emits it. */
function phase(kind: Activity['phase'] & string, id: number, startedAt: number) {
  return {
    type: 'phase' as const,
    id,
    slot: 0,
    phase: kind as 'checks' | 'run' | 'eval' | 'holdout',
    of: id,
    run: 1,
    title: 'x',
    startedAt,
    budgetSeconds: null as number | null,
    ended: false,
  };
}

describe('the status line (pure)', () => {
  const now = 1_000_000_000;
  const act = (a: Partial<Activity>): Activity => ({
    id: 7,
    slot: 0,
    phase: 'run',
    startedAt: now - 65_000,
    title: '',
    of: 7,
    run: 1,
    budgetSeconds: 300,
    ...a,
  });
  const view = (activities: Activity[], extra: Partial<StatusView> = {}): StatusView => ({
    candidates: 6,
    max: 100,
    activities,
    best: 1.2345,
    baseline: 1.5,
    goal: 'minimize',
    last: '#6 discard',
    ...extra,
  });

  it('names the phase and how long it has taken: proposing, checks, eval, holdout', () => {
    expect(clock(12.9)).toBe('12s');
    expect(clock(65)).toBe('1:05');
    expect(clock(3723)).toBe('1:02:03');
    expect(activityText(act({ phase: 'proposing', startedAt: now - 12_000 }), now)).toBe(
      '#7 proposing 12s',
    );
    expect(activityText(act({ phase: 'checks', startedAt: now - 31_000 }), now)).toBe(
      '#7 checks 31s',
    );
    expect(activityText(act({ phase: 'eval', startedAt: now - 3_000 }), now)).toBe('#7 eval 3s');
    expect(activityText(act({}), now)).toBe('#7 run [##........] 1:05/5:00');
    expect(activityText(act({ of: 3, run: 4 }), now)).toBe(
      '#7 incumbent #3 [##........] 1:05/5:00',
    );
  });

  it("shows each of the baseline's repeats with a bar of its own, not their sum", () => {
    // The second repeat started 30 s ago, 5 minutes after the first: its bar is 30 s of 300.
    const second = act({ id: 0, of: 0, run: 2, startedAt: now - 30_000 });
    expect(activityText(second, now, 3)).toBe('#0 run 2/3 [#.........] 30s/5:00');
    // Three slots: the three repeats at once, one bar each.
    const line = statusLine(
      view(
        [0, 1, 2].map((slot) => act({ id: 0, of: 0, slot, run: slot + 1, startedAt: now })),
        { candidates: 0, baselineRuns: 3, best: null, baseline: null },
      ),
      now,
      200,
    );
    expect(line).toContain('#0 run 1/3 [..........] 0s/5:00  #0 run 2/3');
    expect(line).toContain('#0 run 3/3');
  });

  it("fits 80 columns with the running experiment's title, dropping what does not fit", () => {
    const title = 'raise the learning rate to 0.04 and halve the warmup, then retune weight decay';
    const one = statusLine(view([act({ title })]), now, 80);
    expect(one.length).toBeLessThan(80);
    expect(one).toMatch(
      /^exp 7\/100 {2}#7 run \[##\.{8}\] 1:05\/5:00 {2}raise the \S+… {2}best 1\.2345 \+17\.70%$/,
    );
    const short = statusLine(view([act({ title: 'lr 0.04', phase: 'checks' })]), now, 80);
    expect(short).toBe('exp 7/100  #7 checks 1:05  lr 0.04  best 1.2345 +17.70%  last #6 discard');
    // Four slots at work: no room for a title; the line is cut, never wrapped.
    const four = statusLine(
      view([1, 2, 3, 4].map((slot) => act({ id: 6 + slot, slot, title }))),
      now,
      80,
    );
    expect(four.length).toBeLessThan(80);
    expect(four).not.toContain('raise');
    expect(four.endsWith('…')).toBe(true);
  });
});

describe('progress in a pipe', () => {
  it('says when the checks, a repeat and the incumbent beside a candidate start', () => {
    const out = sink(false);
    const p = new ProgressReporter(out.stream);
    const t = Date.now();
    p.handle({ type: 'proposing', id: 7, slot: 0 });
    p.handle(phase('checks', 7, t));
    p.handle({ ...phase('run', 7, t), budgetSeconds: 10 });
    p.handle({ ...phase('run', 7, t), of: 3, run: 5, budgetSeconds: 10 });
    p.handle({ ...phase('run', 7, t), run: 2, budgetSeconds: 10 });
    p.handle(phase('eval', 7, t));
    expect(out.text().trimEnd().split('\n')).toEqual([
      '#7 proposing (slot 0)',
      '#7 checks (slot 0)',
      '#7 running the incumbent #3 beside it (slot 0)',
      '#7 run 2 (slot 0)',
    ]);
  });
});
