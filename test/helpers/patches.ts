import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitIn, sh, writeFiles } from './repo.js';

/**
 * A patch that turns files with `before` content into `after` content, made in a scratch
 * worktree so the repository itself is not changed. It applies to any tree where the files
 * have the `before` content.
 */
export function patchBetween(
  repo: string,
  before: Record<string, string>,
  after: Record<string, string>,
): string {
  const scratch = mkdtempSync(join(tmpdir(), 'ar-patch-'));
  try {
    gitIn(repo, 'worktree', 'add', '-q', '--detach', scratch, 'HEAD');
    writeFiles(scratch, before);
    gitIn(scratch, 'add', '-A');
    gitIn(scratch, 'commit', '-q', '--allow-empty', '-m', 'before');
    writeFiles(scratch, after);
    gitIn(scratch, 'add', '-A');
    return sh(scratch, 'git', ['diff', '--cached', 'HEAD']);
  } finally {
    gitIn(repo, 'worktree', 'remove', '--force', scratch);
  }
}
