/**
 * Re-basing a winning candidate onto a newer incumbent (parallel slots): a three-way merge of
 * trees with `git merge-tree --write-tree`, no checkout needed. Null when the changes conflict.
 */
import { git, gitStatus } from './git.js';

export async function rebaseCommit(repo: string, candidate: string, oldParent: string, newParent: string): Promise<string | null> {
  const merge = await gitStatus(repo, ['merge-tree', '--write-tree', `--merge-base=${oldParent}`, newParent, candidate]);
  if (merge.code !== 0) return null;
  const tree = merge.stdout.split('\n')[0]!.trim();
  const message = await git(repo, ['log', '-1', '--format=%B', candidate]);
  return (await git(repo, ['commit-tree', tree, '-p', newParent, '-F', '-'], { input: message })).trim();
}
