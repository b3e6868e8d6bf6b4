/**
 * The Executor seam: runs one experiment somewhere (a local process group today, a Slurm job
 * later) and reports what happened. It knows nothing about git, agents or decisions.
 */
import type { ParsedMetrics } from '../metrics/parse.js';

export interface ExperimentSpec {
  /** Ledger id of the experiment, exported as AUTORESEARCH_EXPERIMENT_ID. */
  experimentId: number;
  /** Shell command, run with `bash -c`. */
  command: string;
  /** Working directory (the program's folder inside the candidate's worktree). */
  cwd: string;
  /**
   * The complete environment for the experiment. The caller has already removed secrets and
   * added AUTORESEARCH_TIME_BUDGET / AUTORESEARCH_EXPERIMENT_ID; the executor passes it as is.
   */
  env: Record<string, string>;
  /** Soft budget in seconds (the experiment is expected to honour it itself). */
  budgetSeconds: number;
  /** Hard limit in seconds: at this point the whole process tree is killed. */
  timeoutSeconds: number;
  /** Seconds between SIGTERM and SIGKILL when killing the tree. */
  killGraceSeconds: number;
  /** Where the combined stdout+stderr goes. Parent folder exists. */
  logPath: string;
  /** Bytes kept from the start and (separately) from the end of the output. */
  logHeadBytes: number;
  logTailBytes: number;
  /**
   * Called once the experiment's processes exist, with what is needed to find and kill them
   * from another harness process (after a crash). The caller persists it.
   */
  onStart?: (handle: ProcessHandle) => void;
  /** Resource limits for the whole process tree; absent fields mean no limit. */
  limits?: ResourceLimits;
  /**
   * The sandbox the command starts in: an argv prefix (bwrap and its options, up to `--`; empty
   * when unsealed) and whether it already cuts the network. The caller builds it (src/sandbox).
   */
  seal?: { prefix: string[]; isolatesNetwork: boolean };
}

export interface ResourceLimits {
  /** Memory of the whole tree in bytes (cgroup memory limit; prlimit --as per process otherwise). */
  memoryBytes?: number;
  /** Maximum number of processes/threads in the tree (cgroup pids.max). */
  processes?: number;
  /** false: run without network access (a fresh network namespace with only loopback). */
  network?: boolean;
}

/** How each requested limit was actually enforced on this machine (null: not enforced). */
export interface LimitsApplied {
  memory: 'cgroup' | 'prlimit' | null;
  processes: 'cgroup' | null;
  network: 'netns' | null;
}

/**
 * Enough to find an experiment's processes again: its process group and cgroup (local), or its
 * job id (Slurm).
 */
export interface ProcessHandle {
  pgid?: number;
  cgroup?: string | null;
  jobId?: string;
}

export interface ExecutionResult {
  /** Exit code of the top process; null when it was killed by a signal. */
  exitCode: number | null;
  /** Signal that ended the top process, if any (e.g. 'SIGKILL'). */
  signal: string | null;
  /** True when the hard timeout fired and the tree was killed. */
  timedOut: boolean;
  /** True when the caller aborted the run through the AbortSignal. */
  aborted: boolean;
  startedAt: number; // epoch ms
  wallSeconds: number;
  /** Peak resident memory of the whole process tree in bytes; null if it could not be measured. */
  peakMemoryBytes: number | null;
  /** Total bytes the experiment wrote to stdout+stderr, and how many were dropped from the log. */
  outputBytes: number;
  droppedBytes: number;
  /** How containment and memory were done: 'cgroup' (v1 pids+memory+freezer) or 'process-group'. */
  containment: 'cgroup' | 'process-group';
  /** True when the memory limit was hit and the kernel killed a process of the tree. */
  oomKilled?: boolean;
  /** Which requested limits were enforced, and how (absent when none were requested). */
  limitsApplied?: LimitsApplied;
  /**
   * The metrics of the whole output, read while it streamed (the log keeps only its head and
   * tail). Absent when the executor could not read them: the log is parsed instead.
   */
  metrics?: ParsedMetrics;
  /** A scheduler's final state for the job (Slurm: COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, NODE_FAIL, ...). */
  schedulerState?: string;
  /** A sentence for people when the job did not simply run to its end (e.g. the node failed). */
  schedulerReason?: string | null;
}

export interface Executor {
  readonly name: string;
  /** Runs the experiment to completion (or timeout/abort). Never rejects for experiment failures. */
  run(spec: ExperimentSpec, signal?: AbortSignal): Promise<ExecutionResult>;
  /**
   * Kills what is left of an experiment started by an earlier harness process that died
   * (kill -9), so a re-run never races its orphaned predecessor. Only processes whose
   * environment carries every `marker` variable are killed (pids are reused).
   */
  killLeftovers(handle: ProcessHandle, marker: Record<string, string>): Promise<number>;
  /**
   * Optional: follows an experiment started by an earlier harness process that may still be
   * running (a Slurm job survives its harness) to its end, writing its log to spec.logPath.
   * Resolves null when there is nothing to reattach to (then the loop runs it again).
   */
  reattach?(
    handle: ProcessHandle,
    spec: ExperimentSpec,
    signal?: AbortSignal,
  ): Promise<ExecutionResult | null>;
  /**
   * Optional: before a run starts, checks that experiments can be started at all (a cluster
   * that answers and accepts the job options), throwing a UserError that says what to fix.
   */
  check?(): Promise<void>;
}
