/**
 * An agent-owned run: the ordinary loop (`startRun`: the same sealed executor, checks, eval,
 * policy, ledger, webhooks and resume as `autoresearch run`) whose agent is the MCP session.
 * A `try` hands the session's change to the loop's SessionAgent and waits for the loop's
 * `recorded` event for its experiment. The tools (tools.ts) are thin callers of this class.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../ledger/ledger.js';
import type { ExperimentRow, RunRow } from '../ledger/types.js';
import { ledgerPath, runPathsOf, STATE_DIR, type RunPaths } from '../loop/context.js';
import { runState, type RunTarget } from '../loop/control.js';
import type { Incumbent, LoopEvent } from '../loop/events.js';
import type { Program } from '../program/program.js';
import { startRun } from '../run.js';
import { readRef, repoRoot } from '../workspace/git.js';
import { continuationOf, type Continuation } from './continuation.js';
import { experimentView, type ExperimentView } from './describe.js';
import { SessionAgent } from './session-agent.js';
import { SessionWorktree } from './session-worktree.js';

export interface SessionOptions {
  cwd: string;
  program?: string;
  tag?: string;
  maxExperiments?: number;
  maxHours?: number;
  /** Overrides `budget:` (seconds). */
  budget?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with the goal once the program is read (for progress display). */
  onProgram?: (info: { goal: 'minimize' | 'maximize'; metric: string }) => void;
}

/** What the session knows of its run once the loop has opened it. */
export interface SessionRun {
  repo: string;
  tag: string;
  paths: RunPaths;
  config: Program['config'];
  worktree: SessionWorktree;
  maxExperiments?: number;
  maxHours?: number;
}

/** How a try (or a wait) ended: its experiment recorded, or the run ended first. */
export interface TryOutcome {
  experiment: ExperimentRow | null;
  /** The incumbent right after the decision (null when the run ended first). */
  incumbent: Incumbent | null;
  /** The run's stop reason, when it ended before the experiment was recorded. */
  ended: string | null;
}

/** One change handed to the loop, until its experiment is recorded. */
export interface Try {
  handle: string;
  title: string;
  experimentId: number | null;
  startedAt: number;
  outcome: Promise<TryOutcome>;
  done: TryOutcome | null;
}

/** The file (in `.autoresearch/`) the Stop hook finds the session's run by. */
export const SESSION_FILE = 'session.json';

/** How often the end of a decision is looked for (the loop's next proposal, a pause, a stop). */
const SETTLE_POLL_MS = 100;

export class McpSession {
  readonly agent: SessionAgent;
  run: SessionRun | null = null;
  ledger: Ledger | null = null;
  /** Why the loop could not start or ended with an error; null while it is fine. */
  failure: string | null = null;
  /** The loop's stop reason once it has ended; null while it runs. */
  ended: string | null = null;
  /** The try in flight (waiting for the loop, or its experiment being measured). */
  current: Try | null = null;
  readonly tries = new Map<string, Try>();
  private readonly waiters = new Map<number, Array<(o: TryOutcome) => void>>();
  private readonly listeners = new Set<(e: LoopEvent) => void>();
  private endedSignal = signal();
  private opening: Promise<SessionRun> | null = null;
  private loop: Promise<unknown> = Promise.resolve();
  private abort = new AbortController();
  private repo = '';
  private count = 0;
  /** When this invocation of the loop started (what `stop.hours` counts from). */
  startedAt = Date.now();
  /** Wakes a decision's settling when the loop opens the next proposal. */
  private nudge: () => void = () => {};

  constructor(private readonly opts: SessionOptions) {
    this.agent = new SessionAgent(
      () => this.run?.paths.stopFile ?? '',
      () => this.nudge(),
    );
  }

  /** Starts (or, after a stop, restarts) the loop; resolves once the run is open. */
  start(): Promise<SessionRun> {
    // Set before anything is awaited: a tool called at once waits for this start, not an older one.
    const open = signal<SessionRun>();
    this.opening = open.promise;
    this.opening.catch(() => {}); // read through ready()
    this.abort = new AbortController();
    this.startedAt = Date.now();
    this.ended = null;
    this.failure = null;
    this.endedSignal = signal();
    this.loop = repoRoot(this.opts.cwd)
      .then((repo) => {
        this.repo = repo;
        return startRun({
          cwd: this.opts.cwd,
          program: this.opts.program,
          // A restart continues the same run, whatever day it is (the default tag is the date).
          tag: this.run?.tag ?? this.opts.tag,
          maxExperiments: this.opts.maxExperiments,
          maxHours: this.opts.maxHours,
          budget: this.opts.budget,
          // One proposal at a time: the session is one agent editing one worktree.
          parallel: 1,
          pipeline: false,
          agent: this.agent,
          abort: this.abort,
          env: this.opts.env,
          onProgram: this.opts.onProgram,
          onEvent: (e) => {
            if (e.type === 'run-start') this.opened(e.tag).then(open.resolve, open.reject);
            this.handle(e);
          },
        });
      })
      .catch((e: unknown) => {
        this.failure = (e as Error).message;
        open.reject(e);
        this.end(`the run failed: ${this.failure}`);
      });
    return this.opening;
  }

  /** The run, once open; rejects with the reason it could not start. */
  ready(): Promise<SessionRun> {
    return this.opening ?? Promise.reject(new Error('the session has not started'));
  }

  /** Ends the loop as Ctrl-C does (the experiment in flight is measured again on resume). */
  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.run) rmSync(join(this.run.paths.stateDir, SESSION_FILE), { force: true });
    this.ledger?.close();
    this.ledger = null;
  }

  /** Kills the experiment in flight and ends the loop now (`stop` with `now`). */
  stopNow(): void {
    this.abort.abort();
  }

  onEvent(listener: (e: LoopEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A fresh RunTarget for the control verbs (loop/control.ts). */
  target(): RunTarget {
    return { repo: this.repo, ledger: this.ledger!, run: this.runRow() };
  }

  runRow(): RunRow {
    return this.ledger!.getRun(this.run!.tag)!;
  }

  /** What the session should do next, from the run's state as anyone sees it. */
  continuation(): Continuation {
    if (!this.run || !this.ledger)
      return {
        state: 'failed',
        reason: this.failure ?? 'the run has not started',
        next: 'Stop and tell the user why the run could not start.',
      };
    const row = this.runRow();
    const limit = this.run.maxExperiments;
    return continuationOf({
      tag: row.tag,
      state: runState(this.repo, row).state,
      stopReason: row.stop_reason,
      stopRequested: existsSync(this.run.paths.stopFile),
      experimentsLeft:
        limit === undefined ? undefined : Math.max(0, limit - this.ledger.countCandidates(row.tag)),
    });
  }

  /** The incumbent as the ledger has it: the kept experiment the run's branch points at. */
  async incumbent(): Promise<ExperimentView | null> {
    const head = await readRef(this.repo, `refs/heads/${this.runRow().branch}`);
    const kept = this.ledger!.keptExperiments(this.run!.tag);
    const row = kept.filter((r) => r.candidate_commit === head).at(-1);
    return row ? experimentView(row) : null;
  }

  /** Hands a change to the loop. The caller has checked that no try is in flight. */
  submit(
    words: { title: string; hypothesis?: string; lessons?: string },
    base: string,
    tree: string,
  ): Try {
    const { title } = words;
    const done = signal<TryOutcome>();
    const t: Try = {
      handle: `t${++this.count}`,
      title,
      experimentId: null,
      startedAt: Date.now(),
      outcome: done.promise,
      done: null,
    };
    void t.outcome.then((o) => {
      t.done = o;
      if (this.current === t) this.current = null;
    });
    this.tries.set(t.handle, t);
    this.current = t;
    void this.agent.submit({ ...words, base, tree }).then((id) => {
      t.experimentId = id;
      void this.waitFor(id).then(done.resolve);
    });
    void this.endedSignal.promise.then(() => {
      if (t.experimentId !== null) return;
      this.agent.withdraw();
      done.resolve({ experiment: null, incumbent: null, ended: this.ended });
    });
    return t;
  }

  /** An experiment's end: at once when it is recorded, else when it is, or when the run ends. */
  waitFor(id: number): Promise<TryOutcome> {
    const row = this.ledger?.getExperiment(this.run!.tag, id);
    if (row?.state === 'recorded')
      return Promise.resolve({ experiment: row, incumbent: null, ended: null });
    return new Promise<TryOutcome>((resolve) => {
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]);
      void this.endedSignal.promise.then(() => {
        // Still registered: nothing recorded it (`recorded` takes its waiters before it settles).
        if (!this.waiters.get(id)?.includes(resolve)) return;
        this.waiters.delete(id);
        const r = this.ledger?.getExperiment(this.run!.tag, id);
        resolve({
          experiment: r?.state === 'recorded' ? r : null,
          incumbent: null,
          ended: this.ended,
        });
      });
    });
  }

  private end(reason: string): void {
    if (this.ended !== null) return;
    this.ended = reason;
    this.endedSignal.resolve();
  }

  /** The run is open: its paths, its configuration as the loop runs it, the session's worktree. */
  private async opened(tag: string): Promise<SessionRun> {
    this.ledger ??= new Ledger(ledgerPath(this.repo));
    const row = this.ledger.getRun(tag)!;
    const paths = runPathsOf(this.repo, row);
    const config = JSON.parse(row.config_json) as Program['config'];
    const worktree =
      this.run?.tag === tag
        ? this.run.worktree
        : new SessionWorktree(
            this.repo,
            join(paths.runDir, 'session'),
            row.program_dir,
            config.keep_ignored,
            paths.indexFile('session'),
          );
    const head = await readRef(this.repo, `refs/heads/${row.branch}`);
    await worktree.open(head ?? row.base_commit);
    this.run = {
      repo: this.repo,
      tag,
      paths,
      config,
      worktree,
      maxExperiments: this.opts.maxExperiments ?? config.stop.experiments,
      maxHours: this.opts.maxHours ?? config.stop.hours,
    };
    writeFileSync(
      join(this.repo, STATE_DIR, SESSION_FILE),
      JSON.stringify(
        {
          tag,
          pid: process.pid,
          worktree: worktree.programPath,
          max_experiments: this.run.maxExperiments,
        },
        null,
        2,
      ) + '\n',
    );
    return this.run;
  }

  private handle(e: LoopEvent): void {
    if (e.type === 'recorded') void this.recorded(e.experiment, { ...e.incumbent });
    if (e.type === 'run-stop') this.end(e.reason);
    for (const l of this.listeners) l(e);
  }

  /**
   * An experiment is recorded. The session's worktree follows the incumbent (after its own try,
   * or when a resumed run records one it found unfinished), then whoever waits for it hears.
   */
  private async recorded(row: ExperimentRow, incumbent: Incumbent): Promise<void> {
    const waiting = this.waiters.get(row.id) ?? [];
    this.waiters.delete(row.id);
    const ours = this.current !== null && this.current.experimentId === row.id;
    // A resumed run may record what it found unfinished while the session's worktree is opening.
    const wt = (await this.opening?.catch(() => null))?.worktree;
    if (wt && (ours || (!this.current && wt.base !== incumbent.commit)))
      await wt.reset(incumbent.commit);
    if (ours) await this.settled();
    for (const w of waiting) w({ experiment: row, incumbent, ended: null });
  }

  /**
   * After a decision, the loop's next move: the next proposal open, a pause, a stop, or the end.
   * Waiting for it makes the continuation the loop's own (a limit reached ends the run first).
   */
  private settled(): Promise<void> {
    const { pauseFile, stopFile } = this.run!.paths;
    return new Promise<void>((resolve) => {
      const check = () => {
        if (
          !this.agent.open &&
          this.ended === null &&
          !existsSync(pauseFile) &&
          !existsSync(stopFile)
        )
          return;
        clearInterval(timer);
        this.nudge = () => {};
        resolve();
      };
      const timer = setInterval(check, SETTLE_POLL_MS);
      this.nudge = check;
      check();
    });
  }
}

/** A promise with its resolve and reject at hand. */
function signal<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
