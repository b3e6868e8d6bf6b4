/**
 * The workspace path rules every agent's tools follow: where a path a model gave really is, and
 * whether the agent may read or write it, with the reason it may not (the model sees that text
 * and can correct itself). The llm agent's tools and the claude-code agent's permission check
 * ask here; Codex has no per-tool hook. Beneath these rules sits the run's sandbox (only the
 * worktree is writable), and after the proposal the harness's own snapshot of the candidate's
 * files (`snapshot.ts`) refuses what got past both.
 *
 * - Paths resolve against the program's folder. `relative` paths only (a model's own tools): `..`
 *   and absolute paths are refused. `absolute` (Claude Code's tools give absolute paths): any path
 *   resolves, and must land inside the allowed folder.
 * - A path's real location (symlinks followed through its deepest existing ancestor) must stay
 *   inside the folder: the program's for writes, `readRoot` (default the same) for reads.
 * - `.git` anywhere is off limits: a nested one would hide what is below it from git.
 * - Writes go only to editable, unprotected files, never through a symlink (the rules must judge
 *   the path that is really written); reads of protected files may be refused (`readProtected`).
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { makeMatcher } from './rules.js';

export interface PathRulesOptions {
  /** The program's folder in the candidate's worktree: paths resolve against it, writes stay in it. */
  programDir: string;
  /** Reads may reach anywhere inside this folder (the worktree); default: the program's folder. */
  readRoot?: string;
  editable: string[];
  protected: string[];
  /** false: protected files are hidden too (not even read). Default true. */
  readProtected?: boolean;
  /** 'relative' (default): refuse `..` and absolute paths; 'absolute': accept any path that lands inside. */
  paths?: 'relative' | 'absolute';
}

export type PathVerdict =
  | {
      ok: true;
      /** Absolute path to use (inside the folder; for reads it may lead through a symlink that stays inside). */
      abs: string;
      /** Relative to the program's folder, posix, '.' for the folder itself (`../` for a read elsewhere in readRoot). */
      rel: string;
    }
  | { ok: false; reason: string };

export interface WorkspacePaths {
  /** The program's folder, symlinks resolved. */
  readonly programDir: string;
  /** "editable: ...; protected: ...": what the rules are, for refusals and prompts. */
  readonly rulesText: string;
  isEditable(rel: string): boolean;
  isProtected(rel: string): boolean;
  /** Protected and hidden (readProtected false): not even listed. */
  isHidden(rel: string): boolean;
  /** May the agent read `path` (a file or a folder; the program's folder itself too)? */
  mayRead(path: string): PathVerdict;
  /** May the agent create or change the file `path`? */
  mayWrite(path: string): PathVerdict;
}

const refuse = (reason: string): PathVerdict => ({ ok: false, reason });
const inside = (root: string, abs: string) => abs === root || abs.startsWith(root + sep);
const lstat = (p: string): Stats | undefined => lstatSync(p, { throwIfNoEntry: false });
const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

export function workspacePaths(o: PathRulesOptions): WorkspacePaths {
  const given = resolve(o.programDir);
  const programDir = realpathSync(given);
  const readGiven = resolve(o.readRoot ?? o.programDir);
  const readRoot = realpathSync(readGiven);
  const readName = o.readRoot === undefined ? 'program folder' : 'workspace';
  const absoluteOk = o.paths === 'absolute';
  const isEditable = makeMatcher(o.editable);
  const isProtected = makeMatcher(o.protected);
  const isHidden = (rel: string) => o.readProtected === false && isProtected(rel);
  const rulesText = `editable: ${o.editable.join(', ') || '(nothing)'}${o.protected.length ? `; protected: ${o.protected.join(', ')}` : ''}`;
  const programRel = (abs: string) => toPosix(relative(programDir, abs)) || '.';

  /**
   * The path as an absolute one under the real folders, lexically (no symlink followed yet), or a
   * refusal. An absolute path under the folder as it was given (a symlinked temp folder) counts as
   * under its real location.
   */
  function lexical(path: unknown): string | PathVerdict {
    if (typeof path !== 'string') return refuse('a path is required');
    if (absoluteOk) {
      const abs = resolve(programDir, path);
      for (const [from, to] of [
        [given, programDir],
        [readGiven, readRoot],
      ] as const) {
        if (from !== to && inside(from, abs)) return join(to, relative(from, abs));
      }
      return abs;
    }
    const p = path.trim().replace(/\\/g, '/');
    if (isAbsolute(p) || /^[a-zA-Z]:/.test(p))
      return refuse(
        `${path}: absolute paths are not allowed; use a path relative to the program folder`,
      );
    if (p.split('/').includes('..'))
      return refuse(`${path}: ".." is not allowed; paths stay inside the program folder`);
    return resolve(programDir, posix.normalize(p === '' ? '.' : p));
  }

  /** Where `abs` really is: its deepest existing ancestor's real path plus the rest; null for a dangling or looping symlink. */
  function realLocation(abs: string): string | null {
    let probe = abs;
    while (!lstat(probe) && dirname(probe) !== probe) probe = dirname(probe);
    try {
      return join(realpathSync(probe), relative(probe, abs));
    } catch {
      return null;
    }
  }

  const hasGit = (root: string, abs: string) => relative(root, abs).split(sep).includes('.git');

  function mayRead(path: string): PathVerdict {
    const abs = lexical(path);
    if (typeof abs !== 'string') return abs;
    if (!inside(readRoot, abs))
      return refuse(
        `${path} is outside the ${readName} (${readRoot}); only files inside it may be read`,
      );
    if (hasGit(readRoot, abs)) return refuse(`${path}: .git folders are off limits`);
    const real = realLocation(abs);
    if (real === null) return refuse(`${path}: a symlink that leads nowhere; refused`);
    if (!inside(readRoot, real))
      return refuse(`${programRel(abs)}: resolves outside the ${readName} (symlink); refused`);
    if (hasGit(readRoot, real))
      return refuse(`${path}: leads into a .git folder (symlink); refused`);
    const rel = programRel(abs);
    if (isHidden(rel) || (inside(programDir, real) && isHidden(programRel(real)))) {
      return refuse(`${rel}: not available (protected files are hidden from the agent)`);
    }
    return { ok: true, abs, rel };
  }

  function mayWrite(path: string): PathVerdict {
    const abs = lexical(path);
    if (typeof abs !== 'string') return abs;
    if (!inside(programDir, abs))
      return refuse(
        `${path} is outside the program folder (${programDir}); only editable files may be changed (${rulesText}). The change was not applied`,
      );
    const rel = programRel(abs);
    if (rel === '.') return refuse('a file path is required');
    if (hasGit(programDir, abs)) return refuse(`${path}: .git folders are off limits`);
    if (isProtected(rel))
      return refuse(
        `${rel} is protected and may not be changed (${rulesText}); the change was not applied`,
      );
    if (!isEditable(rel))
      return refuse(`${rel} is not editable (${rulesText}); the change was not applied`);
    const real = realLocation(abs);
    if (real === null)
      return refuse(`${rel} is a symlink that leads nowhere; refusing to write through it`);
    if (!inside(programDir, real))
      return refuse(`${rel}: resolves outside the program folder (symlink); refused`);
    const stats = lstat(abs);
    if (stats?.isSymbolicLink()) return refuse(`${rel} is a symlink; refusing to write through it`);
    if (real !== abs)
      return refuse(`${rel} goes through a symlinked folder; refusing to write through it`);
    if (stats && !stats.isFile()) return refuse(`${rel} is not a regular file`);
    return { ok: true, abs, rel };
  }

  return { programDir, rulesText, isEditable, isProtected, isHidden, mayRead, mayWrite };
}
