/** Protected files: hashed at the start of a run and checked before and after every experiment. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import picomatch from 'picomatch';
import { git } from './git.js';
import { makeMatcher } from './rules.js';

export type Hashes = Record<string, string>;

const MISSING = 'missing';

function hashFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function walk(dir: string, rel: string, out: string[]): void {
  for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(dir, child, out);
    else if (entry.isFile()) out.push(child);
  }
}

/**
 * Resolves protected patterns to files in `programDirAbs`: literal paths (even ignored, untracked
 * ones, such as a data file) are taken as given; globs are matched against tracked files.
 */
export async function resolveProtected(
  programDirAbs: string,
  patterns: string[],
): Promise<string[]> {
  const files = new Set<string>();
  const globs: string[] = [];
  for (const raw of patterns) {
    const p = posix.normalize(raw.replace(/^\.\//, '')).replace(/\/$/, '');
    if (picomatch.scan(p).isGlob) {
      globs.push(p);
      continue;
    }
    const abs = join(programDirAbs, p);
    if (existsSync(abs) && statSync(abs).isDirectory()) {
      const found: string[] = [];
      walk(programDirAbs, p, found);
      found.forEach((f) => files.add(f));
    } else files.add(p);
  }
  if (globs.length > 0) {
    const isMatch = makeMatcher(globs);
    const tracked = (await git(programDirAbs, ['ls-files', '-z', '--', '.']))
      .split('\0')
      .filter(Boolean);
    tracked.filter(isMatch).forEach((f) => files.add(f));
  }
  return [...files].sort();
}

export function hashFiles(programDirAbs: string, files: string[]): Hashes {
  const hashes: Hashes = {};
  for (const f of files) {
    const abs = join(programDirAbs, f);
    hashes[f] = existsSync(abs) ? hashFile(abs) : MISSING;
  }
  return hashes;
}

/** Files whose hash differs from the recorded one (changed, deleted or newly missing). */
export function tamperedFiles(expected: Hashes, programDirAbs: string): string[] {
  const actual = hashFiles(programDirAbs, Object.keys(expected));
  return Object.keys(expected).filter((f) => actual[f] !== expected[f]);
}

export function missingFiles(hashes: Hashes): string[] {
  return Object.entries(hashes)
    .filter(([, h]) => h === MISSING)
    .map(([f]) => f);
}
