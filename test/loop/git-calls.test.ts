import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerRows, makeRepo, tempDir } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';

/**
 * Starting a process from the harness's large Node process is what an experiment's bookkeeping
 * costs: every git call the harness makes per experiment is paid by every experiment of every run.
 */
describe('git processes per experiment', () => {
  it('an experiment costs at most 10 git processes: commit, diff, reset, keep; a run of three at most 39', async () => {
    const repo = makeRepo({
      'params.sh': 'X=100\n',
      'exp.sh': '. ./params.sh\necho "score: $X"\n',
      'propose.sh': '. ./params.sh\necho "X=$((X-1))" > params.sh\n',
      'program.md': `---
agent: { name: command, command: 'bash propose.sh' }
run: bash exp.sh
budget: 30s
metric: { name: score, goal: minimize, deterministic: true }
repeats: { baseline: 1, max: 1 }
editable: [params.sh]
---
Lower the score.
`,
    });
    const trace = join(tempDir('ar-git-trace-'), 'trace');
    const before = process.env.GIT_TRACE;
    process.env.GIT_TRACE = trace;
    try {
      await runHere(repo, { tag: 't', maxExperiments: 3 });
    } finally {
      if (before === undefined) delete process.env.GIT_TRACE;
      else process.env.GIT_TRACE = before;
    }
    expect(ledgerRows(repo, 't').map((r) => r.status)).toEqual(['keep', 'keep', 'keep', 'keep']);
    // One git process, one `built-in` line (worktree add's own children included).
    const calls = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => l.includes(' built-in: git '))
      .map((l) => l.slice(l.indexOf(' built-in: git ') + 15));
    // From one candidate's ref to the next: the whole cycle of one experiment.
    const refs = calls.flatMap((c, i) =>
      /^update-ref refs\/autoresearch\/t\/\d+ /.test(c) ? [i] : [],
    );
    expect(refs).toHaveLength(3);
    for (let i = 1; i < refs.length; i++)
      expect(
        calls.slice(refs[i - 1]! + 1, refs[i]! + 1).length,
        calls.join('\n'),
      ).toBeLessThanOrEqual(10);
    // The start (repository, worktree, branch, baseline) and three experiments.
    expect(calls.length, calls.join('\n')).toBeLessThanOrEqual(39);
  });
});
