/**
 * The candidate's tree, built by the harness from the files in the worktree, not from what git's
 * index or ignore rules say: an agent can add ignore rules, mark files skip-worktree or hide a
 * nested repository, and git would then not see those files. Here every file counts:
 *
 * - tracked files that changed, and new files anywhere (ignored ones too), are the change;
 * - the change must stay under `editable` and off `protected`; new files outside `editable` that
 *   the repository's own .gitignore files ignore are dropped (caches an agent's tools leave; the
 *   slot is cleaned before anything runs, so they can never reach an experiment);
 * - refused outright: a nested `.git`, a symlink that points outside the worktree (or into git's
 *   data), a file over `max_file_bytes`, a fifo, socket or device.
 *
 * The tree is written through a private index (never the worktree's), so it is exactly the
 * parent's tree plus the accepted change.
 */
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  type Dirent,
} from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { rememberTree, treeEntries, treeOf, type TreeEntry } from './trees.js';
import { makeMatcher, toProgramPath, type RuleViolation } from './rules.js';
import type { Worktree } from './worktree.js';

export interface SnapshotRules {
  /** The program's folder relative to the repository root ('' at the root). */
  programDir: string;
  editable: string[];
  protected: string[];
  /** Program-relative paths mounted from the checkout (`keep_ignored`): never part of a candidate. */
  keepIgnored: string[];
  maxFileBytes: number;
}

export interface Snapshot {
  /** The candidate's tree: the parent's plus the accepted changes. */
  tree: string;
  /** Repository-relative paths whose content, mode or existence differs from the parent. */
  changed: string[];
  /** Why the change may not run (empty when it may). */
  violations: RuleViolation[];
  /** New files outside `editable` ignored by the repository's .gitignore files: not part of the candidate. */
  dropped: string[];
  /** True when the worktree's files are exactly the candidate's tree (nothing dropped, no empty folders left). */
  exact: boolean;
}

interface Walked {
  kind: 'file' | 'symlink';
}

/** Every file of the worktree (repository-relative), without following symlinks; returns how many folders are empty. */
function walk(
  root: string,
  skip: Set<string>,
  gitlinks: Set<string>,
  found: Map<string, Walked>,
  violations: RuleViolation[],
): number {
  let empty = 0;
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    if (entries.length === 0) empty++;
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (rel === '' && e.name === '.git') continue; // the worktree's own link to the repository
      if (skip.has(path) || gitlinks.has(path)) continue;
      if (e.name === '.git') {
        violations.push({ path, rule: 'nested-git' });
        continue;
      }
      if (e.isDirectory()) stack.push(path);
      else if (e.isSymbolicLink()) found.set(path, { kind: 'symlink' });
      else if (e.isFile()) found.set(path, { kind: 'file' });
      else violations.push({ path, rule: 'special-file' });
    }
  }
  return empty;
}

/** A symlink may only point inside the worktree, by a relative path, and not into git's data. */
function symlinkEscapes(path: string, target: string): boolean {
  if (isAbsolute(target)) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved === '..' || resolved.startsWith('../') || resolved.split('/').includes('.git');
}

/** Git's mode for a file of the worktree (the executable bit as git records it: the owner's). */
function modeOf(root: string, path: string, w: Walked): string {
  if (w.kind === 'symlink') return '120000';
  return lstatSync(join(root, path)).mode & 0o100 ? '100755' : '100644';
}

/**
 * Compares the worktree with `parent` and writes the candidate's tree through `indexFile` (a
 * private index the harness owns). The worktree's own index must be the parent's (as after
 * Worktree.reset): its stat data says cheaply which tracked files may have changed.
 */
export async function snapshot(
  wt: Worktree,
  parent: string,
  rules: SnapshotRules,
  indexFile: string,
): Promise<Snapshot> {
  const worktree = wt.path;
  const gitIn = (args: string[]) => wt.git(args);
  const tracked = await treeEntries(wt.repo, parent);
  const gitlinks = new Set([...tracked].filter(([, e]) => e.mode === '160000').map(([p]) => p));
  const prefix = rules.programDir ? `${rules.programDir}/` : '';
  const skip = new Set(
    rules.keepIgnored.map(
      (p) => prefix + posix.normalize(p.replace(/^\.\//, '')).replace(/\/$/, ''),
    ),
  );
  const violations: RuleViolation[] = [];
  const found = new Map<string, Walked>();
  const emptyFolders = walk(worktree, skip, gitlinks, found, violations);

  const isEditable = makeMatcher(rules.editable);
  const isProtected = makeMatcher(rules.protected);
  const accepts = (path: string) => {
    const rel = toProgramPath(path, rules.programDir);
    return rel !== null && !isProtected(rel) && isEditable(rel);
  };
  // Tracked files whose stat data (content, mode) may differ, by the worktree's index when it
  // holds the parent as the harness wrote it (sealed, nothing else can write it). Otherwise (an
  // agent may have flagged entries skip-worktree or assume-unchanged, so git would not look at
  // those files) every tracked file is a candidate.
  const indexAtParent = (await wt.indexCommit()) === parent;
  const dirty = indexAtParent
    ? new Set((await gitIn(['diff-files', '--name-only', '-z'])).split('\0').filter(Boolean))
    : null;
  const candidates: string[] = [];
  for (const [path, w] of found) {
    const before = tracked.get(path);
    if (
      !before ||
      !dirty ||
      dirty.has(path) ||
      (before.mode === '120000') !== (w.kind === 'symlink')
    )
      candidates.push(path);
  }
  // Content is compared only where it decides something: a tracked file outside the rules, or a
  // symlink. An editable file goes into the tree as it is (the same content makes the same tree).
  const confirm = candidates.filter(
    (p) => tracked.has(p) && (!accepts(p) || found.get(p)!.kind === 'symlink'),
  );
  const hashes = await hashAll(
    wt,
    confirm.filter((p) => found.get(p)!.kind !== 'symlink'),
  );
  const changed: string[] = [];
  for (const path of candidates) {
    const w = found.get(path)!;
    const before = tracked.get(path);
    if (before && confirm.includes(path) && before.mode === modeOf(worktree, path, w)) {
      const sha = w.kind === 'symlink' ? await linkSha(wt, path) : hashes.get(path);
      if (sha === before.sha) continue;
    }
    changed.push(path);
  }
  for (const [path, e] of tracked)
    if (e.mode !== '160000' && !found.has(path) && !isUnder(path, skip)) changed.push(path);

  const outside: string[] = [];
  const accepted: string[] = [];
  for (const path of changed) {
    const rel = toProgramPath(path, rules.programDir);
    if (rel !== null && isProtected(rel)) violations.push({ path, rule: 'protected' });
    else if (!accepts(path)) outside.push(path);
    else accepted.push(path);
  }
  const ignoredNew = await ignoredByGitignore(
    wt,
    outside.filter((p) => !tracked.has(p)),
  );
  const dropped = outside.filter((p) => ignoredNew.has(p));
  for (const path of outside)
    if (!ignoredNew.has(path)) violations.push({ path, rule: 'outside-editable' });
  for (const path of accepted) {
    const w = found.get(path);
    if (!w) continue;
    if (w.kind === 'symlink') {
      const target = readlinkSync(join(worktree, path));
      if (symlinkEscapes(path, target))
        violations.push({ path, rule: 'symlink-outside', detail: target });
    } else {
      const size = lstatSync(join(worktree, path)).size;
      if (size > rules.maxFileBytes)
        violations.push({ path, rule: 'too-large', detail: `${size} bytes` });
    }
  }
  const tree = await writeTree(wt, parent, indexFile, accepted, indexAtParent, found, tracked);
  // Editable files written back unchanged are not a change: the tree says what really changed.
  const none = tree === (await treeOf(wt.repo, parent)) && violations.length === 0;
  return {
    tree,
    changed: none ? [] : changed.filter((p) => !ignoredNew.has(p)).sort(),
    violations,
    dropped: dropped.sort(),
    exact: violations.length === 0 && dropped.length === 0 && emptyFolders === 0,
  };
}

function isUnder(path: string, roots: Set<string>): boolean {
  for (const r of roots) if (path === r || path.startsWith(`${r}/`)) return true;
  return false;
}

/** The blob ids of files as they are in the worktree (`write`: also store them). */
async function hashAll(wt: Worktree, paths: string[], write = false): Promise<Map<string, string>> {
  if (paths.length === 0) return new Map();
  const out = await wt.git(['hash-object', ...(write ? ['-w'] : []), '--stdin-paths'], {
    input: paths.join('\n') + '\n',
  });
  const shas = out.split('\n').filter(Boolean);
  return new Map(paths.map((p, i) => [p, shas[i]!]));
}

async function linkSha(wt: Worktree, path: string, write = false): Promise<string> {
  return (
    await wt.git(['hash-object', ...(write ? ['-w'] : []), '--stdin'], {
      input: readlinkSync(join(wt.path, path)),
    })
  ).trim();
}

/** Which of `paths` (new, untracked) the repository's .gitignore files ignore; info/exclude and global excludes do not count. */
async function ignoredByGitignore(wt: Worktree, paths: string[]): Promise<Set<string>> {
  const ignored = new Set<string>();
  for (let i = 0; i < paths.length; i += 500) {
    const chunk = paths.slice(i, i + 500);
    const out = await wt.git([
      'ls-files',
      '-z',
      '--others',
      '--ignored',
      '--exclude-per-directory=.gitignore',
      '--',
      ...chunk.map((p) => `:(literal)${p}`),
    ]);
    for (const p of out.split('\0')) if (p) ignored.add(p);
  }
  return ignored;
}

/**
 * The tree of the parent plus `paths` as they are in the worktree, through a private index: a copy
 * of the worktree's own when it holds the parent (saves reading the tree again), else a fresh one.
 * Every path is hashed and entered explicitly: git's stat shortcuts (which trust a file whose size
 * and mtime look unchanged) never decide what a candidate contains. The tree's files are then
 * known (the parent's plus what was entered), and remembered for the reset to the candidate.
 */
async function writeTree(
  wt: Worktree,
  parent: string,
  indexFile: string,
  paths: string[],
  indexAtParent: boolean,
  found: Map<string, Walked>,
  tracked: Map<string, TreeEntry>,
): Promise<string> {
  const env = { GIT_INDEX_FILE: indexFile };
  mkdirSync(dirname(indexFile), { recursive: true });
  if (indexAtParent) copyFileSync(await wt.indexFile(), indexFile);
  else await wt.git(['read-tree', parent], { env });
  const files = new Map(tracked);
  if (paths.length > 0) {
    const shas = await hashAll(
      wt,
      paths.filter((p) => found.get(p)?.kind === 'file'),
      true,
    );
    const lines: string[] = [];
    for (const path of paths) {
      const w = found.get(path);
      if (!w) {
        lines.push(`0 ${'0'.repeat(40)}\t${path}`);
        files.delete(path);
        continue;
      }
      const sha = w.kind === 'symlink' ? await linkSha(wt, path, true) : shas.get(path)!;
      const mode = modeOf(wt.path, path, w);
      lines.push(`${mode} ${sha}\t${path}`);
      files.set(path, { mode, sha });
    }
    await wt.git(['update-index', '-z', '--index-info'], { env, input: lines.join('\0') + '\0' });
  }
  const tree = (await wt.git(['write-tree'], { env })).trim();
  // A file where the parent had a folder (or the reverse) makes git drop entries on its own:
  // such a tree is left for git to list.
  if (!foldersClash(files))
    rememberTree(
      tree,
      paths.some((p) => found.has(p) && !tracked.has(p)) ? gitOrder(files) : files,
    );
  return tree;
}

/** True when a path is both a file and a folder of another file. */
function foldersClash(files: Map<string, TreeEntry>): boolean {
  const folders = new Set<string>();
  for (const path of files.keys())
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1))
      folders.add(path.slice(0, i));
  for (const path of files.keys()) if (folders.has(path)) return true;
  return false;
}

/** The entries in the order `git ls-tree -r` lists them: by the bytes of the whole path. */
function gitOrder(files: Map<string, TreeEntry>): Map<string, TreeEntry> {
  const keyed = [...files].map((e) => ({ e, bytes: Buffer.from(e[0]) }));
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return new Map(keyed.map((k) => k.e));
}
