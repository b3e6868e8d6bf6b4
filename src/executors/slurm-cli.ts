/**
 * The Slurm command-line clients as the SlurmExecutor uses them: running them, asking about a job,
 * and parsing what `scontrol -o show job`, `scontrol show config`, `sstat`, `sacct` and the
 * jobcomp/filetxt log say.
 * Works without accounting (no slurmdbd, so no sacct): `scontrol` answers for MinJobAge seconds
 * after a job ends, then the jobcomp file or sacct (when configured) are the fallbacks.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';

export interface CommandResult {
  /** Exit status; null when the command was killed (e.g. by its timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Slurm client. Rejects only when the binary cannot be started at all. */
export function runCommand(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env,
        timeout: timeoutMs,
        maxBuffer: 32 * 1024 * 1024,
        encoding: 'utf8',
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new Error(
              `SlurmExecutor: '${file}' not found (is the Slurm client installed and on PATH?)`,
              { cause: err },
            ),
          );
          return;
        }
        let code: number | null = 0;
        if (err) {
          const c = (err as { code?: unknown }).code;
          code = typeof c === 'number' ? c : null;
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Runs one Slurm client command with the executor's environment. */
export type SlurmClient = (
  command: string,
  args: string[],
  timeoutMs?: number,
) => Promise<CommandResult>;

/** States after which the job's processes are gone (COMPLETING is not one of them). */
const TERMINAL_STATES = new Set([
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'CANCELLED',
  'NODE_FAIL',
  'BOOT_FAIL',
  'DEADLINE',
  'PREEMPTED',
  'REVOKED',
  'SPECIAL_EXIT',
]);

export function isTerminalState(state: string): boolean {
  return TERMINAL_STATES.has(baseState(state));
}

/** `CANCELLED by 0` (sacct) or `CANCELLED+` -> `CANCELLED`. */
export function baseState(state: string): string {
  return (state.trim().split(/[\s+]/)[0] ?? '').toUpperCase();
}

export interface JobInfo {
  jobId: string;
  name: string | null;
  state: string;
  reason: string | null;
  /** From ExitCode=X:Y: the exit status and the signal that ended the batch script (0: none). */
  exitCode: number | null;
  exitSignal: number | null;
  /** Epoch ms; null when unknown / not yet. */
  submitTime: number | null;
  startTime: number | null;
  endTime: number | null;
  stdOut: string | null;
  nodeList: string | null;
  /** Where the information came from: 'scontrol', 'sacct', 'jobcomp'. */
  source: string;
}

function field(line: string, key: string): string | null {
  const re = new RegExp(`(?:^|\\s)${key.replace(/[/]/g, '\\/')}=(\\S*)`);
  const m = re.exec(line);
  return m ? m[1]! : null;
}

/** Slurm's local-time timestamps (`2026-11-28T17:28:33`); null for Unknown/None/N/A. */
function parseSlurmTime(value: string | null | undefined): number | null {
  if (!value || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(value)) return null;
  const ms = new Date(value).getTime(); // no zone: local time, as Slurm prints it
  return Number.isFinite(ms) ? ms : null;
}

function parseExit(value: string | null): { code: number | null; signal: number | null } {
  const m = value ? /^(\d+):(\d+)$/.exec(value) : null;
  return m ? { code: Number(m[1]), signal: Number(m[2]) } : { code: null, signal: null };
}

function nullish(value: string | null): string | null {
  return value === null || value === '' || value === '(null)' || value === 'None' ? null : value;
}

/** Parses one job from `scontrol -o show job <id>` (one line per job). */
export function parseScontrolJob(output: string, jobId: string): JobInfo | null {
  for (const line of output.split('\n')) {
    if (field(line, 'JobId') !== jobId) continue;
    const exit = parseExit(field(line, 'ExitCode'));
    return {
      jobId,
      name: nullish(field(line, 'JobName')),
      state: field(line, 'JobState') ?? 'UNKNOWN',
      reason: nullish(field(line, 'Reason')),
      exitCode: exit.code,
      exitSignal: exit.signal,
      submitTime: parseSlurmTime(field(line, 'SubmitTime')),
      startTime: parseSlurmTime(field(line, 'StartTime')),
      endTime: parseSlurmTime(field(line, 'EndTime')),
      stdOut: nullish(field(line, 'StdOut')),
      nodeList: nullish(field(line, 'NodeList')),
      source: 'scontrol',
    };
  }
  return null;
}

/** The last record of `jobId` in a jobcomp/filetxt log (job ids can repeat after a controller reset). */
export function parseJobcompRecord(text: string, jobId: string): JobInfo | null {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (field(line, 'JobId') !== jobId) continue;
    const exit = parseExit(field(line, 'ExitCode'));
    return {
      jobId,
      name: nullish(field(line, 'Name')),
      state: field(line, 'JobState') ?? 'UNKNOWN',
      reason: null,
      exitCode: exit.code,
      exitSignal: exit.signal,
      submitTime: parseSlurmTime(field(line, 'SubmitTime')),
      startTime: parseSlurmTime(field(line, 'StartTime')),
      endTime: parseSlurmTime(field(line, 'EndTime')),
      stdOut: null,
      nodeList: nullish(field(line, 'NodeList')),
      source: 'jobcomp',
    };
  }
  return null;
}

/** `sacct -X -n -P -o JobID,JobName,State,ExitCode,Submit,Start,End,NodeList` output. */
export function parseSacct(output: string, jobId: string): JobInfo | null {
  for (const line of output.split('\n')) {
    const cols = line.split('|');
    if (cols.length < 8 || cols[0] !== jobId) continue;
    const exit = parseExit(cols[3]!);
    return {
      jobId,
      name: nullish(cols[1]!),
      state: baseState(cols[2]!),
      reason: null,
      exitCode: exit.code,
      exitSignal: exit.signal,
      submitTime: parseSlurmTime(cols[4]),
      startTime: parseSlurmTime(cols[5]),
      endTime: parseSlurmTime(cols[6]),
      stdOut: null,
      nodeList: nullish(cols[7]!),
      source: 'sacct',
    };
  }
  return null;
}

/** `Key = value` lines of `scontrol show config` (cgroup.conf settings included). */
export function parseConfig(output: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s*=\s?(.*)$/.exec(line);
    if (m) config.set(m[1]!, m[2]!.trim());
  }
  return config;
}

/** sstat sizes: `237832K`, `1.50M`, `0`. */
export function parseSize(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)$/i.exec(value.trim());
  if (!m) return null;
  const power = ' KMGTP'.indexOf((m[2] || ' ').toUpperCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** Reads at most the last `maxBytes` of a file (empty when unreadable). */
export function readFileTail(file: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    let off = 0;
    while (off < len) {
      const n = fs.readSync(fd, buf, off, len - off, size - len + off);
      if (n <= 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } catch {
    return Buffer.alloc(0);
  } finally {
    fs.closeSync(fd);
  }
}

export type JobQuery =
  { kind: 'found'; info: JobInfo } | { kind: 'gone' } | { kind: 'error'; message: string };

/** What the controller says about a job now (`gone`: it no longer knows it). */
export async function queryJob(slurm: SlurmClient, jobId: string): Promise<JobQuery> {
  const r = await slurm('scontrol', ['-o', 'show', 'job', jobId], 30_000);
  if (r.code === 0) {
    const info = parseScontrolJob(r.stdout, jobId);
    return info ? { kind: 'found', info } : { kind: 'gone' };
  }
  if (/invalid job id/i.test(r.stderr + r.stdout)) return { kind: 'gone' };
  return {
    kind: 'error',
    message: (r.stderr || r.stdout).trim() || `scontrol exited with ${r.code ?? 'a signal'}`,
  };
}

/** The final record of a job the controller no longer knows: sacct, else the jobcomp file. */
export async function lookupFinished(
  slurm: SlurmClient,
  jobId: string,
  config: Map<string, string>,
): Promise<JobInfo | null> {
  const storage = config.get('AccountingStorageType') ?? '';
  if (storage !== '' && !storage.endsWith('/none')) {
    const fields = 'JobID,JobName,State,ExitCode,Submit,Start,End,NodeList';
    const r = await slurm('sacct', ['-X', '-n', '-P', '-j', jobId, '-o', fields], 30_000);
    const info = r.code === 0 ? parseSacct(r.stdout, jobId) : null;
    if (info) return info;
  }
  const loc = config.get('JobCompLoc');
  if ((config.get('JobCompType') ?? '').endsWith('/filetxt') && loc) {
    const info = parseJobcompRecord(readFileTail(loc, 8 * 1024 * 1024).toString('utf8'), jobId);
    if (info) return info;
  }
  return null;
}

/** The job's peak memory from sstat (a round trip to the node), or null. */
export async function sstatPeak(slurm: SlurmClient, jobId: string): Promise<number | null> {
  const r = await slurm('sstat', ['-n', '-P', '-a', '-j', jobId, '-o', 'MaxRSS'], 10_000).catch(
    () => null,
  );
  if (!r || r.code !== 0) return null;
  let peak: number | null = null;
  for (const line of r.stdout.split('\n')) {
    const v = parseSize(line);
    if (v !== null && (peak === null || v > peak)) peak = v;
  }
  return peak;
}
