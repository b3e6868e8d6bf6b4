/**
 * A slot's workspace: one git worktree in the run's work folder (.autoresearch/<tag>/slots/<n>,
 * or under slurm.shared_dir), detached at the parent commit while the agent works, then at the
 * candidate commit while the experiment runs.
 *
 * Agents and experiments may write anything inside a worktree, its `.git` link file included, so
 * the harness never lets git find the repository through that file: every command names the
 * worktree's git folder explicitly (found from the repository's side), and a reset writes the
 * link back. Otherwise a forged link could point git at a folder whose config runs a command.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { git, gitCommonDir, type GitOptions } from './git.js';
import { rememberCommit, treeEntries, treeOf, type TreeEntry } from './trees.js';

/**
 * Worktree creation, one at a time per repository: `git worktree add` writes its metadata in
 * several steps, and a concurrent `prune` or `add` (slots starting together) can read it half
 * written ("failed to read .git/worktrees/N/commondir") or prune it.
 */
const creating = new Map<string, Promise<unknown>>();

function serialized<T>(repo: string, fn: () => Promise<T>): Promise<T> {
  const next = (creating.get(repo) ?? Promise.resolve()).catch(() => {}).then(fn);
  creating.set(repo, next);
  return next;
}

/** The worktree's own folder in the repository's .git/worktrees, found by its recorded path. */
async function findGitDir(repo: string, path: string): Promise<string | null> {
  const root = join(await gitCommonDir(repo), 'worktrees');
  const link = resolve(path, '.git');
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return null;
  }
  for (const name of names) {
    try {
      if (resolve(readFileSync(join(root, name, 'gitdir'), 'utf8').trim()) === link)
        return join(root, name);
    } catch {
      // a half-written or pruned entry
    }
  }
  return null;
}

/**
 * What the harness knows about a worktree, shared by every Worktree object for the same path in
 * this process: its git folder; the index as the harness last wrote it (an index someone else
 * wrote is checked before it is trusted); and the commit the files are known to be exactly.
 */
interface Known {
  gitDir: string | null;
  /** The index file's stat as the harness's last reset left it, and the commit it holds. */
  index: string | null;
  indexAt: string | null;
  /** The commit the worktree's files are exactly (null: something may have changed them). */
  exactAt: string | null;
}

const known = new Map<string, Known>();

function stamp(file: string): string | null {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}

export class Worktree {
  private readonly k: Known;

  constructor(
    readonly repo: string,
    readonly path: string,
  ) {
    let k = known.get(path);
    if (!k) known.set(path, (k = { gitDir: null, index: null, indexAt: null, exactAt: null }));
    this.k = k;
  }

  private async gitDirOf(): Promise<string | null> {
    return (this.k.gitDir ??= existsSync(this.path)
      ? await findGitDir(this.repo, this.path)
      : null);
  }

  /** git in this worktree, never through its `.git` file. */
  async git(args: string[], opts: GitOptions = {}): Promise<string> {
    const gitDir = await this.gitDirOf();
    if (!gitDir) throw new Error(`${this.path} is not a worktree of ${this.repo}`);
    return git(this.path, [`--git-dir=${gitDir}`, `--work-tree=${this.path}`, ...args], opts);
  }

  /** The worktree's index file (the parent's entries after a reset). */
  async indexFile(): Promise<string> {
    const gitDir = await this.gitDirOf();
    if (!gitDir) throw new Error(`${this.path} is not a worktree of ${this.repo}`);
    return join(gitDir, 'index');
  }

  /**
   * True when the index is exactly as the harness's last reset left it. Sealed, nothing else can
   * write it; unsealed, an agent could have flagged entries skip-worktree or assume-unchanged,
   * which makes git skip those files.
   */
  async indexTrusted(): Promise<boolean> {
    return this.k.index !== null && stamp(await this.indexFile()) === this.k.index;
  }

  /** The commit the index holds, when the harness's last reset wrote it and nobody else did since. */
  async indexCommit(): Promise<string | null> {
    return (await this.indexTrusted()) ? this.k.indexAt : null;
  }

  /**
   * Creates the worktree if needed, and puts it at exactly `commit`: tracked files as committed,
   * everything else removed, ignored files included (caches and outputs of an earlier experiment
   * must not reach the next one). Nothing to do when the files and the index are known to be
   * that commit already.
   */
  async reset(commit: string): Promise<void> {
    if (this.k.exactAt === commit && (await this.indexCommit()) === commit) return;
    if (!(await this.gitDirOf())) {
      await serialized(this.repo, async () => {
        mkdirSync(dirname(this.path), { recursive: true });
        rmSync(this.path, { recursive: true, force: true });
        // Only a registration left for this path (its folder removed by hand) could stand in the
        // way of the new one (`add -f` replaces it too): prune only then.
        if (await findGitDir(this.repo, this.path)) await git(this.repo, ['worktree', 'prune']);
        await git(this.repo, ['worktree', 'add', '--detach', '-f', '-q', this.path, commit]);
      });
      this.k.gitDir = await findGitDir(this.repo, this.path);
    } else {
      this.restoreLink();
      // An index someone else wrote may hide files from the reset (flagged entries): start over.
      if (!(await this.indexTrusted()) && /^[^H]/m.test(await this.git(['ls-files', '-v'])))
        rmSync(await this.indexFile(), { force: true });
      // `clean -ffdx` then `reset --hard`, in one git process: everything that is not one of the
      // commit's files removed here (a symlink or folder where a file belongs too), then the index
      // and the tracked files from the commit, and HEAD detached at it.
      removeUntracked(this.path, await treeEntries(this.repo, commit));
      await this.git(['read-tree', '-u', '--reset', commit]);
      writeFileSync(join(this.k.gitDir!, 'HEAD'), `${commit}\n`);
    }
    this.k.index = stamp(await this.indexFile());
    this.k.indexAt = commit;
    this.k.exactAt = commit;
  }

  /**
   * Puts the files at exactly `commit` before something runs on them; skips the reset when the
   * harness has just seen that they are (a snapshot that left nothing out). The index may lag.
   */
  async ensureFiles(commit: string): Promise<void> {
    if (this.k.exactAt !== commit) await this.reset(commit);
  }

  /** Something is about to run in the worktree (an agent, checks, a run): its files may change. */
  touched(): void {
    this.k.exactAt = null;
  }

  /** The harness has just seen that the files are exactly `commit` (a snapshot that left nothing out). */
  isExactly(commit: string): void {
    this.k.exactAt = commit;
  }

  /** Rewrites the `.git` link file, whatever was left in its place. */
  private restoreLink(): void {
    const link = join(this.path, '.git');
    rmSync(link, { recursive: true, force: true });
    writeFileSync(link, `gitdir: ${this.k.gitDir}\n`);
  }

  /** Records `tree` as a commit on `parent`, reachable under `ref` even if it is never kept. */
  async commit(parent: string, tree: string, message: string, ref: string): Promise<string> {
    const commit = (
      await git(this.repo, ['commit-tree', tree, '-p', parent, '-F', '-'], { input: message })
    ).trim();
    rememberCommit(commit, tree);
    await git(this.repo, ['update-ref', ref, commit]);
    return commit;
  }

  /** Tree of a commit (to detect a proposal that changed nothing). */
  async treeOf(commit: string): Promise<string> {
    return treeOf(this.repo, commit);
  }
}

/**
 * Removes everything in a worktree that is not one of the commit's files (what `git clean -ffdx`
 * does: untracked and ignored files, empty folders, nested repositories), except the worktree's
 * own `.git` link. Never follows a symlink: a link is removed as a file.
 */
function removeUntracked(root: string, tracked: Map<string, TreeEntry>): void {
  const folders = new Set<string>();
  for (const path of tracked.keys()) {
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1))
      folders.add(path.slice(0, i));
  }
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch {
      continue;
    }
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      if (!rel && name === '.git') continue;
      const entry = tracked.get(path);
      if (entry?.mode === '160000') continue; // a submodule's folder: git leaves it alone too
      const isDir = lstatSync(join(root, path)).isDirectory();
      if (folders.has(path) && isDir) stack.push(path);
      else if (!entry || isDir) rmSync(join(root, path), { recursive: true, force: true });
    }
  }
}
