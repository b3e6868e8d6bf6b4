/**
 * Small, cheap /proc readers (no `ps`): process state, process-group liveness, and the resident
 * memory of a process tree.
 */

import * as fs from 'node:fs';

interface ProcStat {
  /** The command name (at most 15 bytes; the program's name until it execs another). */
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
}

/**
 * One buffer for every stat read: readFileSync allocates 64 KiB for a file whose size /proc
 * reports as 0, and a scan of /proc reads one per process, several times per experiment. A stat
 * line is far shorter (the command name is at most 64 bytes).
 */
const statBuffer = Buffer.allocUnsafe(4096);

/** Parses /proc/<pid>/stat; null when the process is gone. */
function readProcStat(pid: number): ProcStat | null {
  let text: string;
  let fd: number | undefined;
  try {
    fd = fs.openSync(`/proc/${pid}/stat`, 'r');
    text = statBuffer.toString('latin1', 0, fs.readSync(fd, statBuffer, 0, statBuffer.length, 0));
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  const comm = text.slice(text.indexOf('(') + 1, close);
  return { comm, state: fields[0] ?? '?', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

function numericProcEntries(): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

/**
 * True when the process group still has a live (non-zombie) member. kill(-pgid, 0) is the fast
 * path; it also succeeds for unreaped zombies (orphans whose reaper is slow), so a positive
 * answer is confirmed by scanning /proc.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!fs.existsSync('/proc/self/stat')) return true;
  for (const pid of numericProcEntries()) {
    const st = readProcStat(pid);
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') return true;
  }
  return false;
}

/** Live members of a process group. */
export function groupMembers(pgid: number): number[] {
  return numericProcEntries().filter((pid) => {
    const st = readProcStat(pid);
    return st !== null && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X';
  });
}

/**
 * True when `pid` is bubblewrap's own process under the monitor `leader`: its child, still named
 * bwrap (the pid namespace's init, or the command before it execs). A signal from outside the
 * namespace does not reach its init (no handler), so such a process is not the command.
 */
export function isSandboxOwn(pid: number, leader: number): boolean {
  const st = readProcStat(pid);
  return st !== null && st.ppid === leader && st.comm === 'bwrap';
}

/** True when the process's environment has every given NAME=value (root can read any environ). */
export function environHas(pid: number, pairs: Record<string, string>): boolean {
  let env: string;
  try {
    env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return false;
  }
  const vars = new Set(env.split('\0'));
  return Object.entries(pairs).every(([k, v]) => vars.has(`${k}=${v}`));
}

/** Sends `signal` to the process group, ignoring "no such process". */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** True when a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends `signal` to one process, ignoring "no such process". */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

const KB = 1024;

function readRss(pid: number): { rss: number; hwm: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const rss = /\nVmRSS:\s*(\d+) kB/.exec(text);
  if (!rss) return null; // zombie or kernel thread
  const hwm = /\nVmHWM:\s*(\d+) kB/.exec(text);
  const rssBytes = Number(rss[1]) * KB;
  return { rss: rssBytes, hwm: hwm ? Number(hwm[1]) * KB : rssBytes };
}

/**
 * Peak resident memory of a process tree, sampled from /proc. The peak is the larger of the
 * largest sampled sum of VmRSS over the tree and the largest single-process VmHWM (which also
 * catches a peak between two samples).
 */
export class TreeMemorySampler {
  private maxSum = 0;
  private maxHwm = 0;
  private sampled = false;
  /** null until known; false when /proc/<pid>/task/<tid>/children is missing (scan /proc). */
  private childrenFiles: boolean | null = null;

  constructor(private readonly rootPid: number) {}

  get peakBytes(): number | null {
    return this.sampled ? Math.max(this.maxSum, this.maxHwm) : null;
  }

  sample(): void {
    const pids = this.treePids();
    let sum = 0;
    let any = false;
    for (const pid of pids) {
      const m = readRss(pid);
      if (!m) continue;
      any = true;
      sum += m.rss;
      if (m.hwm > this.maxHwm) this.maxHwm = m.hwm;
    }
    if (any) {
      this.sampled = true;
      if (sum > this.maxSum) this.maxSum = sum;
    }
  }

  private treePids(): number[] {
    if (this.childrenFiles === false) return this.treeByScan();
    const out: number[] = [];
    const seen = new Set<number>();
    const stack = [this.rootPid];
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      if (seen.has(pid)) continue;
      seen.add(pid);
      out.push(pid);
      let tids: string[];
      try {
        tids = fs.readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        let text: string;
        try {
          text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
          this.childrenFiles = true;
        } catch (err) {
          if (this.childrenFiles === null && (err as NodeJS.ErrnoException).code === 'ENOENT') {
            // Kernel without CONFIG_PROC_CHILDREN: fall back to scanning /proc.
            if (fs.existsSync(`/proc/${pid}/task/${tid}`)) {
              this.childrenFiles = false;
              return this.treeByScan();
            }
          }
          continue;
        }
        for (const part of text.split(' ')) {
          if (part.length > 0) stack.push(Number(part));
        }
      }
    }
    return out;
  }

  private treeByScan(): number[] {
    const children = new Map<number, number[]>();
    for (const pid of numericProcEntries()) {
      const st = readProcStat(pid);
      if (!st) continue;
      const list = children.get(st.ppid);
      if (list) list.push(pid);
      else children.set(st.ppid, [pid]);
    }
    const out: number[] = [];
    const stack = [this.rootPid];
    const seen = new Set<number>();
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      if (seen.has(pid)) continue;
      seen.add(pid);
      out.push(pid);
      for (const c of children.get(pid) ?? []) stack.push(c);
    }
    return out;
  }
}
