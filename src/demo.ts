/**
 * The bundled demos: copy an example into a fresh git repository (so the loop has a real repo to
 * work in without touching this one), link the packages it runs with, and commit.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './program/errors.js';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES_DIR = join(PACKAGE_ROOT, 'examples');

export function exampleNames(): string[] {
  return existsSync(EXAMPLES_DIR)
    ? readdirSync(EXAMPLES_DIR)
        .filter((n) => existsSync(join(EXAMPLES_DIR, n, 'program.md')))
        .sort()
    : [];
}

/** The node_modules folder that holds tsx (ours, wherever the package is installed). */
function nodeModulesDir(): string {
  const tsxEntry = createRequire(import.meta.url).resolve('tsx');
  let dir = dirname(tsxEntry);
  while (!dir.endsWith(`${'/'}node_modules`) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Creates `dir` as a fresh repository holding the example, committed; returns its path. */
export function prepareDemo(name: string, dir: string): string {
  const source = join(EXAMPLES_DIR, name);
  if (!existsSync(join(source, 'program.md'))) {
    throw new UserError(`no example "${name}"`, `pick one of: ${exampleNames().join(', ')}`);
  }
  const target = resolve(dir);
  if (existsSync(target)) {
    if (!existsSync(join(target, '.autoresearch')) && readdirSync(target).length > 0) {
      throw new UserError(
        `${target} exists and is not an earlier demo`,
        'pass another folder with --dir',
      );
    }
    rmSync(target, { recursive: true, force: true });
  }
  mkdirSync(target, { recursive: true });
  cpSync(source, target, {
    recursive: true,
    filter: (p) => !p.endsWith('.json') || !p.includes('circles'),
  });
  // Experiments run `node --import tsx`, resolved upward from each worktree to this link.
  symlinkSync(nodeModulesDir(), join(target, 'node_modules'), 'dir');
  writeFileSync(join(target, '.gitignore'), 'node_modules\ncircles.json\n');
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'autoresearch demo',
    GIT_AUTHOR_EMAIL: 'demo@localhost',
    GIT_COMMITTER_NAME: 'autoresearch demo',
    GIT_COMMITTER_EMAIL: 'demo@localhost',
  };
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: target, env, stdio: ['ignore', 'pipe', 'pipe'] });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', `example ${name}`);
  return target;
}
