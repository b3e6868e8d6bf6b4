/**
 * Starting a process that is not an experiment (an agent's own CLI) inside a seal prefix.
 * Experiments go through the Executor, which tracks their process group or cgroup; this is for
 * processes a library spawns for us (Claude Code through its SDK).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { shellQuote } from '../util/shell.js';

export interface SealedSpawnOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** Aborting kills the sandbox and everything in it. */
  signal?: AbortSignal;
}

/**
 * Runs `command` through `prefix` (`bwrap … --`), its stdio piped, as the leader of its own process group, and
 * kills that group when bwrap's monitor exits, for whatever reason, and on abort. bwrap's
 * `--die-with-parent` alone leaves a gap: a monitor killed in the first milliseconds, before its
 * child has asked to die with it, leaves that child to start the command unsupervised, with the
 * worktree and the network the seal grants.
 */
export function spawnSealed(
  prefix: string[],
  command: string,
  args: string[],
  options: SealedSpawnOptions,
): ChildProcessWithoutNullStreams {
  const [bwrap, ...rest] = prefix;
  if (!bwrap) throw new Error('spawnSealed needs a seal prefix (bwrap and its arguments)');
  const child = spawn(bwrap, [...rest, command, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // ESRCH: nothing is left.
    }
  };
  const signal = options.signal;
  if (signal?.aborted) killGroup();
  signal?.addEventListener('abort', killGroup, { once: true });
  child.once('exit', () => {
    signal?.removeEventListener('abort', killGroup);
    killGroup();
  });
  return child;
}

/**
 * A launcher script for a program that a library starts its own way (Codex through its SDK,
 * which runs the launcher in the binary's place): the same guarantee as spawnSealed for a spawn
 * that is not ours. The sandbox runs in its own process group (setsid), and the group is killed
 * whole when the launcher is told to stop (TERM, INT, HUP) and when bwrap's monitor exits.
 */
export function sealedLauncher(prefix: string[], program: string): string {
  const command = [...prefix, program].map(shellQuote).join(' ');
  return [
    '#!/bin/sh',
    // Set before the sandbox starts, and naming $! (set by the fork itself), so that no moment
    // is left where a stop would find the sandbox started but not yet known. A stop may land
    // before the child has made its group: it is killed itself, and once it is gone, whatever
    // it started in its group.
    // (`kill -KILL -PID`: dash's kill takes no `--`.)
    `trap 'kill -KILL -$! $! 2>/dev/null; wait $!; kill -KILL -$! 2>/dev/null; exit 143' TERM INT HUP`,
    // An asynchronous command's stdin is /dev/null before its redirections: the program reads
    // ours through a copy made beforehand.
    'exec 3<&0',
    `setsid ${command} "$@" 0<&3 3<&- &`,
    'exec 3<&-',
    'wait $!',
    'status=$?',
    'kill -KILL -$! 2>/dev/null',
    'exit $status',
    '',
  ].join('\n');
}
