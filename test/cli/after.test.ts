/**
 * After the run, through the command line: `runs`, `diff`, `apply`, `clean`, `completion`, and
 * the shell's manners (a closed pipe, a mistyped command). One finished run serves every test:
 * it is made once, in this process, and the tests run in order against it (apply tests put the
 * user's branch back; clean comes last).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';
import {
  cli,
  exited,
  gitIn,
  ledgerRows,
  makeRepo,
  ROOT,
  type LedgerExperiment,
} from '../helpers/repo.js';

const CLI = join(ROOT, 'dist/cli/main.js');

// Each experiment doubles the score: #1 scores 2, #2 scores 4; both are kept.
const PROGRAM = `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 2s
editable: [params.sh]
protected: [exp.sh]
agent: { name: command, command: 'echo VALUE=$((AUTORESEARCH_EXPERIMENT_ID * 2)) > params.sh; echo TITLE: double $AUTORESEARCH_EXPERIMENT_ID' }
---
Raise the score.
`;

let repo: string;
let base: string;
let rows: LedgerExperiment[];
const best = () => rows[2]!.candidate_commit!;
const refsOf = (prefix: string) => gitIn(repo, 'for-each-ref', '--format=%(refname)', prefix);
const worktrees = () =>
  gitIn(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '));

/** Puts the user's branch back at the base commit, files included. */
function resetMain(): void {
  gitIn(repo, 'reset', '-q', '--hard', base);
}

beforeAll(async () => {
  repo = makeRepo({
    'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
    'params.sh': 'VALUE=1\n',
    'program.md': PROGRAM,
  });
  base = gitIn(repo, 'rev-parse', 'HEAD');
  const { output } = await runHere(repo, { tag: 't', maxExperiments: 2 });
  expect(output).toContain('stopped: reached 2 experiments');
  rows = ledgerRows(repo, 't');
  expect(rows.map((r) => [r.id, r.status, r.primary_value])).toEqual([
    [0, 'keep', 1],
    [1, 'keep', 2],
    [2, 'keep', 4],
  ]);
});

describe('after the run', () => {
  it('runs --json lists what the ledger has', async () => {
    const r = await cliHere(repo, ['runs', '--json']);
    expect(r.stderr).toBe('');
    const runs = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      tag: 't',
      branch: 'autoresearch/t',
      program: 'program.md',
      state: 'finished',
      stopReason: 'reached 2 experiments',
      metric: 'score',
      baseCommit: base,
      experiments: 2,
      baseline: 1,
      best: 4,
      bestExperiment: 2,
      bestCommit: best(),
      improvementPct: 300,
      spend: { usd: 0, tokens: 0 },
    });
    expect(Date.parse(runs[0]!.lastActivity as string)).toBeGreaterThan(
      Date.parse(runs[0]!.createdAt as string),
    );
  });

  it("diff shows the best against the run's base, and one experiment against its parent", async () => {
    const stat = await cliHere(repo, ['diff', '--stat']);
    expect(stat.code).toBe(0);
    expect(stat.stdout).toMatch(/params\.sh \| 2 \+-/);
    expect(stat.stdout).toContain('1 file changed');
    const one = await cliHere(repo, ['diff', '1', '--tag', 't']);
    expect(one.stdout).toContain('-VALUE=1\n+VALUE=2\n');
    expect(one.stdout).not.toContain('VALUE=4');
  });

  it('apply refuses a dirty tree that touches the same file, and leaves the file as it was', async () => {
    writeFileSync(join(repo, 'params.sh'), 'VALUE=99 # my work\n');
    const r = await cliHere(repo, ['apply']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('uncommitted changes to files this would change: params.sh');
    expect(r.stderr).toContain('git stash');
    expect(readFileSync(join(repo, 'params.sh'), 'utf8')).toBe('VALUE=99 # my work\n');
    expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(base);
    resetMain();
  });

  it('apply fast-forwards the branch to the best, carries other local changes along, and runs no hook', async () => {
    // A hook folder as husky sets one up: apply must not run anything from it.
    writeFileSync(join(repo, 'notes.txt'), 'untracked, mine\n');
    gitIn(repo, 'config', 'core.hooksPath', join(repo, 'hooks'));
    writeHooks(join(repo, 'hooks'), ['post-checkout', 'post-merge', 'reference-transaction']);
    try {
      const r = await cliHere(repo, ['apply', 'best']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('main fast-forwarded to best (#2) of run t');
      expect(r.stdout).toContain('files: params.sh');
      expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(best());
      expect(gitIn(repo, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
      expect(readFileSync(join(repo, 'params.sh'), 'utf8')).toBe('VALUE=4\n');
      expect(gitIn(repo, 'status', '--porcelain', '--untracked-files=no')).toBe('');
      expect(readFileSync(join(repo, 'notes.txt'), 'utf8')).toBe('untracked, mine\n');
      expect(existsSync(join(repo, 'hook-ran'))).toBe(false);
    } finally {
      gitIn(repo, 'config', '--unset', 'core.hooksPath');
    }
    resetMain();
  });

  it('apply merges onto a branch that moved on, or squashes into one commit whose message names the gains', async () => {
    writeFileSync(join(repo, 'README'), 'mine\n');
    gitIn(repo, 'add', 'README');
    gitIn(repo, 'commit', '-q', '-m', 'readme');
    const mine = gitIn(repo, 'rev-parse', 'HEAD');
    const merged = await cliHere(repo, ['apply']);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain('merged best (#2) of run t');
    expect(gitIn(repo, 'log', '-1', '--format=%P')).toBe(`${mine} ${best()}`);
    expect(gitIn(repo, 'log', '-1', '--format=%s')).toBe(
      'Merge autoresearch t best (#2): score 1 -> 4 (+300.00%)',
    );

    gitIn(repo, 'reset', '-q', '--hard', mine);
    const squashed = await cliHere(repo, ['apply', 'best', '--squash']);
    expect(squashed.code).toBe(0);
    expect(gitIn(repo, 'log', '-1', '--format=%P')).toBe(mine);
    expect(gitIn(repo, 'log', '-1', '--format=%B')).toContain(
      [
        'autoresearch t: score 1 -> 4 (+300.00%), 2 kept changes',
        '',
        '- #1 double 1: score 1 -> 2 (+100.00%)',
        '- #2 double 2: score 2 -> 4 (+100.00%)',
      ].join('\n'),
    );
    expect(readFileSync(join(repo, 'params.sh'), 'utf8')).toBe('VALUE=4\n');
    expect(readFileSync(join(repo, 'README'), 'utf8')).toBe('mine\n');
    resetMain();
  });

  it('apply --branch creates a branch at the commit and leaves the current one alone', async () => {
    const r = await cliHere(repo, ['apply', '1', '--branch', 'try-1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('created branch try-1 at #1 of run t');
    expect(gitIn(repo, 'rev-parse', 'try-1')).toBe(rows[1]!.candidate_commit);
    expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(base);
    expect(gitIn(repo, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
  });

  it('clean refuses a running run, naming its pid, and removes nothing', async () => {
    // What `status` sees of a live harness: its pid alive and a fresh heartbeat (this process).
    setRun({ state: 'running', pid: process.pid, heartbeat_at: Date.now() });
    try {
      const r = await cliHere(repo, ['clean', 't']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `run t is running (harness pid ${process.pid}): nothing was removed`,
      );
      expect(r.stderr).toContain('autoresearch stop --tag t');
    } finally {
      setRun({ state: 'finished', pid: null, heartbeat_at: null });
    }
    expect(refsOf('refs/autoresearch/t/')).not.toBe('');
    expect(worktrees()).toHaveLength(2);
  });

  it('clean --dry-run lists, --keep-best keeps the branch, clean leaves no worktree, ref or branch behind', async () => {
    const dry = await cliHere(repo, ['clean', '--dry-run']);
    expect(dry.stdout).toContain('would remove worktree  .autoresearch/t/slots/0');
    expect(dry.stdout).toContain('would remove refs      2 under refs/autoresearch/t/');
    expect(dry.stdout).toContain('would remove branch    autoresearch/t');
    expect(worktrees()).toHaveLength(2);

    const keep = await cliHere(repo, ['clean', 't', '--keep-best']);
    expect(keep.code).toBe(0);
    expect(worktrees()).toEqual([`worktree ${repo}`]);
    expect(refsOf('refs/autoresearch/')).toBe('');
    expect(gitIn(repo, 'rev-parse', 'autoresearch/t')).toBe(best());
    expect(existsSync(join(repo, '.autoresearch/t/slots'))).toBe(false);

    const all = await cliHere(repo, ['clean']);
    expect(all.code).toBe(0);
    expect(refsOf('refs/heads/autoresearch/')).toBe('');
    expect(refsOf('refs/autoresearch/')).toBe('');
    expect(gitIn(repo, 'worktree', 'list', '--porcelain')).not.toContain('.autoresearch');
    // The record stays: the ledger and the run's folder.
    expect(all.stdout).toContain('kept: .autoresearch/t (results.tsv, logs, briefs)');
    expect(existsSync(join(repo, '.autoresearch/t/results.tsv'))).toBe(true);
    expect(ledgerRows(repo, 't')).toHaveLength(3);
  });
});

describe('the command line shell', () => {
  it('completion bash completes the commands, their options and the run tags', async () => {
    const r = await cliHere(repo, ['completion', 'bash']);
    expect(r.code).toBe(0);
    for (const command of ['runs', 'diff', 'apply', 'clean', 'completion', 'status'])
      expect(r.stdout).toMatch(new RegExp(`args='[^']*\\b${command}\\b`));
    const script = join(repo, 'completion.bash');
    writeFileSync(script, r.stdout);
    const complete = (words: string[]) =>
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _autoresearch; echo "${words.join(' ')} -> \${COMPREPLY[*]}"`;
    const out = spawnSync(
      'bash',
      [
        '-c',
        [
          `autoresearch() { "${process.execPath}" "${CLI}" "$@"; }`,
          `source ${script}`,
          complete(['autoresearch', 'cl']),
          complete(['autoresearch', 'apply', '--sq']),
          complete(['autoresearch', 'clean', '']),
          complete(['autoresearch', 'completion', '']),
        ].join('\n'),
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    expect(out.stderr).toBe('');
    expect(out.stdout.split('\n')).toEqual([
      'autoresearch cl -> clean',
      'autoresearch apply --sq -> --squash',
      'autoresearch clean  -> t',
      'autoresearch completion  -> bash zsh fish',
      '',
    ]);
  });

  it('`results | head -1` ends quietly, as does any output whose reader has gone', async () => {
    const r = spawnSync(
      'bash',
      ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" results | head -1`],
      { cwd: repo, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ +id status +score/);
    // The reader closes its end before the command writes anything: every write fails (EPIPE).
    const child = spawn(process.execPath, [CLI, 'results'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
  });

  it('a mistyped command gets one line naming the closest one', () => {
    // Through the real bin: its exit code is the process's.
    const r = cli(repo, ['stauts']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: unknown command 'stauts'; did you mean status?\n");
  });
});

function writeHooks(dir: string, hooks: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const hook of hooks) {
    writeFileSync(join(dir, hook), `#!/bin/sh\ntouch "${repo}/hook-ran"\n`, { mode: 0o755 });
  }
}

function setRun(patch: { state: string; pid: number | null; heartbeat_at: number | null }): void {
  const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), { timeout: 5000 });
  try {
    db.prepare(
      'UPDATE runs SET state = @state, pid = @pid, heartbeat_at = @heartbeat_at WHERE tag = @tag',
    ).run({ ...patch, tag: 't' });
  } finally {
    db.close();
  }
}
