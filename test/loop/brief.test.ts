import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIn, ledgerRows, makeRepo, writeFiles } from '../helpers/repo.js';
import { patchBetween } from '../helpers/patches.js';
import { runHere } from '../helpers/run.js';

// score = VALUE + N(0, 0.1), drawn from the harness's per-measurement seed: repeatable, every run differs.
const EXP = `source ./params.sh
awk -v v="$VALUE" -v s="$AUTORESEARCH_SEED" 'BEGIN { srand(s); u = rand(); w = rand(); printf "score: %.6f\\n", v + 0.1 * sqrt(-2 * log(u + 1e-12)) * cos(6.2831853 * w) }'
echo "mem_mb: $MEM"
`;

// A node:test check: its TAP output ends in "# pass 0 / # fail 1", which says nothing by itself.
const CHECK = `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
test('memory stays within the limit', () => {
  const mem = Number(/MEM=(\\d+)/.exec(readFileSync('params.sh', 'utf8'))[1]);
  assert.ok(mem <= 150, \`MEM=\${mem} is over the limit of 150\`);
});
`;

const params = (value: number, mem: number) => ({ 'params.sh': `VALUE=${value}\nMEM=${mem}\n` });

describe('the brief of a real run says why', () => {
  it('shows each decision with p and n, the keep bar, brief_metrics columns, the failing check, and what the harness does', async () => {
    const repo = makeRepo({ 'exp.sh': EXP, 'check.test.mjs': CHECK, ...params(5, 100) });
    writeFiles(repo, {
      'ideas/1.patch': patchBetween(repo, params(5, 100), params(5, 120)), // no real change: not kept
      'ideas/2.patch': patchBetween(repo, params(5, 100), params(4, 140)), // a real gain: kept
      'ideas/3.patch': patchBetween(repo, params(4, 140), params(3, 999)), // fails the check
      'program.md': `---
metric: { name: score, goal: minimize }
run: bash exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh, check.test.mjs]
checks: node --test check.test.mjs
brief_metrics: [mem_mb]
agent: { name: scripted, patches: [ideas/1.patch, ideas/2.patch, ideas/3.patch] }
---
Lower the score.

LOOP FOREVER:
1. git commit
2. Run the experiment: \`bash exp.sh > run.log\`
`,
    });
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'program');
    await runHere(repo, { tag: 'w' });
    expect(ledgerRows(repo, 'w').map((r) => r.status)).toEqual([
      'keep',
      'discard',
      'keep',
      'invalid',
    ]);

    const brief = readFileSync(join(repo, '.autoresearch/w/experiments/4/brief.md'), 'utf8');
    expect(brief).toContain('| id | status | value (n) | delta | why | mem_mb | change |');
    // The neutral change: not significant at its p (or worse on its first run), with its n.
    // (paired policy: worse on its first run, or not significant after its pairs).
    expect(brief).toMatch(
      /\| 1 \| discard \| [\d.]+ \(\d\) \| [-+][\d.]+ \| (not sig\.: p=[\d.]+ \(needs < 0\.025\), \d pairs|worse, n=1 vs \d) \| 120 \| /,
    );
    expect(brief).toMatch(
      /\| 2 \| keep \| [\d.]+\*? \(\d\) \| -[\d.]+ \| p[<=][\d.]+, \d pairs \| 140 \| /,
    );
    expect(brief).toMatch(/\| 3 \| invalid \| — \| {2}\| checks failed \(exit 1\) \| — \| /);
    expect(brief).toMatch(
      /- keep bar: with the current noise a decrease of about [\d.]+ in `score` is needed to keep a change \(3 pairs each; paired t-test at p < 0\.025, from the noise as of experiment \d+\)/,
    );
    // The failing assertion, not the runner's totals.
    expect(brief).toContain('not ok 1 - memory stays within the limit');
    expect(brief).toContain('MEM=999 is over the limit of 150');
    expect(brief).not.toMatch(/^# (pass|fail) \d/m);
    expect(brief).toMatch(
      /Note: the harness does these for you, whatever program\.md below says: committing your change \("git commit"\); running the experiment/,
    );
  });
});
