import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../../src/run.js';
import { detectSandbox } from '../../src/sandbox/detect.js';
import type { LoopEvent } from '../../src/loop/events.js';
import { gitIn, ledgerRows, makeRepo, readResultsTsv, writeFiles } from '../helpers/repo.js';
import { processesNamed } from '../helpers/processes.js';
import { patchBetween } from '../helpers/patches.js';

/** The name the hanging experiment's processes go by: this test file's own, whatever else runs. */
const HANG = `ar-lifecycle-hang-${process.pid}`;

const EXP = `#!/bin/bash
source ./params.sh
case "$MODE" in
  crash) echo "boom: model diverged" >&2; exit 3;;
  nan) echo "score: nan";;
  hang) (trap '' TERM; exec -a ${HANG} sleep 4242) & (exec -a ${HANG} sleep 4242);;
  tamper) echo "tampered" >> data.txt; echo "score: $VALUE";;
  flood) head -c 8000000 /dev/zero | tr '\\0' 'a'; echo; echo "score: $VALUE";;
  *) echo "progress: 50%"; echo "score: $VALUE";;
esac
`;

const PROGRAM = `---
metric: { name: score, goal: minimize }
run: bash exp.sh
budget: 1s
timeout: 3s
kill_grace: 1s
editable: [params.sh]
protected: [exp.sh, data.txt]
agent: { name: scripted, patches: [PATCHES] }
---
Lower the score.
`;

const params = (value: number, mode = 'ok') => `VALUE=${value}\nMODE=${mode}\n`;

const sealed = (await detectSandbox()).sealed;

describe('the experiment lifecycle on a real repository', () => {
  let repo: string;
  let events: LoopEvent[];
  let baseCommit: string;

  beforeAll(async () => {
    repo = makeRepo({
      'exp.sh': EXP,
      'params.sh': params(5),
      'data.txt': 'evaluation data\n',
      'notes.txt': 'notes\n',
      'program.md': '',
    });
    const base = { 'params.sh': params(4) };
    const steps: Array<[Record<string, string>, Record<string, string>]> = [
      [{ 'params.sh': params(5) }, { 'params.sh': params(4) }], // 1 keep
      [base, { 'params.sh': params(6) }], // 2 discard
      [base, { 'params.sh': params(3, 'crash') }], // 3 crash
      [base, { 'params.sh': params(3, 'nan') }], // 4 crash (NaN)
      [
        { ...base, 'exp.sh': EXP },
        {
          'params.sh': params(3),
          'exp.sh': EXP.replace('score: $VALUE";;\nesac', 'score: 0";;\nesac'),
        },
      ], // 5 invalid (protected)
      [
        { ...base, 'notes.txt': 'notes\n' },
        { 'params.sh': params(3), 'notes.txt': 'more notes\n' },
      ], // 6 invalid (not editable)
      [base, { 'params.sh': params(6) }], // 7 skipped: same as 2
      [base, base], // 8 skipped: no change
      [base, { 'params.sh': params(2, 'hang') }], // 9 timeout
      [base, { 'params.sh': params(7, 'tamper') }], // 10 tries to change protected data while running
      [base, { 'params.sh': params(1, 'flood') }], // 11 keep, 8 MB of output
    ];
    const names = steps.map(([before, after], i) => {
      const name = `ideas/${i + 1}.patch`;
      writeFiles(repo, { [name]: patchBetween(repo, before, after) });
      return name;
    });
    writeFiles(repo, { 'program.md': PROGRAM.replace('PATCHES', names.join(', ')) });
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'program and ideas');
    baseCommit = gitIn(repo, 'rev-parse', 'HEAD');
    // Uncommitted work of the user's must survive the run untouched.
    writeFileSync(join(repo, 'notes.txt'), 'my unsaved notes\n');
    events = [];
    const result = await startRun({ cwd: repo, tag: 't1', onEvent: (e) => events.push(e) });
    expect(result.reason).toBe('the agent has no more proposals');
  });

  it('records every outcome with the right status and a reason', () => {
    const rows = ledgerRows(repo, 't1');
    expect(rows.map((r) => [r.id, r.state, r.status])).toEqual([
      [0, 'recorded', 'keep'],
      [1, 'recorded', 'keep'],
      [2, 'recorded', 'discard'],
      [3, 'recorded', 'crash'],
      [4, 'recorded', 'crash'],
      [5, 'recorded', 'invalid'],
      [6, 'recorded', 'invalid'],
      [7, 'recorded', 'skipped'],
      [8, 'recorded', 'skipped'],
      [9, 'recorded', 'timeout'],
      // Sealed, protected files are read-only to the run: the write fails and the run is judged as
      // it is. Unsealed, the change is found by the hash check after the run.
      [10, 'recorded', sealed ? 'discard' : 'invalid'],
      [11, 'recorded', 'keep'],
    ]);
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[0]!.primary_value).toBe(5);
    expect(byId[1]!.primary_value).toBe(4);
    expect(byId[2]!.primary_value).toBe(6);
    expect(byId[3]!.reason).toContain('exit code 3');
    expect(byId[3]!.reason).toContain('boom: model diverged'); // the log tail comes with it
    expect(byId[4]!.reason).toContain(
      'metric score is not finite (nan) on line 1 of the output ("score: nan")',
    );
    expect(byId[5]!.reason).toContain('exp.sh (protected)');
    expect(byId[6]!.reason).toContain('notes.txt (not editable)');
    expect(byId[7]!.reason).toContain('same files as experiment 2');
    expect(byId[8]!.reason).toContain('no change');
    expect(byId[9]!.reason).toContain('hard timeout');
    if (sealed)
      expect(readFileSync(byId[10]!.log_path!, 'utf8')).toContain(
        'data.txt: Read-only file system',
      );
    else expect(byId[10]!.reason).toContain('changed protected files while it ran: data.txt');
    expect(byId[11]!.primary_value).toBe(1);
  });

  it('moves the branch only on keeps, and keeps every candidate reachable', () => {
    const rows = ledgerRows(repo, 't1');
    const head = gitIn(repo, 'rev-parse', 'autoresearch/t1');
    expect(head).toBe(rows[11]!.candidate_commit);
    expect(gitIn(repo, 'rev-parse', `${head}^`)).toBe(rows[1]!.candidate_commit);
    expect(gitIn(repo, 'rev-parse', `${head}^^`)).toBe(baseCommit);
    for (const id of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]) {
      expect(gitIn(repo, 'rev-parse', `refs/autoresearch/t1/${id}`)).toBe(
        rows[id]!.candidate_commit,
      );
    }
    expect(gitIn(repo, 'show', 'refs/autoresearch/t1/2:params.sh')).toContain('VALUE=6');
    expect(gitIn(repo, 'log', '-1', '--format=%s', 'refs/autoresearch/t1/3')).toBe('3');
  });

  it('never touches the user checkout', () => {
    expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(baseCommit);
    expect(gitIn(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(readFileSync(join(repo, 'notes.txt'), 'utf8')).toBe('my unsaved notes\n');
    expect(readFileSync(join(repo, 'params.sh'), 'utf8')).toBe(params(5));
    expect(gitIn(repo, 'status', '--porcelain')).toBe('M notes.txt');
    expect(readFileSync(join(repo, '.git/info/exclude'), 'utf8')).toContain('/.autoresearch/');
  });

  it('keeps a bounded log of an output flood and still reads the metric', () => {
    const flood = ledgerRows(repo, 't1')[11]!;
    expect(flood.output_bytes).toBeGreaterThan(8_000_000); // four times what the log keeps
    const size = statSync(flood.log_path!).size;
    expect(size).toBeLessThan(2.2 * 1024 * 1024);
    expect(readFileSync(flood.log_path!, 'utf8')).toMatch(/\[autoresearch: \d+ bytes omitted\]/);
  });

  it('leaves no process of a timed-out experiment behind', () => {
    expect(processesNamed(HANG)).toEqual([]);
  });

  it('writes results.tsv in the 5-column format: keep, discard or crash, the finer status in the description', () => {
    const tsv = readResultsTsv(repo, 't1');
    expect(tsv[0]).toEqual(['commit', 'score', 'memory_gb', 'status', 'description']);
    expect(tsv[1]).toEqual([
      baseCommit.slice(0, 7),
      '5.000000',
      expect.stringMatching(/^\d+\.\d$/),
      'keep',
      'baseline',
    ]);
    // Skipped proposals (7: a duplicate, 8: no change) ran nothing and have no row.
    expect(tsv.slice(1).map((r) => [r[3], r[4]])).toEqual([
      ['keep', 'baseline'],
      ['keep', '1'],
      ['discard', '2'],
      ['crash', '3'],
      ['crash', '4'],
      ['crash', 'invalid: 5'],
      ['crash', 'invalid: 6'],
      ['crash', 'timeout: 9'],
      sealed ? ['discard', '10'] : ['crash', 'invalid: 10'],
      ['keep', '11'],
    ]);
    expect(tsv[4]!.slice(1, 4)).toEqual(['0.000000', expect.any(String), 'crash']);
    expect(tsv[10]!.slice(1, 4)).toEqual(['1.000000', expect.any(String), 'keep']);
    expect(tsv[2]![0]).toBe(ledgerRows(repo, 't1')[1]!.candidate_commit!.slice(0, 7));
  });

  it('records measurements, logs and the brief the agent saw', () => {
    const rows = ledgerRows(repo, 't1');
    expect(rows[1]!.peak_memory_bytes).toBeGreaterThan(0);
    expect(readFileSync(rows[1]!.log_path!, 'utf8')).toContain('progress: 50%');
    const brief = readFileSync(join(repo, '.autoresearch/t1/experiments/3/brief.md'), 'utf8');
    expect(brief).toContain('score = 4 at experiment 1');
    expect(brief).toContain('| 2 | discard | 6 (1) | +2 | worse, n=1 vs 2 |');
    expect(brief).toContain('Lower the score.');
    const later = readFileSync(join(repo, '.autoresearch/t1/experiments/5/brief.md'), 'utf8');
    expect(later).toContain('boom: model diverged'); // failures feed back into the next brief
  });

  it('emits events a display can follow', () => {
    const recorded = events.filter((e) => e.type === 'recorded');
    expect(recorded).toHaveLength(12);
    expect(
      events
        .filter((e) => e.type === 'recorded' && e.newBest)
        .map((e) => (e as { experiment: { id: number } }).experiment.id),
    ).toEqual([1, 11]);
    expect(events.at(-1)).toMatchObject({
      type: 'run-stop',
      summary: { baseline: 5, best: 1, candidates: 11 },
    });
    expect(existsSync(join(repo, '.autoresearch/t1/slots/0'))).toBe(true);
  });
});
