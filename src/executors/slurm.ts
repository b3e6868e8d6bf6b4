/**
 * SlurmExecutor: runs each experiment as a Slurm batch job.
 *
 * - The job script (slurm-script.ts) runs `bash -c <command>` in spec.cwd with exactly spec.env
 *   (plus Slurm's own SLURM_* and GPU visibility variables, which win), under
 *   `timeout --signal=TERM --kill-after=<grace> <timeout>` INSIDE the job: the hard timeout is
 *   exact to the second, and Slurm's --time (whole minutes, enforced late) is only a backstop.
 * - Sealed (spec.seal), all of that runs in the sandbox, fitted to the node by the job script; a
 *   node that cannot seal fails the job before the command starts, with the reason.
 * - stdout+stderr go to spec.logPath bounded like the local executor's log (head written live,
 *   tail kept on the node, omission marker between); the node also scans the whole output for
 *   metric lines (result.metrics).
 * - Submitted with `sbatch --parsable --export=ALL` from an environment of PATH and Slurm's own
 *   variables only (slurm-submit.ts), so nothing else of the harness's environment (secrets
 *   included) reaches the job or the controller's job record.
 * - Followed with `scontrol -o show job` (then sacct or the jobcomp/filetxt log once the
 *   controller has forgotten the job), peak memory from the job's own cgroup (or `sstat`).
 * - Abort: `scancel`, then wait until the job has left the queue (no longer COMPLETING).
 * - The job survives the harness: reattach() follows it again after a harness restart.
 *
 * The log folder (and so spec.logPath and its `<logPath>.slurm/` work folder) and spec.cwd must
 * be on a filesystem the compute nodes share, at the same path.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Executor, ExperimentSpec, ProcessHandle } from './executor.js';
import { validateLimits } from './limits.js';
import {
  checkCluster,
  jobOptions,
  submitEnvironment,
  submitJob,
  SUBMIT_RETRY_MS,
} from './slurm-submit.js';
import {
  baseState,
  isTerminalState,
  type JobInfo,
  lookupFinished,
  parseConfig,
  queryJob,
  runCommand,
  type CommandResult,
  type SlurmClient,
  sstatPeak,
} from './slurm-cli.js';
import { jobResult, mapJobState, type SlurmExecutionResult } from './slurm-state.js';
import {
  finalizeLog,
  jobPaths,
  type JobPaths,
  type JobStatus,
  readJobError,
  readScannedMetrics,
  readStarted,
  readStatus,
  renderParams,
} from './slurm-job.js';
import { JOB_SCRIPT } from './slurm-script.js';
import { FIRST_LOOK_MS, JobPace } from './slurm-pace.js';
import { sleep } from '../util/sleep.js';

export interface SlurmExecutorOptions {
  /** --partition */
  partition?: string;
  /** --gres, e.g. 'gpu:1' */
  gres?: string;
  /** --account */
  account?: string;
  /**
   * --time (Slurm's own backstop limit, any format sbatch takes). Default: whole minutes,
   * ceil((timeoutSeconds + killGraceSeconds) / 60) + 1; none when the timeout is infinite.
   */
  time?: string;
  /** Extra sbatch options, passed as given (e.g. ['--cpus-per-task=4', '--qos=short']). */
  sbatch?: string[];
  /**
   * The longest wait between two looks at the job, in seconds (default 0.5). It looks sooner
   * after the submission, a cancel and the job's end (slurm-pace.ts).
   */
  pollSeconds?: number;
  /** Environment for the Slurm client commands (e.g. SLURM_CONF), over the harness's own. */
  env?: Record<string, string>;
  /** Waits before each re-submission of a refused job (default about 1.5 min in all). */
  submitRetryMs?: number[];
}

const DEFAULT_POLL_SECONDS = 0.5;
/** sstat is a round trip to the node: not more often than this. */
const SSTAT_INTERVAL_MS = 2000;
/** While a cancel has not taken effect, scancel again this often. */
const CANCEL_RESEND_MS = 10_000;
/** How long the controller may be unreachable before a follow gives up. */
const CONTROLLER_OUTAGE_MS = 5 * 60_000;
/** How long to wait for the status file after Slurm says the script ended (NFS attribute caches). */
const STATUS_GRACE_MS = 5000;
/** Largest tail the job keeps in memory on the node (as BoundedLog). */
const MAX_TAIL_BYTES = 2 ** 31 - 1;

function sanitizeBytes(value: number, fallback: number): number {
  if (!Number.isFinite(value)) return fallback;
  return Math.max(0, Math.floor(value));
}

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  private readonly options: SlurmExecutorOptions;
  private configPromise: Promise<Map<string, string>> | null = null;

  constructor(options: SlurmExecutorOptions = {}) {
    this.options = { ...options };
  }

  private get pollMs(): number {
    const s = this.options.pollSeconds;
    return s !== undefined && Number.isFinite(s) && s > 0 ? s * 1000 : DEFAULT_POLL_SECONDS * 1000;
  }

  private get clientEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.options.env };
  }

  private slurm(
    command: string,
    args: string[],
    timeoutMs = 60_000,
    env = this.clientEnv,
  ): Promise<CommandResult> {
    return runCommand(command, args, env, timeoutMs);
  }

  /** The Slurm clients as the queries in slurm-cli.ts run them. */
  private readonly client: SlurmClient = (command, args, timeoutMs) =>
    this.slurm(command, args, timeoutMs);

  /** `scontrol show config`, read once (an empty map when the controller does not answer). */
  private config(): Promise<Map<string, string>> {
    this.configPromise ??= this.slurm('scontrol', ['show', 'config'], 30_000).then((r) => {
      if (r.code !== 0) {
        this.configPromise = null;
        return new Map<string, string>();
      }
      return parseConfig(r.stdout);
    });
    return this.configPromise;
  }

  async run(spec: ExperimentSpec, signal?: AbortSignal): Promise<SlurmExecutionResult> {
    // Nonsensical limits, a missing cwd and an unwritable log are harness bugs: reject at once.
    if (spec.limits) validateLimits(spec.limits);
    if (!fs.existsSync(spec.cwd))
      throw new Error(`SlurmExecutor: working directory does not exist: ${spec.cwd}`);
    const paths = jobPaths(spec.logPath);
    fs.rmSync(paths.dir, { recursive: true, force: true });
    fs.mkdirSync(paths.dir, { recursive: true });
    fs.writeFileSync(spec.logPath, '');
    const submittedAt = Date.now();
    // Read while the job is submitted: only the result needs it.
    const configRead = this.config();
    configRead.catch(() => {});
    if (signal?.aborted) {
      const config = await configRead;
      finalizeLog(paths, spec.logPath, 0, null);
      return jobResult(spec, config, null, submittedAt, {
        state: 'NOT_SUBMITTED',
        reason: 'aborted before the job was submitted',
        aborted: true,
      });
    }

    const timeout = spec.timeoutSeconds;
    const grace =
      Number.isFinite(spec.killGraceSeconds) && spec.killGraceSeconds > 0
        ? spec.killGraceSeconds
        : 0.01;
    fs.writeFileSync(paths.script, JOB_SCRIPT, { mode: 0o700 });
    fs.writeFileSync(
      paths.params,
      renderParams({
        command: spec.command,
        cwd: spec.cwd,
        env: spec.env,
        logPath: spec.logPath,
        headBytes: sanitizeBytes(spec.logHeadBytes, Number.MAX_SAFE_INTEGER),
        tailBytes: Math.min(sanitizeBytes(spec.logTailBytes, 0), MAX_TAIL_BYTES),
        // GNU timeout: 0 disables it.
        timeoutSeconds: Number.isFinite(timeout) ? Math.max(timeout, 0.001) : 0,
        graceSeconds: grace,
        seal: spec.seal?.prefix ?? [],
      }),
      { mode: 0o600 },
    );

    const args = [
      '--parsable',
      `--job-name=${jobName(spec)}`,
      `--output=${paths.slurmOut}`,
      `--chdir=${paths.dir}`,
      '--export=ALL',
    ];
    const time =
      this.options.time ??
      (Number.isFinite(timeout)
        ? String(Math.ceil((Math.max(timeout, 0) + grace) / 60) + 1)
        : undefined);
    args.push(...jobOptions(this.options, time));
    if (spec.limits?.memoryBytes !== undefined)
      args.push(`--mem=${Math.ceil(spec.limits.memoryBytes / 2 ** 20)}M`);
    args.push(paths.script, paths.dir);

    const jobEnv = submitEnvironment(this.clientEnv);
    const jobId = await submitJob(
      (command, a) => this.slurm(command, a, 60_000, jobEnv),
      args,
      this.options.submitRetryMs ?? SUBMIT_RETRY_MS,
      signal,
    );
    const config = await configRead;
    if (jobId === null) {
      finalizeLog(paths, spec.logPath, 0, null);
      return jobResult(spec, config, null, submittedAt, {
        state: 'NOT_SUBMITTED',
        reason: 'aborted before the job was submitted',
        aborted: true,
      });
    }
    spec.onStart?.({ jobId });
    return this.follow(jobId, spec, paths, config, submittedAt, signal);
  }

  /** Before a run: the controller answers, and sbatch accepts the job options. */
  check(): Promise<void> {
    return checkCluster(
      (command, args) => this.slurm(command, args, 30_000),
      jobOptions(this.options, this.options.time ?? '1'),
    );
  }

  async killLeftovers(handle: ProcessHandle, marker: Record<string, string>): Promise<number> {
    const jobId = handle.jobId;
    if (!jobId) return 0;
    const q = await queryJob(this.client, jobId);
    if (q.kind === 'error')
      throw new Error(`SlurmExecutor: cannot look up job ${jobId}: ${q.message}`);
    if (q.kind === 'gone' || isTerminalState(q.info.state)) return 0;
    // Job ids can be reused (a controller reset): only cancel what is visibly ours.
    const expected = marker.AUTORESEARCH_EXPERIMENT_ID;
    const name = q.info.name ?? '';
    if (
      expected !== undefined
        ? name !== `autoresearch-${expected}`
        : !name.startsWith('autoresearch-')
    )
      return 0;
    const completing = baseState(q.info.state) === 'COMPLETING';
    if (!completing) await this.slurm('scancel', [jobId], 30_000);
    const config = await this.config();
    const killWait = parseInt(config.get('KillWait') ?? '30', 10) || 30;
    const deadline = Date.now() + (killWait + 60) * 1000;
    for (let wait = FIRST_LOOK_MS; Date.now() < deadline; wait = Math.min(wait * 2, 500)) {
      const r = await queryJob(this.client, jobId);
      if (r.kind === 'gone' || (r.kind === 'found' && isTerminalState(r.info.state))) break;
      await sleep(wait);
    }
    return completing ? 0 : 1;
  }

  async reattach(
    handle: ProcessHandle,
    spec: ExperimentSpec,
    signal?: AbortSignal,
  ): Promise<SlurmExecutionResult | null> {
    const jobId = handle.jobId;
    if (!jobId) return null;
    const paths = jobPaths(spec.logPath);
    const config = await this.config();
    const q = await queryJob(this.client, jobId);
    if (q.kind === 'error')
      throw new Error(`SlurmExecutor: cannot look up job ${jobId}: ${q.message}`);
    if (q.kind === 'found') {
      // A reused id (the controller was reset) belongs to another job.
      if (q.info.name !== jobName(spec)) return null;
      return this.follow(jobId, spec, paths, config, q.info.submitTime ?? Date.now(), signal);
    }
    const status = readStatus(paths.status);
    const started = readStarted(paths.started);
    const record = await lookupFinished(this.client, jobId, config);
    const ours =
      status?.jobId === jobId ||
      started?.jobId === jobId ||
      (record !== null && record.name === jobName(spec));
    if (!ours) return null;
    return this.follow(jobId, spec, paths, config, record?.submitTime ?? Date.now(), signal);
  }

  /** Follows a submitted job to its end (or abort), then completes the log and the result. */
  private async follow(
    jobId: string,
    spec: ExperimentSpec,
    paths: JobPaths,
    config: Map<string, string>,
    submittedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<SlurmExecutionResult> {
    let cancelRequested = false;
    let cancelSentAt = 0;
    const pace = new JobPace(this.pollMs);
    const onAbort = () => {
      cancelRequested = true;
      pace.hurry();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) cancelRequested = true;
    // The job's status file is written as its command ends: look then, not a poll interval later.
    pace.watch(paths.dir, [path.basename(paths.status), path.basename(paths.error)]);

    let info: JobInfo | null = null;
    let sstatMax: number | null = null;
    let lastSstat = 0;
    let errorSince: number | null = null;
    try {
      for (;;) {
        if (cancelRequested && Date.now() - cancelSentAt >= CANCEL_RESEND_MS) {
          cancelSentAt = Date.now();
          await this.slurm('scancel', [jobId], 30_000);
          pace.soon();
        }
        const q = await queryJob(this.client, jobId);
        if (q.kind === 'error') {
          errorSince ??= Date.now();
          if (Date.now() - errorSince > CONTROLLER_OUTAGE_MS) {
            throw new Error(`SlurmExecutor: lost track of job ${jobId}: ${q.message}`);
          }
        } else {
          errorSince = null;
          if (q.kind === 'gone') break;
          info = q.info;
          if (isTerminalState(info.state)) break;
          if (baseState(info.state) === 'RUNNING' && Date.now() - lastSstat >= SSTAT_INTERVAL_MS) {
            lastSstat = Date.now();
            const peak = await sstatPeak(this.client, jobId);
            if (peak !== null) sstatMax = Math.max(sstatMax ?? 0, peak);
          }
        }
        await pace.wait();
      }
    } finally {
      pace.unwatch();
      signal?.removeEventListener('abort', onAbort);
    }

    const live = info !== null && isTerminalState(info.state);
    const final = live ? info : ((await lookupFinished(this.client, jobId, config)) ?? null);
    let status = ownStatus(paths, jobId);
    const state = final ? baseState(final.state) : null;
    if (!status && (state === 'COMPLETED' || state === 'FAILED') && fs.existsSync(paths.started)) {
      // The script ended normally, so the status file exists; a shared filesystem may show it late.
      const deadline = Date.now() + STATUS_GRACE_MS;
      while (!status && Date.now() < deadline) {
        await sleep(100);
        status = ownStatus(paths, jobId);
      }
    }
    fs.mkdirSync(paths.dir, { recursive: true });
    const totals = finalizeLog(
      paths,
      spec.logPath,
      Math.min(sanitizeBytes(spec.logTailBytes, 0), MAX_TAIL_BYTES),
      status,
    );
    const started = readStarted(paths.started);
    return jobResult(spec, config, jobId, submittedAt, {
      ...mapJobState(
        final,
        status,
        started !== null,
        cancelSentAt > 0,
        spec.timeoutSeconds,
        jobId,
        readJobError(paths),
      ),
      job: final,
      status,
      startedMs: started?.jobId === jobId ? started.startMs : null,
      sstatPeak: sstatMax,
      totals,
      metrics: readScannedMetrics(paths),
    });
  }
}

function jobName(spec: ExperimentSpec): string {
  return `autoresearch-${spec.experimentId}`;
}

/** The status file, when it belongs to this job (not to an earlier submission). */
function ownStatus(paths: JobPaths, jobId: string): JobStatus | null {
  const status = readStatus(paths.status);
  return status && (status.jobId === null || status.jobId === jobId) ? status : null;
}

export { mapJobState, type SlurmExecutionResult } from './slurm-state.js';
