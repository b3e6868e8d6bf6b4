/**
 * The real command line in the test's own process: what `cli()` (repo.ts) does without starting
 * Node (~0.45 s of CPU each). For tests where the process is not the point; crash injection,
 * signals, a server the test talks to, EPIPE and the bin itself keep spawning `cli()`.
 *
 * For the length of one call it stands in for the process the command would have had: the
 * working directory, the environment, stdout and stderr (pipes, not a terminal, as with
 * spawnSync), stdin (`input`, then its end), and `process.exit`, which ends the command there with its code.
 * Everything is put back afterwards, also when the command throws: vitest runs several files in
 * one worker process.
 */
import { Readable } from 'node:stream';
import { format } from 'node:util';
import { runCli } from '../../src/cli/program.js';
import type { CliResult } from './repo.js';

/** What `process.exit(code)` throws here: nothing after it in the command runs. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

type Write = typeof process.stdout.write;
const CONSOLE_OUT = ['log', 'info', 'debug'] as const;
const CONSOLE_ERR = ['warn', 'error', 'trace'] as const;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** One call at a time: the process-wide state below is borrowed whole. */
let queue: Promise<unknown> = Promise.resolve();

export function cliHere(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  /** What the command reads on its stdin (a pipe that ends after it, not a terminal). */
  input = '',
): Promise<CliResult> {
  const result = queue.then(() => runHere(cwd, args, env, input));
  queue = result.catch(() => undefined);
  return result;
}

async function runHere(cwd: string, args: string[], env: Record<string, string>, input: string) {
  const out = { stdout: '', stderr: '' };
  const restore: (() => void)[] = [];
  const swap = <T extends object, K extends keyof T>(target: T, key: K, value: unknown) => {
    const before = Object.getOwnPropertyDescriptor(target, key);
    Object.defineProperty(target, key, { value, configurable: true, writable: true });
    restore.push(() =>
      before ? Object.defineProperty(target, key, before) : delete (target as never)[key],
    );
  };
  const writer =
    (to: 'stdout' | 'stderr'): Write =>
    (chunk: unknown, ...rest: unknown[]) => {
      out[to] += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (done) process.nextTick(done);
      return true;
    };

  const envBefore = { ...process.env };
  const cwdBefore = process.cwd();
  const exitCodeBefore = process.exitCode;
  const listeners = Object.fromEntries(SIGNALS.map((s) => [s, process.listenerCount(s)]));
  try {
    Object.assign(process.env, env);
    process.chdir(cwd);
    process.exitCode = undefined;
    for (const to of ['stdout', 'stderr'] as const) {
      swap(process[to], 'write', writer(to));
      swap(process[to], 'isTTY', undefined);
    }
    swap(process, 'stdin', Readable.from(input ? [Buffer.from(input)] : []));
    for (const m of CONSOLE_OUT)
      swap(console, m, (...a: unknown[]) => (out.stdout += `${format(...a)}\n`));
    for (const m of CONSOLE_ERR)
      swap(console, m, (...a: unknown[]) => (out.stderr += `${format(...a)}\n`));
    swap(process, 'exit', (code?: number | string | null) => {
      throw new Exit(Number(code ?? process.exitCode ?? 0));
    });
    let code: number;
    try {
      code = await runCli([process.execPath, 'autoresearch', ...args]);
    } catch (e) {
      if (!(e instanceof Exit)) throw e;
      code = e.code;
    }
    // A handler the command left behind would answer the worker's own signals later.
    for (const signal of SIGNALS)
      if (process.listenerCount(signal) > listeners[signal])
        throw new Error(`autoresearch ${args.join(' ')} left a ${signal} handler behind`);
    return { code, ...out };
  } finally {
    for (const undo of restore.reverse()) undo();
    process.exitCode = exitCodeBefore;
    process.chdir(cwdBefore);
    for (const key of Object.keys(process.env)) if (!(key in envBefore)) delete process.env[key];
    Object.assign(process.env, envBefore);
  }
}
