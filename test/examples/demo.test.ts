import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, gitIn, ledgerRows, readResultsTsv } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

describe('the tinylm demo through the real CLI', () => {
  it('runs the baseline plus N tune experiments and keeps at least one real improvement', () => {
    const dir = join(tempDir('ar-demo-'), 'tinylm');
    // The example's search is seeded: its third proposal is the first real improvement (about 8%
    // at 3 s of CPU, several times the noise), so three experiments are enough to see a keep.
    const r = cli(tmpdir(), ['demo', 'tinylm', '--dir', dir, '-n', '3', '--budget', '3s', '--no-verify']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = ledgerRows(dir, 'demo');
    expect(rows).toHaveLength(4);
    expect(rows.every((x) => x.state === 'recorded')).toBe(true);
    expect(rows[0]!.status).toBe('keep');
    const kept = rows.filter((x) => x.id > 0 && x.status === 'keep');
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(Math.min(...kept.map((k) => k.primary_value!))).toBeLessThan(rows[0]!.primary_value!);
    // Each proposal is a real edit of train.ts's hyperparameters, nothing else.
    for (const x of rows.slice(1)) expect(gitIn(dir, 'diff', '--name-only', x.parent_commit, x.candidate_commit!)).toBe('train.ts');
    expect(readResultsTsv(dir, 'demo')).toHaveLength(5);
    expect(r.stdout).toMatch(/improvement\s+\+\d+\.\d+% over baseline/);
    expect(r.stdout).toMatch(/floor\s+0\.\d+ bits per byte/);
  }, 120_000);
});
