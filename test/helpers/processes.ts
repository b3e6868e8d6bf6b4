/** Process checks shared by the executor tests. */
import * as fs from 'node:fs';

/** Alive and not a zombie (this machine's init may reap orphans slowly). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pids listed in a cgroup.procs-style file (one per line). */
export function readPids(file: string): number[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map(Number);
}

export function killQuietly(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * Pids whose argv[0] is `name` (start them as `bash -c 'exec -a NAME sleep 300'`): sealed
 * experiments cannot write a pid file outside their worktree, and their own pid is namespaced.
 */
export function processesNamed(name: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0')[0] === name &&
        isAlive(Number(entry))
      )
        out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}
