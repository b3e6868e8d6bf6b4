/**
 * A commit's files as git records them, read once and kept: consecutive proposals share a parent,
 * and a slot is reset to the same incumbent again and again. Commits never change, so the cache
 * needs no invalidation, only a bound. The commits the harness makes itself are known without
 * asking git: their tree is what `write-tree` returned, and its files are the parent's plus the
 * entries the harness wrote (`rememberTree`, `rememberCommit`).
 */
import { git } from './git.js';

export interface TreeEntry {
  mode: string;
  sha: string;
}

const BOUND = 8;
const rootTrees = new Map<string, string>();
const entries = new Map<string, Map<string, TreeEntry>>();
const byTree = new Map<string, Map<string, TreeEntry>>();

function remember<T>(cache: Map<string, T>, key: string, value: T): T {
  if (cache.size >= BOUND) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

/** `commit`'s root tree is `tree` (a commit the harness has just made from it). */
export function rememberCommit(commit: string, tree: string): void {
  remember(rootTrees, commit, tree);
}

/** The files of `tree`, which the harness has just written from exactly these entries. */
export function rememberTree(tree: string, files: Map<string, TreeEntry>): void {
  remember(byTree, tree, files);
}

/** A commit's root tree. */
export async function treeOf(repo: string, commit: string): Promise<string> {
  return (
    rootTrees.get(commit) ??
    remember(rootTrees, commit, (await git(repo, ['rev-parse', `${commit}^{tree}`])).trim())
  );
}

/** A commit's files (repository-relative path -> mode and blob), submodules as mode 160000. */
export async function treeEntries(repo: string, commit: string): Promise<Map<string, TreeEntry>> {
  const tree = rootTrees.get(commit);
  const cached = entries.get(commit) ?? (tree === undefined ? undefined : byTree.get(tree));
  if (cached) return cached;
  const out = await git(repo, ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const map = new Map<string, TreeEntry>();
  for (const line of out.split('\0')) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    const [mode, , sha] = line.slice(0, tab).split(' ');
    map.set(line.slice(tab + 1), { mode: mode!, sha: sha! });
  }
  return remember(entries, commit, map);
}
