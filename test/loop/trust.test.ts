import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ledgerRows, makeRepo } from '../helpers/repo.js';
import { patchBetween } from '../helpers/patches.js';
import { detectCgroupSupport } from '../../src/executors/local.js';
import { runHere, statusHere } from '../helpers/run.js';

/** A repository whose scripted agent applies `steps` (params.sh contents, each against `from`). */
function repoWith(
  files: Record<string, string>,
  programExtra: string,
  steps: Array<[string, string] | [Record<string, string>, Record<string, string>]>,
  goal = 'minimize',
): string {
  const asFiles = (x: string | Record<string, string>) =>
    typeof x === 'string' ? { 'params.sh': x } : x;
  const ideas = steps.map(([from, to]) => patchBetween(asFiles(from), asFiles(to)));
  return makeRepo({
    ...files,
    ...Object.fromEntries(ideas.map((patch, i) => [`ideas/${i + 1}.patch`, patch])),
    'program.md': `---
metric: { name: score, goal: ${goal}, deterministic: true }
run: bash exp.sh
budget: 5s
editable: [params.sh, src]
protected: [${['exp.sh', 'eval.sh', 'holdout.sh'].filter((f) => f in files).join(', ')}]
agent: { name: scripted, patches: [${steps.map((_, i) => `ideas/${i + 1}.patch`).join(', ')}] }
${programExtra}---
`,
  });
}

const p = (v: number, extra = '') => `VALUE=${v}\n${extra}`;

describe('results you can trust', () => {
  it('decides on more than the metric: failing checks is invalid, never run, its output in the next brief; violating a constraint is discarded, naming it; simplicity discards a tiny win that adds much code and keeps an equal result with less code; status says the metric comes from editable code', async () => {
    const bloat = Array.from({ length: 40 }, (_, i) => `# helper line ${i}`).join('\n') + '\n';
    const params = p(5, 'P99=10\n');
    const repo = repoWith(
      {
        'exp.sh': 'source ./params.sh\necho "score: $VALUE"\necho "p99_ms: $P99"\n',
        'check.sh':
          'source ./params.sh\nif [ -n "$BROKEN" ]; then echo "lint: params.sh:3 unexpected BROKEN"; exit 1; fi\n',
        'params.sh': params,
        'src/util.sh': 'a=1\nb=2\nc=3\n',
      },
      'checks: bash check.sh\nconstraints: ["p99_ms <= 20"]\nsimplicity: 0.01\n',
      [
        [params, p(1, 'P99=10\nBROKEN=1\n')],
        [params, p(1, 'P99=35\n')],
        [{ 'params.sh': params }, { 'params.sh': p(4.9, 'P99=10\n'), 'src/big.sh': bloat }],
        [{ 'src/util.sh': 'a=1\nb=2\nc=3\n' }, { 'src/util.sh': 'a=1\n' }],
      ],
    );
    await runHere(repo, { tag: 'c' });
    const rows = ledgerRows(repo, 'c') as Array<
      ReturnType<typeof ledgerRows>[number] & { penalty: number | null }
    >;
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [0, 'keep'],
      [1, 'invalid'],
      [2, 'discard'],
      [3, 'discard'],
      [4, 'keep'],
    ]);
    expect(rows[1]!.reason).toContain('checks failed (exit code 1)');
    expect(rows[1]!.reason).toContain('lint: params.sh:3 unexpected BROKEN');
    expect(rows[1]!.primary_value).toBeNull(); // the expensive run never happened
    expect(readFileSync(join(repo, '.autoresearch/c/experiments/2/brief.md'), 'utf8')).toContain(
      'unexpected BROKEN',
    );
    expect(rows[2]!.reason).toBe('discarded: violates constraint p99_ms <= 20 (p99_ms = 35)');
    expect(rows[3]!.penalty).toBeCloseTo(0.4);
    expect(rows[3]!.reason).toContain('penalty +0.4');
    expect(rows[4]!.penalty).toBeCloseTo(-0.02);
    // Without an eval command, status says the metric comes from code the agent may edit.
    expect(await statusHere(repo)).toContain(
      "evaluation   from the run's own output: code the agent may edit prints the metric",
    );
  });

  it('trusts protected commands: the eval command over a fake metric printed by editable code, and the holdout of kept candidates, warning when validation improves while the holdout gets worse', async () => {
    const repo = repoWith(
      {
        'exp.sh':
          'source ./params.sh\necho $VALUE > out.txt\necho $HOLDOUT > model.txt\nbash -c "$EXTRA"\n',
        'eval.sh': 'read -r v <out.txt\necho "score: $v"\n',
        'holdout.sh': 'read -r v <model.txt\necho "score: $v"\n',
        'params.sh': p(5, 'HOLDOUT=5\n'),
      },
      'eval: bash eval.sh\nholdout: bash holdout.sh\nartifacts: [out.txt, model.txt]\n',
      [
        [p(5, 'HOLDOUT=5\n'), p(6, 'HOLDOUT=5\nEXTRA="echo score: 0; echo METRIC score=0"\n')],
        [p(5, 'HOLDOUT=5\n'), p(4, 'HOLDOUT=4.5\n')],
        [p(4, 'HOLDOUT=4.5\n'), p(3, 'HOLDOUT=6\n')],
        [p(3, 'HOLDOUT=6\n'), p(7, 'HOLDOUT=1\n')],
      ],
    );
    const { output } = await runHere(repo, { tag: 'e' });
    const rows = ledgerRows(repo, 'e') as Array<
      ReturnType<typeof ledgerRows>[number] & { holdout_value: number | null }
    >;
    // The fake score of experiment 1 is ignored: the eval command says 6.
    expect(rows.map((r) => [r.status, r.primary_value, r.holdout_value])).toEqual([
      ['keep', 5, 5],
      ['discard', 6, null],
      ['keep', 4, 4.5],
      ['keep', 3, 6],
      ['discard', 7, null],
    ]);
    expect(readFileSync(rows[1]!.log_path!, 'utf8')).toContain('METRIC score=0'); // it did try
    expect(output).toContain(
      'warning: experiment 3: validation improved but the holdout got worse: 4.5 -> 6',
    );
    const status = await statusHere(repo);
    expect(status).toContain('evaluation   by the protected eval command');
    expect(status).toContain('holdout      baseline 5, best 6');
    expect(status).toContain('warning      #3: validation improved but the holdout got worse');
  });
});

describe('confirmed keeps on a noisy metric', () => {
  it('measures the noise, confirms in pairs, does not keep a neutral change, keeps a real one, and explains both', async () => {
    // score = VALUE + N(0, 0.1), the noise drawn from the harness's per-measurement seed, so the
    // test is repeatable and every repeat differs.
    const exp = `source ./params.sh
awk -v v="$VALUE" -v s="$AUTORESEARCH_SEED" 'BEGIN { srand(s); u = rand(); w = rand(); printf "score: %.6f\\n", v + 0.1 * sqrt(-2 * log(u + 1e-12)) * cos(6.2831853 * w) }'
`;
    const repo = makeRepo({
      'exp.sh': exp,
      'params.sh': p(5, '# tuned\n'),
      'ideas/1.patch': patchBetween(
        { 'params.sh': p(5, '# tuned\n') },
        { 'params.sh': p(5, '# retuned (no real change)\n') },
      ),
      'ideas/2.patch': patchBetween(
        { 'params.sh': p(5, '# tuned\n') },
        { 'params.sh': p(4, '# tuned\n') },
      ),
      'program.md': `---\nmetric: { name: score, goal: minimize }\nrun: bash exp.sh\nbudget: 5s\neditable: [params.sh]\nprotected: [exp.sh]\nagent: { name: scripted, patches: [ideas/1.patch, ideas/2.patch] }\n---\n`,
    });
    const { output } = await runHere(repo, { tag: 'n' });
    const rows = ledgerRows(repo, 'n') as Array<{
      id: number;
      status: string;
      reason: string;
      n_runs: number;
      spread: number | null;
      primary_value: number;
      candidate_commit: string;
    }>;
    // The baseline ran 3 times first (the noise); the incumbent's later runs came beside candidates.
    expect(arms(repo, 'n', 0, rows[0]!.candidate_commit)).toBe('CCC');
    expect(rows[0]!.spread).toBeGreaterThan(0.02);
    // The neutral change looked better on its first run (noise), so it was measured in pairs
    // with the incumbent, interleaved in time, and the paired differences said it is not better.
    expect(rows[1]!.status).toBe('discard');
    expect(arms(repo, 'n', 1, rows[1]!.candidate_commit)).toBe('CIIC');
    expect(rows[1]!.reason).toMatch(
      /^discarded: paired \+[\d.]+ \+- [\d.]+ \(\+[\d.]+%\), 2 pairs, not better$/,
    );
    // The real one is kept on 2 pairs (never on one run), with its numbers.
    expect(rows[2]!.status).toBe('keep');
    expect(arms(repo, 'n', 2, rows[2]!.candidate_commit)).toBe('CIIC');
    expect(rows[2]!.reason).toMatch(
      /^kept: paired -[\d.]+ \+- [\d.]+ \(-[\d.]+%\), 2 pairs, p=[\d.e-]+ \(needs p < 0\.025\)$/,
    );
    expect(rows[2]!.primary_value).toBeGreaterThan(3.7);
    expect(rows[2]!.primary_value).toBeLessThan(4.3);
    // The progress output explains the decision with its numbers.
    expect(output).toMatch(/#2 keep .*\(kept: paired -[\d.]+ \+- [\d.]+ \(-[\d.]+%\), 2 pairs, p=/);
  });
});

describe('the holdout of a keep confirmed in pairs', () => {
  it("scores what the candidate's run produced, even when the incumbent ran last", async () => {
    const exp = `source ./params.sh
echo $HOLDOUT > model.txt
awk -v v="$VALUE" -v s="$AUTORESEARCH_SEED" 'BEGIN { srand(s); u = rand(); w = rand(); printf "score: %.6f\\n", v + 0.1 * sqrt(-2 * log(u + 1e-12)) * cos(6.2831853 * w) }'
`;
    const repo = makeRepo({
      'exp.sh': exp,
      'holdout.sh': 'read -r v <model.txt\necho "score: $v"\n',
      'params.sh': p(5, 'HOLDOUT=5\n'),
      'ideas/1.patch': patchBetween(
        { 'params.sh': p(5, 'HOLDOUT=5\n') },
        { 'params.sh': p(4, 'HOLDOUT=4.5\n') },
      ),
      // Three pairs to keep: C I I C C I, the incumbent's run last in the worktree (one baseline
      // run: the noise is not what this is about).
      'program.md': `---\nmetric: { name: score, goal: minimize }\nrun: bash exp.sh\nbudget: 5s\neditable: [params.sh]\nprotected: [exp.sh, holdout.sh]\nholdout: bash holdout.sh\nartifacts: [model.txt]\nrepeats: { baseline: 1, confirm: 3, max: 3 }\nagent: { name: scripted, patches: [ideas/1.patch] }\n---\n`,
    });
    await runHere(repo, { tag: 'ho' });
    const rows = ledgerRows(repo, 'ho') as Array<{
      status: string;
      holdout_value: number | null;
      candidate_commit: string;
    }>;
    expect(rows.map((r) => [r.status, r.holdout_value])).toEqual([
      ['keep', 5],
      ['keep', 4.5],
    ]);
    // The candidate ran once more for its holdout, after the incumbent's last run.
    expect(arms(repo, 'ho', 1, rows[1]!.candidate_commit)).toBe('CIICCIC');
  });
});

/** The runs taken while experiment `id` was judged, in order: C for its candidate, I for the incumbent. */
function arms(repo: string, tag: string, id: number, candidate: string): string {
  const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), { readonly: true });
  try {
    const runs = db
      .prepare(
        'SELECT commit_sha FROM measurements WHERE run_tag = ? AND during_id = ? ORDER BY rowid',
      )
      .all(tag, id) as Array<{ commit_sha: string }>;
    return runs.map((m) => (m.commit_sha === candidate ? 'C' : 'I')).join('');
  } finally {
    db.close();
  }
}

describe('resource limits in the loop', () => {
  it.skipIf(!detectCgroupSupport())(
    'records a run killed for memory as a crash that says so',
    async () => {
      const repo = repoWith(
        {
          'exp.sh':
            'source ./params.sh\nnode -e "const b = []; for (let i = 0; i < $CHUNKS; i++) b.push(Buffer.alloc(20 * 1024 * 1024, 1)); console.log(\'score: $VALUE\')"\n',
          'params.sh': p(5, 'CHUNKS=1\n'),
        },
        'limits: { memory: 150MB }\n',
        [[p(5, 'CHUNKS=1\n'), p(1, 'CHUNKS=20\n')]],
      );
      await runHere(repo, { tag: 'm' });
      const rows = ledgerRows(repo, 'm');
      expect(rows.map((r) => r.status)).toEqual(['keep', 'crash']);
      expect(rows[1]!.reason).toMatch(/^out of memory: the tree hit the 0\.15 GB limit/);
    },
  );
});
