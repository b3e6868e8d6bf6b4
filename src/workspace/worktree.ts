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
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { git, gitCommonDir, type GitOptions } from './git.js';

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
      if (resolve(readFileSync(join(root, name, 'gitdir'), 'utf8').trim()) === link) return join(root, name);
    } catch {
      // a half-written or pruned entry
    }
  }
  return null;
}

export class Worktree {
  private gitDir: string | null = null;

  constructor(readonly repo: string, readonly path: string) {}

  /** git in this worktree, never through its `.git` file. */
  async git(args: string[], opts: GitOptions = {}): Promise<string> {
    const gitDir = this.gitDir ?? (this.gitDir = await findGitDir(this.repo, this.path));
    if (!gitDir) throw new Error(`${this.path} is not a worktree of ${this.repo}`);
    return git(this.path, [`--git-dir=${gitDir}`, `--work-tree=${this.path}`, ...args], opts);
  }

  /**
   * Creates the worktree if needed, and puts it at exactly `commit`: tracked files as committed,
   * everything else removed, ignored files included (caches and outputs of an earlier experiment
   * must not reach the next one).
   */
  async reset(commit: string): Promise<void> {
    this.gitDir ??= existsSync(this.path) ? await findGitDir(this.repo, this.path) : null;
    if (!this.gitDir) {
      await serialized(this.repo, async () => {
        mkdirSync(dirname(this.path), { recursive: true });
        rmSync(this.path, { recursive: true, force: true });
        await git(this.repo, ['worktree', 'prune']);
        await git(this.repo, ['worktree', 'add', '--detach', '-f', '-q', this.path, commit]);
      });
      this.gitDir = await findGitDir(this.repo, this.path);
      return;
    }
    this.restoreLink();
    // Index entries flagged skip-worktree or assume-unchanged would survive the reset: start over.
    if (/^[^H]/m.test(await this.git(['ls-files', '-v']))) rmSync(join(this.gitDir, 'index'), { force: true });
    await this.git(['reset', '-q', '--hard', commit]);
    await this.git(['clean', '-q', '-f', '-f', '-d', '-x']);
  }

  /** Rewrites the `.git` link file, whatever was left in its place. */
  private restoreLink(): void {
    const link = join(this.path, '.git');
    rmSync(link, { recursive: true, force: true });
    writeFileSync(link, `gitdir: ${this.gitDir}\n`);
  }

  /** The worktree's git folder (its index and HEAD), for the harness's own bookkeeping. */
  async gitFolder(): Promise<string> {
    this.gitDir ??= await findGitDir(this.repo, this.path);
    if (!this.gitDir) throw new Error(`${this.path} is not a worktree of ${this.repo}`);
    return this.gitDir;
  }

  /** Records `tree` as a commit on `parent`, reachable under `ref` even if it is never kept. */
  async commit(parent: string, tree: string, message: string, ref: string): Promise<string> {
    const commit = (await git(this.repo, ['commit-tree', tree, '-p', parent, '-F', '-'], { input: message })).trim();
    await git(this.repo, ['update-ref', ref, commit]);
    return commit;
  }

  /** Tree of a commit (to detect a proposal that changed nothing). */
  async treeOf(commit: string): Promise<string> {
    return (await git(this.repo, ['rev-parse', `${commit}^{tree}`])).trim();
  }
}

export async function removeWorktree(repo: string, path: string): Promise<void> {
  await git(repo, ['worktree', 'remove', '--force', path], { allowFail: true });
}
