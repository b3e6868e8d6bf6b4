import { describe, expect, it } from 'vitest';
import { cli, gitIn, ledgerRows, makeRepo } from '../helpers/repo.js';

// Each proposal adds a file v/<id>; the score is the sum of the ids present, so a later proposal
// beats an earlier incumbent, and two slots regularly finish against a moved incumbent.
const EXP = `#!/bin/bash
sleep 0.$((RANDOM % 4 + 1))
total=0; for f in v/*; do [ -e "$f" ] && total=$((total + $(cat "$f"))); done
echo "score: $total"
`;

describe('parallel slots', () => {
  it('keeps one ledger and one branch consistent, re-basing winners onto a moved incumbent', () => {
    const repo = makeRepo({
      'exp.sh': EXP,
      'v/0': '0\n',
      'program.md': `---
metric: { name: score, goal: maximize }
run: bash exp.sh
budget: 5s
editable: ["v/*"]
protected: [exp.sh]
agent: { name: command, command: 'echo $AUTORESEARCH_EXPERIMENT_ID > v/$AUTORESEARCH_EXPERIMENT_ID; echo "TITLE: add $AUTORESEARCH_EXPERIMENT_ID"' }
---
`,
    });
    const r = cli(repo, ['run', '--tag', 'p', '--parallel', '3', '-n', '12']);
    expect(r.code).toBe(0);
    const rows = ledgerRows(repo, 'p');
    expect(rows.map((x) => x.id)).toEqual([...Array(13).keys()]); // no id twice, none missing
    expect(rows.every((x) => x.state === 'recorded')).toBe(true);
    const slots = new Set(rows.slice(1).map((x) => (x as unknown as { slot: number }).slot));
    expect(slots.size).toBe(3);
    // The branch is a first-parent chain of exactly the kept commits, in the order they were kept.
    const kept = rows.filter((x) => x.status === 'keep' && x.id > 0).sort((a, b) => (a as unknown as { recorded_at: number }).recorded_at - (b as unknown as { recorded_at: number }).recorded_at);
    const chain = gitIn(repo, 'rev-list', '--first-parent', 'autoresearch/p').split('\n').reverse().slice(1);
    expect(chain).toEqual(kept.map((k) => k.candidate_commit));
    // A re-based keep carries every earlier kept change plus its own.
    const head = gitIn(repo, 'ls-tree', '--name-only', 'autoresearch/p', 'v/').split('\n').sort();
    expect(head).toEqual(['v/0', ...kept.map((k) => `v/${k.id}`)].sort());
    const rebased = rows.filter((x) => x.reason?.includes('re-based onto experiment'));
    for (const x of rebased) expect(x.candidate_commit).not.toBe(gitIn(repo, 'rev-parse', `refs/autoresearch/p/${x.id}`));
    expect(kept.length).toBeGreaterThan(1);
    // Changes to different files never conflict.
    expect(rows.filter((x) => x.reason?.includes('conflicts'))).toEqual([]);
  });
});
