/**
 * The package as a user gets it: `npm pack` of this checkout (after the build), put in a fresh
 * project's node_modules, and examples/embed run there against it with `import 'autoresearch'`.
 *
 * How it is installed, and why not with `npm install <tarball>`: that resolves every dependency
 * against the registry (the npm cache holds the tarballs an install fetched, not the metadata a
 * resolution needs, so even --offline fails), and it would build better-sqlite3 again. So the
 * test does what npm does for the package itself (unpack the tarball into
 * node_modules/autoresearch) and gives it its dependencies as symlinks into this checkout's
 * node_modules: only those package-lock.json marks as runtime (not `dev`), exactly what
 * `npm install --omit=dev` would put there. A module the library imports but declares only in
 * devDependencies is then missing and the example fails; better-sqlite3's compiled binary is the
 * one already built. ESM ignores NODE_PATH, so symlinks are the way to lend node_modules.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerRows, ROOT } from '../helpers/repo.js';

let tmp: string;
let project: string;
let installed: string;

/** Symlinks every runtime package of package-lock.json into `nodeModules`; returns how many. */
function linkRuntimeDependencies(nodeModules: string): number {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  let linked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    const name = path.startsWith('node_modules/') ? path.slice('node_modules/'.length) : '';
    if (!name || name.includes('/node_modules/') || entry.dev) continue;
    const source = join(ROOT, path);
    if (!existsSync(source)) continue; // an optional package for another platform
    mkdirSync(dirname(join(nodeModules, name)), { recursive: true });
    symlinkSync(realpathSync(source), join(nodeModules, name), 'dir');
    linked++;
  }
  return linked;
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/index.js')))
    throw new Error('dist/index.js is missing: build first (npm run build)');
  tmp = mkdtempSync(join(tmpdir(), 'ar-pack-'));
  // The build is done (npm test builds first): --ignore-scripts skips `prepare` compiling again.
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as Array<{ filename: string }>;
  project = join(tmp, 'project');
  installed = join(project, 'node_modules', 'autoresearch');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', [
    '-xzf',
    join(tmp, packed[0]!.filename),
    '-C',
    installed,
    '--strip-components=1',
  ]);
  expect(linkRuntimeDependencies(join(project, 'node_modules'))).toBeGreaterThan(10);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'embedder', private: true, type: 'module' }),
  );
  copyFileSync(join(installed, 'examples/embed/embed.ts'), join(project, 'embed.ts'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function node(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

describe('the packed package, installed in another project', () => {
  it('exposes the entry point and package.json, and hides every other file', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `
      const lib = await import('autoresearch');
      const pkg = await import('autoresearch/package.json', { with: { type: 'json' } });
      const hidden = await import('autoresearch/dist/loop/crash-point.js').then(() => 'importable', (e) => e.code);
      console.log(JSON.stringify({ startRun: typeof lib.startRun, version: pkg.default.version, hidden }));`,
    ]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      startRun: 'function',
      version: expect.any(String),
      hidden: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  it('type-checks the embedding example against the published declarations', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['embed.ts'],
      }),
    );
    const r = node([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it("runs the embedding example: the custom agent's experiments are the run, and an inherited crash variable is ignored", () => {
    const repo = join(tmp, 'repo');
    // The CLI's fault injection kills the harness at these states; a program embedding the library never arms it.
    const r = node(['--import', 'tsx', 'embed.ts', repo], {
      AUTORESEARCH_CRASH_AT: 'proposing:1,committed:2,measured:3',
    });
    expect(r.signal, r.stdout + r.stderr).toBeNull();
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('stopped: reached 4 experiments');
    const rows = ledgerRows(repo, 'embed');
    expect(rows.map((e) => e.id)).toEqual([0, 1, 2, 3, 4]);
    for (const e of rows.slice(1)) {
      expect(e.state).toBe('recorded');
      expect((e as unknown as { agent: string }).agent).toBe('seeded-search');
      expect(e.title).toMatch(/^learning rate \S+ -> \S+$/);
    }
    expect(rows.filter((e) => e.id > 0 && e.status === 'keep').length).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/baseline 2\.28\d*, best 0\.\d+ \(learning rate/);
  });

  it("ships a working command line: the installed bin reads the example's run", () => {
    const bin = (
      JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
      }
    ).bin.autoresearch!;
    const r = spawnSync(process.execPath, [join(installed, bin), 'status', '--tag', 'embed'], {
      cwd: join(tmp, 'repo'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/run embed on branch autoresearch\/embed: finished/);
  });
});
