/**
 * cgroup v1 containment for one experiment: a memory, a pids and a freezer group at
 * `/sys/fs/cgroup/<controller>/autoresearch/<unique>`. They hang off the hierarchy roots, not
 * off the harness's own groups, so they never sit inside cgroups managed by someone else (a
 * service manager could not remove those while ours exist); the flip side is that a memory limit
 * put on the harness's own group does not cover the experiment.
 *
 * The experiment joins the groups itself (its wrapper shell writes `$$` to each cgroup.procs
 * before exec'ing the command), so every descendant, including `setsid` escapees, is inside.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { pidAlive, signalProcess } from './proc.js';
import { sleep } from '../util/sleep.js';

const CGROUP_V1_MOUNT = '/sys/fs/cgroup';
const CGROUP_CONTROLLERS = ['memory', 'pids', 'freezer'] as const;
export type CgroupController = (typeof CGROUP_CONTROLLERS)[number];

/** Files that must exist in a fresh group for it to be the v1 controller we expect. */
const REQUIRED_FILE: Record<CgroupController, string> = {
  memory: 'memory.max_usage_in_bytes',
  pids: 'pids.current',
  freezer: 'freezer.state',
};

let sequence = 0;

/** The folder new groups are created in for `controller` (created on demand, never removed). */
export function cgroupParentDir(controller: CgroupController): string {
  return path.join(CGROUP_V1_MOUNT, controller, 'autoresearch');
}

function readPids(file: string): number[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const line of text.split('\n')) if (line.length > 0) out.push(Number(line));
  return out;
}

export class CgroupSet {
  private destroyed = false;

  private constructor(readonly dirs: Readonly<Record<CgroupController, string>>) {}

  /** Creates the three groups; throws (after removing any it made) when that is not possible. */
  static create(label = 'run'): CgroupSet {
    const name = `${label}-${process.pid}-${++sequence}-${Math.random().toString(36).slice(2, 8)}`;
    const made: string[] = [];
    try {
      const dirs = {} as Record<CgroupController, string>;
      for (const controller of CGROUP_CONTROLLERS) {
        const parent = cgroupParentDir(controller);
        fs.mkdirSync(parent, { recursive: true });
        const dir = path.join(parent, name);
        fs.mkdirSync(dir);
        made.push(dir);
        if (!fs.existsSync(path.join(dir, REQUIRED_FILE[controller]))) {
          throw new Error(`${dir} is not a cgroup v1 ${controller} group`);
        }
        dirs[controller] = dir;
      }
      return new CgroupSet(dirs);
    } catch (err) {
      for (const dir of made.reverse()) {
        try {
          fs.rmdirSync(dir);
        } catch {
          // best effort
        }
      }
      throw err;
    }
  }

  /** The unique group name (the same under each controller). */
  get name(): string {
    return path.basename(this.dirs.memory);
  }

  /** Re-opens groups made by an earlier harness process (to clean up after a crash); null if gone. */
  static open(name: string): CgroupSet | null {
    if (!/^[\w.-]+$/.test(name)) return null;
    const dirs = {} as Record<CgroupController, string>;
    for (const controller of CGROUP_CONTROLLERS) {
      const dir = path.join(cgroupParentDir(controller), name);
      if (!fs.existsSync(dir)) return null;
      dirs[controller] = dir;
    }
    return new CgroupSet(dirs);
  }

  /** The cgroup.procs files the experiment's wrapper writes its pid to. */
  get procsFiles(): string[] {
    return CGROUP_CONTROLLERS.map((c) => path.join(this.dirs[c], 'cgroup.procs'));
  }

  /** Live processes in any of the groups (zombies are not listed by cgroup.procs). */
  pids(): number[] {
    const all = new Set<number>();
    for (const file of this.procsFiles) for (const pid of readPids(file)) all.add(pid);
    return [...all];
  }

  isEmpty(): boolean {
    for (const file of this.procsFiles) if (readPids(file).length > 0) return false;
    return true;
  }

  signalAll(signal: NodeJS.Signals): void {
    for (const pid of this.pids()) signalProcess(pid, signal);
  }

  /** Peak memory (RSS + page cache charged to the group) since creation; null if unreadable. */
  peakMemoryBytes(): number | null {
    try {
      const n = Number(
        fs.readFileSync(path.join(this.dirs.memory, 'memory.max_usage_in_bytes'), 'latin1').trim(),
      );
      return Number.isFinite(n) ? n : null;
    } catch {
      return null;
    }
  }

  /**
   * Limits the memory group to `bytes` (rounded down to pages by the kernel), and memory+swap to
   * the same value where `memory.memsw.limit_in_bytes` exists, so swapping does not bypass it.
   * Must be called before anything joins. Throws when the memory limit cannot be set; returns
   * whether memory+swap is limited too (false: no swap accounting here, or it refused).
   */
  setMemoryLimit(bytes: number): boolean {
    const value = String(Math.max(1, Math.floor(bytes)));
    // memsw must stay >= the memory limit: set the memory limit first (both start unlimited).
    fs.writeFileSync(path.join(this.dirs.memory, 'memory.limit_in_bytes'), value);
    const memsw = path.join(this.dirs.memory, 'memory.memsw.limit_in_bytes');
    try {
      fs.writeFileSync(memsw, value);
      return true;
    } catch {
      return false;
    }
  }

  /** Caps the number of tasks (processes and threads) in the pids group. Throws on failure. */
  setPidsMax(max: number): void {
    fs.writeFileSync(path.join(this.dirs.pids, 'pids.max'), String(Math.max(1, Math.floor(max))));
  }

  /**
   * How many processes of the memory group the kernel's OOM killer has killed (the `oom_kill`
   * line of memory.oom_control, kernel >= 4.13); null when that counter is not available.
   * Read it before destroy().
   */
  oomKillCount(): number | null {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dirs.memory, 'memory.oom_control'), 'latin1');
    } catch {
      return null;
    }
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  }

  /** How often usage hit the memory (or memory+swap) limit; 0 when unreadable. */
  memoryFailCount(): number {
    let total = 0;
    for (const file of ['memory.failcnt', 'memory.memsw.failcnt']) {
      try {
        const n = Number(fs.readFileSync(path.join(this.dirs.memory, file), 'latin1').trim());
        if (Number.isFinite(n)) total += n;
      } catch {
        // absent (no swap accounting) or gone
      }
    }
    return total;
  }

  /**
   * Freezes the group (so nothing can fork while we kill), SIGKILLs every member, thaws so the
   * kills are delivered, and waits (bounded) until the groups are empty.
   */
  async freezeAndKill(waitEmptyMs = 5000): Promise<void> {
    const state = path.join(this.dirs.freezer, 'freezer.state');
    let froze = false;
    try {
      fs.writeFileSync(state, 'FROZEN');
      froze = true;
      const deadline = Date.now() + 1000;
      // FREEZING can persist for tasks in uninterruptible sleep; go on after a bound.
      while (Date.now() < deadline && fs.readFileSync(state, 'latin1').trim() !== 'FROZEN')
        await sleep(2);
    } catch {
      // Freezer unusable: kill without freezing (a racing fork may survive one round).
    }
    this.signalAll('SIGKILL');
    if (froze) {
      try {
        fs.writeFileSync(state, 'THAWED');
      } catch {
        // ignore
      }
    }
    await this.waitEmpty(waitEmptyMs, () => this.signalAll('SIGKILL'));
  }

  /** Polls until the groups are empty or `ms` elapsed; `onPoll` runs between polls. */
  async waitEmpty(ms: number, onPoll?: () => void): Promise<boolean> {
    const deadline = Date.now() + ms;
    let delay = 1;
    while (!this.isEmpty()) {
      if (Date.now() >= deadline) return false;
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
      onPoll?.();
    }
    return true;
  }

  /**
   * Kills anything left, then removes the groups (best effort). A v1 memory group stays busy
   * until its last task is reaped, which on a loaded machine can take seconds after the kill:
   * the retries are bounded by time, not by a count that a busy machine exhausts early.
   */
  async destroy(retryMs = 10_000): Promise<boolean> {
    if (this.destroyed) return true;
    this.destroyed = true;
    if (!this.isEmpty()) await this.freezeAndKill();
    const deadline = Date.now() + retryMs;
    let ok = true;
    for (const controller of CGROUP_CONTROLLERS) {
      const dir = this.dirs[controller];
      for (let attempt = 0; ; attempt++) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (Date.now() >= deadline) {
            ok = false;
            break;
          }
          await sleep(Math.min(5 * (attempt + 1), 50));
        }
      }
    }
    return ok;
  }

  /** Removes empty groups synchronously (used by the support probe). */
  destroyEmptySync(): void {
    this.destroyed = true;
    for (const controller of CGROUP_CONTROLLERS) {
      try {
        fs.rmdirSync(this.dirs[controller]);
      } catch {
        // best effort
      }
    }
  }
}

/** A group's name: `<label>-<pid of the harness that made it>-<n>-<random>` (CgroupSet.create). */
const GROUP_NAME = /^[a-z]+-(\d+)-\d+-[a-z0-9]+$/;
/** Younger groups are left alone: one made a moment ago is empty until its experiment joins it. */
const SWEEP_MIN_AGE_MS = 10 * 60_000;

/**
 * Removes the empty groups that harness processes no longer alive left behind (killed before
 * they could remove them, or a removal that timed out): each would otherwise stay until a reboot.
 * A group that still holds a process is refused by rmdir (the resumed run's killLeftovers deals
 * with it), a living harness's groups are not touched, and neither is a group younger than ten
 * minutes (its harness may be in another pid namespace, where its pid means nothing here).
 * Returns how many folders were removed.
 */
export function sweepDeadGroups(now = Date.now()): number {
  let removed = 0;
  for (const controller of CGROUP_CONTROLLERS) {
    const parent = cgroupParentDir(controller);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(parent, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = e.isDirectory() ? GROUP_NAME.exec(e.name) : null;
      if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
      const dir = path.join(parent, e.name);
      try {
        if (now - fs.statSync(dir).mtimeMs < SWEEP_MIN_AGE_MS) continue;
        fs.rmdirSync(dir);
        removed++;
      } catch {
        // busy (a process is still inside) or already gone
      }
    }
  }
  return removed;
}

let supportCache: boolean | undefined;

/**
 * True when cgroup v1 memory, pids and freezer hierarchies are mounted and we may create groups
 * in them (checked by creating and removing a probe group). Cached after the first call.
 */
export function detectCgroupSupport(): boolean {
  if (supportCache !== undefined) return supportCache;
  if (process.platform !== 'linux') return (supportCache = false);
  try {
    CgroupSet.create('probe').destroyEmptySync();
    supportCache = true;
  } catch {
    supportCache = false;
  }
  return supportCache;
}
