/**
 * The bubblewrap command line for one sealed process, as a pure function of what it may see.
 *
 * Order matters: bwrap applies mounts in argument order, so the whole filesystem goes in read-only
 * first, hidden paths are covered next, and only then are the writable folders and read-only
 * binds mounted, which lets a worktree inside the hidden `.autoresearch/` folder be bound back.
 */

export interface SealSpec {
  /** Folders the process may write (bound read-write at their own paths). */
  writable: string[];
  /**
   * Paths it may not read: a folder becomes an empty read-only tmpfs, a file an unopenable node
   * (EACCES). Must exist; applied before `writable` and `binds`.
   */
  hidden: Array<{ path: string; kind: 'dir' | 'file' }>;
  /** Folders or files bound read-only at `target` (which bwrap creates inside a writable folder). */
  binds: Array<{ source: string; target: string }>;
  /** False: a fresh network namespace with only loopback. */
  network: boolean;
  /** Device nodes passed through (GPUs); the rest of /dev is a fresh minimal one. */
  devices: string[];
  /** Working directory inside the sandbox. */
  cwd: string;
}

/** The argv that runs a command sealed: `[bwrap, ...options, '--']`, to be followed by the command. */
export function bwrapArgs(bwrap: string, spec: SealSpec): string[] {
  const args = [bwrap, '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  for (const device of spec.devices) args.push('--dev-bind-try', device, device);
  // A mount hides what is below it: parents go first, so a worktree inside the hidden state
  // folder is bound back, and a hidden folder inside a writable one stays hidden.
  const mounts: Array<{ target: string; args: string[] }> = [
    // A file is covered by /dev/null, which bwrap mounts nodev: opening it fails with EACCES.
    ...spec.hidden.map(({ path, kind }) => ({
      target: path,
      args: kind === 'file' ? ['--ro-bind', '/dev/null', path] : ['--tmpfs', path],
    })),
    ...spec.writable.map((path) => ({ target: path, args: ['--bind', path, path] })),
    ...spec.binds.map(({ source, target }) => ({ target, args: ['--ro-bind', source, target] })),
  ];
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  for (const m of mounts.sort((a, b) => depth(a.target) - depth(b.target))) args.push(...m.args);
  // Read-only only now: bwrap had to create the mount points above inside these tmpfs folders.
  for (const { path, kind } of spec.hidden) if (kind === 'dir') args.push('--remount-ro', path);
  // No capabilities (root inside could otherwise remount the read-only views writable, unmount a
  // hidden folder or join another namespace), its own pid namespace (nothing it starts outlives
  // it; the harness's processes are invisible), and death with the harness.
  args.push(
    '--cap-drop',
    'ALL',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-cgroup-try',
    '--die-with-parent',
  );
  if (!spec.network) args.push('--unshare-net');
  args.push('--chdir', spec.cwd, '--');
  return args;
}
