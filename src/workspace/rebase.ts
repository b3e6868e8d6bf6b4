/**
 * Re-basing a winning candidate onto a newer incumbent (parallel slots): a three-way merge of
 * trees with `git merge-tree --write-tree` (git 2.38+), no checkout needed. Null when the changes
 * conflict. The merge base git finds is the candidate's old parent, because the run branch only
 * moves forward: every older incumbent is an ancestor of the current one.
 */
import { git, gitStatus } from './git.js';
import { rememberCommit } from './trees.js';

export async function rebaseCommit(
  repo: string,
  candidate: string,
  oldParent: string,
  newParent: string,
): Promise<string | null> {
  const base = (await git(repo, ['merge-base', newParent, candidate])).trim();
  if (base !== oldParent) return null; // not a fast-forward history: refuse rather than guess
  const merge = await gitStatus(repo, [
    'merge-tree',
    '--write-tree',
    '--no-messages',
    newParent,
    candidate,
  ]);
  if (merge.code !== 0) return null;
  const tree = merge.stdout.split('\n')[0]!.trim();
  const message = await git(repo, ['log', '-1', '--format=%B', candidate]);
  const commit = (
    await git(repo, ['commit-tree', tree, '-p', newParent, '-F', '-'], { input: message })
  ).trim();
  rememberCommit(commit, tree);
  return commit;
}
