import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRefs } from '../../src/workspace/git.js';
import { Worktree } from '../../src/workspace/worktree.js';
import { gitIn, makeRepo } from '../helpers/repo.js';

describe('Worktree', () => {
  it('slots that create their worktrees at the same moment all get one', async () => {
    // Unserialized, a few in 100 concurrent `git worktree add` failed on another's half-written
    // metadata ("failed to read .git/worktrees/N/commondir"), which stopped a parallel run.
    for (let round = 0; round < 10; round++) {
      const repo = makeRepo({ 'a.txt': 'a\n' });
      const head = gitIn(repo, 'rev-parse', 'HEAD');
      const trees = Array.from({ length: 12 }, (_, i) => new Worktree(repo, join(repo, '.autoresearch', 't', 'slots', String(i))));
      const results = await Promise.allSettled(trees.map((t) => t.reset(head)));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      for (const t of trees) expect(existsSync(join(t.path, 'a.txt'))).toBe(true);
      expect(gitIn(repo, 'worktree', 'list').split('\n')).toHaveLength(13);
    }
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
