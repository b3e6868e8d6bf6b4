/**
 * cliHere stands in for the `autoresearch` process: what a command line prints and the code it
 * exits with are the same as the real bin's, and the test's process is left as it was.
 */
import { describe, expect, it } from 'vitest';
import { cliHere } from '../helpers/cli-here.js';
import { cli, tempDir } from '../helpers/repo.js';

describe('cliHere', () => {
  it.each([
    ['a version', ['--version']],
    ['a usage error (commander exits 1)', ['statsu']],
    ['a user error (exit 2, the fix on stderr)', ['results']],
  ])('answers %s as the real bin does', async (_, args) => {
    const dir = tempDir('ar-here-');
    expect(await cliHere(dir, args)).toEqual(cli(dir, args));
  });

  it("borrows the process's directory, environment, output and exit code, and gives them back", async () => {
    const dir = tempDir('ar-here-');
    const before = {
      cwd: process.cwd(),
      exitCode: process.exitCode,
      write: process.stdout.write,
      stdin: process.stdin,
      sigint: process.listenerCount('SIGINT'),
    };
    const r = await cliHere(dir, ['results'], { AUTORESEARCH_HERE_PROBE: '1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not inside a git repository');
    expect(process.env.AUTORESEARCH_HERE_PROBE).toBeUndefined();
    expect({
      cwd: process.cwd(),
      exitCode: process.exitCode,
      write: process.stdout.write,
      stdin: process.stdin,
      sigint: process.listenerCount('SIGINT'),
    }).toEqual(before);
  });
});
