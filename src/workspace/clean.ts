/**
 * What a run leaves in git and on disk, and its removal: the worktrees under its folders, the
 * candidate refs `refs/autoresearch/<tag>/*` and the run branch. The worktrees' files were written
 * by agents, so nothing here asks git inside them (a `.git` link there may be forged): their
 * folders are removed as plain files, never following a symlink, and `git worktree prune` then
 * forgets them from the repository's side.
 */
import { chmodSync, existsSync, lstatSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { git, listRefs } from './git.js';

export interface Leftovers {
  /** Registered worktrees inside the folders. */
  worktrees: string[];
  /** The folders that exist, removed whole. */
  folders: string[];
  /** Refs to delete, with the commit each holds (the transaction checks they still do). */
  refs: Map<string, string>;
  /** The run branch, when it stays: why. */
  branchKept: string | null;
}

export interface CleanTarget {
  tag: string;
  /** The run branch, e.g. autoresearch/nov28. */
  branch: string;
  /** Folders to remove whole (the run's worktrees and scratch; with them, any worktree inside). */
  folders: string[];
  /** Keep the run branch (the best commit). */
  keepBranch?: boolean;
}

/** Absolute, with symlinks resolved where the path exists, for comparing locations. */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

const inside = (path: string, folder: string) => path === folder || path.startsWith(folder + sep);

/** The repository's worktrees as `git worktree list --porcelain` says: path and checked-out branch. */
async function worktreeList(repo: string): Promise<Array<{ path: string; branch: string | null }>> {
  const out = await git(repo, ['worktree', 'list', '--porcelain', '-z']);
  const list: Array<{ path: string; branch: string | null }> = [];
  for (const field of out.split('\0')) {
    if (field.startsWith('worktree ')) list.push({ path: field.slice(9), branch: null });
    else if (field.startsWith('branch ') && list.length) list.at(-1)!.branch = field.slice(7);
  }
  return list;
}

/** What removing `target` would remove; nothing is changed. */
export async function leftoversOf(repo: string, target: CleanTarget): Promise<Leftovers> {
  const folders = [...new Set(target.folders.filter((f) => existsSync(f)).map(real))];
  const all = await worktreeList(repo);
  const main = real(repo);
  const removed = all.filter(
    (w) => real(w.path) !== main && folders.some((f) => inside(real(w.path), f)),
  );
  const refs = await listRefs(repo, [`refs/autoresearch/${target.tag}/`]);
  const branchRef = `refs/heads/${target.branch}`;
  const branch = await listRefs(repo, [branchRef]);
  let branchKept: string | null = null;
  const checkedOut = all.find((w) => w.branch === branchRef && !removed.includes(w));
  if (!branch.has(branchRef)) branchKept = null;
  else if (target.keepBranch) branchKept = 'kept (--keep-best): it holds the best commit';
  else if (checkedOut) branchKept = `kept: it is checked out in ${checkedOut.path}`;
  else refs.set(branchRef, branch.get(branchRef)!);
  return {
    worktrees: removed.map((w) => w.path),
    folders,
    refs,
    branchKept,
  };
}

/** Removes what `leftoversOf` found: folders first, then git forgets the worktrees, then the refs in one transaction. */
export async function removeLeftovers(repo: string, l: Leftovers): Promise<void> {
  for (const folder of l.folders) removeTree(folder);
  if (l.worktrees.length > 0) await git(repo, ['worktree', 'prune']);
  if (l.refs.size === 0) return;
  const input = [...l.refs].map(([ref, commit]) => `delete ${ref} ${commit}\n`).join('');
  await git(repo, ['update-ref', '--stdin'], { input });
}

/**
 * `rm -rf` that also removes what an experiment left read-only (a folder without write
 * permission, as Go's module cache does); a symlink is removed, never followed.
 */
function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
  }
  const stack = [path];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    try {
      if (!lstatSync(dir).isDirectory()) continue;
      chmodSync(dir, 0o700);
      for (const name of readdirSync(dir)) stack.push(join(dir, name));
    } catch {
      // gone meanwhile, or not ours to change: rmSync below says so
    }
  }
  rmSync(path, { recursive: true, force: true });
}
