/** Everything one run of the loop works with, and where its files live. */
import { join, resolve } from 'node:path';
import type { Agent } from '../agents/agent.js';
import type { Executor } from '../executors/executor.js';
import type { Ledger } from '../ledger/ledger.js';
import type { RunRow } from '../ledger/types.js';
import type { Policy } from '../policy/policy.js';
import type { Program } from '../program/program.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { Hashes } from '../workspace/protect.js';
import type { DriftState } from './drift-watch.js';
import type { Incumbent, LoopListener } from './events.js';
import type { Mutex } from './mutex.js';

export const STATE_DIR = '.autoresearch';

export interface RunPaths {
  repo: string;
  stateDir: string;
  ledger: string;
  /** The run's own files: ledger-side state, results.tsv, the STOP/PAUSE/ABORT requests. */
  runDir: string;
  /** Worktrees and experiment folders (logs, briefs, job files): runDir, or a shared directory the compute nodes see. */
  workDir: string;
  /** `<runDir>/results.tsv`, or where `results_tsv:` puts it (relative to the repository root). */
  resultsTsv: string;
  stopFile: string;
  pauseFile: string;
  abortFile: string;
  slot(n: number): string;
  experimentDir(id: number): string;
  /** A pristine folder where `eval` and `holdout` run (protected files and declared artifacts only). */
  evalDir(key: string): string;
  /** `cache:`: the folder kept across experiments, writable by `eval` and `holdout` only. */
  cacheDir: string;
  /** The private git index the harness builds a candidate's tree with (never the worktree's own). */
  indexFile(key: string): string;
}

/**
 * `workDir` is the run's recorded work_dir (null or absent: under the run's own folder);
 * `resultsTsv` the program's `results_tsv:` setting (absent: in the run's folder).
 */
export function runPaths(
  repo: string,
  tag: string,
  workDir?: string | null,
  resultsTsv?: string | null,
): RunPaths {
  const stateDir = join(repo, STATE_DIR);
  const runDir = join(stateDir, tag);
  const work = workDir ?? runDir;
  return {
    repo,
    stateDir,
    ledger: join(stateDir, 'ledger.sqlite'),
    runDir,
    workDir: work,
    resultsTsv: resultsTsv ? resolve(repo, resultsTsv) : join(runDir, 'results.tsv'),
    stopFile: join(runDir, 'STOP'),
    pauseFile: join(runDir, 'PAUSE'),
    abortFile: join(runDir, 'ABORT'),
    slot: (n) => join(work, 'slots', String(n)),
    experimentDir: (id) => join(work, 'experiments', String(id)),
    evalDir: (key) => join(work, 'eval', key),
    cacheDir: join(work, 'cache'),
    indexFile: (key) => join(work, 'index', key),
  };
}

/** The paths of a run as its last start recorded them (work_dir, and the configuration it ran with). */
export function runPathsOf(repo: string, run: RunRow): RunPaths {
  const config = JSON.parse(run.config_json) as { results_tsv?: string };
  return runPaths(repo, run.tag, run.work_dir, config.results_tsv);
}

export function ledgerPath(repo: string): string {
  return join(repo, STATE_DIR, 'ledger.sqlite');
}

interface RunLimits {
  maxExperiments?: number;
  maxHours?: number;
  maxFailures: number;
  /** Stop after this many skipped proposals in a row (none: never). */
  maxSkips?: number;
  slots: number;
  maxSpendUsd?: number;
  maxTokens?: number;
  /** Prepare the next candidate while the current one runs. */
  pipeline?: boolean;
}

/**
 * What a run works with, fixed from its start to its end: where its files are, the program, the
 * ledger, agent, executor, sandbox and policy. Code that only runs commands or reads the program
 * takes this alone (measurement.ts, pristine.ts).
 */
export interface RunSetup {
  readonly run: RunRow;
  readonly paths: RunPaths;
  readonly program: Program;
  /** The program's folder relative to the repository root ('' at the root). */
  readonly programDir: string;
  readonly ledger: Ledger;
  readonly agent: Agent;
  readonly executor: Executor;
  /** Seals every agent and experiment process (or says why it cannot). */
  readonly sandbox: Sandbox;
  readonly policy: Policy;
  readonly limits: RunLimits;
  readonly protectedHashes: Hashes;
  readonly emit: LoopListener;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C / SIGTERM: kills experiments in flight. */
  readonly abort: AbortController;
  readonly startedAt: number;
  /**
   * Serializes the decisions of parallel slots: a look at the ledger, the branch's
   * compare-and-swap and the ledger write that follows. Nothing that runs an experiment or
   * carries a change onto a newer incumbent is done under it.
   */
  readonly decisionLock: Mutex;
}

/**
 * What changes while the run runs. The incumbent moves only through lifecycle.ts (a keep, the
 * baseline) and its value when it is measured again; the rest is the loop's own bookkeeping.
 */
interface LoopState {
  incumbent: Incumbent;
  baselineValue: number | null;
  stopRequested: boolean;
  agentExhausted: boolean;
  /** Experiments proposed or running now (stop.experiments counts them, so slots never overshoot). */
  inFlight: number;
  /** The drift watch's latest verdict (drift-watch.ts); absent before the first look. */
  drift?: DriftState;
}

/** A run as the loop drives it: its fixed setup and its small mutable state. */
export type RunContext = RunSetup & LoopState;
