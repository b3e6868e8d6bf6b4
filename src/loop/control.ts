/**
 * What a person can do to a run, whoever asks (the CLI, the dashboard, an MCP client): pause,
 * resume, stop (after the experiments in flight, or now), abort, rerun and note. One owner for
 * their rules and their words: each verb returns one sentence saying what happens, or a typed
 * refusal; none throws for a refusal, so each caller maps it to its own terms (an exit status,
 * an HTTP status).
 *
 * The harness hears them from any process: files in the run's folder (STOP and PAUSE, looked at
 * before each proposal; ABORT, watched by the measurements that started before it), SIGTERM for a
 * stop now (as Ctrl-C), and the ledger (`reruns` and `notes`, taken at the next proposal).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createExecutor } from '../executors/create.js';
import type { ProcessHandle } from '../executors/executor.js';
import type { Ledger } from '../ledger/ledger.js';
import type { RunRow } from '../ledger/types.js';
import type { Program } from '../program/program.js';
import { runPaths } from './context.js';
import { liveHarness } from './setup.js';
import { requestText, type RequestVerb } from './requests.js';
import { count } from '../util/words.js';

/** A run to act on, with the repository it lives in and its open ledger (the caller closes it). */
export interface RunTarget {
  repo: string;
  ledger: Ledger;
  run: RunRow;
}

export type RefusalCode =
  /** No ledger in the repository yet. */
  | 'no-runs'
  | 'no-run'
  /** No live harness: nothing to pause, stop or abort (a rerun or a note waits for the next start). */
  | 'not-running'
  | 'no-experiment'
  /** The experiment has no commit, or is not recorded yet: there is nothing finished to measure again. */
  | 'not-finished'
  | 'bad-note';

export interface Refusal {
  ok: false;
  code: RefusalCode;
  message: string;
  /** The command that helps, when there is one. */
  hint?: string;
}

export type Outcome<T extends object = object> = ({ ok: true; message: string } & T) | Refusal;

export const NOTE_MAX_CHARS = 10_000;

/**
 * The pid of the harness running `run` now, or null. The dashboard `autoresearch run` serves lives
 * in the harness itself, which `liveHarness` leaves out (it looks for another one); the run's pid
 * is this process's only while this process runs it (the loop clears it at the end).
 */
function harnessOf(run: RunRow): number | null {
  if (run.pid === process.pid) return run.state === 'running' ? run.pid : null;
  return liveHarness(run);
}

/** The state a person sees: the ledger's, 'paused' while PAUSE exists and the harness lives, 'not running' when it died. */
export function runState(repo: string, run: RunRow): { state: string; pid: number | null } {
  const pid = harnessOf(run);
  if (pid && existsSync(runPaths(repo, run.tag).pauseFile)) return { state: 'paused', pid };
  if (run.state === 'running' && !pid) return { state: 'not running', pid };
  return { state: run.state, pid };
}

/** Run `tag` of the ledger (without a tag, the most recent), or the refusal naming the runs there are. */
export function findRun(repo: string, ledger: Ledger | null, tag?: string): RunTarget | Refusal {
  if (!ledger) return refuse('no-runs', `no runs yet in ${repo}`, 'autoresearch run');
  const run = tag === undefined ? ledger.listRuns()[0] : ledger.getRun(tag);
  if (run) return { repo, ledger, run };
  const tags = ledger.listRuns().map((r) => r.tag);
  return refuse(
    'no-run',
    `no run ${tag === undefined ? '' : `"${tag}" `}in the ledger`,
    tags.length ? `pick one of: ${tags.join(', ')} (--tag)` : 'autoresearch run',
  );
}

export function isRefusal(x: RunTarget | Outcome): x is Refusal {
  return 'ok' in x && !x.ok;
}

/** Finish the experiments in flight, then wait (the harness keeps running) until resume. */
export function pause(t: RunTarget): Outcome {
  if (!harnessOf(t.run))
    return refuse('not-running', `run ${t.run.tag} is not running; nothing to pause`);
  request(t, 'pause');
  return done(
    `run ${t.run.tag}: pausing after the experiments in flight (autoresearch resume to continue)`,
  );
}

/** Continue a paused run. The PAUSE file goes either way: a new start would drop it too. */
export function resume(t: RunTarget): Outcome {
  rmSync(runPaths(t.repo, t.run.tag).pauseFile, { force: true });
  if (!harnessOf(t.run))
    return refuse(
      'not-running',
      `run ${t.run.tag} is not running: start it with autoresearch run --tag ${t.run.tag}`,
    );
  return done(`run ${t.run.tag}: resumed`);
}

/**
 * Stop after the experiments in flight, or `now`: SIGTERM to the harness as Ctrl-C does (the
 * experiments in flight are killed and run again when the run resumes). When the harness died,
 * what it started may still run (Slurm jobs, orphaned processes): those are cancelled. In the
 * dashboard `autoresearch run` serves, the harness is this process: its SIGTERM handler stops the loop.
 */
export async function stop(
  t: RunTarget,
  { now = false }: { now?: boolean } = {},
): Promise<Outcome<{ cancelled: number }>> {
  const { run } = t;
  const pid = harnessOf(run);
  if (!pid) {
    const cancelled = await cancelLeftovers(t);
    const last =
      run.state === 'running'
        ? 'its harness ended unexpectedly'
        : `${run.state}${run.stop_reason ? `: ${run.stop_reason}` : ''}`;
    const was = `run ${run.tag} is not running (${last})`;
    if (!cancelled) return refuse('not-running', `${was}; nothing to stop`);
    return done(
      `${was}; cancelled ${cancelled} leftover job(s)/process(es) of experiments in flight (they are re-run on resume)`,
      { cancelled },
    );
  }
  request(t, 'stop');
  if (now) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return refuse(
        'not-running',
        `run ${run.tag} is not running (its harness ${pid} just ended); nothing to stop`,
      );
    }
  }
  const what = now
    ? 'stopping now: the experiments in flight are killed and run again on resume'
    : 'will stop after the experiment in flight';
  return done(`run ${run.tag}: ${what} (harness pid ${pid})`, { cancelled: 0 });
}

/** Kill the experiments in flight (recorded as interrupted); the loop goes on with the next proposal. */
export function abort(t: RunTarget): Outcome {
  if (!harnessOf(t.run))
    return refuse('not-running', `run ${t.run.tag} is not running; nothing to abort`);
  // Its time is what counts: measurements started before it end; later ones are not affected.
  request(t, 'abort');
  return done(`run ${t.run.tag}: aborting the experiments in flight`);
}

/**
 * Measure an experiment's commit once more (its value becomes the mean of its runs). Only a
 * recorded experiment with a commit qualifies: the loop skips any other request. `waiting`: no
 * harness runs the run, so the request waits for its next start, or for a caller that measures
 * it at once (`measureReruns` in run.ts, as `autoresearch rerun` does).
 */
export function rerun(
  t: RunTarget,
  id: number | string,
): Outcome<{ experiment: number; waiting: boolean }> {
  const { run, ledger } = t;
  const n = typeof id === 'number' ? id : /^\d{1,9}$/.test(id.trim()) ? Number(id.trim()) : NaN;
  const row = Number.isInteger(n) && n >= 0 ? ledger.getExperiment(run.tag, n) : undefined;
  const results = `autoresearch results --tag ${run.tag}`;
  if (!row) return refuse('no-experiment', `run ${run.tag} has no experiment ${id}`, results);
  if (!row.candidate_commit)
    return refuse(
      'not-finished',
      `experiment ${n} of run ${run.tag} has no commit to measure again`,
      results,
    );
  if (row.state !== 'recorded')
    return refuse(
      'not-finished',
      `experiment ${n} of run ${run.tag} is not finished yet (${row.state}): re-run it once it is recorded`,
      results,
    );
  ledger.requestRerun(run.tag, n);
  const waiting = !harnessOf(run);
  const when = waiting ? 'when the run continues (autoresearch run)' : 'before the next proposal';
  return done(`run ${run.tag}: experiment ${n} will be measured again ${when}`, {
    experiment: n,
    waiting,
  });
}

/** A steering note: every following brief shows it to the agent (a running loop picks it up at the next proposal). */
export function note(t: RunTarget, text: string): Outcome<{ notes: string[] }> {
  const body = text.trim();
  if (!body) return refuse('bad-note', 'a note needs text', 'autoresearch note "try wider layers"');
  if (body.length > NOTE_MAX_CHARS)
    return refuse(
      'bad-note',
      `a note holds at most ${NOTE_MAX_CHARS} characters (this one has ${body.length})`,
    );
  t.ledger.addNote(t.run.tag, body);
  const notes = t.ledger.notes(t.run.tag);
  return done(
    `run ${t.run.tag}: ${count(notes.length, 'steering note')}; the next brief shows them`,
    { notes },
  );
}

function request(t: RunTarget, verb: RequestVerb): void {
  const paths = runPaths(t.repo, t.run.tag);
  const file =
    verb === 'pause' ? paths.pauseFile : verb === 'abort' ? paths.abortFile : paths.stopFile;
  mkdirSync(paths.runDir, { recursive: true });
  writeFileSync(file, requestText(verb, new Date()));
}

async function cancelLeftovers({ ledger, run }: RunTarget): Promise<number> {
  const unfinished = ledger
    .unfinishedExperiments(run.tag)
    .filter((e) => e.state === 'running' && e.process_json);
  if (unfinished.length === 0) return 0;
  const executor = await createExecutor(
    { config: JSON.parse(run.config_json) } as Program,
    process.env,
  );
  let cancelled = 0;
  for (const e of unfinished) {
    cancelled += await executor.killLeftovers(JSON.parse(e.process_json!) as ProcessHandle, {
      AUTORESEARCH_EXPERIMENT_ID: String(e.id),
      AUTORESEARCH_RUN_TAG: run.tag,
    });
  }
  return cancelled;
}

function done<T extends object>(message: string, extra?: T): { ok: true; message: string } & T {
  return { ok: true, message, ...(extra as T) };
}

function refuse(code: RefusalCode, message: string, hint?: string): Refusal {
  return hint === undefined ? { ok: false, code, message } : { ok: false, code, message, hint };
}
