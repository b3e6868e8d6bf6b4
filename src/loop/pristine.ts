/**
 * The pristine folder `eval` and `holdout` run in: a fresh checkout of the protected files from
 * the run's base commit, plus the declared `artifacts:` copied from what the run left in its
 * worktree, and nothing else. A module the run wrote next to the evaluator cannot shadow its
 * imports, a cache cannot carry over, and a symlink cannot smuggle in a file the run may not
 * read (the holdout's answers): artifacts are taken as regular files only.
 */
import { copyFileSync, lstatSync, mkdirSync, readdirSync, rmSync, linkSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import picomatch from 'picomatch';
import { git } from '../workspace/git.js';
import { tamperedFiles } from '../workspace/protect.js';
import { makeMatcher } from '../workspace/rules.js';
import type { RunSetup } from './context.js';

export interface PristineFolder {
  /** The folder (a stand-in for the repository root). */
  root: string;
  /** The program's folder inside it: where the command runs. */
  cwd: string;
  /** Program-relative artifacts copied in. */
  artifacts: string[];
  /** Artifacts left out, with why (a symlink, a protected path). */
  refused: string[];
}

/** Builds the folder `key` afresh from the base commit's protected files and `from`'s artifacts. */
export async function pristineFolder(
  ctx: RunSetup,
  key: string,
  from: string,
): Promise<PristineFolder> {
  const root = ctx.paths.evalDir(key);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const cwd = join(root, ctx.programDir);
  mkdirSync(cwd, { recursive: true });
  const prefix = ctx.programDir ? `${ctx.programDir}/` : '';
  const protectedFiles = Object.keys(ctx.protectedHashes);
  if (protectedFiles.length > 0) {
    // The repository's own git folder and a private index: the user's index is never touched.
    const index = `${ctx.paths.indexFile(`eval-${key}`)}`;
    mkdirSync(dirname(index), { recursive: true });
    rmSync(index, { force: true });
    await git(
      ctx.paths.repo,
      [
        `--work-tree=${root}`,
        'checkout',
        ctx.run.base_commit,
        '--',
        ...protectedFiles.map((f) => `:(literal)${prefix}${f}`),
      ],
      { env: { GIT_INDEX_FILE: index } },
    );
    const changed = tamperedFiles(ctx.protectedHashes, cwd);
    if (changed.length > 0)
      throw new Error(
        `the protected files of the base commit do not match their hashes: ${changed.join(', ')}`,
      );
  }
  const isProtected = makeMatcher(ctx.program.config.protected);
  const artifacts: string[] = [];
  const refused: string[] = [];
  for (const rel of matchArtifacts(join(from, ctx.programDir), ctx.program.config.artifacts)) {
    const source = join(from, ctx.programDir, rel);
    const stat = lstatSync(source);
    if (isProtected(rel)) refused.push(`${rel} (protected: the evaluator's own copy is used)`);
    else if (stat.isSymbolicLink())
      refused.push(`${rel} (a symlink: artifacts must be regular files)`);
    else if (stat.isFile()) {
      const target = join(cwd, rel);
      mkdirSync(dirname(target), { recursive: true });
      copyOrLink(source, target);
      artifacts.push(rel);
    }
  }
  return { root, cwd, artifacts, refused };
}

/** A hard link when possible (checkpoints can be large), else a copy. */
function copyOrLink(source: string, target: string): void {
  try {
    linkSync(source, target);
  } catch {
    copyFileSync(source, target);
  }
}

/**
 * Program-relative paths under `dir` matching the artifact patterns (a file, a folder and all
 * below it, or a glob), without following symlinked folders; symlinked files are returned so the
 * caller can say it refused them. Literal paths are looked up; only globs walk the folder.
 */
function matchArtifacts(dir: string, patterns: string[]): string[] {
  const found = new Set<string>();
  const clean = patterns.map((p) => posix.normalize(p.replace(/^\.\//, '')).replace(/\/$/, ''));
  const globs = clean.filter((p) => picomatch.scan(p).isGlob);
  for (const p of clean.filter((c) => !picomatch.scan(c).isGlob))
    walkFiles(dir, p, () => true, found);
  if (globs.length > 0) walkFiles(dir, '', makeMatcher(globs), found);
  return [...found].sort();
}

function walkFiles(
  dir: string,
  start: string,
  take: (path: string) => boolean,
  out: Set<string>,
): void {
  let top;
  try {
    top = lstatSync(join(dir, start));
  } catch {
    return;
  }
  if (!top.isDirectory()) {
    if (start && take(start)) out.add(start);
    return;
  }
  const stack = [start];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const path = rel ? posix.join(rel, e.name) : e.name;
      if (e.name === '.git') continue;
      if (e.isDirectory()) stack.push(path);
      else if ((e.isFile() || e.isSymbolicLink()) && take(path)) out.add(path);
    }
  }
}
