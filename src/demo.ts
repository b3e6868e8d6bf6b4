/**
 * The bundled demos: copy an example into a fresh git repository (so the loop has a real repo to
 * work in without touching this one), link the packages it runs with, and commit.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './program/errors.js';
import { loadProgram } from './program/program.js';
import { demoPatches, listTemplates, writeTemplate } from './program/templates.js';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES_DIR = join(PACKAGE_ROOT, 'examples');

function exampleNames(): string[] {
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

/** The demos: the examples, and the templates that have an offline demo. */
export function demoNames(): string[] {
  return [...exampleNames(), ...listTemplates().flatMap((t) => (t.demo ? [t.name] : []))];
}

/** Creates `dir` as a fresh repository holding the example, committed; returns its path. */
export function prepareDemo(name: string, dir: string): string {
  const source = join(EXAMPLES_DIR, name);
  const patches = existsSync(join(source, 'program.md')) ? null : templateDemo(name);
  const target = freshFolder(resolve(dir));
  if (patches) {
    // The template as `init --template` writes it, with the scripted agent and its patches.
    mkdirSync(join(target, 'demo'));
    for (const p of patches) cpSync(p, join(target, 'demo', basename(p)));
    writeTemplate(name, target, {
      agent: { name: 'scripted', patches: patches.map((p) => `demo/${basename(p)}`) },
    });
    linkTemplatePackages(target);
  } else {
    cpSync(source, target, {
      recursive: true,
      filter: (p) => !p.endsWith('.json') || !p.includes('circles'),
    });
    // Experiments run `node --import tsx`, resolved upward from each worktree to this link.
    symlinkSync(nodeModulesDir(), join(target, 'node_modules'), 'dir');
    writeFileSync(join(target, '.gitignore'), 'node_modules\ncircles.json\n');
  }
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
  git('commit', '-q', '-m', `${patches ? 'template' : 'example'} ${name}`);
  return target;
}

/**
 * A template whose evaluator needs packages lists their node_modules in `keep_ignored` (the user
 * installs them there); the demo links ours in their place, ignored, instead of installing.
 */
function linkTemplatePackages(target: string): void {
  const kept = loadProgram(join(target, 'program.md')).config.keep_ignored;
  const links = kept.filter((p) => basename(p) === 'node_modules');
  for (const p of links) {
    mkdirSync(dirname(join(target, p)), { recursive: true });
    symlinkSync(nodeModulesDir(), join(target, p), 'dir');
  }
  if (links.length > 0)
    appendFileSync(join(target, '.gitignore'), links.map((p) => `/${p}\n`).join(''));
}

/** The patches of template `name`'s demo, or why there is no such demo. */
function templateDemo(name: string): string[] {
  const patches = listTemplates().some((t) => t.name === name) ? demoPatches(name) : null;
  if (!patches) throw new UserError(`no demo "${name}"`, `pick one of: ${demoNames().join(', ')}`);
  return patches;
}

/** `target` empty and ready, after removing an earlier demo there (never anything else). */
function freshFolder(target: string): string {
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
  return target;
}
