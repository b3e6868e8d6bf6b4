/** Real temporary git repositories and the real CLI, for integration tests. */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { tempDir } from './temp.js';

export { tempDir } from './temp.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/cli/main.js');

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  // `git commit` would start `git maintenance run --auto` after each commit: a process for nothing.
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'maintenance.auto',
  GIT_CONFIG_VALUE_0: 'false',
};

function sh(cwd: string, cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } });
}

export function gitIn(cwd: string, ...args: string[]): string {
  return sh(cwd, 'git', args).trim();
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/**
 * A committed repository with the given files, removed after the test file. The git commands run
 * from one shell: a process started from the test's (large) process costs several times more.
 */
export function makeRepo(files: Record<string, string>): string {
  const dir = tempDir('ar-test-');
  writeFiles(dir, files);
  sh(dir, 'sh', [
    '-ec',
    // The identity goes into .git/config as `git config` would write it, without two more processes.
    'git init -q -b main; printf "[user]\\n\\temail = test@example.invalid\\n\\tname = Test\\n" >> .git/config; ' +
      'git add -A; git commit -q -m initial',
  ]);
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(cwd: string, args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cliAsync(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

export function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

export interface LedgerExperiment {
  id: number;
  state: string;
  status: string | null;
  reason: string | null;
  title: string | null;
  primary_value: number | null;
  candidate_commit: string | null;
  parent_commit: string;
  incumbent_commit: string | null;
  agent_meta_json: string | null;
  log_path: string | null;
  peak_memory_bytes: number | null;
  output_bytes: number | null;
  lessons: string | null;
  idea_sketch: string | null;
  novelty_json: string | null;
  island: number | null;
}

export function ledgerRows(repo: string, tag: string): LedgerExperiment[] {
  const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), {
    readonly: true,
    timeout: 5000,
  });
  try {
    return db
      .prepare('SELECT * FROM experiments WHERE run_tag = ? ORDER BY id')
      .all(tag) as LedgerExperiment[];
  } finally {
    db.close();
  }
}

export async function waitFor<T>(
  probe: () => T | undefined | false,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      const v = probe();
      if (v) return v;
    } catch {
      // the ledger may not exist yet
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function readResultsTsv(repo: string, tag: string): string[][] {
  return readFileSync(join(repo, '.autoresearch', tag, 'results.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
}

/** True while a process with this pid exists (zombies count as gone). */
export { isAlive as alive } from './processes.js';
