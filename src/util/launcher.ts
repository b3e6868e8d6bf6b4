/**
 * Short commands (the harness's git) started by a small shell kept for the purpose, not by Node.
 *
 * Node starts a process with fork(): copying the page tables of the harness's process and the
 * copy-on-write faults that follow cost more than the command itself. A shell is a few MB and
 * forks cheaply. `npm run bench launcher` on a 2-core VM: a `git rev-parse` costs the machine
 * about 20 ms of CPU from Node (74 MB or 327 MB process) and 13 ms through this shell. Each shell
 * runs one command at a time; the pool holds as many as the harness has in flight.
 *
 * The command line is made of single-quoted words, so no argument, path or value is ever read as
 * shell syntax. The command gets exactly the environment asked for: the shell exports it itself
 * where this /bin/sh is seen to pass on nothing else (dash: one process fewer per command, about
 * a quarter of a git call's cost), else `env -i` sets it, as it does for a name a shell cannot
 * export or treats as its own. Output goes through files in a private folder, which the
 * shell removes when it ends: with the harness, as its stdin closes, or on a signal. Where there
 * is no /bin/sh or /usr/bin/env, or a shell cannot start, Node starts the command itself.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from './shell.js';

export interface LaunchOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** What the command reads on stdin; without it, stdin is /dev/null. */
  input?: string;
  /** Bytes of stdout or stderr above which the command fails, as with execFile. */
  maxBuffer: number;
}

export interface LaunchResult {
  /** The exit status; a command ended by a signal has 128 + its number, as in a shell. */
  code: number;
  stdout: string;
  stderr: string;
}

const SHELL = '/bin/sh';
const ENV = '/usr/bin/env';
const MAX_SHELLS = 16;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Names a shell reads or sets itself. The probe sees this /bin/sh export each of them as given
 * (dash does); bash adds `_` and SHLVL of its own and fails it. OPTIND (dash takes only a number)
 * always goes through `env -i`.
 */
const SHELL_OWN = [
  ...['_', 'SHLVL', 'PWD', 'OLDPWD', 'IFS', 'PPID', 'LINENO', 'OPTARG', 'PS1', 'PS2', 'PS4'],
  ...['ENV', 'MAIL', 'MAILCHECK', 'MAILPATH', 'HISTFILE', 'HISTSIZE', 'RANDOM', 'SECONDS'],
  ...['SHELLOPTS', 'BASHOPTS', 'BASH_ENV', 'UID', 'EUID', 'GROUPS', 'HOME', 'PATH'],
];
/** dash exports PWD and OLDPWD of its own once it has changed folder. */
const UNSET_OWN = 'unset PWD OLDPWD';

let exportProbe: Promise<boolean> | undefined;
/**
 * Whether a subshell of this /bin/sh passes on exactly what it exported: asked once per process,
 * of the first shell, before its first command (so Node never forks for it).
 */
function exportsExactly(shell: Shell): Promise<boolean> {
  return (exportProbe ??= (async () => {
    const probe = SHELL_OWN.map((name) => `${name}=it's "$x" \`y\``);
    const out = join(shell.dir, 'probe');
    const code = await shell
      .run(
        `(cd / || exit 1; ${UNSET_OWN}; export ${probe.map(shellQuote).join(' ')}; exec ${ENV}) ` +
          `</dev/null >${shellQuote(out)} 2>/dev/null; echo "$?"\n`,
      )
      .catch(() => null);
    // A shell that ended under the probe, or lost its folder, says nothing about the next one.
    if (code === null || !existsSync(shell.dir)) exportProbe = undefined;
    if (code !== 0 || !existsSync(out)) return false;
    const lines = readFileSync(out, 'utf8').split('\n').sort().join('\n');
    return lines === ['', ...probe].sort().join('\n');
  })());
}

/** Whether the shell may export every name of `env` itself. */
function plainNames(env: Record<string, string | undefined>): boolean {
  return Object.entries(env).every(([k, v]) => v === undefined || (NAME.test(k) && k !== 'OPTIND'));
}

/**
 * The shell text that runs `file args` in `cwd` with exactly `env` (`exported`: by the shell's
 * own export, else `env -i`), stdin, stdout and stderr redirected to the given files, then prints
 * its exit status on the shell's stdout.
 */
function commandLine(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string | undefined>,
  files: { input: string; stdout: string; stderr: string },
  exported: boolean,
): string {
  const set = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined);
  const vars = set.map(([k, v]) => shellQuote(`${k}=${v}`));
  const dir = cwd.startsWith('/') ? cwd : `./${cwd}`;
  const command = [file, ...args].map(shellQuote).join(' ');
  const run = exported
    ? `${UNSET_OWN}; ${vars.length ? `export ${vars.join(' ')}; ` : ''}exec ${command}`
    : `exec ${[ENV, '-i', ...vars].join(' ')} ${command}`;
  return (
    `(cd ${shellQuote(dir)} || exit 126; ${run}) ` +
    `<${shellQuote(files.input)} >${shellQuote(files.stdout)} 2>${shellQuote(files.stderr)}; echo "$?"\n`
  );
}

type Handle = { ref(): void; unref(): void };

class Shell {
  readonly dir = mkdtempSync(join(tmpdir(), 'autoresearch-launcher-'));
  private readonly proc: ChildProcess;
  private pending: { resolve: (code: number) => void; reject: (e: Error) => void } | null = null;
  private buffered = '';
  dead = false;
  /** Whether the shell ever ran: a command given to one that never did was never started. */
  started = false;

  constructor(onEnd: (s: Shell) => void) {
    this.proc = spawn(SHELL, [], { stdio: ['pipe', 'pipe', 'ignore'], env: {} });
    this.end = (why: string) => {
      if (this.dead) return;
      this.dead = true;
      rmSync(this.dir, { recursive: true, force: true });
      onEnd(this);
      this.pending?.reject(new Error(`the launcher shell ${why}`));
      this.pending = null;
    };
    const end = this.end;
    this.proc.on('spawn', () => (this.started = true));
    this.proc.on('error', (e) => end(`could not start: ${e.message}`));
    this.proc.on('exit', (code, signal) => end(`ended (${signal ?? code})`));
    this.proc.stdin!.on('error', () => undefined);
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.buffered += chunk;
      const nl = this.buffered.indexOf('\n');
      if (nl < 0) return;
      const status = Number(this.buffered.slice(0, nl));
      this.buffered = this.buffered.slice(nl + 1);
      const p = this.pending;
      this.pending = null;
      this.hold(false);
      p?.resolve(status);
    });
    this.proc.stdin!.write(
      `trap ${shellQuote(`rm -rf ${shellQuote(this.dir)}`)} EXIT; ` +
        `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM\n`,
    );
    this.hold(false);
  }

  private readonly end: (why: string) => void;

  /** Takes the shell out of the pool now and ends it. */
  retire(): void {
    this.end('was retired');
    this.proc.kill('SIGTERM');
  }

  /** Only a shell running a command keeps the harness's process alive. */
  private hold(busy: boolean): void {
    for (const h of [this.proc, this.proc.stdin, this.proc.stdout] as unknown as Handle[])
      if (busy) h.ref();
      else h.unref();
  }

  run(line: string): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new Error('the launcher shell had ended'));
      this.pending = { resolve, reject };
      this.hold(true);
      this.proc.stdin!.write(line);
    });
  }
}

const available = process.platform !== 'win32' && existsSync(SHELL) && existsSync(ENV);
const shells = new Set<Shell>();
const free: Shell[] = [];
const waiting: Array<(s: Shell | null) => void> = [];

function acquire(): Promise<Shell | null> {
  const idle = free.pop();
  if (idle) return Promise.resolve(idle);
  if (shells.size >= MAX_SHELLS) return new Promise((resolve) => waiting.push(resolve));
  try {
    const shell = new Shell((ended) => {
      shells.delete(ended);
      if (free.includes(ended)) free.splice(free.indexOf(ended), 1);
      // A request waiting for a shell gets the place of the one that ended.
      const next = waiting.shift();
      if (next) void acquire().then(next);
    });
    shells.add(shell);
    return Promise.resolve(shell);
  } catch {
    return Promise.resolve(null);
  }
}

function release(shell: Shell): void {
  if (shell.dead) return;
  const next = waiting.shift();
  if (next) next(shell);
  else free.push(shell);
}

/** Node's own start of the command, where no shell can be had. */
function direct(file: string, args: string[], opts: LaunchOptions): Promise<LaunchResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, maxBuffer: opts.maxBuffer, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: string }) | null;
        const signal = e?.signal
          ? constants.signals[e.signal as keyof typeof constants.signals]
          : 0;
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : signal ? 128 + signal : 127;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (e?.message ?? '') });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs `file args` to its end: its status and output. A failing command does not reject. */
export async function launch(
  file: string,
  args: string[],
  opts: LaunchOptions,
): Promise<LaunchResult> {
  const shell = available ? await acquire() : null;
  if (!shell) return direct(file, args, opts);
  const files = {
    input: opts.input === undefined ? '/dev/null' : join(shell.dir, 'in'),
    stdout: join(shell.dir, 'out'),
    stderr: join(shell.dir, 'err'),
  };
  // Its folder was removed under it (a temp cleaner): the shell could not redirect the command's
  // files, so it goes, and Node runs the command.
  const gone = () => {
    shell.retire();
    return direct(file, args, opts);
  };
  try {
    if (!existsSync(shell.dir)) return gone();
    const exported = plainNames(opts.env) && (await exportsExactly(shell));
    // The shell ended under the probe: the command was never given to it.
    if (shell.dead) return direct(file, args, opts);
    if (opts.input !== undefined) writeFileSync(files.input, opts.input);
    let code: number;
    try {
      code = await shell.run(commandLine(file, args, opts.cwd, opts.env, files, exported));
    } catch (e) {
      if (!shell.started) return direct(file, args, opts);
      // The command may have run: it is not started again (it may have moved a ref).
      return { code: 128 + constants.signals.SIGKILL, stdout: '', stderr: (e as Error).message };
    }
    // Without its files the shell could not redirect the command, which did not start then (or
    // the folder went while it ran: it runs again).
    if (!existsSync(files.stdout) || !existsSync(files.stderr)) return gone();
    for (const path of [files.stdout, files.stderr])
      if (statSync(path).size > opts.maxBuffer)
        return { code: 1, stdout: '', stderr: `${file}: output over ${opts.maxBuffer} bytes` };
    return {
      code,
      stdout: readFileSync(files.stdout, 'utf8'),
      stderr: readFileSync(files.stderr, 'utf8'),
    };
  } finally {
    release(shell);
  }
}
