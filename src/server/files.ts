/** What the dashboard reads from disk: its own static files, and bounded tails of run files. */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/web, whether this module runs from src/server (tsx, tests) or dist/server (built). */
export function webDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../src/web');
}

function uplotDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
}

export const STATIC: Record<string, { file: () => string; type: string }> = {
  'app.js': { file: () => join(webDir(), 'app.js'), type: 'text/javascript; charset=utf-8' },
  'tree.js': { file: () => join(webDir(), 'tree.js'), type: 'text/javascript; charset=utf-8' },
  'front.js': { file: () => join(webDir(), 'front.js'), type: 'text/javascript; charset=utf-8' },
  'style.css': { file: () => join(webDir(), 'style.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': {
    file: () => join(uplotDir(), 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'uPlot.min.css': {
    file: () => join(uplotDir(), 'uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
};

/**
 * Opens `root`/`rel` for reading without following a symlink anywhere below `root`: an experiment
 * may leave `run.log` (or a folder on the way) as a link to the ledger or to /etc/shadow. The last
 * component is opened with O_NOFOLLOW (and O_NONBLOCK, so a FIFO cannot hang the server), and the
 * file opened must be the regular file at exactly `realpath(root)/rel`, which no link below `root`
 * can satisfy. Null otherwise, or when the file does not exist.
 */
function openBelow(root: string, rel: string): number | null {
  const path = join(root, rel);
  if (!inside(root, path)) return null;
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0),
    );
  } catch {
    return null;
  }
  try {
    const opened = fstatSync(fd);
    const expected = join(realpathSync(root), rel);
    const there = statSync(expected);
    if (
      opened.isFile() &&
      realpathSync(path) === expected &&
      there.ino === opened.ino &&
      there.dev === opened.dev
    )
      return fd;
  } catch {
    // Gone or swapped while checking: refused like a link.
  }
  closeSync(fd);
  return null;
}

function readFd(fd: number, start: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, start + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** The last `bytes` of `root`/`rel` (or all of it), as text; null when missing or refused by openBelow. */
export function readTail(
  root: string,
  rel: string,
  bytes: number,
): { text: string; size: number; truncated: boolean } | null {
  const fd = openBelow(root, rel);
  if (fd === null) return null;
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    return { text: readFd(fd, start, size - start).toString('utf8'), size, truncated: start > 0 };
  } finally {
    closeSync(fd);
  }
}

/** All of `root`/`rel`; null when missing or refused by openBelow. */
export function readBelow(root: string, rel: string): Buffer | null {
  const fd = openBelow(root, rel);
  if (fd === null) return null;
  try {
    return readFd(fd, 0, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function parseJson(text: string | null): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}
