/**
 * Getting jobs into Slurm: the options every job carries, a check before a run that the cluster
 * answers and accepts them, and submission retried through a controller's bad minutes.
 */
import { UserError } from '../program/errors.js';
import { retry, RetryFailure } from '../util/retry.js';
import type { CommandResult } from './slurm-cli.js';
import { count } from '../util/words.js';

/** Runs one Slurm client command (the executor's environment and timeout). */
export type SlurmCommand = (command: string, args: string[]) => Promise<CommandResult>;

/** Waits before re-submitting a refused job: about a minute and a half in all. */
export const SUBMIT_RETRY_MS = [2_000, 8_000, 30_000, 60_000];

export interface JobOptions {
  partition?: string;
  gres?: string;
  account?: string;
  sbatch?: string[];
}

/** The options every job gets from program.md's `slurm:` (`time`: Slurm's backstop limit). */
export function jobOptions(o: JobOptions, time: string | undefined): string[] {
  return [
    ...(time ? [`--time=${time}`] : []),
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.gres ? [`--gres=${o.gres}`] : []),
    ...(o.account ? [`--account=${o.account}`] : []),
    ...(o.sbatch ?? []),
  ];
}

/**
 * The environment sbatch runs in, and so (`--export=ALL`) the one the batch script starts with:
 * PATH and Slurm's own variables (SLURM_*, SBATCH_*: the client's settings, which Slurm passes
 * to every job anyway), nothing else of the harness's: no secrets reach the job or the
 * controller's record of it, nor BASH_ENV into the wrapper. Not `--export=NONE`: that makes
 * slurmd run a login shell on the node for the user's environment before the job starts (about
 * 2.5 s here, more with a module system), which the wrapper does not need: the command gets
 * exactly spec.env.
 */
export function submitEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && (key === 'PATH' || /^(SLURM|SBATCH)_/.test(key))) out[key] = value;
  }
  return out;
}

const lastLine = (s: string): string =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .at(-1)
    ?.replace(/^sbatch: (error|fatal): /, '') ?? '';

/** sbatch said no (or gave no job id): worth another try, unlike a client that cannot start. */
class Refused extends Error {}

/**
 * sbatch, retried with backoff: a controller that restarts or is briefly overloaded must not end
 * a night's run. A submission still refused after the last attempt ends the run with the reason
 * (the experiment is run again on resume). Returns the job id; null when aborted while waiting.
 */
export async function submitJob(
  slurm: SlurmCommand,
  args: string[],
  delays: number[],
  signal?: AbortSignal,
): Promise<string | null> {
  const submit = async () => {
    const r = await slurm('sbatch', args);
    const jobId = /^(\d+)/.exec(r.stdout.trim())?.[1];
    if (r.code === 0 && jobId) return jobId;
    throw new Refused(
      (r.stderr || r.stdout).trim().split('\n').filter(Boolean).at(-1) ??
        `exit ${r.code ?? 'killed'}`,
    );
  };
  try {
    return await retry(submit, {
      attempts: delays.length + 1,
      delay: delays,
      retryable: (e) => e instanceof Refused,
      signal,
    });
  } catch (e) {
    if (signal?.aborted) return null;
    if (!(e instanceof RetryFailure)) throw e;
    if (!(e.cause instanceof Refused)) throw e.cause;
    throw new UserError(
      `sbatch refused the experiment ${count(e.attempts, 'time')}, the last one with: ${e.cause.message}`,
      'check the cluster (scontrol ping, sinfo) and the `slurm:` options in program.md, then run the same command again to resume',
    );
  }
}

/** Before a run: the controller answers, and sbatch accepts the job options (--test-only submits nothing). */
export async function checkCluster(slurm: SlurmCommand, options: string[]): Promise<void> {
  let ping: CommandResult;
  try {
    ping = await slurm('scontrol', ['ping']);
  } catch (e) {
    throw new UserError(
      `executor: slurm, but ${(e as Error).message.replace(/^SlurmExecutor: /, '')}`,
      'install the Slurm client tools here (Debian: apt-get install slurm-client), or start the run where sbatch works',
    );
  }
  if (ping.code !== 0 || !/\bUP\b/.test(ping.stdout)) {
    throw new UserError(
      `the Slurm controller does not answer: ${lastLine(ping.stderr || ping.stdout) || `scontrol ping exited ${ping.code}`}`,
      'check that slurmctld runs and that SLURM_CONF (or /etc/slurm/slurm.conf) points at its configuration: scontrol ping',
    );
  }
  const test = await slurm('sbatch', ['--test-only', ...options, '--wrap=true']);
  if (test.code !== 0) {
    throw new UserError(
      `sbatch does not accept the job options from program.md: ${lastLine(test.stderr || test.stdout)}`,
      'fix `slurm:` (partition, gres, account, time, sbatch) in program.md; sbatch --test-only shows what the cluster accepts',
    );
  }
}
