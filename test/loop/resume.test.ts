import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  alive,
  cli,
  cliAsync,
  exited,
  gitIn,
  ledgerRows,
  makeRepo,
  readResultsTsv,
  waitFor,
  writeFiles,
} from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';
import { patchBetween } from '../helpers/patches.js';
import { processesNamed } from '../helpers/processes.js';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { tempDir } from '../helpers/temp.js';

const sealed = (await detectSandbox()).sealed;

const EXP = `#!/bin/bash
source ./params.sh
echo "score: $VALUE"
`;

const params = (v: number) => `VALUE=${v}\n`;

/** The scripted agent's proposals: 4 (keep), 6 (discard), 3 (keep), 7 (discard). */
const STEPS: Array<[number, number]> = [
  [5, 4],
  [4, 6],
  [4, 3],
  [3, 7],
];

let ideas: string[] | undefined;
/**
 * The patches of STEPS, made once for the file: a patch depends only on the contents it turns
 * into others, so it applies to every repository made here (and each takes six git processes).
 */
function patches(repo: string): string[] {
  return (ideas ??= STEPS.map(([from, to]) =>
    patchBetween(repo, { 'params.sh': params(from) }, { 'params.sh': params(to) }),
  ));
}

/**
 * A repository whose scripted agent proposes STEPS. The experiment prints exact values:
 * deterministic (one run each) unless `noisy` (runs in pairs; one baseline run, as the noise is
 * not what it is about).
 */
function scriptedRepo(noisy = false): string {
  const repo = makeRepo({ 'exp.sh': EXP, 'params.sh': params(5) });
  patches(repo).forEach((patch, i) => writeFiles(repo, { [`ideas/${i + 1}.patch`]: patch }));
  writeFiles(repo, {
    'program.md': `---
metric: { name: score, goal: minimize${noisy ? ' }\nrepeats: { baseline: 1' : ', deterministic: true'} }
run: bash exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh]
agent: { name: scripted, patches: [ideas/1.patch, ideas/2.patch, ideas/3.patch, ideas/4.patch] }
---
`,
  });
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'program');
  return repo;
}

function expectConsistentRun(repo: string, tag: string) {
  const rows = ledgerRows(repo, tag);
  expect(rows.every((r) => r.state === 'recorded')).toBe(true);
  const real = rows.filter((r) => r.id > 0 && r.status !== 'interrupted');
  // Each patch proposed exactly once, in order, with the same decisions as an uninterrupted run.
  expect(real.map((r) => [r.title, r.status, r.primary_value])).toEqual([
    ['1', 'keep', 4],
    ['2', 'discard', 6],
    ['3', 'keep', 3],
    ['4', 'discard', 7],
  ]);
  const kept = real.filter((r) => r.status === 'keep');
  expect(gitIn(repo, 'rev-parse', `autoresearch/${tag}`)).toBe(kept.at(-1)!.candidate_commit);
  expect(gitIn(repo, 'rev-parse', `autoresearch/${tag}^`)).toBe(kept[0]!.candidate_commit);
  const tsv = readResultsTsv(repo, tag);
  expect(tsv.slice(1).map((r) => r[3])).toEqual(['keep', 'keep', 'discard', 'keep', 'discard']);
  return rows;
}

// The outcome every run here must reach is an uninterrupted run's: test/loop/lifecycle.test.ts
// checks the decisions, the branch and results.tsv of one.
describe('kill -9 and resume', () => {
  /** `autoresearch run` killed with SIGKILL right after it stored `point` (state:experiment). */
  function killedAt(repo: string, point: string): string {
    const run = cli(repo, ['run', '--tag', 'k'], { AUTORESEARCH_CRASH_AT: point });
    expect(run.code, run.stderr).toBeNull(); // died by SIGKILL
    const [state, id] = point.split(':');
    const row = ledgerRows(repo, 'k').find((r) => r.id === Number(id))!;
    expect(row.state).toBe(state === 'branch-moved' ? 'decided' : state);
    return run.stdout;
  }

  /** What the next start says of an experiment the harness was killed at, by its state. */
  const RESUMED: Record<string, string> = {
    proposing: 'recorded as interrupted',
    committed: 'running it again',
    running: 'running it again',
    measured: 'deciding now',
    decided: 'finishing',
    'branch-moved': 'finishing',
  };

  // The run is killed six times, each time but the first in the run that resumed from the kill
  // before (a resumed run is as safe to kill as a new one), at every state an experiment passes
  // through: proposing, committed, running, measured, and for a keep, decided and branch moved.
  // Experiment 2 is recorded as interrupted: patch 2 is experiment 3, patch 3 experiment 4. The
  // resume that finishes its keep is killed right after it moved the branch (the state is the
  // same whoever moved it).
  const kills = [
    'proposing:2',
    'committed:3',
    'running:3',
    'measured:4',
    'decided:4',
    'branch-moved:4',
  ];
  it(`killed at ${kills.join(', ')}, resumes each time with nothing lost or counted twice`, async () => {
    const repo = scriptedRepo();
    const resumed = (point: string) => RESUMED[point.split(':')[0]!]!;
    let before: string | undefined;
    for (const point of kills) {
      // A resume prints what it found before it is killed in turn (stdout is a pipe: written at once).
      const out = killedAt(repo, point);
      if (before) {
        expect(out).toContain('resuming run k');
        expect(out).toContain(resumed(before));
      }
      before = point;
    }
    const { output } = await runHere(repo, { tag: 'k' });
    expect(output).toContain('resuming run k');
    expect(output).toContain(resumed(before!));
    expect(output).toContain('stopped: the agent has no more proposals');
    const rows = expectConsistentRun(repo, 'k');
    const interrupted = rows.filter((r) => r.status === 'interrupted').map((r) => r.id);
    expect(interrupted).toEqual([2]);
  });
});

describe('kill -9 in the middle of a judgement', () => {
  it('resumes the interleaved runs from the ledger: the missing partner, not a run twice', async () => {
    const repo = scriptedRepo(true);
    // Killed right after the incumbent's first run beside candidate 3 (C I of C I I C).
    const first = cli(repo, ['run', '--tag', 'j'], { AUTORESEARCH_CRASH_AT: 'remeasured:3' });
    expect(first.code).toBeNull();
    expect(arms(repo, 'j', 3)).toBe('CI');
    const { output } = await runHere(repo, { tag: 'j' });
    expect(output).toContain(
      'experiment 3: was in flight when the harness stopped; its judgement goes on from the 2 runs stored',
    );
    expect(arms(repo, 'j', 3)).toBe('CIIC');
    const rows = expectConsistentRun(repo, 'j');
    expect(rows[3]!.reason).toMatch(/^kept: paired -1 \+- 0 \(-25%\), 2 pairs, p=0 /);
  });
});

/** The runs taken while experiment `id` was judged, in order: C for its candidate, I for the incumbent. */
function arms(repo: string, tag: string, id: number): string {
  const candidate = ledgerRows(repo, tag).find((r) => r.id === id)!.candidate_commit;
  const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), { readonly: true });
  try {
    const runs = db
      .prepare(
        'SELECT commit_sha FROM measurements WHERE run_tag = ? AND during_id = ? ORDER BY rowid',
      )
      .all(tag, id) as Array<{ commit_sha: string }>;
    return runs.map((m) => (m.commit_sha === candidate ? 'C' : 'I')).join('');
  } finally {
    db.close();
  }
}

describe('kill -9 while an experiment runs', () => {
  it('leaves no orphan of the experiment behind, and re-runs it once on resume', async () => {
    const marks = join(tempDir('ar-marks-'), 'runs.txt');
    const marker = `ar-orphan-${process.pid}-${Date.now()}`;
    const repo = makeRepo({
      // A sealed experiment may read, not write, outside its worktree: the test finds its
      // process by name, and tells the re-run not to sleep with a file it creates.
      'exp.sh': `#!/bin/bash\nsource ./params.sh\nif [ "$VALUE" = 4 ] && [ ! -e "$MARKS.resumed" ]; then bash -c 'exec -a ${marker} sleep 300' & wait; fi\necho "score: $VALUE"\n`,
      'params.sh': params(5),
    });
    writeFiles(repo, {
      'ideas/1.patch': patches(repo)[0]!, // 5 -> 4
      'program.md': `---\nmetric: { name: score, goal: minimize, deterministic: true }\nrun: bash exp.sh\nbudget: 60s\neditable: [params.sh]\nagent: { name: scripted, patches: [ideas/1.patch] }\nenv: { set: { MARKS: ${marks} } }\n---\n`,
    });
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'program');
    const child = cliAsync(repo, ['run', '--tag', 'o']);
    const sleeper = await waitFor(
      () => processesNamed(marker)[0],
      120_000,
      'experiment 1 to start',
    );
    child.kill('SIGKILL');
    await exited(child);
    if (sealed) {
      // Sealed, the experiment dies with the harness (bwrap --die-with-parent, its own pid namespace).
      await waitFor(
        () => !alive(sleeper),
        120_000,
        'the sealed experiment to die with its harness',
      );
    } else {
      expect(alive(sleeper)).toBe(true); // the harness died; its experiment did not
    }
    expect(ledgerRows(repo, 'o')[1]!.state).toBe('running');
    writeFileSync(`${marks}.resumed`, '');
    const again = await runHere(repo, { tag: 'o' });
    if (!sealed) expect(again.output).toMatch(/experiment 1: killed \d+ orphaned process/);
    expect(alive(sleeper)).toBe(false);
    expect(ledgerRows(repo, 'o').map((r) => [r.id, r.status, r.primary_value])).toEqual([
      [0, 'keep', 5],
      [1, 'keep', 4],
    ]);
  });
});
