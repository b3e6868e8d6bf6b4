/**
 * A slot's workspace: one git worktree in the run's work folder (.autoresearch/<tag>/slots/<n>,
 * or under slurm.shared_dir), detached at the parent commit while the agent works, then at the
 * candidate commit while the experiment runs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { changedPaths, git, resolveRef } from './git.js';

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

export class Worktree {
  constructor(readonly repo: string, readonly path: string) {}

  /** Creates the worktree if needed, and puts it at `commit` with no stray files. */
  async reset(commit: string): Promise<void> {
    if (!existsSync(join(this.path, '.git'))) {
      await serialized(this.repo, async () => {
        mkdirSync(dirname(this.path), { recursive: true });
        await git(this.repo, ['worktree', 'prune']);
        await git(this.repo, ['worktree', 'add', '--detach', '-f', '-q', this.path, commit]);
      });
      return;
    }
    await git(this.path, ['reset', '-q', '--hard', commit]);
    // Untracked files left by the agent or the last experiment; ignored files (caches) stay.
    await git(this.path, ['clean', '-q', '-f', '-f', '-d']);
  }

  changedPaths(): Promise<string[]> {
    return changedPaths(this.path);
  }

  /**
   * Records the worktree's changes as one commit whose parent is `parent`, reachable under `ref`
   * even if it is never kept. Returns the commit and its tree.
   */
  async commit(parent: string, message: string, ref: string): Promise<{ commit: string; tree: string }> {
    await git(this.path, ['add', '-A']);
    const tree = (await git(this.path, ['write-tree'])).trim();
    const commit = (await git(this.path, ['commit-tree', tree, '-p', parent, '-F', '-'], { input: message })).trim();
    await git(this.path, ['update-ref', ref, commit]);
    await git(this.path, ['reset', '-q', '--soft', commit]);
    return { commit, tree };
  }

  /** Checks out an existing commit (for re-running an interrupted experiment). */
  async checkout(commit: string): Promise<void> {
    await this.reset(commit);
  }

  async head(): Promise<string | null> {
    return resolveRef(this.path, 'HEAD');
  }

  /** Tree of the parent commit (to detect a proposal that changed nothing). */
  async treeOf(commit: string): Promise<string> {
    return (await git(this.path, ['rev-parse', `${commit}^{tree}`])).trim();
  }
}

export async function removeWorktree(repo: string, path: string): Promise<void> {
  await git(repo, ['worktree', 'remove', '--force', path], { allowFail: true });
}
