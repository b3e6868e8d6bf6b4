import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIn, ledgerRows, makeRepo } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';

// Deterministic: score = 10 - A + W - E - F - G; BROKEN=1 crashes. The baseline is 10.
const EXP = `. ./params.sh
[ "$BROKEN" = 1 ] && { echo broken >&2; exit 1; }
awk -v a="$A" -v w="$W" -v e="$E" -v f="$F" -v g="$G" 'BEGIN { printf "score: %.4f\\n", 10 - a + w - e - f - g }'
`;

/**
 * Each experiment sets a variable on whatever parent the harness checked out, so its value says
 * which parent it was built on. With tree search (explore: 1) the expected course is:
 * 1 A=3 -> 7 keep; 2 W=0.5 on 1 -> 7.5 discard; 3 E=0.3 on 2 (untried, promising) -> 7.2, better
 * than its parent, not than the incumbent: discard; 4 F=0.5 on 3 -> 6.7 keep; 5 BROKEN on 4 ->
 * crash; 6 repairs 5 with G=0.2 -> 6.5 keep.
 */
const AGENT = `set_() { sed -i "s/^$1=.*/$1=$2/" params.sh; }
case "$AUTORESEARCH_EXPERIMENT_ID" in
1) set_ A 3 ;; 2) set_ W 0.5 ;; 3) set_ E 0.3 ;; 4) set_ F 0.5 ;; 5) set_ BROKEN 1 ;;
6) set_ BROKEN 0; set_ G 0.2 ;;
*) exit 99 ;;
esac
echo "{\\"title\\": \\"experiment $AUTORESEARCH_EXPERIMENT_ID\\"}" > "$AUTORESEARCH_PROPOSAL"
`;

const PROGRAM = `---
metric: { name: score, goal: minimize, deterministic: true }
run: sh exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh, agent.sh]
agent: { name: command, command: sh agent.sh, timeout: 30s }
parents: { strategy: tree, explore: 1, repairs: 1 }
---
Lower the score.
`;

function repo(): string {
  return makeRepo({
    'exp.sh': EXP,
    'agent.sh': AGENT,
    'params.sh': 'A=0\nW=0\nE=0\nF=0\nG=0\nBROKEN=0\n',
    'program.md': PROGRAM,
  });
}

const parentIds = (rows: ReturnType<typeof ledgerRows>) => {
  const byCommit = new Map(rows.map((r) => [r.candidate_commit, r.id]));
  return rows.slice(1).map((r) => byCommit.get(r.parent_commit));
};

describe('tree search in a run', () => {
  it('builds on a promising non-incumbent node and a crash, and moves the branch only on a global improvement; a resumed run goes on from the same tree', async () => {
    const dir = repo();
    // Stopped after three experiments: the next start must find the same population in the ledger.
    await runHere(dir, { tag: 't', maxExperiments: 3 });
    expect(ledgerRows(dir, 't').map((r) => r.status)).toEqual([
      'keep',
      'keep',
      'discard',
      'discard',
    ]);
    await runHere(dir, { tag: 't', maxExperiments: 10 });
    const rows = ledgerRows(dir, 't');
    expect(rows.map((r) => [r.status, r.primary_value])).toEqual([
      ['keep', 10],
      ['keep', 7],
      ['discard', 7.5],
      ['discard', 7.2],
      ['keep', 6.7],
      ['crash', null],
      ['keep', 6.5],
    ]);
    expect(parentIds(rows)).toEqual([0, 1, 2, 3, 4, 5]);
    // 3 was judged against the incumbent (1), not its parent, and says how it did against both.
    expect(rows[3]!.incumbent_commit).toBe(rows[1]!.candidate_commit);
    expect(rows[3]!.reason).toContain('built on experiment 2 (7.5): better than its parent');

    // The branch moved to the global improvements only (1, 4, 6), each by the harness.
    const moves = gitIn(dir, 'reflog', '--format=%H', 'autoresearch/t').split('\n').reverse();
    expect(moves).toEqual([rows[0], rows[1], rows[4], rows[6]].map((r) => r!.candidate_commit));

    // The brief said which parent the agent builds on, and why.
    const brief = (id: number) =>
      readFileSync(join(dir, `.autoresearch/t/experiments/${id}/brief.md`), 'utf8');
    expect(brief(3)).toContain('## Your starting point: experiment 2, not the incumbent');
    expect(brief(3)).toContain('most promising node');
    expect(brief(6)).toContain('it crashed: this experiment is a repair attempt');
    expect(brief(2)).not.toContain('Your starting point');
  });
});

describe('island search in a run', () => {
  it('runs islands round-robin with a migration, keeps each island head under refs/autoresearch/<tag>/, and puts a moved one back', async () => {
    const dir = makeRepo({
      'exp.sh': EXP,
      'agent.sh': AGENT.replace('5) set_ BROKEN 1 ;;', '5) exit 99 ;;'),
      'params.sh': 'A=0\nW=0\nE=0\nF=0\nG=0\nBROKEN=0\n',
      'program.md': PROGRAM.replace(
        'parents: { strategy: tree, explore: 1, repairs: 1 }',
        'parents: { strategy: islands, islands: 2, migrate_every: 3 }',
      ),
    });
    await runHere(dir, { tag: 'i' });
    const rows = ledgerRows(dir, 'i');
    // 1 on island 0, 2 on island 1 (from the baseline), 3 the global best (1) migrating to island 1, the weaker; 4 on island 1 from 3.
    expect(rows.map((r) => [r.status, r.primary_value, r.island])).toEqual([
      ['keep', 10, null],
      ['keep', 7, 0],
      ['discard', 10.5, 1],
      ['keep', 6.7, 1],
      ['keep', 6.2, 1],
    ]);
    expect(parentIds(rows)).toEqual([0, 0, 1, 3]);
    const ref = (k: number) => gitIn(dir, 'rev-parse', `refs/autoresearch/i/island-${k}`);
    expect([ref(0), ref(1)]).toEqual([rows[1]!.candidate_commit, rows[4]!.candidate_commit]);

    gitIn(dir, 'update-ref', 'refs/autoresearch/i/island-0', rows[2]!.candidate_commit!);
    const again = await runHere(dir, { tag: 'i' });
    expect(again.output).toContain(
      `refs/autoresearch/i/island-0 was moved to ${rows[2]!.candidate_commit!.slice(0, 10)}; restored to ${rows[1]!.candidate_commit!.slice(0, 10)}`,
    );
    expect(ref(0)).toBe(rows[1]!.candidate_commit);
  });
});
