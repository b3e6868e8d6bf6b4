import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gitIn, ledgerRows, makeRepo, readResultsTsv, writeFiles } from '../helpers/repo.js';
import { patchBetween } from '../helpers/patches.js';
import { runHere } from '../helpers/run.js';

/** params.sh prints the metrics; each step is [incumbent's params.sh, candidate's params.sh]. */
function repoWith(baseline: string, steps: Array<[string, string]>): string {
  const repo = makeRepo({ 'exp.sh': 'source ./params.sh\n', 'params.sh': baseline });
  steps.forEach(([from, to], i) =>
    writeFiles(repo, {
      [`ideas/${i + 1}.patch`]: patchBetween(repo, { 'params.sh': from }, { 'params.sh': to }),
    }),
  );
  writeFiles(repo, {
    'program.md': `---
metric: { name: total_µs, goal: minimize, deterministic: true }
run: bash exp.sh
budget: 20s
editable: [params.sh]
protected: [exp.sh]
constraints: ["ошибка <= 1"]
agent: { name: scripted, patches: [${steps.map((_, i) => `ideas/${i + 1}.patch`).join(', ')}] }
---
`,
  });
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'program');
  return repo;
}

const prints = (...lines: string[]) => lines.map((l) => `echo "${l}"\n`).join('');
/** 1.5 MB of one line: two of them overflow the log's 1 MiB head and 1 MiB tail. */
const FILLER = "head -c 1500000 /dev/zero | tr '\\0' x; echo\n";

describe('metrics parsed exactly, or loudly refused (end to end)', () => {
  it('a Unicode primary metric; refused numbers crash quoting the line; \\r progress, last occurrence and the dropped middle count', async () => {
    const base = prints('total_µs: 50', 'ошибка: 0');
    const progress = `printf 'total_µs: 90\\rtotal_µs: 40\\n'\n${prints('ошибка: 0')}`;
    const lastWins = prints('METRIC total_µs=10', 'total_µs: 35', 'ошибка: 0');
    const middle = `${FILLER}${prints('total_µs: 20')}${FILLER}${prints('ошибка: 0')}`;
    const repo = repoWith(base, [
      [base, prints('total_µs: 1,234,567', 'ошибка: 0')],
      [base, prints('warming up', 'total_µs: 12.5ms', 'ошибка: 0')],
      [base, progress],
      [progress, lastWins],
      [lastWins, middle],
      [middle, prints('total_µs: 15', 'ошибка: 0x1')],
    ]);
    await runHere(repo, { tag: 'm' });
    const rows = ledgerRows(repo, 'm');
    expect(rows.map((x) => [x.status, x.primary_value])).toEqual([
      ['keep', 50],
      ['crash', null],
      ['crash', null],
      ['keep', 40],
      ['keep', 35],
      ['keep', 20],
      ['discard', 15],
    ]);
    expect(rows[1]!.reason).toContain(
      'metric total_µs has thousands separators or a decimal comma on line 1 of the output ("total_µs: 1,234,567"); print a plain number: `total_µs: 1234567`',
    );
    expect(rows[2]!.reason).toContain(
      'metric total_µs has a unit (ms) on line 2 of the output ("total_µs: 12.5ms"); print a plain number: `total_µs: 12.5`',
    );
    // The measured value was printed only in the middle, which the log does not keep.
    expect(rows[5]!.output_bytes).toBeGreaterThan(3_000_000);
    expect(readFileSync(rows[5]!.log_path!, 'utf8')).not.toContain('total_µs: 20');
    expect(rows[6]!.reason).toBe(
      'discarded: constraint ошибка <= 1 cannot be checked: ошибка is hexadecimal on line 2 of the output ("ошибка: 0x1"); print a plain number: `ошибка: 1`',
    );
    expect(readResultsTsv(repo, 'm')[0]![1]).toBe('total_µs');
  });
});
