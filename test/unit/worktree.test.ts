import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
