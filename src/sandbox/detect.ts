/**
 * Whether this machine can seal processes, found by trying: bubblewrap is looked up (or taken
 * from AUTORESEARCH_BWRAP) and a probe runs in a sandbox exactly like the real ones. A distribution
 * that restricts user namespaces, a container without them, or another platform answers "no",
 * with the reason and the fix, so the run can say "unsealed" and why instead of pretending.
 */
import { execFile } from 'node:child_process';
import { findExecutable } from '../executors/limits.js';

export type SandboxSupport =
  | { sealed: true; bwrap: string; version: string; network: boolean }
  | { sealed: false; reason: string; fix: string };

const cache = new Map<string, Promise<SandboxSupport>>();

function run(file: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: 10_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
      (err, stdout, stderr) => {
        resolve({ ok: err === null, out: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

/** The bubblewrap binary to use: AUTORESEARCH_BWRAP when set, else `bwrap` from the system folders or PATH. */
function bwrapBinary(env: NodeJS.ProcessEnv = process.env): string | null {
  const chosen = env.AUTORESEARCH_BWRAP;
  if (chosen !== undefined && chosen !== '') return chosen;
  return findExecutable('bwrap');
}

const PROBE_OPTIONS = [
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
  '--cap-drop',
  'ALL',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-cgroup-try',
  '--die-with-parent',
];

/** Probes once per binary for the life of the process. */
export function detectSandbox(env: NodeJS.ProcessEnv = process.env): Promise<SandboxSupport> {
  if (process.platform !== 'linux') {
    return Promise.resolve({
      sealed: false,
      reason: `the sandbox uses bubblewrap, which runs on Linux only (this is ${process.platform})`,
      fix: 'run on Linux with bubblewrap installed to seal agents and experiments',
    });
  }
  const bwrap = bwrapBinary(env);
  if (!bwrap) {
    return Promise.resolve({
      sealed: false,
      reason: 'bubblewrap (bwrap) is not installed',
      fix: 'install it: apt-get install bubblewrap (Debian, Ubuntu), dnf install bubblewrap (Fedora), pacman -S bubblewrap (Arch)',
    });
  }
  let probe = cache.get(bwrap);
  if (!probe) {
    probe = probeBwrap(bwrap);
    cache.set(bwrap, probe);
  }
  return probe;
}

async function probeBwrap(bwrap: string): Promise<SandboxSupport> {
  const truePath = findExecutable('true') ?? '/bin/true';
  const version = await run(bwrap, ['--version']);
  if (!version.ok) {
    return {
      sealed: false,
      reason: `${bwrap} does not run: ${version.out.split('\n')[0] || 'no output'}`,
      fix: 'install bubblewrap from your distribution, or point AUTORESEARCH_BWRAP at a working bwrap',
    };
  }
  const base = await run(bwrap, [...PROBE_OPTIONS, '--', truePath]);
  if (!base.ok) {
    return {
      sealed: false,
      reason: `bubblewrap cannot create a sandbox here: ${base.out.split('\n')[0] || 'it failed without a message'}`,
      fix: 'user namespaces are probably restricted: allow them (Ubuntu 24.04+: an AppArmor profile for bwrap, or sysctl kernel.apparmor_restrict_unprivileged_userns=0; Debian 11 and older: sysctl kernel.unprivileged_userns_clone=1), or install bwrap setuid root',
    };
  }
  const net = await run(bwrap, [...PROBE_OPTIONS, '--unshare-net', '--', truePath]);
  return {
    sealed: true,
    bwrap,
    version: version.out.replace(/^bubblewrap\s*/i, '') || 'unknown',
    network: net.ok,
  };
}
