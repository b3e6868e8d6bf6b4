/**
 * Bringing a run's commit into the user's checkout. The commit was written by an agent, so this
 * goes through plumbing only: the result commit is made first (`merge-tree`, `commit-tree`), then
 * the checkout moves to it with a two-tree `read-tree -m -u` (what `git checkout` does: local
 * changes to other files are carried along, and git refuses rather than overwrite one), then the
 * branch by compare-and-swap. No hook, filter process or submodule update of the run's tree runs,
 * and uncommitted work is never touched: files the operation would change that hold local changes
 * (or exist untracked or ignored where the commit adds them) are refused by name beforehand.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../program/errors.js';
import { ensureIdentity, git, gitStatus, resolveRef } from './git.js';

/** A user's `submodule.recurse` would make read-tree update submodules the run's tree names. */
const CHECKOUT_SAFE = ['-c', 'submodule.recurse=false'];

type ApplyKind = 'fast-forward' | 'merge' | 'squash' | 'up-to-date';

export interface ApplyResult {
  kind: ApplyKind;
  /** The branch that moved (or would have). */
  branch: string;
  /** Its commit before and after. */
  before: string;
  after: string;
  /** Files the checkout changed. */
  files: string[];
}

export interface ApplyOptions {
  /** One new commit on the branch with the change, instead of the run's history. */
  squash?: boolean;
  /** The message of the merge or squash commit, when one is made. */
  message: (kind: 'merge' | 'squash') => string;
  /** Branches it must not move (the run's own: only the harness moves it). */
  notOnto?: string[];
}

/** The checkout's current branch and commit, or an error saying what to do on a detached HEAD. */
async function currentBranch(checkout: string): Promise<{ ref: string; head: string }> {
  const ref = (await git(checkout, ['symbolic-ref', '-q', 'HEAD'], { allowFail: true })).trim();
  if (!ref)
    throw new UserError(
      `${checkout} is on a detached HEAD: apply brings a change onto a branch`,
      'git switch <branch>, or create a branch at the commit with --branch <name>',
    );
  const head = await resolveRef(checkout, 'HEAD');
  if (!head)
    throw new UserError(
      `branch ${ref.replace('refs/heads/', '')} has no commit yet`,
      'commit something first, or use --branch <name>',
    );
  return { ref, head };
}

export async function commitExists(repo: string, commit: string): Promise<boolean> {
  return (await resolveRef(repo, commit)) !== null;
}

/** Paths that differ between two trees, with git's letter: A (added), D, M, T. */
async function changedPaths(
  checkout: string,
  from: string,
  to: string,
): Promise<Map<string, string>> {
  const out = await git(checkout, [
    'diff-tree',
    '-r',
    '-z',
    '--no-renames',
    '--name-status',
    from,
    to,
  ]);
  const fields = out.split('\0');
  const changed = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) changed.set(fields[i + 1]!, fields[i]!);
  return changed;
}

/** Files of the checkout with uncommitted changes: staged, unstaged, untracked (not ignored). */
async function dirtyPaths(checkout: string): Promise<Set<string>> {
  const out = await git(checkout, [
    'status',
    '--porcelain=v1',
    '-z',
    '--no-renames',
    '--untracked-files=all',
  ]);
  return new Set(
    out
      .split('\0')
      .filter(Boolean)
      .map((entry) => entry.slice(3)),
  );
}

/**
 * The files the move from `head` to `target` would write that hold work git does not have in
 * `head`: local changes, or a file on disk where `head` has none (untracked or ignored).
 */
async function wouldTouch(checkout: string, head: string, target: string): Promise<string[]> {
  const changed = await changedPaths(checkout, head, target);
  if (changed.size === 0) return [];
  const dirty = await dirtyPaths(checkout);
  const clash: string[] = [];
  for (const [path, change] of changed) {
    if (dirty.has(path) || (change === 'A' && exists(join(checkout, path)))) clash.push(path);
  }
  return clash.sort();
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Refuses, naming the files, when moving the checkout from `head` to `target` would touch uncommitted work. */
async function refuseDirty(checkout: string, head: string, target: string): Promise<void> {
  const clash = await wouldTouch(checkout, head, target);
  if (clash.length === 0) return;
  const shown = clash.slice(0, 10).join(', ') + (clash.length > 10 ? `, … (${clash.length})` : '');
  throw new UserError(
    `your working tree has uncommitted changes to files this would change: ${shown}; nothing was changed`,
    'commit or stash them first (git stash), or create a branch instead: --branch <name>',
  );
}

/** The merge of `theirs` into `ours` as a tree, or an error naming the conflicting files. */
async function mergeTree(checkout: string, ours: string, theirs: string): Promise<string> {
  const r = await gitStatus(checkout, [
    'merge-tree',
    '--write-tree',
    '--name-only',
    '--no-messages',
    ours,
    theirs,
  ]);
  const [tree, ...rest] = r.stdout.split('\n');
  if (r.code === 0 && tree) return tree.trim();
  if (r.code === 1) {
    const files = [...new Set(rest.map((l) => l.trim()).filter(Boolean))];
    throw new UserError(
      `the change conflicts with your branch in ${files.join(', ') || 'some files'}; nothing was changed`,
      'create a branch at the commit and merge it yourself: --branch <name>',
    );
  }
  throw new Error(`git merge-tree failed: ${r.stderr.trim()}`);
}

/**
 * Brings `commit` onto the checkout's current branch: a fast-forward when the branch is behind
 * it, else a merge commit (or one squashed commit with `squash`). The commit must be a commit of
 * this repository.
 */
export async function applyCommit(
  checkout: string,
  commit: string,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const { ref, head } = await currentBranch(checkout);
  const branch = ref.replace('refs/heads/', '');
  if (opts.notOnto?.includes(branch))
    throw new UserError(
      `you are on ${branch}, the run's own branch (only the harness moves it); nothing was changed`,
      'git switch <your branch>, then apply again; or --branch <name>',
    );
  const same = (kind: ApplyKind): ApplyResult => ({
    kind,
    branch,
    before: head,
    after: head,
    files: [],
  });
  if (await isAncestor(checkout, commit, head)) return same('up-to-date');
  const behind = await isAncestor(checkout, head, commit);
  const tree = behind ? await treeOf(checkout, commit) : await mergeTree(checkout, head, commit);
  if (!behind && tree === (await treeOf(checkout, head))) return same('up-to-date');
  await refuseDirty(checkout, head, tree);
  await ensureIdentity(checkout);
  let after = commit;
  let kind: ApplyKind = 'fast-forward';
  if (opts.squash) {
    after = await commitTree(checkout, tree, [head], opts.message('squash'));
    kind = 'squash';
  } else if (!behind) {
    after = await commitTree(checkout, tree, [head, commit], opts.message('merge'));
    kind = 'merge';
  }
  const files = [...(await changedPaths(checkout, head, after)).keys()].sort();
  await checkoutMove(checkout, head, after);
  const moved = await gitStatus(checkout, [
    'update-ref',
    '-m',
    `autoresearch apply: ${kind}`,
    ref,
    after,
    head,
  ]);
  if (moved.code !== 0) {
    // The branch moved while this ran: put the files back as they were and say so.
    await checkoutMove(checkout, after, head);
    throw new UserError(
      `${branch} changed while applying (${moved.stderr.trim()}); nothing was changed`,
      'run the command again',
    );
  }
  return { kind, branch, before: head, after, files };
}

/** Creates branch `name` at `commit`; refuses a name that is taken or not a valid branch name. */
export async function createBranch(repo: string, name: string, commit: string): Promise<void> {
  const valid = await gitStatus(repo, ['check-ref-format', '--branch', name]);
  if (valid.code !== 0 || name.startsWith('-'))
    throw new UserError(`"${name}" is not a valid branch name`, 'e.g. --branch autoresearch-best');
  const ref = `refs/heads/${name}`;
  const made = await gitStatus(repo, ['update-ref', '-m', 'autoresearch apply', ref, commit, '']);
  if (made.code !== 0) {
    const taken = await resolveRef(repo, ref);
    throw new UserError(
      taken
        ? `branch ${name} already exists (at ${taken.slice(0, 10)}); nothing was changed`
        : `could not create branch ${name}: ${made.stderr.trim()}`,
      taken ? 'pick another name, or delete it first: git branch -D ' + name : undefined,
    );
  }
}

/** Moves index and files from `from` to `to`, keeping local changes to other files. */
async function checkoutMove(checkout: string, from: string, to: string): Promise<void> {
  await git(checkout, ['update-index', '-q', '--refresh'], { allowFail: true });
  const r = await gitStatus(checkout, [...CHECKOUT_SAFE, 'read-tree', '-m', '-u', from, to]);
  if (r.code !== 0)
    throw new UserError(
      `git refused to update your files (${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}); nothing was changed`,
      'commit or stash your changes (git stash), or use --branch <name>',
    );
}

async function isAncestor(repo: string, a: string, b: string): Promise<boolean> {
  return (await gitStatus(repo, ['merge-base', '--is-ancestor', a, b])).code === 0;
}

async function treeOf(repo: string, commit: string): Promise<string> {
  return (await git(repo, ['rev-parse', `${commit}^{tree}`])).trim();
}

async function commitTree(
  repo: string,
  tree: string,
  parents: string[],
  message: string,
): Promise<string> {
  const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-F', '-'];
  return (await git(repo, args, { input: message })).trim();
}

/** The commits `commit` would bring to the checkout's HEAD, as a set. */
export async function incomingCommits(checkout: string, commit: string): Promise<Set<string>> {
  const head = await resolveRef(checkout, 'HEAD');
  const out = await git(checkout, ['rev-list', commit, ...(head ? ['--not', head] : [])]);
  return new Set(out.split('\n').filter(Boolean));
}
