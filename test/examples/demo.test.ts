import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliHere } from '../helpers/cli-here.js';
import { gitIn, ledgerRows, readResultsTsv, tempDir, waitFor } from '../helpers/repo.js';

/** Busy loops, as other jobs on a shared machine. */
function cpuHogs(n: number): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
}

describe('the tinylm demo through the real CLI', () => {
  const hogs: ChildProcess[] = [];
  afterAll(() => hogs.forEach((h) => h.kill('SIGKILL')));

  it('keeps a real improvement measured on a busy machine, and its re-run on a quiet one reproduces it exactly and is recorded', async () => {
    const dir = join(tempDir('ar-demo-'), 'tinylm');
    // The fewest experiments and the least work with which the seeded search (seed 0) keeps a real
    // improvement: at budget 1.5 its third proposal beats the defaults (exactly, on any machine).
    const run = cliHere(tmpdir(), ['demo', 'tinylm', '--dir', dir, '-n', '3', '--budget', '1.5s']);
    // Another job takes a core for the third experiment: a budget of time would count the busy
    // machine's fewer steps as a worse model, and lose the keep. It leaves before the re-run at
    // the end, so the re-run, on a quiet machine, must give exactly what the busy one measured.
    // One is enough on these two cores (the suite's other workers are there too), and burns less.
    await waitFor(() => ledgerRows(dir, 'demo').some((x) => x.id === 3), 120_000, 'experiment 3');
    hogs.push(...cpuHogs(1));
    let ended = false;
    void run.finally(() => (ended = true)).catch(() => undefined);
    await waitFor(
      () => ended || ledgerRows(dir, 'demo').some((x) => x.id === 3 && x.state === 'recorded'),
      120_000,
      'experiment 3 recorded',
    ).finally(() => hogs.forEach((h) => h.kill('SIGKILL')));
    const { code, stdout, stderr } = await run;
    const output = stdout + stderr;
    expect(output).not.toMatch(/Error|error:/);
    expect(code).toBe(0);
    const rows = ledgerRows(dir, 'demo') as Array<
      ReturnType<typeof ledgerRows>[number] & { n_runs: number }
    >;
    expect(rows).toHaveLength(4);
    expect(rows.every((x) => x.state === 'recorded')).toBe(true);
    expect(rows[0]!.status).toBe('keep');
    const kept = rows.filter((x) => x.id > 0 && x.status === 'keep');
    expect(kept.length).toBeGreaterThanOrEqual(1);
    const best = kept.reduce((a, b) => (b.primary_value! < a.primary_value! ? b : a));
    expect(best.primary_value).toBeLessThan(rows[0]!.primary_value!);
    expect(best.id).toBe(3); // measured on the busy machine, against a baseline measured on a quiet one
    // The training is budgeted in work, not time: the busy machine changed nothing but the clock.
    // The best was run once more at the end, recorded as its second measurement.
    expect(best.n_runs).toBe(2);
    expect(output).toMatch(
      /re-run\s+val_bpb = [\d.]+ when the best commit runs again \(\+\d+\.\d+% over baseline, exactly the same\); recorded: its value is now [\d.]+, n=2/,
    );
    // Each proposal is a real edit of train.ts's hyperparameters, nothing else.
    for (const x of rows.slice(1))
      expect(gitIn(dir, 'diff', '--name-only', x.parent_commit, x.candidate_commit!)).toBe(
        'train.ts',
      );
    expect(readResultsTsv(dir, 'demo')).toHaveLength(5);
    expect(output).toMatch(/improvement\s+\+\d+\.\d+% over baseline/);
    expect(output).toMatch(/floor\s+0\.\d+ bits per byte/);
  }, 240_000);
});
