import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../src/util/launcher.js';
import { ROOT, tempDir } from '../helpers/repo.js';

const PATH = process.env.PATH!;
const run = (file: string, args: string[], more: { cwd?: string; input?: string } = {}) =>
  launch(file, args, {
    cwd: more.cwd ?? tempDir(),
    env: { PATH },
    input: more.input,
    maxBuffer: 1 << 20,
  });

describe('launch: short commands through a kept shell', () => {
  it('passes every argument and the folder literally: nothing in them is read as shell syntax', async () => {
    const cwd = join(tempDir(), `it's $(touch pwned) \`touch pwned\` "x"\n;`);
    mkdirSync(cwd);
    const words = [
      "it's",
      '$(touch pwned)',
      '`touch pwned`',
      'a  b',
      '*',
      'one\ntwo',
      '; touch pwned',
      '',
      '-n',
      '\\',
      '$HOME',
      "'\"'",
      'é ✓',
    ];
    const r = await run('printf', ['%s\\0', ...words], { cwd });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(words);
    expect((await run('pwd', [], { cwd })).stdout).toBe(`${cwd}\n`);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('gives the command exactly the environment asked for, names a shell cannot export included', async () => {
    const env = {
      PATH,
      SPACED: 'x  y',
      QUOTED: 'it\'s\n"new"',
      'BASH_FUNC_f%%': '() {  echo hi\n}',
      EMPTY: '',
      UNSET: undefined,
    };
    const r = await launch(process.execPath, ['-e', 'console.log(JSON.stringify(process.env))'], {
      cwd: tempDir(),
      env,
      maxBuffer: 1 << 20,
    });
    expect(r.stderr).toBe('');
    const { UNSET: _, ...expected } = env;
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('exports plain names from the shell itself, exactly: no PWD or OLDPWD of its own, its own names kept', async () => {
    const printEnv = (env: Record<string, string>) =>
      launch(process.execPath, ['-e', 'console.log(JSON.stringify(process.env))'], {
        cwd: tempDir(),
        env,
        maxBuffer: 1 << 20,
      }).then((r) => JSON.parse(r.stdout) as Record<string, string>);
    // dash exports PWD and OLDPWD once it has changed folder: none of them reaches the command.
    expect(await printEnv({ PATH, A: "it's $HOME `x`" })).toEqual({ PATH, A: "it's $HOME `x`" });
    const asked = { PATH, PWD: '/elsewhere', OLDPWD: '/before', HOME: '/h' };
    expect(await printEnv(asked)).toEqual(asked);
    // Names a shell reads or sets itself (dash refuses `export OPTIND=x`) still arrive as given.
    const own = { PATH, OPTIND: 'x', IFS: ':', SHLVL: '7', _: '/bin/false', PPID: 'p' };
    expect(await printEnv(own)).toEqual(own);
  });

  it('feeds stdin byte for byte, NULs included, and /dev/null without input; returns the status and stderr', async () => {
    const input = 'a\0b\né\0';
    expect((await run('cat', [], { input })).stdout).toBe(input);
    expect((await run('cat', [])).stdout).toBe('');
    expect(await run('sh', ['-c', 'echo out; echo oops >&2; exit 3'])).toEqual({
      code: 3,
      stdout: 'out\n',
      stderr: 'oops\n',
    });
    expect((await run('sh', ['-c', 'kill -TERM $$'])).code).toBe(143);
    expect((await run('no-such-command-here', [])).code).toBe(127);
    const big = await launch('head', ['-c', '2000', '/dev/zero'], {
      cwd: tempDir(),
      env: { PATH },
      maxBuffer: 1000,
    });
    expect(big).toMatchObject({ code: 1, stdout: '', stderr: 'head: output over 1000 bytes' });
  });

  it('starts each command from a shell it keeps, not from this process', async () => {
    const parent = async () => Number((await run('sh', ['-c', 'echo $PPID'])).stdout);
    const first = await parent();
    expect(first).not.toBe(process.pid);
    expect(await parent()).toBe(first);
  });

  it('runs commands in flight at the same time on shells of their own, each with its own output', async () => {
    const dir = tempDir();
    // Each waits until all four have started: run one after another, they would never end.
    const wait =
      'touch "$0"; i=0; while [ "$(ls | wc -l)" -lt 4 ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; echo "$0"';
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((n) => run('sh', ['-c', wait, n], { cwd: dir })),
    );
    expect(results.map((r) => r.stdout)).toEqual(['a\n', 'b\n', 'c\n', 'd\n']);
  });

  it('fails the command under which its shell dies, without running it again, and goes on with a new shell', async () => {
    const dir = tempDir();
    // Its parent is the launcher's shell (never this test's process, whatever happens).
    const kill = 'echo x >> ran; [ "$PPID" != "$1" ] && kill -KILL $PPID; sleep 5';
    const r = await run('sh', ['-c', kill, 'sh', String(process.pid)], { cwd: dir });
    expect(r.code).toBe(137);
    expect(r.stderr).toMatch(/the launcher shell ended/);
    expect((await run('cat', ['ran'], { cwd: dir })).stdout).toBe('x\n');
  });

  it("runs the command once when a temp cleaner removed its shell's folder, and goes on", () => {
    const tmp = tempDir();
    const work = tempDir();
    const script = `
      const { readdirSync, rmSync } = await import('node:fs');
      const { launch } = await import(${JSON.stringify(join(ROOT, 'dist/util/launcher.js'))});
      const opts = { cwd: ${JSON.stringify(work)}, env: { PATH: process.env.PATH }, maxBuffer: 100 };
      const count = 'cat >> seen; wc -l < seen';
      await launch('sh', ['-c', count], { ...opts, input: 'one\\n' });
      for (const d of readdirSync(process.env.TMPDIR)) rmSync(process.env.TMPDIR + '/' + d, { recursive: true });
      const second = await launch('sh', ['-c', count], { ...opts, input: 'two\\n' });
      const third = await launch('sh', ['-c', count], { ...opts, input: 'three\\n' });
      console.log(second.code, second.stdout.trim(), third.code, third.stdout.trim());`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: tmp },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0 2 0 3\n');
    expect(readFileSync(join(work, 'seen'), 'utf8')).toBe('one\ntwo\nthree\n');
  });

  it('lets the process end while its shells are idle, and their folders go with them', () => {
    const tmp = tempDir();
    const script = `
      const { launch } = await import(${JSON.stringify(join(ROOT, 'dist/util/launcher.js'))});
      const r = await launch('true', [], { cwd: '/', env: { PATH: process.env.PATH }, maxBuffer: 100 });
      console.log('ran', r.code, (await import('node:fs')).readdirSync(process.env.TMPDIR).length);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: tmp },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe('ran 0 1\n');
    return expect.poll(() => existsSync(tmp) && readdirSync(tmp)).toEqual([]);
  });
});
