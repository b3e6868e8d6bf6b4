/**
 * The files of one Slurm experiment, all in its work folder `<logPath>.slurm/` (which must be on
 * a filesystem the compute node shares):
 *
 * - `job.sh`     the batch script (static text, below); sbatch gets the work folder as $1.
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
 * - `slurm.out`  sbatch's --output: only the wrapper's and slurmstepd's own messages.
 * - `finalized`  written once the log is complete (so a second follower never rewrites it).
 *
 * Output stays bounded on disk and in memory: `dd count=HEAD iflag=count_bytes` writes the head
 * (unbuffered, so the log shows progress), `tail -c` keeps the tail in memory on the node, a second
 * `dd` in between counts the bytes dropped. Needs GNU coreutils on the compute nodes.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { omissionMarker } from './log-sink.js';
import { readFileTail } from './slurm-cli.js';
import { MAX_LINE_BYTES } from '../metrics/line.js';
import type { ParsedMetrics } from '../metrics/parse.js';
import { MAX_METRIC_NAMES, MetricStream } from '../metrics/stream.js';

/**
 * The scan on the node, in C-locale bytes: `\r` ends a line too; lines are cut one byte past
 * MAX_LINE_BYTES (so MetricStream still sees them as too long); grep keeps the lines shaped like
 * `METRIC ...` or `name: ...`/`name = ...`; awk keeps for every name (the token before `:`/`=`,
 * or each pair's name on a METRIC line: never coarser than MetricStream's names) only the line of
 * its last occurrence, at most MAX_METRIC_NAMES names; sort puts the kept lines back in order.
 */
const SCAN_CANDIDATE = '^[[:space:]]*(METRIC[[:space:]]|[^[:space:]:=]+[[:space:]]*[:=])';
const SCAN_AWK = [
  '{ n = 0',
  '  if ($0 ~ /^[[:space:]]*METRIC[[:space:]]/) {',
  '    r = $0; sub(/^[[:space:]]*METRIC[[:space:]]+/, "", r); gsub(/[[:space:]]*=[[:space:]]*/, "=", r)',
  '    k = split(r, t, /[[:space:],]+/)',
  '    for (i = 1; i <= k; i++) if ((e = index(t[i], "=")) > 1) key[++n] = substr(t[i], 1, e - 1)',
  '  } else if (match($0, /^[[:space:]]*[^[:space:]:=]+/)) {',
  '    s = substr($0, 1, RLENGTH); sub(/^[[:space:]]+/, "", s); key[++n] = s',
  '  }',
  '  kept = 0',
  '  for (i = 1; i <= n; i++) {',
  '    s = key[i]',
  `    if (!(s in last)) { if (names >= ${MAX_METRIC_NAMES}) continue; names++ }`,
  '    else if (--refs[last[s]] == 0) { delete text[last[s]]; delete refs[last[s]] }',
  '    last[s] = NR; refs[NR]++; kept = 1',
  '  }',
  '  if (kept) text[NR] = $0',
  '}',
  'END { for (r in text) printf "%.0f\\t%s\\n", r, text[r] }',
].join('\n');

/**
 * The batch script. Exit status: the command's (so Slurm's COMPLETED/FAILED and ExitCode agree);
 * 2 when the wrapper itself cannot start. The command runs as
 * `timeout --signal=TERM --kill-after=GRACE TIMEOUT env -i -- <spec.env + Slurm's job variables> bash -c CMD`
 * in spec.cwd with stdin from /dev/null and stdout+stderr into one FIFO; `timeout` makes its own
 * process group and signals all of it. After the command ends, what is left of that group (stray
 * background processes) is sent SIGTERM and, after the grace period, SIGKILL. Slurm's proctrack
 * cleans up anything else when the job ends (with proctrack/cgroup, `setsid` escapees too).
 */
export const JOB_SCRIPT = `#!/bin/bash
# autoresearch: Slurm job wrapper (written by src/executors/slurm-job.ts). $1: the work folder.
__ar_d=$1
PATH=/usr/local/bin:/usr/bin:/bin\${PATH:+:$PATH}
export LC_ALL=C
if ! . "$__ar_d/params.sh"; then
  echo "[autoresearch: cannot read $__ar_d/params.sh on $(hostname): is this folder on a filesystem shared with the compute nodes?]" >&2
  exit 2
fi
__ar_tmp=$(mktemp -d "\${TMPDIR:-/tmp}/autoresearch-job.XXXXXX") || exit 2
trap 'rm -rf "$__ar_tmp"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
mkfifo "$__ar_tmp/out" "$__ar_tmp/scan" || exit 2
rm -f "$__ar_d/status" "$__ar_d/tail" "$__ar_d/metrics"
# Slurm's per-job variables (job id, the GPUs granted) override what the harness passed.
for __ar_v in $(compgen -e); do
  case $__ar_v in
    SLURM_EXPORT_ENV | SLURM_GET_USER_ENV) ;;
    SLURM_* | SLURMD_* | CUDA_VISIBLE_DEVICES | GPU_DEVICE_ORDINAL | ROCR_VISIBLE_DEVICES | ZE_AFFINITY_MASK)
      __ar_env+=("$__ar_v=\${!__ar_v}") ;;
  esac
done
# Scanner: the metric-looking lines of the whole output (see SCAN_AWK), complete or not at all.
(
  set -o pipefail
  tr '\\r' '\\n' | cut -b 1-${MAX_LINE_BYTES + 1} | { grep -a -E '${SCAN_CANDIDATE}' || [ $? -eq 1 ]; } |
    awk '${SCAN_AWK}' | sort -n | cut -f 2- > "$__ar_d/metrics.tmp" && mv -f "$__ar_d/metrics.tmp" "$__ar_d/metrics"
) < "$__ar_tmp/scan" &
__ar_scanner=$!
# Reader: tee feeds the scanner (-p: a scanner that dies never stops the output); the head goes
# to the log as it arrives (dd writes each read at once and reads no further than the head), the
# next dd counts the rest, tail keeps its end.
{
  tee -p "$__ar_tmp/scan" | {
    dd bs=65536 count="$__ar_head_bytes" iflag=count_bytes of="$__ar_log" status=none
    if [ "$__ar_tail_bytes" -gt 0 ]; then
      dd bs=65536 2> "$__ar_tmp/dd" | tail -c "$__ar_tail_bytes" > "$__ar_d/tail"
    else
      dd bs=65536 of=/dev/null 2> "$__ar_tmp/dd"
    fi
  }
  : > "$__ar_tmp/reader-done"
} < "$__ar_tmp/out" &
__ar_reader=$!
__ar_start=$(date +%s%3N)
printf 'jobid=%s\\nstart_ms=%s\\n' "\${SLURM_JOB_ID:-}" "$__ar_start" > "$__ar_d/started"
(
  cd -- "$__ar_cwd" || exit 126
  exec timeout --signal=TERM --kill-after="$__ar_grace" "$__ar_timeout" env -i -- "\${__ar_env[@]}" "$BASH" -c "$__ar_cmd"
) > "$__ar_tmp/out" 2>&1 < /dev/null &
__ar_pid=$!
wait "$__ar_pid"
__ar_code=$?
__ar_end=$(date +%s%3N)
# Stray processes left in the command's process group: SIGTERM, SIGKILL after the grace period.
if kill -0 -- "-$__ar_pid" 2> /dev/null; then
  kill -TERM -- "-$__ar_pid" 2> /dev/null
  __ar_i=0
  while kill -0 -- "-$__ar_pid" 2> /dev/null && [ "$__ar_i" -lt "$__ar_grace_ticks" ]; do
    sleep 0.1
    __ar_i=$((__ar_i + 1))
  done
  kill -KILL -- "-$__ar_pid" 2> /dev/null
fi
# The reader ends when the last writer closes the FIFO; a detached escapee may hold it open.
__ar_i=0
while [ ! -e "$__ar_tmp/reader-done" ] && [ "$__ar_i" -lt 50 ]; do
  sleep 0.1
  __ar_i=$((__ar_i + 1))
done
__ar_reader_state=done
if [ -e "$__ar_tmp/reader-done" ]; then
  wait "$__ar_reader" 2> /dev/null
  wait "$__ar_scanner" 2> /dev/null
else
  __ar_reader_state=stuck
  echo "[autoresearch: the output was still held open after the command ended (a detached process?); the end of the log is missing]" >&2
fi
__ar_rest=$(sed -n 's/^\\([0-9][0-9]*\\) bytes.*/\\1/p' "$__ar_tmp/dd" 2> /dev/null)
__ar_headn=$(wc -c < "$__ar_log" 2> /dev/null)
# Peak memory of this job's own memory cgroup (cgroup v1 or v2), when Slurm put it in one.
__ar_peak=
__ar_cg=$(sed -n 's/^[0-9]*:memory:\\(.*\\)$/\\1/p' /proc/self/cgroup 2> /dev/null)
case $__ar_cg in
  */job_*) __ar_peak=$(cat "/sys/fs/cgroup/memory$__ar_cg/memory.max_usage_in_bytes" 2> /dev/null) ;;
  *)
    __ar_cg=$(sed -n 's/^0::\\(.*\\)$/\\1/p' /proc/self/cgroup 2> /dev/null)
    case $__ar_cg in
      */job_*) __ar_peak=$(cat "/sys/fs/cgroup$__ar_cg/memory.peak" 2> /dev/null) ;;
    esac
    ;;
esac
{
  printf 'jobid=%s\\ncode=%s\\nstart_ms=%s\\nend_ms=%s\\n' "\${SLURM_JOB_ID:-}" "$__ar_code" "$__ar_start" "$__ar_end"
  printf 'head_bytes=%s\\nrest_bytes=%s\\npeak_bytes=%s\\nreader=%s\\n' "$__ar_headn" "$__ar_rest" "$__ar_peak" "$__ar_reader_state"
} > "$__ar_d/status.tmp" && mv -f "$__ar_d/status.tmp" "$__ar_d/status"
exit "$__ar_code"
`;

/** bash single quotes: safe for every string without NUL. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function assertNoNul(what: string, value: string): void {
  if (value.includes('\0')) throw new TypeError(`SlurmExecutor: ${what} contains a NUL byte`);
}

/** A duration for GNU timeout: plain decimal seconds, never exponent notation. */
export function durationArg(seconds: number): string {
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
}

export function renderParams(p: JobParams): string {
  assertNoNul('the command', p.command);
  assertNoNul('the working directory', p.cwd);
  assertNoNul('the log path', p.logPath);
  const env: string[] = [];
  for (const [key, value] of Object.entries(p.env)) {
    if (key === '' || key.includes('=')) throw new TypeError(`SlurmExecutor: invalid environment variable name ${JSON.stringify(key)}`);
    assertNoNul(`environment variable ${key}`, key + String(value));
    env.push(shellQuote(`${key}=${String(value)}`));
  }
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
    readerDone: kv.get('reader') === 'done',
  };
}

export function readStarted(file: string): { jobId: string | null; startMs: number | null } | null {
  const kv = readKeyValues(file);
  if (!kv) return null;
  return { jobId: kv.get('jobid') || null, startMs: num(kv.get('start_ms')) };
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
export function finalizeLog(paths: JobPaths, logPath: string, tailLimit: number, status: JobStatus | null): LogTotals {
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
