import { chmodSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureIdentity } from '../../src/workspace/git.js';
import { snapshot, type SnapshotRules } from '../../src/workspace/snapshot.js';
import { treeEntries, treeOf } from '../../src/workspace/trees.js';
import { Worktree } from '../../src/workspace/worktree.js';
import { gitIn, makeRepo } from '../helpers/repo.js';

const RULES: SnapshotRules = {
  programDir: '',
  editable: ['**'],
  protected: ['locked/key.txt'],
  keepIgnored: [],
  maxFileBytes: 1 << 20,
};

/** `git ls-tree -r` of a commit, as the entries and their order. */
function listed(repo: string, commit: string): Array<[string, { mode: string; sha: string }]> {
  return gitIn(repo, 'ls-tree', '-r', '-z', '--full-tree', commit)
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [mode, , sha] = line.slice(0, line.indexOf('\t')).split(' ');
      return [line.slice(line.indexOf('\t') + 1), { mode: mode!, sha: sha! }];
    });
}

async function propose(files: Record<string, string>, edit: (dir: string) => void) {
  const repo = makeRepo(files);
  await ensureIdentity(repo);
  const parent = gitIn(repo, 'rev-parse', 'HEAD');
  const wt = new Worktree(repo, join(repo, '.autoresearch', 't', 'slots', '0'));
  await wt.reset(parent);
  edit(wt.path);
  const snap = await snapshot(wt, parent, RULES, join(repo, '.autoresearch', 'index-0'));
  const commit = await wt.commit(parent, snap.tree, 'candidate\n', 'refs/autoresearch/t/1');
  return { repo, commit, snap };
}

describe('the files of a candidate the harness committed', () => {
  it('are what git lists for the commit, in its order', async () => {
    const { repo, commit } = await propose(
      { 'a.txt': 'a\n', 'src/b.txt': 'b\n', 'c.sh': 'echo\n', 'z/deep/f.txt': 'f\n' },
      (dir) => {
        writeFileSync(join(dir, 'a.txt'), 'changed\n');
        unlinkSync(join(dir, 'src/b.txt'));
        chmodSync(join(dir, 'c.sh'), 0o755);
        writeFileSync(join(dir, 'a-b.txt'), 'sorts before a/ and after a.txt\n');
        mkdirSync(join(dir, 'a'));
        writeFileSync(join(dir, 'a/x.txt'), 'x\n');
        writeFileSync(join(dir, 'é.txt'), 'accent\n');
        writeFileSync(join(dir, '\u{1F600}.txt'), 'astral\n');
        writeFileSync(join(dir, '\uFF21.txt'), 'fullwidth\n');
        symlinkSync('a.txt', join(dir, 'link'));
      },
    );
    expect([...(await treeEntries(repo, commit))]).toEqual(listed(repo, commit));
    expect(await treeOf(repo, commit)).toBe(gitIn(repo, 'rev-parse', `${commit}^{tree}`));
  });

  it('are what git lists when a file takes the place of a folder whose files may not go', async () => {
    // The protected file under `locked/` stays in the index; git drops it when the file `locked`
    // is entered: the tree is not simply the parent's entries plus the accepted ones.
    const { repo, commit, snap } = await propose(
      { 'a.txt': 'a\n', 'locked/key.txt': 'k\n' },
      (dir) => {
        rmSync(join(dir, 'locked'), { recursive: true });
        writeFileSync(join(dir, 'locked'), 'a file now\n');
      },
    );
    expect(snap.violations).toEqual([{ path: 'locked/key.txt', rule: 'protected' }]);
    expect([...(await treeEntries(repo, commit))]).toEqual(listed(repo, commit));
  });

  it('are what git lists when a folder takes the place of a file', async () => {
    const { repo, commit } = await propose({ 'a.txt': 'a\n', d: 'file\n' }, (dir) => {
      unlinkSync(join(dir, 'd'));
      mkdirSync(join(dir, 'd'));
      writeFileSync(join(dir, 'd/inner.txt'), 'inner\n');
    });
    expect([...(await treeEntries(repo, commit))]).toEqual(listed(repo, commit));
  });
});
