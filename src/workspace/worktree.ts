/**
 * A slot's workspace: one git worktree in the run's work folder (.autoresearch/<tag>/slots/<n>,
 * or under slurm.shared_dir), detached at the parent commit while the agent works, then at the
 * candidate commit while the experiment runs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { changedPaths, git, resolveRef } from './git.js';

export class Worktree {
  constructor(readonly repo: string, readonly path: string) {}

  /** Creates the worktree if needed, and puts it at `commit` with no stray files. */
  async reset(commit: string): Promise<void> {
    if (!existsSync(join(this.path, '.git'))) {
      mkdirSync(dirname(this.path), { recursive: true });
      await git(this.repo, ['worktree', 'prune']);
      await git(this.repo, ['worktree', 'add', '--detach', '-f', '-q', this.path, commit]);
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
