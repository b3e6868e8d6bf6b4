/**
 * Per-experiment resource limits for the LocalExecutor: validation, the one-time probe for
 * network namespaces, and the plan that says how each requested limit is enforced here.
 *
 * - memory: the cgroup's memory.limit_in_bytes (+ memsw) when the run is contained in cgroups,
 *   else an address-space limit (`ulimit -v`, i.e. RLIMIT_AS, set by the wrapper shell so every
 *   descendant inherits it; reported as 'prlimit').
 * - processes: the cgroup's pids.max, else not enforced (RLIMIT_NPROC is per user, and ignored
 *   for root, so it would be a pretence).
 * - network false: the command runs in a fresh network namespace (`unshare --net`, exec'd by the
 *   wrapper so the pid, process group, cgroups and output pipe stay the same), with loopback up
 *   when `ip` (or `ifconfig`) can do it; not enforced when namespaces cannot be created.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupSet } from './cgroup.js';
import type { LimitsApplied, ResourceLimits } from './executor.js';

/** A working `unshare --net`, and the tool that brings loopback up inside it (null: none does). */
export interface NetnsSupport {
  unshare: string;
  loopback: string | null;
}

/** How the wrapper must start the experiment so that the limits hold. */
export interface LimitPlan {
  /** What is reported in ExecutionResult.limitsApplied (null when no limits were given). */
  applied: LimitsApplied | null;
  /** `ulimit -v` value in KiB for the wrapper shell, or null. */
  addressSpaceKiB: number | null;
  /** Run inside a new network namespace, or null. */
  netns: NetnsSupport | null;
  /** True when the cgroup memory limit was set (so an OOM kill is attributable to it). */
  cgroupMemoryLimit: boolean;
}

const NO_PLAN: LimitPlan = {
  applied: null,
  addressSpaceKiB: null,
  netns: null,
  cgroupMemoryLimit: false,
};

/** Throws a RangeError for limits that make no sense (a harness/config bug, not an experiment failure). */
export function validateLimits(limits: ResourceLimits): void {
  const { memoryBytes, processes, network } = limits;
  if (
    memoryBytes !== undefined &&
    !(typeof memoryBytes === 'number' && Number.isFinite(memoryBytes) && memoryBytes >= 1)
  ) {
    throw new RangeError(
      `limits.memoryBytes must be a positive number of bytes, got ${String(memoryBytes)}`,
    );
  }
  if (
    processes !== undefined &&
    !(typeof processes === 'number' && Number.isSafeInteger(processes) && processes >= 1)
  ) {
    throw new RangeError(`limits.processes must be a positive integer, got ${String(processes)}`);
  }
  if (network !== undefined && typeof network !== 'boolean') {
    throw new RangeError(`limits.network must be a boolean, got ${String(network)}`);
  }
}

const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of an executable, looked up in the system folders and then the harness's PATH. */
export function findExecutable(name: string): string | null {
  const dirs = [
    ...SYSTEM_DIRS,
    ...(process.env.PATH ?? '').split(':').filter((d) => path.isAbsolute(d)),
  ];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

function succeeds(file: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err) =>
      resolve(err === null),
    );
  });
}

/** The argument list that brings loopback up with `tool` (ip or ifconfig). */
function loopbackArgs(tool: string): string[] {
  return path.basename(tool) === 'ifconfig' ? ['lo', 'up'] : ['link', 'set', 'lo', 'up'];
}

let netnsCache: Promise<NetnsSupport | null> | undefined;

/**
 * Whether fresh network namespaces can be made here (`unshare --net` needs CAP_SYS_ADMIN, i.e.
 * root, and util-linux), checked once by running a probe in one, and which tool brings loopback
 * up inside it. Cached for the life of the process.
 */
export function detectNetnsSupport(): Promise<NetnsSupport | null> {
  return (netnsCache ??= (async () => {
    if (process.platform !== 'linux') return null;
    const unshare = findExecutable('unshare');
    if (!unshare) return null;
    for (const name of ['ip', 'ifconfig']) {
      const tool = findExecutable(name);
      if (tool && (await succeeds(unshare, ['--net', '--', tool, ...loopbackArgs(tool)])))
        return { unshare, loopback: tool };
    }
    const shell = findExecutable('bash') ?? findExecutable('sh');
    if (shell && (await succeeds(unshare, ['--net', '--', shell, '-c', ':'])))
      return { unshare, loopback: null };
    return null;
  })());
}

/**
 * Decides how each requested limit is enforced and applies the cgroup ones (before anything has
 * joined the groups). Limits that cannot be enforced are reported as null, never faked.
 */
/** `sandboxIsolatesNetwork`: the sandbox already gives the process no network (bwrap --unshare-net). */
export async function planLimits(
  limits: ResourceLimits | undefined,
  cgroup: CgroupSet | null,
  sandboxIsolatesNetwork = false,
): Promise<LimitPlan> {
  if (!limits) return NO_PLAN;
  validateLimits(limits);
  const applied: LimitsApplied = { memory: null, processes: null, network: null };
  let addressSpaceKiB: number | null = null;
  let cgroupMemoryLimit = false;
  let netns: NetnsSupport | null = null;

  if (limits.memoryBytes !== undefined) {
    if (cgroup) {
      try {
        cgroup.setMemoryLimit(limits.memoryBytes);
        applied.memory = 'cgroup';
        cgroupMemoryLimit = true;
      } catch {
        // fall back to the address-space limit below
      }
    }
    if (applied.memory === null) {
      addressSpaceKiB = Math.max(1, Math.floor(limits.memoryBytes / 1024));
      applied.memory = 'prlimit';
    }
  }
  if (limits.processes !== undefined && cgroup) {
    try {
      cgroup.setPidsMax(limits.processes);
      applied.processes = 'cgroup';
    } catch {
      // not enforceable
    }
  }
  if (limits.network === false && sandboxIsolatesNetwork) {
    applied.network = 'netns';
  } else if (limits.network === false) {
    netns = await detectNetnsSupport();
    if (netns) applied.network = 'netns';
  }
  return { applied, addressSpaceKiB, netns, cgroupMemoryLimit };
}
