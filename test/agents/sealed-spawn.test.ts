import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { sealedLauncher, spawnSealed } from '../../src/sandbox/spawn.js';
import { killQuietly, processesNamed } from '../helpers/processes.js';
import { sealIn } from '../helpers/seal.js';
import { tempDir } from '../helpers/temp.js';

const support = await detectSandbox();
const marker = `ar-sealed-spawn-${process.pid}`;
afterAll(() => killQuietly(processesNamed(marker)));

/** An agent's seal: its worktree writable, a private temp folder. */
const agentSeal = () => sealIn(support, tempDir('ar-sealed-spawn-'), 'agent').prefix;

/** What a plain child process does with its stdio and exit status. */
async function echoesAndExits(child: ChildProcessWithoutNullStreams): Promise<void> {
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end('hello\n');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(out).toBe('got hello\n');
  expect(code).toBe(3);
}

describe.skipIf(!support.sealed)('spawnSealed (an agent CLI in its sandbox)', () => {
  it('leaves nothing of the sandbox behind when aborted, even while the sandbox starts', async () => {
    // bwrap's own --die-with-parent is armed a few milliseconds after its monitor starts: an
    // abort before that could leave the command running unsupervised. Killing only the monitor
    // left one behind (or never saw it exit) within 80 such aborts in two runs of two.
    for (const delay of Array.from({ length: 60 }, (_, i) => i % 12)) {
      const stop = new AbortController();
      const child = spawnSealed(agentSeal(), 'bash', ['-c', `exec -a ${marker} sleep 100`], {
        env: { PATH: process.env.PATH },
        signal: stop.signal,
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      setTimeout(() => stop.abort(), delay);
      await exited;
      await expect
        .poll(() => processesNamed(marker), { message: `aborted after ${delay} ms` })
        .toEqual([]);
    }
  });

  it('pipes the command’s output and exit as a plain child process', async () => {
    const script = ['-c', 'read x; echo "got $x"; exit 3'];
    await echoesAndExits(
      spawnSealed(agentSeal(), 'bash', script, { env: { PATH: process.env.PATH } }),
    );
  });

  /** A launcher for bash, written where an agent's launcher goes, started as an SDK starts it. */
  function launch(args: string[]) {
    const launcher = path.join(tempDir('ar-launcher-'), 'launcher');
    fs.writeFileSync(launcher, sealedLauncher(agentSeal(), '/bin/bash'), { mode: 0o700 });
    return spawn(launcher, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
  }

  it('a launcher for an SDK that starts the program itself: stopped, it leaves nothing behind', async () => {
    for (const delay of Array.from({ length: 60 }, (_, i) => i % 12)) {
      const child = launch(['-c', `exec -a ${marker} sleep 100`]);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // What an SDK does on abort: SIGTERM to the process it started.
      setTimeout(() => child.kill('SIGTERM'), delay);
      await exited;
      await expect
        .poll(() => processesNamed(marker), { message: `stopped after ${delay} ms` })
        .toEqual([]);
    }
  });

  it('a launcher passes stdin, stdout and the exit status through', async () => {
    await echoesAndExits(launch(['-c', 'read x; echo "got $x"; exit 3']));
  });
});
