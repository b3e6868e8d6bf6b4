/**
 * Starting a process that is not an experiment (an agent's own CLI) inside a seal prefix.
 * Experiments go through the Executor, which tracks their process group or cgroup; this is for
 * processes a library spawns for us (Claude Code through its SDK).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

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
