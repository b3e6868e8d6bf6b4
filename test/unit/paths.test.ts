/**
 * The workspace path rules the agents' tools follow, on real folders with real symlinks: what a
 * model may read and write, and the reason it sees when it may not.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { workspacePaths, type PathVerdict } from '../../src/workspace/paths.js';
import { writeFiles } from '../helpers/repo.js';

let top: string;
let repo: string;
let dir: string;

beforeEach(() => {
  top = mkdtempSync(join(tmpdir(), 'ar-paths-'));
  repo = join(top, 'repo');
  dir = join(repo, 'exp');
  writeFiles(top, {
    'outside.txt': "not the agent's\n",
    'repo/README.md': 'readme\n',
    'repo/exp/train.py': 'lr = 0.1\n',
    'repo/exp/prepare.py': 'SPLIT = 42\n',
    'repo/exp/notes.txt': 'notes\n',
    'repo/exp/model/net.py': 'width = 64\n',
  });
  mkdirSync(join(repo, '.git'));
  symlinkSync('../../outside.txt', join(dir, 'out-link.txt')); // a file symlink leading out
  symlinkSync('../../..', join(dir, 'model/up')); // a folder symlink leading out (to `top`)
  symlinkSync('..', join(dir, 'model/loop')); // a folder symlink that stays inside
  symlinkSync('../train.py', join(dir, 'model/alias.py')); // a file symlink that stays inside
  symlinkSync('../prepare.py', join(dir, 'model/prep-alias.py')); // ... to a protected file
  symlinkSync('../../../nowhere.py', join(dir, 'model/dangling.py')); // leads out, to nothing yet
});

afterEach(() => rmSync(top, { recursive: true, force: true }));

const rules = { editable: ['train.py', 'model/**'], protected: ['prepare.py'] };
const reason = (v: PathVerdict) => (v.ok ? null : v.reason);

describe('paths a model gives (relative to the program folder)', () => {
  it('resolve inside the program folder; .. and absolute paths are refused with the reason', () => {
    const p = workspacePaths({ programDir: dir, ...rules });
    expect(p.mayRead('model/net.py')).toEqual({
      ok: true,
      abs: join(dir, 'model/net.py'),
      rel: 'model/net.py',
    });
    expect(p.mayRead('./model//net.py')).toMatchObject({ ok: true, rel: 'model/net.py' });
    expect(p.mayRead('')).toMatchObject({ ok: true, rel: '.' });
    expect(reason(p.mayRead('../README.md'))).toBe(
      '../README.md: ".." is not allowed; paths stay inside the program folder',
    );
    expect(reason(p.mayRead('model/../../README.md'))).toMatch(/".." is not allowed/);
    expect(reason(p.mayRead(join(dir, 'train.py')))).toMatch(
      /absolute paths are not allowed; use a path relative to the program folder/,
    );
    expect(reason(p.mayWrite('/etc/passwd'))).toMatch(/absolute paths are not allowed/);
    expect(reason(p.mayWrite('C:\\temp\\x.py'))).toMatch(/absolute paths are not allowed/);
  });

  it('refuse .git anywhere, for reading and writing', () => {
    const p = workspacePaths({ programDir: dir, ...rules });
    expect(reason(p.mayWrite('model/.git/config'))).toBe(
      'model/.git/config: .git folders are off limits',
    ); // editable by model/**
    expect(reason(p.mayRead('.git/HEAD'))).toMatch(/\.git folders are off limits/);
    expect(reason(p.mayRead('model/.git'))).toMatch(/\.git folders are off limits/);
  });

  it('refuse symlinks that lead out, by the deepest existing ancestor, for reading and writing', () => {
    const p = workspacePaths({ programDir: dir, ...rules });
    expect(reason(p.mayRead('out-link.txt'))).toBe(
      'out-link.txt: resolves outside the program folder (symlink); refused',
    );
    expect(reason(p.mayRead('model/up/outside.txt'))).toMatch(
      /^model\/up\/outside.txt: resolves outside the program folder/,
    );
    expect(reason(p.mayRead('model/up'))).toMatch(/resolves outside the program folder/);
    expect(reason(p.mayWrite('model/up/new/deep/file.py'))).toMatch(
      /resolves outside the program folder/,
    ); // nothing below `up` exists
    expect(reason(p.mayWrite('model/dangling.py'))).toMatch(/leads nowhere/); // writing would create ../../nowhere/new.py
  });

  it('read through a symlink that stays inside, but never write through one', () => {
    const p = workspacePaths({ programDir: dir, ...rules });
    expect(p.mayRead('model/alias.py')).toMatchObject({ ok: true, rel: 'model/alias.py' });
    expect(p.mayRead('model/loop/train.py')).toMatchObject({ ok: true });
    expect(reason(p.mayWrite('model/alias.py'))).toBe(
      'model/alias.py is a symlink; refusing to write through it',
    );
    // model/loop/prepare.py is editable by its name, but really is the protected prepare.py.
    expect(reason(p.mayWrite('model/loop/prepare.py'))).toBe(
      'model/loop/prepare.py goes through a symlinked folder; refusing to write through it',
    );
  });

  it('write only editable, unprotected regular files, saying the rules', () => {
    const p = workspacePaths({ programDir: dir, ...rules });
    expect(p.mayWrite('train.py')).toEqual({
      ok: true,
      abs: join(dir, 'train.py'),
      rel: 'train.py',
    });
    expect(p.mayWrite('model/new/layer.py')).toMatchObject({ ok: true, rel: 'model/new/layer.py' });
    expect(reason(p.mayWrite('prepare.py'))).toBe(
      'prepare.py is protected and may not be changed (editable: train.py, model/**; protected: prepare.py); the change was not applied',
    );
    expect(reason(p.mayWrite('notes.txt'))).toBe(
      'notes.txt is not editable (editable: train.py, model/**; protected: prepare.py); the change was not applied',
    );
    expect(reason(p.mayWrite('.'))).toBe('a file path is required');
    mkdirSync(join(dir, 'model/sub'));
    expect(reason(p.mayWrite('model/sub'))).toBe('model/sub is not a regular file');
    expect(
      workspacePaths({ programDir: dir, editable: ['model'], protected: [] }).mayWrite(
        'model/x.py',
      ),
    ).toMatchObject({ ok: true }); // a folder means everything under it
  });

  it('hide protected files with readProtected false, by name and through a symlink', () => {
    const open = workspacePaths({ programDir: dir, ...rules });
    expect(open.mayRead('prepare.py')).toMatchObject({ ok: true });
    expect(open.isHidden('prepare.py')).toBe(false);
    const closed = workspacePaths({ programDir: dir, ...rules, readProtected: false });
    expect(reason(closed.mayRead('prepare.py'))).toBe(
      'prepare.py: not available (protected files are hidden from the agent)',
    );
    expect(reason(closed.mayRead('model/prep-alias.py'))).toMatch(/not available/);
    expect(closed.mayRead('train.py')).toMatchObject({ ok: true });
  });
});

describe("absolute paths (Claude Code's tools), reads anywhere in the workspace", () => {
  const claude = () =>
    workspacePaths({ programDir: dir, readRoot: repo, ...rules, paths: 'absolute' });

  it('read inside the workspace, write inside the program folder only', () => {
    const p = claude();
    expect(p.mayRead(join(repo, 'README.md'))).toMatchObject({ ok: true, rel: '../README.md' });
    expect(p.mayRead('../README.md')).toMatchObject({ ok: true });
    expect(p.mayRead(join(dir, 'prepare.py'))).toMatchObject({ ok: true });
    expect(reason(p.mayRead(join(top, 'outside.txt')))).toMatch(
      /is outside the workspace \(.*\); only files inside it may be read/,
    );
    expect(reason(p.mayRead(join(dir, 'model/up/outside.txt')))).toMatch(
      /resolves outside the workspace/,
    );
    expect(reason(p.mayRead(join(repo, '.git')))).toMatch(/\.git folders are off limits/);
    expect(p.mayWrite(join(dir, 'model/net.py'))).toMatchObject({ ok: true, rel: 'model/net.py' });
    expect(p.mayWrite('train.py')).toMatchObject({ ok: true, abs: join(dir, 'train.py') });
    expect(reason(p.mayWrite(join(repo, 'README.md')))).toMatch(
      /is outside the program folder .*only editable files may be changed/,
    );
    expect(reason(p.mayWrite('../README.md'))).toMatch(/is outside the program folder/);
    expect(reason(p.mayWrite(join(dir, 'prepare.py')))).toMatch(/prepare.py is protected/);
    expect(reason(p.mayWrite(join(dir, 'model/loop/prepare.py')))).toMatch(
      /goes through a symlinked folder/,
    );
  });

  it('take the folder by the name it was given, when that name is itself a symlink', () => {
    const alias = join(top, 'alias');
    symlinkSync(repo, alias);
    const p = workspacePaths({
      programDir: join(alias, 'exp'),
      readRoot: alias,
      ...rules,
      paths: 'absolute',
    });
    expect(p.programDir).toBe(dir);
    expect(p.mayWrite(join(alias, 'exp/train.py'))).toEqual({
      ok: true,
      abs: join(dir, 'train.py'),
      rel: 'train.py',
    });
    expect(p.mayRead(join(alias, 'README.md'))).toMatchObject({
      ok: true,
      abs: join(repo, 'README.md'),
    });
  });
});
