/**
 * LocalExecutor: runs an experiment as a local process tree.
 *
 * - `bash -c <command>` in spec.cwd with exactly spec.env, stdin ignored, in its own session and
 *   process group; stdout and stderr share one pipe, logged through a bounded head+tail log,
 *   and every byte of it goes through a MetricStream (result.metrics).
 * - Containment: a cgroup v1 memory+pids+freezer set when available (catches `setsid` escapees,
 *   gives exact peak memory), else the process group (peak memory sampled from /proc).
 * - Hard timeout and AbortSignal: SIGTERM to the tree, SIGKILL after the grace period. Anything
 *   still running after the top process exits is killed the same way.
 * - spec.limits (see limits.ts): cgroup memory limit + OOM-kill detection and pids.max with
 *   cgroups, an address-space ulimit without; a fresh network namespace for `network: false`.
 */

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ExecutionResult, Executor, ExperimentSpec, ProcessHandle } from './executor.js';
import { CgroupSet, detectCgroupSupport, sweepDeadGroups } from './cgroup.js';
import { type LimitPlan, planLimits, validateLimits } from './limits.js';
import { BoundedLog } from './log-sink.js';
import { MetricStream } from '../metrics/stream.js';
import {
  environHas,
  groupMembers,
  isSandboxOwn,
  processGroupAlive,
  signalGroup,
  signalProcess,
  TreeMemorySampler,
} from './proc.js';
import { sleep } from '../util/sleep.js';

export { detectCgroupSupport } from './cgroup.js';

export type ContainmentMode = 'auto' | 'cgroup' | 'process-group';

export interface LocalExecutorOptions {
  /** 'auto' (default): cgroup when detectCgroupSupport(), else process-group. */
  containment?: ContainmentMode;
}

const BASH = ['/bin/bash', '/usr/bin/bash'].find((p) => fs.existsSync(p)) ?? 'bash';

/**
 * The wrapper the experiment starts as. Arguments: $1 the command, $2 an address-space limit in
 * KiB or '', $3 the `unshare` binary or '' (no new network namespace), $4 the tool that brings
 * loopback up or '', $5 how many cgroup.procs files follow, those files, then the sandbox prefix
 * (bwrap and its options up to `--`; none when unsealed). It merges stderr into stdout and joins
 * the cgroups (so every descendant is inside them). With a network namespace it then execs
 * `unshare --net` on itself (the same script, from $BASH_EXECUTION_STRING, with no cgroups and no
 * unshare left to do): unshare(2) and exec keep the pid, so the process group, the cgroups and
 * the output pipe are unchanged. In the namespace it brings loopback up. Finally it sets the
 * ulimit (inherited by every descendant) and execs `bash -c "$1"`, through the sandbox prefix
 * when there is one (bwrap then keeps the pid and the process group as the sandbox's monitor).
 * The command travels as an argument, never spliced into shell text, and the wrapper's
 * variables are not exported, so the environment stays spec.env.
 */
const WRAPPER = [
  'exec 2>&1',
  '__ar_cmd=$1 __ar_vm=$2 __ar_ns=$3 __ar_lo=$4 __ar_ncg=$5',
  'shift 5',
  'while [ "$__ar_ncg" -gt 0 ]; do',
  '  { echo $$ > "$1"; } 2>/dev/null || echo "[autoresearch: could not join cgroup $1]"',
  '  shift; __ar_ncg=$((__ar_ncg - 1))',
  'done',
  'if [ -n "$__ar_ns" ]; then',
  '  exec "$__ar_ns" --net -- "$BASH" -c "$BASH_EXECUTION_STRING" bash "$__ar_cmd" "$__ar_vm" "" "$__ar_lo" 0 "$@"',
  'fi',
  'if [ -n "$__ar_lo" ]; then',
  '  case $__ar_lo in',
  '    *ifconfig) "$__ar_lo" lo up ;;',
  '    *) "$__ar_lo" link set lo up ;;',
  '  esac >/dev/null 2>&1 || echo "[autoresearch: could not bring up loopback]"',
  'fi',
  'if [ -n "$__ar_vm" ]; then',
  '  ulimit -v "$__ar_vm" 2>/dev/null || echo "[autoresearch: could not set ulimit -v $__ar_vm]"',
  'fi',
  'if [ $# -gt 0 ]; then exec "$@" "$BASH" -c "$__ar_cmd"; fi',
  'exec -a bash "$BASH" -c "$__ar_cmd"',
].join('\n');

interface TopExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() when the exit was observed. */
  at: number;
}

const SAMPLE_INTERVAL_MS = 100;
/** After the tree is dead, how long to wait for the pipe to drain before giving up on it. */
const DRAIN_TIMEOUT_MS = 1000;
/** After SIGKILL, how long to wait for the tree to disappear. */
const KILL_WAIT_MS = 5000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Polls `done` with a growing interval (1 ms up to 20 ms) until true or `ms` elapsed. */
async function waitUntil(done: () => boolean, ms: number, onPoll?: () => void): Promise<boolean> {
  const deadline = performance.now() + ms;
  let delay = 1;
  for (;;) {
    if (done()) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 20);
    onPoll?.();
  }
}

function signalName(n: number): NodeJS.Signals | null {
  const found = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return found ? (found[0] as NodeJS.Signals) : null;
}

function secondsToMs(seconds: number): number {
  if (!Number.isFinite(seconds)) return MAX_TIMER_MS;
  return Math.min(Math.max(0, seconds * 1000), MAX_TIMER_MS);
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly containment: ContainmentMode;

  constructor(options: LocalExecutorOptions = {}) {
    this.containment = options.containment ?? 'auto';
  }

  async run(spec: ExperimentSpec, signal?: AbortSignal): Promise<ExecutionResult> {
    // Nonsensical limits and an unwritable log path are harness bugs: reject before anything starts.
    if (spec.limits) validateLimits(spec.limits);
    const fd = fs.openSync(spec.logPath, 'w');
    let cgroup: CgroupSet | null = null;
    try {
      cgroup = this.createCgroup();
      const plan = await planLimits(spec.limits, cgroup, spec.seal?.isolatesNetwork === true);
      return await execute(spec, fd, cgroup, plan, signal);
    } finally {
      if (cgroup) await cgroup.destroy();
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  async killLeftovers(handle: ProcessHandle, marker: Record<string, string>): Promise<number> {
    let killed = 0;
    const group = handle.cgroup ? CgroupSet.open(handle.cgroup) : null;
    if (group) {
      // The cgroup's name is unique to that experiment: everything in it is an orphan.
      killed += group.pids().length;
      await group.freezeAndKill(KILL_WAIT_MS);
      await group.destroy();
    }
    const members =
      handle.pgid === undefined
        ? []
        : groupMembers(handle.pgid).filter((pid) => environHas(pid, marker));
    for (const pid of members) signalProcess(pid, 'SIGKILL');
    return killed + members.length;
  }

  private createCgroup(): CgroupSet | null {
    switch (this.containment) {
      case 'process-group':
        return null;
      case 'cgroup':
        sweepDeadGroups();
        // Explicitly requested: failing to create it is a configuration error.
        return CgroupSet.create();
      default:
        if (!detectCgroupSupport()) return null;
        sweepDeadGroups();
        try {
          return CgroupSet.create();
        } catch {
          return null;
        }
    }
  }
}

async function execute(
  spec: ExperimentSpec,
  fd: number,
  cgroup: CgroupSet | null,
  plan: LimitPlan,
  signal: AbortSignal | undefined,
): Promise<ExecutionResult> {
  const containment = cgroup ? 'cgroup' : 'process-group';
  const limitFields = plan.applied ? { oomKilled: false, limitsApplied: plan.applied } : {};
  const log = new BoundedLog(fd, spec.logHeadBytes, spec.logTailBytes);
  const startedAt = Date.now();
  if (signal?.aborted) {
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: true,
      startedAt,
      wallSeconds: 0,
      peakMemoryBytes: null,
      outputBytes: 0,
      droppedBytes: 0,
      containment,
      ...limitFields,
    };
  }

  const t0 = performance.now();
  const procsFiles = cgroup ? cgroup.procsFiles : [];
  const sealPrefix = spec.seal?.prefix ?? [];
  const wrapperArgs = [
    spec.command,
    plan.addressSpaceKiB === null ? '' : String(plan.addressSpaceKiB),
    plan.netns?.unshare ?? '',
    plan.netns?.loopback ?? '',
    String(procsFiles.length),
    ...procsFiles,
    ...sealPrefix,
  ];
  const child = spawn(BASH, ['-c', WRAPPER, 'bash', ...wrapperArgs], {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  if (child.pid === undefined) {
    // Could not start bash at all (missing cwd, no bash): a harness problem.
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    if (!fs.existsSync(spec.cwd)) {
      throw new Error(`LocalExecutor: working directory does not exist: ${spec.cwd}`, {
        cause: err,
      });
    }
    throw err;
  }
  child.on('error', () => {
    // Later errors (failed kill) are not actionable; the kill sequence handles liveness itself.
  });
  const pgid = child.pid;
  spec.onStart?.({ pgid, cgroup: cgroup?.name ?? null });

  // A holder rather than a `let`, so TypeScript does not narrow it to null across the awaits.
  const top: { exit: TopExit | null } = { exit: null };
  const exited = new Promise<TopExit>((resolve) => {
    child.once('exit', (code, sig) => {
      top.exit = { code, signal: sig, at: performance.now() };
      resolve(top.exit);
    });
  });

  const stdout = child.stdout!;
  // Metrics come from every byte: the log keeps only its head and tail.
  const metrics = new MetricStream();
  stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    metrics.write(chunk);
  });
  const outputEnded = new Promise<void>((resolve) => {
    stdout.once('end', resolve);
    stdout.once('close', resolve);
    stdout.once('error', () => resolve());
  });

  let sampler: TreeMemorySampler | null = null;
  let sampleTimer: NodeJS.Timeout | undefined;
  if (!cgroup) {
    const s = new TreeMemorySampler(pgid);
    sampler = s;
    s.sample();
    sampleTimer = setInterval(() => s.sample(), SAMPLE_INTERVAL_MS);
  }

  const treeAlive = (): boolean =>
    top.exit === null || processGroupAlive(pgid) || (cgroup !== null && !cgroup.isEmpty());

  // Sealed, the group's leader is bwrap's monitor, which dies on SIGTERM and takes the sandbox
  // with it at once: the polite signal goes to everything else, so the grace period holds.
  const sealed = sealPrefix.length > 0;
  const politeTerm = (): void => {
    if (!sealed) {
      signalGroup(pgid, 'SIGTERM');
      cgroup?.signalAll('SIGTERM');
      return;
    }
    const members = new Set([...groupMembers(pgid), ...(cgroup ? cgroup.pids() : [])]);
    members.delete(pgid);
    // While the sandbox starts, only bwrap's own processes exist: a polite signal reaches nobody
    // (the namespace's init ignores it), and a monitor killed before its child has asked to die
    // with it leaves that child to start the command and run out the grace period. Nothing of the
    // command has started, so nothing is owed a grace period: the whole group is killed.
    if ([...members].every((pid) => isSandboxOwn(pid, pgid))) {
      signalGroup(pgid, 'SIGKILL');
      cgroup?.signalAll('SIGKILL');
    } else for (const pid of members) signalProcess(pid, 'SIGTERM');
  };
  let killing: Promise<void> | null = null;
  const killTree = (): Promise<void> =>
    (killing ??= (async () => {
      politeTerm();
      if (await waitUntil(() => !treeAlive(), secondsToMs(spec.killGraceSeconds))) return;
      if (cgroup) await cgroup.freezeAndKill(0);
      signalGroup(pgid, 'SIGKILL');
      await waitUntil(
        () => !treeAlive(),
        KILL_WAIT_MS,
        () => {
          signalGroup(pgid, 'SIGKILL');
          cgroup?.signalAll('SIGKILL');
        },
      );
    })());

  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    if (top.exit !== null) return;
    timedOut = true;
    void killTree();
  }, secondsToMs(spec.timeoutSeconds));
  const onAbort = () => {
    if (top.exit === null) aborted = true;
    void killTree();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  let end: TopExit;
  try {
    end = await exited;
    clearTimeout(timer);
    clearInterval(sampleTimer);
    // Stray children (background jobs, daemons) must not outlive the experiment.
    if (killing !== null || treeAlive()) await killTree();

    // The writers are gone, so the pipe ends at once unless something escaped the process
    // group still holds it (possible only without cgroups): then stop reading after a bound.
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      outputEnded,
      new Promise<void>((r) => (drainTimer = setTimeout(r, DRAIN_TIMEOUT_MS))),
    ]);
    clearTimeout(drainTimer);
    stdout.destroy();
  } catch (err) {
    signalGroup(pgid, 'SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
    clearInterval(sampleTimer);
    signal?.removeEventListener('abort', onAbort);
  }

  const totals = log.finish();
  if (log.error) throw log.error;
  // bwrap reports a command killed by signal N as exit status 128+N, as a shell does.
  const bySignal =
    sealed && end.code !== null && end.code > 128 && end.code <= 128 + 64
      ? signalName(end.code - 128)
      : null;
  const exitCode = bySignal ? null : end.code;
  const exitSignal = bySignal ?? end.signal;
  // Read before the group is destroyed. Without the oom_kill counter (kernel < 4.13), a SIGKILL
  // of the top process after the usage hit the limit is the best available evidence.
  let oomKilled: boolean | undefined;
  if (cgroup) {
    const kills = cgroup.oomKillCount();
    oomKilled =
      kills !== null
        ? kills > 0
        : plan.cgroupMemoryLimit &&
          exitSignal === 'SIGKILL' &&
          !timedOut &&
          !aborted &&
          cgroup.memoryFailCount() > 0;
  }
  return {
    exitCode,
    signal: exitSignal,
    timedOut,
    aborted,
    startedAt,
    wallSeconds: (end.at - t0) / 1000,
    peakMemoryBytes: cgroup ? cgroup.peakMemoryBytes() : (sampler?.peakBytes ?? null),
    outputBytes: totals.outputBytes,
    droppedBytes: totals.droppedBytes,
    containment,
    ...limitFields,
    ...(oomKilled !== undefined ? { oomKilled } : {}),
    metrics: metrics.end(),
  };
}
