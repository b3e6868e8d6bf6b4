import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerRows, makeRepo } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';

// Deterministic: score = LR * 100 + (ACT is gelu ? 1 : 2); the baseline (LR=0.04, relu) is 6.
const EXP = `. ./params.sh
awk -v lr="$LR" -v act="$ACT" 'BEGIN { printf "score: %.4f\\n", lr * 100 + (act == "gelu" ? 1 : 2) }'
`;

/**
 * The command agent: experiment 1 raises LR (worse) and says what it learned; 2 raises it again
 * with other numbers and words (the same change as a discarded one); 3 changes ACT the wrong way
 * round (worse); then it has nothing more.
 */
const AGENT = `case "$AUTORESEARCH_EXPERIMENT_ID" in
1) sed -i 's/^LR=.*/LR=0.05/' params.sh
   echo '{"title": "raise LR to 0.05", "lessons": "LR above 0.04 makes the score worse"}' > "$AUTORESEARCH_PROPOSAL" ;;
2) sed -i 's/^LR=.*/LR=0.07/' params.sh
   echo '{"title": "bigger steps"}' > "$AUTORESEARCH_PROPOSAL" ;;
3) sed -i 's/^ACT=.*/ACT=tanh/' params.sh
   echo '{"title": "tanh"}' > "$AUTORESEARCH_PROPOSAL" ;;
*) exit 99 ;;
esac
`;

const program = (front: string) => `---
metric: { name: score, goal: minimize, deterministic: true }
run: sh exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh, agent.sh]
agent: { name: command, command: sh agent.sh, timeout: 30s }
${front}
---
Lower the score.
`;

const briefOf = (repo: string, tag: string, id: number) =>
  readFileSync(join(repo, `.autoresearch/${tag}/experiments/${id}/brief.md`), 'utf8');

function repoWith(front: string): string {
  return makeRepo({
    'exp.sh': EXP,
    'agent.sh': AGENT,
    'params.sh': 'LR=0.04\nACT=relu\n',
    'program.md': program(front),
  });
}

describe('research memory in a run', () => {
  it('shows lessons in the next brief, skips a re-worded, re-numbered repeat of a discarded idea under novelty: strict, and says when the run is on a plateau', async () => {
    const repo = repoWith('novelty: strict\nplateau_after: 2');
    await runHere(repo, { tag: 'm' });
    const rows = ledgerRows(repo, 'm');
    expect(rows.map((r) => r.status)).toEqual(['keep', 'discard', 'skipped', 'discard']);
    expect(rows[1]!.lessons).toBe('LR above 0.04 makes the score worse');
    expect(rows[2]!.reason).toBe(
      'the same change as discarded experiment 1 (raise LR to 0.05), 100% alike once numbers are masked (novelty: strict)',
    );

    const second = briefOf(repo, 'm', 2);
    expect(second).toContain('- 1 discard (raise LR to 0.05): LR above 0.04 makes the score worse');
    expect(second).not.toContain('## Plateau');
    const third = briefOf(repo, 'm', 3);
    expect(third).toContain(
      '- 2 skipped (bigger steps) made the same change as discarded 1 (raise LR to 0.05), 100% alike',
    );
    expect(third).not.toContain('## Plateau');
    // Two experiments ran without a keep (the skipped one never ran).
    const fourth = briefOf(repo, 'm', 4);
    expect(fourth).toContain('## Plateau: 2 experiments without a keep');
    expect(fourth).toContain('Nothing has been kept since the baseline.');
  });

  it('flags the repeat and still runs it by default', async () => {
    const repo = repoWith('');
    await runHere(repo, { tag: 'f' });
    const rows = ledgerRows(repo, 'f');
    expect(rows.map((r) => r.status)).toEqual(['keep', 'discard', 'discard', 'discard']);
    expect(JSON.parse(String(rows[2]!.novelty_json))).toEqual({
      like: 1,
      title: 'raise LR to 0.05',
      similarity: 1,
    });
    expect(briefOf(repo, 'f', 3)).toContain(
      '- 2 discard (bigger steps) made the same change as discarded 1 (raise LR to 0.05)',
    );
  });
});
