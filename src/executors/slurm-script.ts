/**
 * The Slurm batch script (`job.sh` in the job's work folder, see slurm-job.ts): static text, with
 * what it runs in `params.sh`.
 *
 * Output stays bounded on disk and in memory: `dd count=LEFT iflag=count_bytes` writes the head
 * (unbuffered, so the log shows progress; again until the head is full, as it stops after one
 * read from a pipe), `tail -c` keeps the tail in memory on the node, a last `dd` in between counts
 * the bytes dropped. Needs bash 4+ and GNU coreutils on the compute nodes,
 * and bubblewrap for sealed experiments.
 */

import { MAX_LINE_BYTES } from '../metrics/line.js';
import { MAX_METRIC_NAMES } from '../metrics/stream.js';

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
 * bash: `__ar_fail MESSAGE` ends a job that cannot start its command, with the reason in one line
 * (slurm.out, and the `error` file the harness reads). `__ar_node_seal` fits the sandbox
 * (`__ar_seal`: bwrap and its options up to `--`, built by the harness; empty when unsealed) to
 * this node: its own bwrap where the harness's path is missing; its own GPU and accelerator device
 * nodes (the harness may have none); no mounts that hide paths this node does not have (nothing
 * to hide, and bwrap could not create their mount points in the read-only root); and
 * `$__ar_hide`, the folder of the jobs' output FIFOs, hidden (a sealed command could otherwise
 * read or write another job's output). The result is tried once with `:`, so a node that cannot
 * seal says why before the command starts. Option values are absolute paths or `ALL`, so a word
 * that starts with `--` is always an option.
 */
export const NODE_SEAL = `__ar_fail() {
  echo "[autoresearch: $1]" >&2
  printf '%s\\n' "$1" > "$__ar_d/error"
  exit 2
}
__ar_node_seal() {
  local bwrap=\${__ar_seal[0]} n=\${#__ar_seal[@]} i=1 a d probe fix
  local -a out
  if [ ! -x "$bwrap" ]; then
    bwrap=$(command -v bwrap) || __ar_fail "bubblewrap is not installed on $HOSTNAME: neither \${__ar_seal[0]} nor bwrap on PATH; install it on the compute nodes (apt-get install bubblewrap, dnf install bubblewrap), or set \\\`sandbox: off\\\` in program.md to run experiments unsealed"
  fi
  out=("$bwrap")
  while [ "$i" -lt "$n" ]; do
    a=\${__ar_seal[i]}
    case $a in
      --) break ;;
      --dev-bind-try) i=$((i + 3)); continue ;;
      --tmpfs | --remount-ro) if [ ! -e "\${__ar_seal[i + 1]}" ]; then i=$((i + 2)); continue; fi ;;
      --ro-bind) if [ "\${__ar_seal[i + 1]}" = /dev/null ] && [ ! -e "\${__ar_seal[i + 2]}" ]; then i=$((i + 3)); continue; fi ;;
    esac
    out+=("$a")
    i=$((i + 1))
    if [ "$a" = --dev ]; then
      out+=("\${__ar_seal[i]}")
      i=$((i + 1))
      for d in /dev/nvidia* /dev/dri /dev/kfd /dev/infiniband /dev/accel; do
        if [ -e "$d" ]; then out+=(--dev-bind-try "$d" "$d"); fi
      done
    fi
  done
  out+=(--tmpfs "$__ar_hide" --remount-ro "$__ar_hide" --)
  if ! probe=$("\${out[@]}" "$BASH" -c : 2>&1); then
    probe=\${probe%%$'\\n'*}
    case $probe in
      *"find source path"*) fix="keep the repository on a filesystem the compute nodes share" ;;
      *) fix="allow unprivileged user namespaces on the compute nodes (or install bwrap setuid root)" ;;
    esac
    __ar_fail "bubblewrap cannot seal the job on $HOSTNAME: \${probe:-it failed without a message}; $fix, or set \\\`sandbox: off\\\` in program.md to run experiments unsealed"
  fi
  __ar_seal=("\${out[@]}")
}
`;

/**
 * The batch script. Exit status: the command's (so Slurm's COMPLETED/FAILED and ExitCode agree);
 * 2 when the wrapper itself cannot start (then the `error` file says why). The command runs as
 * `[bwrap ... --] timeout --signal=TERM --kill-after=GRACE TIMEOUT env -i -- <spec.env + Slurm's
 * job variables> bash -c CMD` in spec.cwd with stdin from /dev/null and stdout+stderr into one
 * FIFO; `timeout` makes its own process group and signals all of it.
 *
 * Sealed, `timeout` runs inside the sandbox: its group is then the command's alone, without
 * bwrap's monitor (which dies at once on SIGTERM and takes the sandbox with it), so the grace
 * period holds; bwrap exits with timeout's status (124, 137, or 128+N for a signal), and when
 * the command's tree ends, the sandbox's pid namespace takes every other process with it
 * (`setsid` escapees too). Its parent is this script (`--die-with-parent`).
 *
 * Unsealed, what is left of the command's group after it ended (stray background processes) is
 * sent SIGTERM and, after the grace period, SIGKILL. Slurm's proctrack cleans up anything else
 * when the job ends (with proctrack/cgroup, `setsid` escapees too).
 */
export const JOB_SCRIPT = `#!/bin/bash
# autoresearch: Slurm job wrapper (written by src/executors/slurm-script.ts). $1: the work folder.
__ar_d=$1
PATH=/usr/local/bin:/usr/bin:/bin\${PATH:+:$PATH}
export LC_ALL=C
if ! . "$__ar_d/params.sh"; then
  echo "[autoresearch: cannot read $__ar_d/params.sh on $(hostname): is this folder on a filesystem shared with the compute nodes?]" >&2
  exit 2
fi
rm -f "$__ar_d/status" "$__ar_d/tail" "$__ar_d/metrics" "$__ar_d/error"
# Epoch milliseconds into __ar_ms: bash 5's clock, without starting a process; else date.
__ar_now() {
  if [ -n "\${EPOCHREALTIME:-}" ]; then
    __ar_ms=\${EPOCHREALTIME/[.,]/}
    __ar_ms=\${__ar_ms%???}
  else
    __ar_ms=$(date +%s%3N)
  fi
}
${NODE_SEAL}[ -d "$__ar_cwd" ] || __ar_fail "the working directory $__ar_cwd does not exist on $(hostname): keep the repository on a filesystem the compute nodes share, or set slurm.shared_dir"
# The output FIFOs: in this user's private folder for them when it can be had (see NODE_SEAL).
__ar_jobs=\${TMPDIR:-/tmp}/autoresearch-jobs-$EUID
[ -d "$__ar_jobs" ] || mkdir -p -m 0700 "$__ar_jobs" 2> /dev/null
if [ -d "$__ar_jobs" ] && [ ! -L "$__ar_jobs" ] && [ -O "$__ar_jobs" ]; then
  __ar_tmp=$(mktemp -d "$__ar_jobs/job.XXXXXX") || exit 2
  __ar_hide=$__ar_jobs
else
  __ar_tmp=$(mktemp -d "\${TMPDIR:-/tmp}/autoresearch-job.XXXXXX") || exit 2
  __ar_hide=$__ar_tmp
fi
trap 'rm -rf "$__ar_tmp"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
if [ \${#__ar_seal[@]} -gt 0 ]; then __ar_node_seal; fi
mkfifo "$__ar_tmp/out" "$__ar_tmp/scan" || exit 2
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
# The byte count of dd's report in file $1 (its "N bytes ... copied" line) into __ar_n.
__ar_bytes() {
  local a b x
  __ar_n=
  while read -r a b x; do
    if [ "$b" = bytes ] && [[ $a =~ ^[0-9]+$ ]]; then __ar_n=$a; fi
  done 2> /dev/null < "$1"
}
# The head, into the log as it arrives: dd writes each read at once and reads no further than
# it is told, but ends after one read from a pipe, so it runs again until the head is full or the
# output ends. The first truncates the log (a requeued job starts it over).
__ar_head() {
  local left=$__ar_head_bytes flags=
  while [ "$left" -gt 0 ]; do
    dd bs=65536 count="$left" iflag=count_bytes of="$__ar_log" $flags 2> "$__ar_tmp/dd-head" || return
    __ar_bytes "$__ar_tmp/dd-head"
    [ "\${__ar_n:-0}" -gt 0 ] || return
    left=$((left - __ar_n))
    flags='oflag=append conv=notrunc'
  done
}
# Reader: tee feeds the scanner (-p: a scanner that dies never stops the output); the head goes
# to the log, the next dd counts the rest, tail keeps its end.
{
  tee -p "$__ar_tmp/scan" | {
    __ar_head
    if [ "$__ar_tail_bytes" -gt 0 ]; then
      dd bs=65536 2> "$__ar_tmp/dd" | tail -c "$__ar_tail_bytes" > "$__ar_d/tail"
    else
      dd bs=65536 of=/dev/null 2> "$__ar_tmp/dd"
    fi
  }
  : > "$__ar_tmp/reader-done"
} < "$__ar_tmp/out" &
__ar_reader=$!
__ar_now
__ar_start=$__ar_ms
printf 'jobid=%s\\nstart_ms=%s\\n' "\${SLURM_JOB_ID:-}" "$__ar_start" > "$__ar_d/started"
(
  cd -- "$__ar_cwd" || exit 126
  exec "\${__ar_seal[@]}" timeout --signal=TERM --kill-after="$__ar_grace" "$__ar_timeout" env -i -- "\${__ar_env[@]}" "$BASH" -c "$__ar_cmd"
) > "$__ar_tmp/out" 2>&1 < /dev/null &
__ar_pid=$!
wait "$__ar_pid"
__ar_code=$?
__ar_now
__ar_end=$__ar_ms
# Unsealed, stray processes left in the command's process group: SIGTERM, SIGKILL after the grace
# period. (Sealed, the sandbox's pid namespace ended with the command, and $__ar_pid was bwrap's.)
if [ \${#__ar_seal[@]} -eq 0 ] && kill -0 -- "-$__ar_pid" 2> /dev/null; then
  kill -TERM -- "-$__ar_pid" 2> /dev/null
  __ar_i=0
  while kill -0 -- "-$__ar_pid" 2> /dev/null && [ "$__ar_i" -lt "$__ar_grace_ticks" ]; do
    sleep 0.1
    __ar_i=$((__ar_i + 1))
  done
  kill -KILL -- "-$__ar_pid" 2> /dev/null
fi
# The reader ends when the last writer closes the FIFO (in a few ms, looked at every 10 ms at
# first); a detached escapee may hold it open (given up after about 5 s).
__ar_i=0
while [ ! -e "$__ar_tmp/reader-done" ] && [ "$__ar_i" -lt 60 ]; do
  if [ "$__ar_i" -lt 10 ]; then sleep 0.01; else sleep 0.1; fi
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
__ar_bytes "$__ar_tmp/dd"
__ar_rest=$__ar_n
__ar_headn=$(wc -c < "$__ar_log" 2> /dev/null)
# Peak memory of this job's own memory cgroup (cgroup v1 or v2), when Slurm put it in one, and
# how many processes the kernel killed for memory in it or the job's group above it: Slurm may
# report such a job FAILED when the kill races the end of the step.
__ar_peak= __ar_v1= __ar_v2= __ar_oom=
while IFS= read -r __ar_x; do
  if [[ $__ar_x =~ ^[0-9]*:memory:(.*)$ ]]; then __ar_v1=\${BASH_REMATCH[1]}; fi
  if [[ $__ar_x =~ ^0::(.*)$ ]]; then __ar_v2=\${BASH_REMATCH[1]}; fi
done 2> /dev/null < /proc/self/cgroup
__ar_oom_in() {
  local __ar_k __ar_v
  while read -r __ar_k __ar_v; do
    if [ "$__ar_k" = oom_kill ] && [ "\${__ar_v:-0}" -gt "\${__ar_oom:-0}" ] 2> /dev/null; then __ar_oom=$__ar_v; fi
  done 2> /dev/null < "$1"
}
case $__ar_v1 in
  */job_*)
    read -r __ar_peak 2> /dev/null < "/sys/fs/cgroup/memory$__ar_v1/memory.max_usage_in_bytes"
    __ar_oom_in "/sys/fs/cgroup/memory$__ar_v1/memory.oom_control"
    __ar_oom_in "/sys/fs/cgroup/memory\${__ar_v1%/*}/memory.oom_control"
    ;;
  *)
    case $__ar_v2 in
      */job_*)
        read -r __ar_peak 2> /dev/null < "/sys/fs/cgroup$__ar_v2/memory.peak"
        __ar_oom_in "/sys/fs/cgroup$__ar_v2/memory.events"
        __ar_oom_in "/sys/fs/cgroup\${__ar_v2%/*}/memory.events"
        ;;
    esac
    ;;
esac
{
  printf 'jobid=%s\\ncode=%s\\nstart_ms=%s\\nend_ms=%s\\n' "\${SLURM_JOB_ID:-}" "$__ar_code" "$__ar_start" "$__ar_end"
  printf 'head_bytes=%s\\nrest_bytes=%s\\npeak_bytes=%s\\noom_kills=%s\\nreader=%s\\n' "$__ar_headn" "$__ar_rest" "$__ar_peak" "$__ar_oom" "$__ar_reader_state"
} > "$__ar_d/status.tmp" && mv -f "$__ar_d/status.tmp" "$__ar_d/status"
exit "$__ar_code"
`;
