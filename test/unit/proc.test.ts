/**
 * The /proc readers the local executor decides with: whether a process group still has a live
 * member, and which. Real processes, found by their group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers, processGroupAlive } from '../../src/executors/proc.js';
import { exited } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.kill('SIGKILL');
});

/** A process that leads its own group, running `file` (its /proc command name is the file's). */
function leader(file: string): ChildProcess {
  const child = spawn(file, ['600'], { detached: true, stdio: 'ignore' });
  started.push(child);
  return child;
}

describe('process groups from /proc', () => {
  it('finds the live members of a group, also under a command name with spaces and parentheses, and none once they are gone', async () => {
    // The command name sits in parentheses in /proc/<pid>/stat; one like this must not shift the fields after it.
    const odd = join(tempDir('ar-proc-'), 'x) (y z');
    symlinkSync('/bin/sleep', odd);
    const child = leader(odd);
    const pgid = child.pid!;
    expect(processGroupAlive(pgid)).toBe(true);
    expect(groupMembers(pgid)).toEqual([pgid]);
    child.kill('SIGKILL');
    await exited(child);
    expect(processGroupAlive(pgid)).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
  });
});
