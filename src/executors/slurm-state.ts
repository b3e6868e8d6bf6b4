/**
 * Slurm's final job state, together with what the job itself recorded, mapped to the fields of an
 * execution result: pure, so every state (including ones a single-node cluster never produces,
 * such as NODE_FAIL) is unit-tested.
 */
import { constants as osConstants } from 'node:os';
import type { ExecutionResult, ExperimentSpec, LimitsApplied } from './executor.js';
import { baseState, type JobInfo } from './slurm-cli.js';
import type { JobStatus } from './slurm-job.js';

/**
 * ExecutionResult plus what the scheduler said. schedulerState: Slurm's final job state
 * (COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, NODE_FAIL, ... or UNKNOWN when no record
 * is left); schedulerReason: a sentence for humans when the job did not simply run to its end.
 */
export interface SlurmExecutionResult extends ExecutionResult {
  jobId: string | null;
  schedulerState: string;
  schedulerReason: string | null;
  /** Seconds the job waited in the queue (null when unknown). */
  queueSeconds: number | null;
}

/** Exit status 128+n from bash means "killed by signal n". */
function decodeExit(code: number): { exitCode: number | null; signal: string | null } {
  if (code > 128 && code < 128 + 65) {
    const n = code - 128;
    const name = Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
    if (name) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal: null };
}

export interface Outcome {
  state: string;
  reason: string | null;
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  aborted?: boolean;
  oomKilled?: boolean;
}

/**
 * Slurm's final state + what the job itself recorded -> the fields of the result.
 * `job`: the final record (null when Slurm has none left); `status`: the job's status file
 * (null when the wrapper did not live to write it); `started`: the command was started;
 * `jobError`: why the wrapper could not start the command (its `error` file), or null.
 */
export function mapJobState(
  job: JobInfo | null,
  status: JobStatus | null,
  started: boolean,
  cancelledByUs: boolean,
  timeoutSeconds: number,
  jobId: string,
  jobError: string | null = null,
): Outcome & { exitCode: number | null; signal: string | null } {
  // What the command itself did, when the wrapper lived to write it down.
  let own: { exitCode: number | null; signal: string | null } | null = null;
  let timedOutInside = false;
  if (status?.code != null) {
    own = decodeExit(status.code);
    const elapsed =
      status.startMs != null && status.endMs != null ? (status.endMs - status.startMs) / 1000 : 0;
    // GNU timeout: 124 after SIGTERM worked, 137 when it had to SIGKILL.
    timedOutInside =
      (status.code === 124 || status.code === 137) &&
      Number.isFinite(timeoutSeconds) &&
      elapsed >= timeoutSeconds - 0.05;
    if (timedOutInside)
      own = { exitCode: null, signal: status.code === 124 ? 'SIGTERM' : 'SIGKILL' };
  }
  const slurmExit = (): { exitCode: number | null; signal: string | null } => {
    if (job?.exitSignal)
      return {
        exitCode: null,
        signal: decodeExit(128 + job.exitSignal).signal ?? `SIG${job.exitSignal}`,
      };
    return job?.exitCode != null ? decodeExit(job.exitCode) : { exitCode: null, signal: null };
  };

  if (!job) {
    if (own) {
      return {
        ...own,
        state: own.exitCode === 0 ? 'COMPLETED' : 'FAILED',
        reason: `job ${jobId} is no longer known to Slurm; the result comes from the job's status file`,
        timedOut: timedOutInside,
      };
    }
    return {
      exitCode: null,
      signal: null,
      state: 'UNKNOWN',
      reason: started
        ? `job ${jobId} started but vanished from Slurm without a record of its end (controller reset?)`
        : `job ${jobId} is unknown to Slurm and never started`,
      aborted: cancelledByUs,
    };
  }

  const state = baseState(job.state);
  const why = job.reason && job.reason !== 'None' ? ` (${job.reason})` : '';
  const outOfMemory = () => ({
    ...(own ?? { exitCode: null, signal: 'SIGKILL' }),
    state,
    reason: 'out of memory: the job hit its memory limit and the kernel killed a process',
    oomKilled: true,
    timedOut: timedOutInside,
  });
  switch (state) {
    case 'COMPLETED':
    case 'FAILED': {
      // The job saw the kernel kill a process for memory: the same outcome as OUT_OF_MEMORY,
      // which Slurm reports only when it counted the kill before the step ended.
      if (own && (status?.oomKills ?? 0) > 0 && own.exitCode !== 0) return outOfMemory();
      if (own) {
        return {
          ...own,
          state,
          reason: timedOutInside
            ? `hard timeout of ${timeoutSeconds} s reached inside the job`
            : null,
          timedOut: timedOutInside,
        };
      }
      const exit = slurmExit();
      if (jobError && !started) return { ...exit, state, reason: jobError };
      return {
        ...exit,
        state,
        reason: started
          ? `the job script ended without recording the command's exit status${why}`
          : `the job failed before the command started${why}: see the end of the log`,
      };
    }
    case 'TIMEOUT':
      return {
        exitCode: null,
        signal: 'SIGTERM',
        state,
        reason: `Slurm's time limit for the job was reached${why}`,
        timedOut: true,
      };
    case 'OUT_OF_MEMORY':
      return outOfMemory();
    case 'CANCELLED':
      if (cancelledByUs)
        return {
          exitCode: null,
          signal: 'SIGTERM',
          state,
          reason: 'cancelled (aborted by the harness)',
          aborted: true,
        };
      return {
        exitCode: null,
        signal: 'SIGTERM',
        state,
        reason: `cancelled outside autoresearch (scancel or an administrator)${why}`,
      };
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return {
        exitCode: null,
        signal: null,
        state,
        reason: `the node failed${job.nodeList ? ` (${job.nodeList})` : ''}${why}`,
      };
    case 'PREEMPTED':
      return {
        exitCode: null,
        signal: 'SIGTERM',
        state,
        reason: `preempted by a higher-priority job${why}`,
      };
    case 'DEADLINE':
      return {
        exitCode: null,
        signal: 'SIGTERM',
        state,
        reason: `the job's deadline passed${why}`,
      };
    default:
      return {
        ...(own ?? slurmExit()),
        state,
        reason: `job ended in state ${state}${why}`,
        aborted: cancelledByUs && state !== 'COMPLETED',
      };
  }
}

/** What the job and the scheduler said, with the harness's own observations, as the result. */
export interface ResultParts extends Outcome {
  job?: JobInfo | null;
  status?: JobStatus | null;
  startedMs?: number | null;
  sstatPeak?: number | null;
  totals?: { outputBytes: number; droppedBytes: number };
  metrics?: ExecutionResult['metrics'];
}

/** The result of a job (`jobId` null: never submitted); `config` is `scontrol show config`. */
export function jobResult(
  spec: ExperimentSpec,
  config: Map<string, string>,
  jobId: string | null,
  submittedAt: number,
  o: ResultParts,
): SlurmExecutionResult {
  const job = o.job ?? null;
  const status = o.status ?? null;
  const startedAt = status?.startMs ?? o.startedMs ?? job?.startTime ?? submittedAt;
  let wallSeconds = 0;
  if (status?.startMs != null && status.endMs != null)
    wallSeconds = (status.endMs - status.startMs) / 1000;
  else if (job?.startTime != null && job.endTime != null)
    wallSeconds = Math.max(0, (job.endTime - job.startTime) / 1000);
  const queueStart = job?.submitTime ?? submittedAt;
  const queueSeconds =
    job?.startTime != null ? Math.max(0, (job.startTime - queueStart) / 1000) : null;
  const proctrack = config.get('ProctrackType') ?? '';
  const taskPlugin = config.get('TaskPlugin') ?? '';
  const ramConstrained =
    taskPlugin.includes('cgroup') &&
    (config.get('ConstrainRAMSpace') ?? 'yes').toLowerCase() !== 'no';
  let limitsApplied: LimitsApplied | undefined;
  if (spec.limits) {
    limitsApplied = {
      memory: spec.limits.memoryBytes !== undefined && ramConstrained ? 'cgroup' : null,
      processes: null,
      // The sandbox's own network namespace (bwrap --unshare-net), on the node.
      network:
        spec.limits.network === false &&
        spec.seal?.isolatesNetwork === true &&
        spec.seal.prefix.length > 0
          ? 'netns'
          : null,
    };
  }
  return {
    exitCode: o.exitCode ?? null,
    signal: o.signal ?? null,
    timedOut: o.timedOut ?? false,
    aborted: o.aborted ?? false,
    startedAt,
    wallSeconds,
    peakMemoryBytes: status?.peakBytes ?? o.sstatPeak ?? null,
    outputBytes: o.totals?.outputBytes ?? 0,
    droppedBytes: o.totals?.droppedBytes ?? 0,
    containment: proctrack.includes('cgroup') ? 'cgroup' : 'process-group',
    oomKilled: o.oomKilled ?? false,
    ...(limitsApplied ? { limitsApplied } : {}),
    ...(o.metrics ? { metrics: o.metrics } : {}),
    jobId,
    schedulerState: o.state,
    schedulerReason: o.reason,
    queueSeconds,
  };
}
