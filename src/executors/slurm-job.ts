/**
 * The files of one Slurm experiment, all in its work folder `<logPath>.slurm/` (which must be on
 * a filesystem the compute node shares):
 *
 * - `job.sh`     the batch script (static text, slurm-script.ts); sbatch gets the work folder as $1.
 * - `params.sh`  what the job runs: single-quoted bash assignments written here (any character
 *                but NUL is safe), mode 0600; deleted once the result is in.
 * - `started`    written by the job just before the command starts (job id, epoch ms).
 * - `status`     written by the job after the command ended: exit status, start/end times, the
 *                bytes of output it saw, peak memory of its cgroup.
 * - `tail`       the last logTailBytes of the output (the first logHeadBytes go straight to the
 *                log as they come, so the log shows progress while the job runs).
 * - `metrics`    the lines of the WHOLE output that may be metric lines, the last one per name,
 *                written once the output has ended (parsed with MetricStream: metrics printed
 *                in the middle the log drops are still read).
 * - `error`      written by the job when it cannot start the command (no working directory, a node
 *                that cannot seal): the reason, in one line.
 * - `slurm.out`  sbatch's --output: only the wrapper's and slurmstepd's own messages.
 * - `finalized`  written once the log is complete (so a second follower never rewrites it).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { omissionMarker } from './log-sink.js';
import { readFileTail } from './slurm-cli.js';
import type { ParsedMetrics } from '../metrics/parse.js';
import { MetricStream } from '../metrics/stream.js';
import { shellQuote } from '../util/shell.js';

function assertNoNul(what: string, value: string): void {
  if (value.includes('\0')) throw new TypeError(`SlurmExecutor: ${what} contains a NUL byte`);
}

/** A duration for GNU timeout: plain decimal seconds, never exponent notation. */
function durationArg(seconds: number): string {
  return Number(seconds.toFixed(3)).toString();
}

export interface JobParams {
  command: string;
  cwd: string;
  env: Record<string, string>;
  logPath: string;
  headBytes: number;
  tailBytes: number;
  /** Seconds; 0 disables the timeout. */
  timeoutSeconds: number;
  graceSeconds: number;
  /** The sandbox: bwrap and its options up to `--` (empty: unsealed). */
  seal?: string[];
}

export function renderParams(p: JobParams): string {
  assertNoNul('the command', p.command);
  assertNoNul('the working directory', p.cwd);
  assertNoNul('the log path', p.logPath);
  const env: string[] = [];
  for (const [key, value] of Object.entries(p.env)) {
    if (key === '' || key.includes('='))
      throw new TypeError(
        `SlurmExecutor: invalid environment variable name ${JSON.stringify(key)}`,
      );
    assertNoNul(`environment variable ${key}`, key + String(value));
    env.push(shellQuote(`${key}=${String(value)}`));
  }
  const seal = p.seal ?? [];
  for (const a of seal) assertNoNul('the sandbox prefix', a);
  const lines = [
    '# autoresearch: what the job runs (single-quoted; sourced by job.sh)',
    `__ar_cmd=${shellQuote(p.command)}`,
    `__ar_cwd=${shellQuote(p.cwd)}`,
    `__ar_log=${shellQuote(p.logPath)}`,
    `__ar_head_bytes=${p.headBytes}`,
    `__ar_tail_bytes=${p.tailBytes}`,
    `__ar_timeout=${durationArg(p.timeoutSeconds)}`,
    `__ar_grace=${durationArg(p.graceSeconds)}`,
    `__ar_grace_ticks=${Math.max(1, Math.ceil(p.graceSeconds * 10))}`,
    '__ar_env=(',
    ...env.map((e) => `  ${e}`),
    ')',
    '__ar_seal=(',
    ...seal.map((a) => `  ${shellQuote(a)}`),
    ')',
    '',
  ];
  return lines.join('\n');
}

export interface JobPaths {
  dir: string;
  script: string;
  params: string;
  started: string;
  status: string;
  tail: string;
  slurmOut: string;
  finalized: string;
  metrics: string;
  error: string;
}

export function jobPaths(logPath: string): JobPaths {
  const dir = `${path.resolve(logPath)}.slurm`;
  return {
    dir,
    script: path.join(dir, 'job.sh'),
    params: path.join(dir, 'params.sh'),
    started: path.join(dir, 'started'),
    status: path.join(dir, 'status'),
    tail: path.join(dir, 'tail'),
    slurmOut: path.join(dir, 'slurm.out'),
    finalized: path.join(dir, 'finalized'),
    metrics: path.join(dir, 'metrics'),
    error: path.join(dir, 'error'),
  };
}

/** What the job wrote into `status` (fields it could not know are null). */
export interface JobStatus {
  jobId: string | null;
  code: number | null;
  startMs: number | null;
  endMs: number | null;
  headBytes: number | null;
  restBytes: number | null;
  peakBytes: number | null;
  /** Processes the kernel killed for memory in the job's cgroup (null: not known). */
  oomKills: number | null;
  readerDone: boolean;
}

function readKeyValues(file: string): Map<string, string> | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) map.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return map;
}

function num(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  return Number(value);
}

export function readStatus(file: string): JobStatus | null {
  const kv = readKeyValues(file);
  if (!kv || !kv.has('code')) return null;
  return {
    jobId: kv.get('jobid') || null,
    code: num(kv.get('code')),
    startMs: num(kv.get('start_ms')),
    endMs: num(kv.get('end_ms')),
    headBytes: num(kv.get('head_bytes')),
    restBytes: num(kv.get('rest_bytes')),
    peakBytes: num(kv.get('peak_bytes')),
    oomKills: num(kv.get('oom_kills')),
    readerDone: kv.get('reader') === 'done',
  };
}

export function readStarted(file: string): { jobId: string | null; startMs: number | null } | null {
  const kv = readKeyValues(file);
  if (!kv) return null;
  return { jobId: kv.get('jobid') || null, startMs: num(kv.get('start_ms')) };
}

/** Why the job could not start its command (one line, from the job), or null. */
export function readJobError(paths: JobPaths): string | null {
  try {
    return fs.readFileSync(paths.error, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export interface LogTotals {
  outputBytes: number;
  droppedBytes: number;
}

/** At most this much of slurm.out (scheduler and wrapper messages) is appended to the log. */
const SLURM_OUT_MAX = 8 * 1024;

/**
 * Completes the log once the job is over: the head the job wrote, the omission marker, the
 * tail, then slurmstepd's own messages (an OOM kill, a time limit). Synchronous, and a no-op
 * after the first time (the totals are kept in `finalized`), so two followers of the same job
 * in one process never both write. Without a status file (the job was killed), the dropped byte
 * count is unknown and reported as 0.
 */
export function finalizeLog(
  paths: JobPaths,
  logPath: string,
  tailLimit: number,
  status: JobStatus | null,
): LogTotals {
  try {
    const done = JSON.parse(fs.readFileSync(paths.finalized, 'utf8')) as Partial<LogTotals>;
    if (typeof done.outputBytes === 'number' && typeof done.droppedBytes === 'number') {
      return { outputBytes: done.outputBytes, droppedBytes: done.droppedBytes };
    }
  } catch {
    // not finalized yet
  }
  const fd = fs.openSync(logPath, 'a+');
  let totals: LogTotals;
  try {
    const size = fs.fstatSync(fd).size;
    const head = Math.min(status?.headBytes ?? size, size);
    if (size > head) fs.ftruncateSync(fd, head);
    const tail = tailLimit > 0 ? readFileTail(paths.tail, tailLimit) : Buffer.alloc(0);
    const rest = Math.max(status?.restBytes ?? tail.length, tail.length);
    const dropped = rest - tail.length;
    const write = (buf: Buffer) => {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    };
    if (dropped > 0) write(Buffer.from(omissionMarker(dropped), 'utf8'));
    write(tail);
    const slurmOut = readFileTail(paths.slurmOut, SLURM_OUT_MAX);
    if (slurmOut.length > 0) {
      const last = lastByte(fd);
      if (last !== null && last !== 0x0a) write(Buffer.from('\n'));
      write(slurmOut);
    }
    totals = { outputBytes: head + rest, droppedBytes: dropped };
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(paths.finalized, JSON.stringify(totals) + '\n');
  for (const file of [paths.tail, paths.params]) fs.rmSync(file, { force: true });
  return totals;
}

function lastByte(fd: number): number | null {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return null;
  const buf = Buffer.alloc(1);
  fs.readSync(fd, buf, 0, 1, size - 1);
  return buf[0]!;
}

/** The metrics the job scanned from its whole output; undefined when it wrote none (then the log is parsed). */
export function readScannedMetrics(paths: JobPaths): ParsedMetrics | undefined {
  let lines: Buffer;
  try {
    lines = fs.readFileSync(paths.metrics);
  } catch {
    return undefined;
  }
  const stream = new MetricStream({ numbered: false });
  stream.write(lines);
  return stream.end();
}
