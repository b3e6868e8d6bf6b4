/**
 * The control verbs (loop/control.ts) against a real ledger and run folder in a temp directory,
 * with a real process standing in for the harness where one must be alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import type { ExperimentRow, RunRow } from '../../src/ledger/types.js';
import * as control from '../../src/loop/control.js';
import { ledgerPath, runPaths } from '../../src/loop/context.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { exited } from '../helpers/repo.js';
import { isAlive } from '../helpers/processes.js';
import { abortsMeasurement, requestText } from '../../src/loop/requests.js';
import { tempDir } from '../helpers/temp.js';
import { runRow } from '../helpers/rows.js';

const TAG = 'c';
let repo = '';
let ledger: Ledger;
const children: ChildProcess[] = [];

function addRun(tag: string, fields: Partial<RunRow> = {}): void {
  const now = Date.now();
  ledger.createRun(
    runRow(tag, {
      created_at: now,
      updated_at: now,
      base_commit: 'a'.repeat(40),
      config_json: '{"executor":"local"}',
      state: 'stopped',
      stop_reason: 'reached 3 experiments',
      ...fields,
    }),
  );
}

function addExperiment(id: number, fields: Partial<ExperimentRow>): void {
  ledger.insertExperiment({ ...emptyExperiment(TAG, 0, 'test', 'a'.repeat(40)), id, ...fields });
}

/** A process that stands in for the harness: the run names its pid and a fresh heartbeat. */
function liveHarness(): ChildProcess {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(child);
  ledger.updateRun(TAG, {
    state: 'running',
    stop_reason: null,
    pid: child.pid!,
    heartbeat_at: Date.now(),
  });
  return child;
}

const target = (): control.RunTarget => ({ repo, ledger, run: ledger.getRun(TAG)! });
const paths = () => runPaths(repo, TAG);
const refusal = (out: control.Outcome) => (out.ok ? null : out.code);

beforeEach(() => {
  repo = tempDir('ar-control-');
  ledger = new Ledger(ledgerPath(repo));
  addRun(TAG);
});

afterEach(() => {
  ledger.close();
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('finding the run', () => {
  it('takes the named run or the most recent, and names the runs there are when the tag is wrong', () => {
    addRun('newer', { created_at: Date.now() + 1000 });
    expect(control.findRun(repo, null)).toMatchObject({
      ok: false,
      code: 'no-runs',
      hint: 'autoresearch run',
    });
    expect(control.findRun(repo, ledger, 'nope')).toMatchObject({
      ok: false,
      code: 'no-run',
      message: 'no run "nope" in the ledger',
    });
    expect((control.findRun(repo, ledger, 'nope') as control.Refusal).hint).toMatch(
      /^pick one of: .*\bc\b.*\(--tag\)$/,
    );
    expect((control.findRun(repo, ledger, TAG) as control.RunTarget).run.tag).toBe(TAG);
    expect((control.findRun(repo, ledger) as control.RunTarget).run.tag).toBe('newer');
  });
});

describe('a run without a live harness', () => {
  it('refuses pause, abort and stop as not running, and writes no request', async () => {
    expect(control.pause(target())).toMatchObject({
      ok: false,
      code: 'not-running',
      message: `run ${TAG} is not running; nothing to pause`,
    });
    expect(control.abort(target())).toMatchObject({
      ok: false,
      code: 'not-running',
      message: `run ${TAG} is not running; nothing to abort`,
    });
    expect(await control.stop(target())).toMatchObject({
      ok: false,
      code: 'not-running',
      message: `run ${TAG} is not running (stopped: reached 3 experiments); nothing to stop`,
    });
    expect(await control.stop(target(), { now: true })).toMatchObject({
      ok: false,
      code: 'not-running',
    });
    for (const f of [paths().pauseFile, paths().abortFile, paths().stopFile])
      expect(existsSync(f), f).toBe(false);
  });

  it('says when the harness died rather than finished, and resume drops a stale PAUSE and says how to start', async () => {
    ledger.updateRun(TAG, { state: 'running', pid: 999_999_999, heartbeat_at: Date.now() });
    expect(control.runState(repo, ledger.getRun(TAG)!).state).toBe('not running');
    expect((await control.stop(target())).message).toBe(
      `run ${TAG} is not running (its harness ended unexpectedly); nothing to stop`,
    );
    mkdirSync(paths().runDir, { recursive: true });
    writeFileSync(paths().pauseFile, '');
    const out = control.resume(target());
    expect(out).toMatchObject({
      ok: false,
      code: 'not-running',
      message: `run ${TAG} is not running: start it with autoresearch run --tag ${TAG}`,
    });
    expect(existsSync(paths().pauseFile)).toBe(false);
  });

  it("cancels what a dead harness left running, by the experiment's process group and marker", async () => {
    // An orphaned experiment: its own process group, carrying the run's marker in its environment.
    const orphan = spawn('sleep', ['600'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, AUTORESEARCH_EXPERIMENT_ID: '1', AUTORESEARCH_RUN_TAG: TAG },
    });
    children.push(orphan);
    addExperiment(1, { state: 'running', process_json: JSON.stringify({ pgid: orphan.pid }) });
    ledger.updateRun(TAG, { state: 'running', pid: 999_999_999 });
    const out = await control.stop(target());
    expect(out).toMatchObject({ ok: true, cancelled: 1 });
    expect(out.message).toContain(
      'cancelled 1 leftover job(s)/process(es) of experiments in flight',
    );
    expect((await exited(orphan)).signal).toBe('SIGKILL');
  });
});

describe('a run with a live harness', () => {
  it('pause writes PAUSE (the state reads paused), resume removes it, abort writes ABORT', () => {
    const harness = liveHarness();
    expect(control.runState(repo, ledger.getRun(TAG)!)).toEqual({
      state: 'running',
      pid: harness.pid,
    });
    const paused = control.pause(target());
    expect(paused).toEqual({
      ok: true,
      message: `run ${TAG}: pausing after the experiments in flight (autoresearch resume to continue)`,
    });
    expect(existsSync(paths().pauseFile)).toBe(true);
    expect(control.runState(repo, ledger.getRun(TAG)!).state).toBe('paused');
    expect(control.resume(target())).toEqual({ ok: true, message: `run ${TAG}: resumed` });
    expect(existsSync(paths().pauseFile)).toBe(false);
    expect(control.abort(target())).toEqual({
      ok: true,
      message: `run ${TAG}: aborting the experiments in flight`,
    });
    expect(existsSync(paths().abortFile)).toBe(true);
  });

  it('stop writes STOP and leaves the harness be; stop now also sends it SIGTERM', async () => {
    const harness = liveHarness();
    const out = await control.stop(target());
    expect(out).toMatchObject({
      ok: true,
      message: `run ${TAG}: will stop after the experiment in flight (harness pid ${harness.pid})`,
    });
    expect(existsSync(paths().stopFile)).toBe(true);
    expect(isAlive(harness.pid!)).toBe(true);
    const now = await control.stop(target(), { now: true });
    expect(now.message).toContain(
      'stopping now: the experiments in flight are killed and run again on resume',
    );
    expect((await exited(harness)).signal).toBe('SIGTERM');
  });

  it('counts this process as the harness while it runs the run (the dashboard `autoresearch run` serves)', () => {
    ledger.updateRun(TAG, {
      state: 'running',
      stop_reason: null,
      pid: process.pid,
      heartbeat_at: Date.now(),
    });
    expect(control.runState(repo, ledger.getRun(TAG)!)).toEqual({
      state: 'running',
      pid: process.pid,
    });
    expect(control.pause(target()).ok).toBe(true);
    expect(existsSync(paths().pauseFile)).toBe(true);
    // The loop clears the pid when it ends; a finished run is not running, whoever asks.
    ledger.updateRun(TAG, { state: 'stopped' });
    expect(control.abort(target())).toMatchObject({ ok: false, code: 'not-running' });
  });
});

describe('rerun', () => {
  beforeEach(() => {
    addExperiment(1, { state: 'recorded', status: 'keep', candidate_commit: 'b'.repeat(40) });
    addExperiment(2, { state: 'running', candidate_commit: 'c'.repeat(40) });
    addExperiment(3, { state: 'recorded', status: 'crash', reason: 'the agent failed' });
  });

  it('queues a recorded experiment with a commit, said for a stopped run and a running one', () => {
    expect(control.rerun(target(), '1')).toEqual({
      ok: true,
      experiment: 1,
      waiting: true,
      message: `run ${TAG}: experiment 1 will be measured again when the run continues (autoresearch run)`,
    });
    expect(ledger.takeRerun(TAG)).toBe(1);
    liveHarness();
    expect(control.rerun(target(), 1)).toMatchObject({
      waiting: false,
      message: `run ${TAG}: experiment 1 will be measured again before the next proposal`,
    });
    expect(ledger.takeRerun(TAG)).toBe(1);
  });

  it('refuses a missing experiment, one still in flight and one without a commit, and queues nothing', () => {
    for (const id of ['9', 'abc', '-1', '1.5', '']) {
      expect(control.rerun(target(), id), id).toMatchObject({
        ok: false,
        code: 'no-experiment',
        hint: `autoresearch results --tag ${TAG}`,
      });
    }
    expect(control.rerun(target(), '9').message).toBe(`run ${TAG} has no experiment 9`);
    expect(control.rerun(target(), 2)).toMatchObject({
      ok: false,
      code: 'not-finished',
      message: `experiment 2 of run ${TAG} is not finished yet (running): re-run it once it is recorded`,
    });
    expect(refusal(control.rerun(target(), 3))).toBe('not-finished');
    expect(ledger.takeRerun(TAG)).toBeNull();
  });
});

describe('note', () => {
  it('adds a trimmed note and says how many there are; refuses an empty or oversized one', () => {
    expect(control.note(target(), '  try wider layers \n')).toEqual({
      ok: true,
      notes: ['try wider layers'],
      message: `run ${TAG}: 1 steering note; the next brief shows them`,
    });
    expect(control.note(target(), 'then deeper').message).toBe(
      `run ${TAG}: 2 steering notes; the next brief shows them`,
    );
    expect(control.note(target(), '   ')).toMatchObject({
      ok: false,
      code: 'bad-note',
      message: 'a note needs text',
    });
    expect(refusal(control.note(target(), 'x'.repeat(control.NOTE_MAX_CHARS + 1)))).toBe(
      'bad-note',
    );
    expect(ledger.notes(TAG)).toEqual(['try wider layers', 'then deeper']);
  });
});

describe('abort requests', () => {
  it('end only the measurements that had started when the abort was asked for', () => {
    const start = Date.parse('2026-11-30T02:00:00.000Z');
    const asked = (ms: number) => requestText('abort', new Date(start + ms));
    // The file system's mtime may be a second late or coarse: the text decides.
    expect(abortsMeasurement(asked(0), start - 900, start)).toBe(true);
    expect(abortsMeasurement(asked(2500), start, start)).toBe(true);
    // Asked for 500 ms before the next experiment started: not meant for it.
    expect(abortsMeasurement(asked(-500), start - 500, start)).toBe(false);
    // A file written by hand falls back to its mtime, with a second's slack.
    expect(abortsMeasurement('abort\n', start - 500, start)).toBe(true);
    expect(abortsMeasurement('abort\n', start - 5000, start)).toBe(false);
  });
});
