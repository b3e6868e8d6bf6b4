import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureIdentity, git, listRefs } from '../../src/workspace/git.js';
import { Worktree } from '../../src/workspace/worktree.js';
import { gitIn, makeRepo, tempDir } from '../helpers/repo.js';

const PATH = process.env.PATH;
afterEach(() => {
  process.env.PATH = PATH;
});

/**
 * Puts a git on PATH that logs when each `git worktree` command starts and ends (then runs the
 * real one): the harness's git calls go through it. Returns the [start, end] of each, in µs.
 */
function logWorktreeCommands(): () => Array<[number, number]> {
  const bin = tempDir('ar-git-log-');
  const log = join(bin, 'log');
  const real = execFileSync('bash', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/bash\ncase " $* " in *" worktree "*) echo "start $$ $(date +%s%6N)" >> "${log}"; "${real}" "$@"; code=$?; echo "end $$ $(date +%s%6N)" >> "${log}"; exit $code;; esac\nexec "${real}" "$@"\n`,
  );
  chmodSync(join(bin, 'git'), 0o755);
  process.env.PATH = `${bin}:${PATH}`;
  return () => {
    const spans = new Map<string, [number, number]>();
    for (const line of existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) {
      const [what, pid, ns] = line.split(' ');
      const span = spans.get(pid!) ?? [0, 0];
      span[what === 'start' ? 0 : 1] = Number(ns);
      spans.set(pid!, span);
    }
    return [...spans.values()].sort((a, b) => a[0] - b[0]);
  };
}

describe('Worktree', () => {
  it('slots that create their worktrees at the same moment all get one, one `git worktree` at a time', async () => {
    // Concurrent `git worktree add`s in one repository read each other's half-written metadata
    // ("failed to read .git/worktrees/N/commondir": a few in 100 failed, which stopped a parallel
    // run). Too rare to catch by chance in a test; that they never overlap is what prevents it.
    const spans = logWorktreeCommands();
    const repo = makeRepo({ 'a.txt': 'a\n' });
    const head = gitIn(repo, 'rev-parse', 'HEAD');
    const trees = Array.from(
      { length: 12 },
      (_, i) => new Worktree(repo, join(repo, '.autoresearch', 't', 'slots', String(i))),
    );
    const results = await Promise.allSettled(trees.map((t) => t.reset(head)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    for (const t of trees) expect(existsSync(join(t.path, 'a.txt'))).toBe(true);
    const seen = spans();
    expect(seen.length).toBeGreaterThanOrEqual(12);
    for (let i = 1; i < seen.length; i++)
      expect(seen[i]![0], `git worktree #${i} started before #${i - 1} ended`).toBeGreaterThan(
        seen[i - 1]![1],
      );
    expect(gitIn(repo, 'worktree', 'list').split('\n')).toHaveLength(13);
  });
});

describe('Worktree.reset', () => {
  it('leaves exactly the commit: tracked files restored, untracked, ignored and nested repositories removed, HEAD at the commit', async () => {
    const repo = makeRepo({ 'a.txt': 'a\n', 'src/b.txt': 'b\n', '.gitignore': '*.cache\n' });
    const head = gitIn(repo, 'rev-parse', 'HEAD');
    const wt = new Worktree(repo, join(repo, '.autoresearch', 't', 'slots', '0'));
    await wt.reset(head);
    writeFileSync(join(wt.path, 'a.txt'), 'changed\n');
    writeFileSync(join(wt.path, 'x.cache'), 'ignored\n');
    rmSync(join(wt.path, 'src'), { recursive: true });
    symlinkSync('/etc', join(wt.path, 'src')); // a symlink where a tracked folder belongs
    mkdirSync(join(wt.path, 'new/.git'), { recursive: true });
    writeFileSync(join(wt.path, 'new/.git/HEAD'), 'ref: refs/heads/main\n');
    wt.touched();
    await wt.reset(head);
    expect(readFileSync(join(wt.path, 'a.txt'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(wt.path, 'src/b.txt'), 'utf8')).toBe('b\n');
    expect(lstatSync(join(wt.path, 'src')).isDirectory()).toBe(true);
    expect(existsSync(join(wt.path, 'x.cache'))).toBe(false);
    expect(existsSync(join(wt.path, 'new'))).toBe(false);
    expect(await wt.git(['rev-parse', 'HEAD'])).toBe(`${head}\n`);
    expect(await wt.git(['status', '--porcelain', '--ignored'])).toBe('');
  });

  it('replaces a registration whose folder was removed by hand: one worktree for the path', async () => {
    const repo = makeRepo({ 'a.txt': 'a\n' });
    const head = gitIn(repo, 'rev-parse', 'HEAD');
    const path = join(repo, '.autoresearch', 't', 'slots', '0');
    gitIn(repo, 'worktree', 'add', '--detach', '-q', path, head);
    rmSync(path, { recursive: true, force: true });
    const wt = new Worktree(repo, path);
    await wt.reset(head);
    expect(readFileSync(join(path, 'a.txt'), 'utf8')).toBe('a\n');
    const listed = gitIn(repo, 'worktree', 'list', '--porcelain');
    expect(listed.match(/^worktree /gm)).toHaveLength(2);
    expect(listed).not.toContain('prunable');
  });
});

describe('listRefs', () => {
  it('reads loose and packed refs as git for-each-ref does', async () => {
    const repo = makeRepo({ 'a.txt': 'a\n' });
    const head = gitIn(repo, 'rev-parse', 'HEAD');
    gitIn(repo, 'update-ref', 'refs/autoresearch/t/1', head);
    gitIn(repo, 'update-ref', 'refs/autoresearch/t/2', head);
    gitIn(repo, 'pack-refs', '--all');
    gitIn(repo, 'commit', '-q', '--allow-empty', '-m', 'second');
    const second = gitIn(repo, 'rev-parse', 'HEAD');
    gitIn(repo, 'update-ref', 'refs/autoresearch/t/2', second); // loose, over the packed one
    gitIn(repo, 'update-ref', 'refs/autoresearch/t/3-rebased', second);
    gitIn(repo, 'update-ref', 'refs/autoresearch/other/1', second);
    const refs = await listRefs(repo, ['refs/autoresearch/t/', 'refs/heads/main']);
    expect(Object.fromEntries(refs)).toEqual({
      'refs/autoresearch/t/1': head,
      'refs/autoresearch/t/2': second,
      'refs/autoresearch/t/3-rebased': second,
      'refs/heads/main': second,
    });
  });
});

describe('ensureIdentity', () => {
  it('decides per repository: one with an identity signs as itself, one without as autoresearch', async () => {
    // No global or system identity for the harness's git while this runs, whatever the machine has.
    const saved = {
      GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL,
      GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM,
    };
    const empty = join(tempDir('ar-gitconfig-'), 'gitconfig');
    writeFileSync(empty, '');
    process.env.GIT_CONFIG_GLOBAL = empty;
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    try {
      const signed = makeRepo({ f: '1\n' }); // makeRepo configures test@example.invalid
      const bare = makeRepo({ f: '2\n' });
      gitIn(bare, 'config', '--unset', 'user.email');
      gitIn(bare, 'config', '--unset', 'user.name');
      await ensureIdentity(signed);
      await ensureIdentity(bare);
      const commitIn = async (repo: string) => {
        const tree = (await git(repo, ['rev-parse', 'HEAD^{tree}'])).trim();
        return (await git(repo, ['commit-tree', tree, '-p', 'HEAD', '-m', 'x'])).trim();
      };
      // The repository asked second does not inherit the first one's answer, nor the reverse.
      expect(gitIn(bare, 'log', '-1', '--format=%ae %ce', await commitIn(bare))).toBe(
        'autoresearch@localhost autoresearch@localhost',
      );
      expect(gitIn(signed, 'log', '-1', '--format=%ae', await commitIn(signed))).toBe(
        'test@example.invalid',
      );
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });
});
