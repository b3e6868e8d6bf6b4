import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import type { MeasurementRow, RunRow } from '../../src/ledger/types.js';
import { measurementSeed } from '../../src/loop/environment.js';
import { startRun } from '../../src/run.js';
import { processesNamed } from '../helpers/processes.js';
import { cli, gitIn, ledgerRows, makeRepo, tempDir, waitFor, writeFiles } from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';

const PROGRAM = (runs: number) => `---
metric: { name: score, goal: minimize }
run: bash exp.sh
budget: 10s
editable: [params.sh]
repeats: { baseline: ${runs} }
agent: { name: command, command: 'true' }
---
`;

/** The run as the ledger holds it: its row, and every run measured in it. */
function stored(repo: string, tag: string): { run: RunRow; runs: MeasurementRow[] } {
  const ledger = new Ledger(join(repo, '.autoresearch', 'ledger.sqlite'));
  try {
    const runs = ledger.listExperiments(tag).flatMap((e) => ledger.measurementsOf(tag, e.id));
    return { run: ledger.getRun(tag)!, runs };
  } finally {
    ledger.close();
  }
}

describe('a baseline that failed', () => {
  it.each([
    ['the run failed with it', {}],
    ['the harness was killed right after it was recorded', { AUTORESEARCH_CRASH_AT: 'recorded:0' }],
  ])(
    'is measured afresh on the fixed commit when the same tag runs again (%s)',
    async (_, env: Record<string, string>) => {
      // Its first run prints a score, its second crashes: one run of the broken commit is stored.
      const first = measurementSeed('b', 0, 0);
      const repo = makeRepo({
        'exp.sh': `if [ "$AUTORESEARCH_SEED" = ${first} ]; then echo "score: 5"; else echo "boom" >&2; exit 3; fi\n`,
        'params.sh': 'X=1\n',
        'program.md': PROGRAM(2),
      });
      // Only the killed harness needs a process of its own.
      const args = ['run', '--tag', 'b', '-n', '1', '--no-dashboard'];
      const broken = env.AUTORESEARCH_CRASH_AT ? cli(repo, args, env) : await cliHere(repo, args);
      expect(broken.code).not.toBe(0);
      const before = stored(repo, 'b');
      expect(before.runs.map((m) => m.value)).toEqual([5]);
      expect(ledgerRows(repo, 'b')[0]).toMatchObject({ id: 0, state: 'recorded', status: 'crash' });

      writeFiles(repo, { 'exp.sh': 'echo "score: 7"\n' });
      gitIn(repo, 'commit', '-q', '-am', 'fix the experiment');
      const fixed = gitIn(repo, 'rev-parse', 'HEAD');
      const again = await cliHere(repo, ['run', '--tag', 'b', '-n', '1', '--no-dashboard']);
      expect(again.code).toBe(0);
      expect(again.stdout).not.toContain('resuming run b');

      const after = stored(repo, 'b');
      expect(after.run.base_commit).toBe(fixed);
      // Only the fixed commit's runs: none of the broken commit's is taken for the new baseline's.
      expect(after.runs.map((m) => [m.commit_sha, m.value])).toEqual([
        [fixed, 7],
        [fixed, 7],
      ]);
      expect(ledgerRows(repo, 'b')[0]).toMatchObject({
        id: 0,
        status: 'keep',
        primary_value: 7,
        candidate_commit: fixed,
      });
      expect(gitIn(repo, 'rev-parse', 'autoresearch/b')).toBe(fixed);
    },
  );
});

describe('the baseline with several slots', () => {
  it('measures its repeats at once, one per slot, each with its own seed and log', async () => {
    // Each repeat waits for the test's go, given once all three run: they can only run at once.
    const go = join(tempDir('ar-go-'), 'go');
    const marker = `ar-baseline-${process.pid}-${Date.now()}`;
    const repo = makeRepo({
      'exp.sh': `(exec -a ${marker} bash -c 'until [ -e "$GO" ]; do sleep 0.05; done')\necho "score: $AUTORESEARCH_SEED"\n`,
      'params.sh': 'X=1\n',
      'program.md': PROGRAM(3).replace('agent:', `env: { set: { GO: ${go} } }\nagent:`),
    });
    const run = startRun({ cwd: repo, tag: 's', parallel: 3, maxExperiments: 0 });
    await waitFor(() => processesNamed(marker).length === 3, 120_000, 'the three repeats to run');
    writeFileSync(go, '');
    await run;
    const { runs } = stored(repo, 's');
    expect(runs.map((m) => m.slot).sort()).toEqual([0, 1, 2]);
    expect(runs.map((m) => m.value).sort()).toEqual(
      [0, 1, 2].map((n) => measurementSeed('s', 0, n)).sort(),
    );
    expect(new Set(runs.map((m) => m.log_path)).size).toBe(3);
    expect(ledgerRows(repo, 's')[0]).toMatchObject({ status: 'keep' });
  });
});
