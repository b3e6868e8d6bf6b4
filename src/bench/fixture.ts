/** What the benchmarks share: throwaway repositories, and the machine's busy time. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseCpuLine } from '../loop/machine.js';

export function benchGit(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'b',
      GIT_AUTHOR_EMAIL: 'b@b',
      GIT_COMMITTER_NAME: 'b',
      GIT_COMMITTER_EMAIL: 'b@b',
    },
  }).trim();
}

/** A temporary repository holding `files`, committed. */
export function benchRepo(prefix: string, files: Record<string, string>): string {
  const repo = mkdtempSync(join(tmpdir(), prefix));
  benchGit(repo, 'init', '-q');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  benchGit(repo, 'add', '-A');
  benchGit(repo, 'commit', '-q', '-m', 'bench');
  return repo;
}

/**
 * Milliseconds all CPUs have been busy since boot (/proc/stat), null where it is not there: it
 * counts what a command costs the whole machine, its children and the kernel's work included.
 */
function busyMs(): number | null {
  const cpu = existsSync('/proc/stat') ? parseCpuLine(readFileSync('/proc/stat', 'utf8')) : null;
  return cpu ? cpu.busy * 10 : null;
}

/** Machine CPU ms (null without /proc/stat) and wall ms per call, over `calls` calls in a row. */
export async function perCall(
  calls: number,
  fn: () => Promise<void>,
): Promise<{ cpu: number | null; wall: number }> {
  const c0 = busyMs();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await fn();
  const c1 = busyMs();
  return {
    cpu: c0 === null || c1 === null ? null : (c1 - c0) / calls,
    wall: (performance.now() - t0) / calls,
  };
}
