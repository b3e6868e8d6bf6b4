import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../../src/report/write.js';
import { cli, gitIn, ledgerRows, makeRepo } from '../helpers/repo.js';
import { runHere, statusHere } from '../helpers/run.js';
import { cliHere } from '../helpers/cli-here.js';

// Two metrics, each the parameter plus noise up to +-0.05 drawn from the run's seed.
const EXP = `. ./params.sh
s=$AUTORESEARCH_SEED
awk -v t="$T" -v h="$H" -v s="$s" 'BEGIN {
  printf "ms: %.4f\\n", t + ((s % 1000) / 1000 - 0.5) / 10
  printf "heap: %.4f\\n", h + ((int(s / 1000) % 1000) / 1000 - 0.5) / 10
}'
`;

/**
 * The course, from the baseline (10, 10), each built on the newest point of the front:
 * 1 (8, 12) a trade-off: joins; 2 (8.5, 12.5) dominated by 1: discarded; 3 (8.000, 12.0) the
 * same values written differently, measured apart only by the noise: discarded; 4 (7, 11) dominates 1, which leaves, a trade-off with 0: joins;
 * 5 (9, 9) dominates the baseline, which leaves, a trade-off with 4: joins.
 */
const AGENT = `set_() { sed -i "s/^T=.*/T=$1/; s/^H=.*/H=$2/" params.sh; }
case "$AUTORESEARCH_EXPERIMENT_ID" in
1) set_ 8 12 ;; 2) set_ 8.5 12.5 ;; 3) set_ 8.000 12.0 ;; 4) set_ 7 11 ;; 5) set_ 9 9 ;;
*) exit 99 ;;
esac
echo "{\\"title\\": \\"point $AUTORESEARCH_EXPERIMENT_ID\\"}" > "$AUTORESEARCH_PROPOSAL"
`;

const PROGRAM = `---
metric: [{ name: ms, goal: minimize }, { name: heap, goal: minimize }]
run: sh exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh, agent.sh]
agent: { name: command, command: sh agent.sh, timeout: 30s }
repeats: { baseline: 3, max: 3 }
---
Trade speed for memory.
`;

type Row = ReturnType<typeof ledgerRows>[number] & { left_front_by: number | null };

const STATUSES = [
  [0, 'keep', 5],
  [1, 'keep', 4],
  [2, 'discard', null],
  [3, 'discard', null],
  [4, 'keep', null],
  [5, 'keep', null],
];

function repo(): string {
  return makeRepo({
    'exp.sh': EXP,
    'agent.sh': AGENT,
    'params.sh': 'T=10\nH=10\n',
    'program.md': PROGRAM,
  });
}

describe('Pareto mode in a run', () => {
  it('keeps a trade-off, discards a dominated and a noise-level candidate, and a dominating one removes the member it beats', async () => {
    const dir = repo();
    await runHere(dir, { tag: 'p' });
    const rows = ledgerRows(dir, 'p') as Row[];
    expect(rows.map((r) => [r.id, r.status, r.left_front_by])).toEqual(STATUSES);
    expect(rows.every((r) => r.n_runs === 3)).toBe(true);
    expect(rows[1]!.reason).toMatch(/^kept: joins the front \(2 points\)/);
    expect(rows[2]!.reason).toMatch(/^discarded: dominated by experiment 1 on the front/);
    expect(rows[3]!.reason).toMatch(
      /^discarded: matched by experiment 1 on the front: ms \d\.\d+ vs \d\.\d+ \(within [\d.]+\), heap/,
    );
    expect(rows[4]!.reason).toContain('experiment 1 leaves the front, dominated: ms');
    expect(rows[5]!.reason).toContain('experiment 0 leaves the front, dominated: ms');

    // Each is built on the newest point of the front: the branch, which holds only members.
    const byCommit = new Map(rows.map((r) => [r.candidate_commit, r.id]));
    expect(rows.slice(1).map((r) => byCommit.get(r.parent_commit))).toEqual([0, 1, 1, 1, 4]);
    const moves = gitIn(dir, 'reflog', '--format=%H', 'autoresearch/p').split('\n').reverse();
    expect(moves).toEqual([0, 1, 4, 5].map((id) => rows[id]!.candidate_commit));

    // The members' refs, and only theirs.
    const front = gitIn(
      dir,
      'for-each-ref',
      '--format=%(refname) %(objectname)',
      'refs/autoresearch/p/front/',
    );
    expect(front.trim().split('\n')).toEqual([
      `refs/autoresearch/p/front/4 ${rows[4]!.candidate_commit}`,
      `refs/autoresearch/p/front/5 ${rows[5]!.candidate_commit}`,
    ]);

    // Only the harness writes them: a moved one is put back, a deleted one restored, at the next start.
    gitIn(dir, 'update-ref', 'refs/autoresearch/p/front/5', rows[2]!.candidate_commit!);
    gitIn(dir, 'update-ref', '-d', 'refs/autoresearch/p/front/4');
    const again = await runHere(dir, { tag: 'p' });
    expect(again.output).toMatch(/refs\/autoresearch\/p\/front\/4 was deleted; restored/);
    expect(again.output).toMatch(/refs\/autoresearch\/p\/front\/5 was moved to \w+; restored/);
    expect(
      gitIn(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/autoresearch/p/front/'),
    ).toBe(front);

    // The brief shows the front the agent must not be covered by.
    const brief = readFileSync(join(dir, '.autoresearch/p/experiments/5/brief.md'), 'utf8');
    expect(brief).toContain('## Pareto front (2 points)');
    expect(brief).toMatch(/- experiment 4: ms = 7\.\d+, heap = 1[01]\.\d+: point 4/);

    // status and the report list the front, one point a line.
    const status = await statusHere(dir, 'p');
    expect(status).toContain('metrics      ms (minimize), heap (minimize): a Pareto front');
    expect(status).toMatch(
      /front 2 +#4 \(ms 7\.\d+, heap 1[01]\.\d+\): point 4\n +#5 \(ms [89]\.\d+/,
    );
    const html = readFileSync(
      (await writeReport(dir, 'p', undefined, { chromium: null })).html,
      'utf8',
    );
    expect(html).toContain('<h2>Pareto front (2 points)</h2>');
    expect(html).toMatch(
      /<tr><td class="n">4<\/td><td class="n">7\.\d+<\/td><td class="n">1[01]\.\d+<\/td><td>point 4<\/td>/,
    );

    // apply: no single best; a member applies; one that left says who dominates it.
    const best = await cliHere(dir, ['apply', 'best']);
    expect(best.code).not.toBe(0);
    expect(best.stderr).toContain('run p is in Pareto mode: there is no single best');
    expect(best.stderr).toMatch(/  #4 \(ms 7\.\d+, heap 1[01]\.\d+\): point 4\n  #5/);
    const gone = await cliHere(dir, ['apply', '1', '--branch', 'one']);
    expect(gone.stderr).toContain(
      'experiment 1 is no longer on the Pareto front: experiment 4 dominates it',
    );
    const member = await cliHere(dir, ['apply', '4']);
    expect(member.stderr).toBe('');
    expect(member.stdout).toContain('main fast-forwarded to #4 of run p');
    expect(gitIn(dir, 'rev-parse', 'HEAD').trim()).toBe(rows[4]!.candidate_commit);
  });

  it('killed right after a joining keep was decided, resumes to the same front: the members it dominates have left with it', async () => {
    const dir = repo();
    const killed = cli(dir, ['run', '--tag', 'p'], { AUTORESEARCH_CRASH_AT: 'decided:4' });
    expect(killed.code, killed.stderr).toBeNull(); // died by SIGKILL
    let rows = ledgerRows(dir, 'p') as Row[];
    expect([rows[4]!.state, rows[1]!.left_front_by]).toEqual(['decided', 4]);
    expect(gitIn(dir, 'rev-parse', 'autoresearch/p')).toBe(rows[1]!.candidate_commit);
    const { output } = await runHere(dir, { tag: 'p' });
    expect(output).toContain('was kept but not recorded; finishing');
    // The front refs it had not written yet are the harness's own lag: no warning.
    expect(output).not.toContain('only the harness writes');
    rows = ledgerRows(dir, 'p') as Row[];
    expect(rows.map((r) => [r.id, r.status, r.left_front_by])).toEqual(STATUSES);
    expect(gitIn(dir, 'rev-parse', 'autoresearch/p')).toBe(rows[5]!.candidate_commit);
    const front = gitIn(dir, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/p/front/');
    expect(front.trim().split('\n')).toEqual([
      'refs/autoresearch/p/front/4',
      'refs/autoresearch/p/front/5',
    ]);
  });
});
