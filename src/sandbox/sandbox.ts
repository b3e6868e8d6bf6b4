/**
 * The Sandbox: the sealed box every agent and experiment process of a run starts in. It may write
 * only its own folder (the candidate's worktree, or a pristine evaluation folder) and a private
 * temp folder; everything else is read-only; the run's state (`.autoresearch/`: ledger, control
 * files, other slots, logs) and the `hidden:` paths are not even readable; nothing it starts
 * outlives it; the network follows `limits.network` (agents keep theirs: they call their model).
 *
 * Where bubblewrap cannot run, the same calls return no prefix and the run is "unsealed": it
 * still works, and says so (`status()`), unless the program asked for `sandbox: required`.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { UserError } from '../program/errors.js';
import { bwrapArgs, type SealSpec } from './bwrap.js';
import { detectSandbox, type SandboxSupport } from './detect.js';

export type SandboxMode = 'auto' | 'required' | 'off';

/** Where a run's files are: what must be hidden, and what is bound into each sealed folder. */
export interface SandboxLayout {
  /** The user's checkout (repository root). */
  repo: string;
  /** The program's folder, relative to the repository root ('' at the root). */
  programDir: string;
  /** `.autoresearch/` of the repository: ledger, control files, run folders. */
  stateDir: string;
  /** The run's work folder (worktrees, experiment folders), when it is outside stateDir. */
  workDir: string;
  /** `hidden:` paths, relative to the program's folder. */
  hidden: string[];
  /** `keep_ignored:` paths, relative to the program's folder, bound read-only from the checkout. */
  keepIgnored: string[];
  /** The protected files (relative to the program's folder): read-only in the worktree. */
  protectedFiles: string[];
}

/** Beyond this many protected files, only the hash checks guard them (each bind is a mount). */
const MAX_READ_ONLY_FILES = 256;

/** How one process starts: a command prefix (empty when unsealed) and variables to add. */
export interface ProcessSeal {
  prefix: string[];
  env: Record<string, string>;
  /** True when the prefix gives the process no network (so no other mechanism is needed). */
  isolatesNetwork: boolean;
}

export type SealRole = 'agent' | 'run' | 'checks' | 'eval' | 'holdout';

export interface SealRequest {
  role: SealRole;
  /** The folder the process may write: a worktree, or a pristine evaluation folder. */
  root: string;
  cwd: string;
  /** Its private temp folder (see tempDir). */
  tmp: string;
  network: boolean;
  /** The `hidden:` paths are bound into `root` (holdout, and eval where declared). */
  seesHidden?: boolean;
  /** `cache:` (eval and holdout only): a folder kept across experiments, writable, as $AUTORESEARCH_CACHE. */
  cache?: string;
}

/** GPU and accelerator device nodes passed into the sandbox when present. */
const DEVICE_PATTERNS = [/^nvidia/, /^dri$/, /^kfd$/, /^infiniband$/, /^accel$/];

function devices(): string[] {
  try {
    return readdirSync('/dev')
      .filter((n) => DEVICE_PATTERNS.some((p) => p.test(n)))
      .map((n) => join('/dev', n));
  } catch {
    return [];
  }
}

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

export class Sandbox {
  private readonly devices = devices();

  private readonly layout: SandboxLayout;

  constructor(
    readonly support: SandboxSupport,
    layout: SandboxLayout,
  ) {
    this.layout = {
      ...layout,
      repo: real(layout.repo),
      stateDir: real(layout.stateDir),
      workDir: real(layout.workDir),
    };
  }

  /**
   * What this machine can do for `mode`, found before a run creates anything. `required` without
   * a working sandbox is a UserError that says why and what to install; `off` never seals.
   */
  static async detect(
    mode: SandboxMode,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<SandboxSupport> {
    const support: SandboxSupport =
      mode === 'off'
        ? {
            sealed: false,
            reason: 'the program sets `sandbox: off`',
            fix: 'remove `sandbox: off` to seal agents and experiments',
          }
        : await detectSandbox(env);
    if (mode === 'required' && !support.sealed)
      throw new UserError(`sandbox: required, but ${support.reason}`, support.fix);
    return support;
  }

  get sealed(): boolean {
    return this.support.sealed;
  }

  /** One line for start-up, status, the dashboard and the report. */
  describe(): string {
    const s = this.support;
    return s.sealed
      ? `sealed (bubblewrap ${s.version}): agents and experiments write only their worktree, cannot read the run's state${this.layout.hidden.length ? ' or hidden paths' : ''}`
      : `UNSEALED: ${s.reason}; agents and experiments can read and write anything this user can (${s.fix})`;
  }

  /** A fresh, empty private temp folder for one process, under the run's work folder. */
  tempDir(key: string): string {
    const dir = join(this.layout.workDir, 'tmp', key);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** The prefix and variables a process of `req.role` starts with. */
  seal(req: SealRequest): ProcessSeal {
    const env: Record<string, string> = { TMPDIR: req.tmp, TMP: req.tmp, TEMP: req.tmp };
    if (req.cache) env.AUTORESEARCH_CACHE = req.cache;
    const s = this.support;
    if (!s.sealed) {
      this.linkKept(req.root);
      return { prefix: [], env, isolatesNetwork: false };
    }
    const { repo, programDir, stateDir, workDir } = this.layout;
    const checkout = join(repo, programDir);
    const root = real(req.root);
    const hidden: SealSpec['hidden'] = [{ path: stateDir, kind: 'dir' }];
    if (relative(stateDir, workDir).startsWith('..')) hidden.push({ path: workDir, kind: 'dir' });
    for (const p of this.layout.hidden) {
      const abs = join(checkout, p);
      const kind = kindOf(abs);
      if (kind) hidden.push({ path: abs, kind });
    }
    const binds: SealSpec['binds'] = [];
    const inRoot = join(root, programDir);
    for (const p of this.layout.keepIgnored) {
      const source = join(checkout, p);
      if (existsSync(source)) binds.push({ source, target: join(inRoot, p) });
    }
    if (req.role === 'agent' || req.role === 'run' || req.role === 'checks') {
      // Not even for a moment: a protected file swapped during a run and put back before the
      // hash check would otherwise go unseen.
      for (const p of this.layout.protectedFiles.slice(0, MAX_READ_ONLY_FILES)) {
        const path = join(inRoot, p);
        if (kindOf(path) === 'file') binds.push({ source: path, target: path });
      }
    }
    if (req.seesHidden) {
      for (const p of this.layout.hidden) {
        const source = join(checkout, p);
        if (existsSync(source)) binds.push({ source, target: join(inRoot, p) });
      }
    }
    const network = req.network || !s.network;
    const spec: SealSpec = {
      writable: [root, real(req.tmp), ...(req.cache ? [real(req.cache)] : [])],
      hidden,
      binds,
      network,
      devices: this.devices,
      cwd: real(req.cwd),
    };
    return { prefix: bwrapArgs(s.bwrap, spec), env, isolatesNetwork: !network };
  }

  /**
   * Unsealed only: `keep_ignored` paths appear in a worktree as links into the checkout (sealed,
   * the sandbox binds them read-only instead, and the worktree keeps only the mount point).
   */
  linkKept(root: string): void {
    const { repo, programDir, keepIgnored } = this.layout;
    linkKeptIgnored(repo, programDir, keepIgnored, root);
  }
}

function kindOf(path: string): 'dir' | 'file' | null {
  try {
    return lstatSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

/**
 * `keep_ignored` paths (relative to the program's folder) linked from the checkout into the
 * worktree at `root`, replacing whatever the worktree holds there; a link already there stays.
 */
export function linkKeptIgnored(
  repo: string,
  programDir: string,
  keepIgnored: readonly string[],
  root: string,
): void {
  for (const p of keepIgnored) {
    const target = join(root, programDir, p);
    const source = join(repo, programDir, p);
    if (!existsSync(source)) continue;
    try {
      if (lstatSync(target).isSymbolicLink()) continue;
      rmSync(target, { recursive: true, force: true });
    } catch {
      // not there yet
    }
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(source, target);
  }
}
