/** The bubblewrap command line (pure) and the time limit of a run. */
import { describe, expect, it } from 'vitest';
import { bwrapArgs, type SealSpec } from '../../src/sandbox/bwrap.js';
import { runTimeLimit } from '../../src/loop/measurement.js';

const spec = (over: Partial<SealSpec> = {}): SealSpec => ({
  writable: ['/repo/.autoresearch/t/slots/0', '/repo/.autoresearch/t/tmp/run-0'],
  hidden: [
    { path: '/repo/.autoresearch', kind: 'dir' },
    { path: '/repo/answers.txt', kind: 'file' },
  ],
  binds: [{ source: '/repo/node_modules', target: '/repo/.autoresearch/t/slots/0/node_modules' }],
  network: true,
  devices: [],
  cwd: '/repo/.autoresearch/t/slots/0',
  ...over,
});

describe('bwrapArgs', () => {
  it('mounts the whole filesystem read-only, then hides, then binds back what may be written, parents first', () => {
    const args = bwrapArgs('/usr/bin/bwrap', spec());
    const at = (...needle: string[]) =>
      args.findIndex((_, i) => needle.every((n, k) => args[i + k] === n));
    expect(args.slice(0, 5)).toEqual(['/usr/bin/bwrap', '--ro-bind', '/', '/', '--dev']);
    expect(at('--tmpfs', '/repo/.autoresearch')).toBeGreaterThan(0);
    // The worktree inside the hidden state folder is bound after the folder is hidden...
    expect(at('--bind', '/repo/.autoresearch/t/slots/0')).toBeGreaterThan(
      at('--tmpfs', '/repo/.autoresearch'),
    );
    // ...a kept folder inside the worktree after the worktree...
    expect(at('--ro-bind', '/repo/node_modules')).toBeGreaterThan(
      at('--bind', '/repo/.autoresearch/t/slots/0'),
    );
    // ...and the hidden folder becomes read-only only once its mount points exist.
    expect(at('--remount-ro', '/repo/.autoresearch')).toBeGreaterThan(
      at('--ro-bind', '/repo/node_modules'),
    );
    expect(at('--ro-bind', '/dev/null', '/repo/answers.txt')).toBeGreaterThan(0);
    expect(args).toEqual(
      expect.arrayContaining(['--cap-drop', 'ALL', '--unshare-pid', '--die-with-parent']),
    );
    expect(args).not.toContain('--unshare-net');
    expect(args.slice(-3)).toEqual(['--chdir', '/repo/.autoresearch/t/slots/0', '--']);
  });

  it('a hidden folder inside a writable one stays hidden (the parent is mounted first)', () => {
    const args = bwrapArgs(
      'bwrap',
      spec({
        writable: ['/repo'],
        hidden: [{ path: '/repo/.autoresearch', kind: 'dir' }],
        binds: [],
      }),
    );
    expect(args.indexOf('--tmpfs')).toBeGreaterThan(args.indexOf('--bind'));
  });

  it('no network: a fresh network namespace; GPUs passed through', () => {
    const args = bwrapArgs('bwrap', spec({ network: false, devices: ['/dev/nvidia0'] }));
    expect(args).toContain('--unshare-net');
    expect(args.join(' ')).toContain('--dev-bind-try /dev/nvidia0 /dev/nvidia0');
  });
});

describe('runTimeLimit', () => {
  it('a run is stopped at budget + grace when that comes before the hard timeout', () => {
    expect(runTimeLimit(300, 600, 30)).toEqual({ seconds: 330, overBudget: true });
    expect(runTimeLimit(300, 310, 30)).toEqual({ seconds: 310, overBudget: false });
  });
});
