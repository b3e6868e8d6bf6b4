/** What the dashboard reads from disk: its own static files, and bounded tails of run files. */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/web, whether this module runs from src/server (tsx, tests) or dist/server (built). */
export function webDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../src/web');
}

export function uplotDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
}

export const STATIC: Record<string, { file: () => string; type: string }> = {
  'app.js': { file: () => join(webDir(), 'app.js'), type: 'text/javascript; charset=utf-8' },
  'style.css': { file: () => join(webDir(), 'style.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { file: () => join(uplotDir(), 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: () => join(uplotDir(), 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** The last `bytes` of a file (or all of it), as text; null when it does not exist. */
export function readTail(path: string, bytes: number): { text: string; size: number; truncated: boolean } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    return { text: buf.toString('utf8'), size, truncated: start > 0 };
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

export function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}
