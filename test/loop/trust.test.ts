import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, gitIn, ledgerRows, makeRepo, writeFiles } from '../helpers/repo.js';
import { patchBetween } from '../helpers/patches.js';
import { detectCgroupSupport } from '../../src/executors/local.js';
import { runHere } from '../helpers/run.js';

/** A repository whose scripted agent applies `steps` (params.sh contents, each against `from`). */
function repoWith(
  files: Record<string, string>,
  programExtra: string,
  steps: Array<[string, string] | [Record<string, string>, Record<string, string>]>,
  goal = 'minimize',
): string {
  const repo = makeRepo(files);
  steps.forEach(([from, to], i) => {
    const before = typeof from === 'string' ? { 'params.sh': from } : from;
    const after = typeof to === 'string' ? { 'params.sh': to } : to;
    writeFiles(repo, { [`ideas/${i + 1}.patch`]: patchBetween(repo, before, after) });
  });
  writeFiles(repo, {
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
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'program');
  return repo;
}

const p = (v: number, extra = '') => `VALUE=${v}\n${extra}`;

describe('results you can trust', () => {
  it('runs checks first: a candidate that passes the metric but fails checks is invalid, and the output reaches the next brief', async () => {
    const repo = repoWith(
      {
        'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
        'check.sh':
          'source ./params.sh\nif [ -n "$BROKEN" ]; then echo "lint: params.sh:2 unexpected BROKEN"; exit 1; fi\n',
        'params.sh': p(5),
      },
      'checks: bash check.sh\n',
      [
        [p(5), p(1, 'BROKEN=1\n')],
        [p(5), p(4)],
      ],
    );
    await runHere(repo, { tag: 'c' });
    const rows = ledgerRows(repo, 'c');
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [0, 'keep'],
      [1, 'invalid'],
      [2, 'keep'],
    ]);
    expect(rows[1]!.reason).toContain('checks failed (exit code 1)');
    expect(rows[1]!.reason).toContain('lint: params.sh:2 unexpected BROKEN');
    expect(rows[1]!.primary_value).toBeNull(); // the expensive run never happened
    expect(readFileSync(join(repo, '.autoresearch/c/experiments/2/brief.md'), 'utf8')).toContain(
      'unexpected BROKEN',
    );
  });

  it('discards a candidate that violates a constraint, naming it', async () => {
    const repo = repoWith(
      {
        'exp.sh': 'source ./params.sh\necho "score: $VALUE"\necho "p99_ms: $P99"\n',
        'params.sh': p(5, 'P99=10\n'),
      },
      'constraints: ["p99_ms <= 20"]\n',
      [
        [p(5, 'P99=10\n'), p(1, 'P99=35\n')],
        [p(5, 'P99=10\n'), p(4, 'P99=12\n')],
      ],
    );
    await runHere(repo, { tag: 'k' });
    const rows = ledgerRows(repo, 'k');
    expect(rows.map((r) => r.status)).toEqual(['keep', 'discard', 'keep']);
    expect(rows[1]!.reason).toBe('discarded: violates constraint p99_ms <= 20 (p99_ms = 35)');
  });

  it('ignores a fake metric printed by editable code when a protected eval command is set', async () => {
    const repo = repoWith(
      {
        'exp.sh': 'source ./params.sh\necho $VALUE > out.txt\nbash -c "$EXTRA"\n',
        'eval.sh': 'echo "score: $(cat out.txt)"\n',
        'params.sh': p(5),
      },
      'eval: bash eval.sh\nartifacts: [out.txt]\n',
      [
        [p(5), p(6, 'EXTRA="echo score: 0; echo METRIC score=0"\n')],
        [p(5), p(4)],
      ],
    );
    await runHere(repo, { tag: 'e' });
    const rows = ledgerRows(repo, 'e');
    expect(rows.map((r) => [r.status, r.primary_value])).toEqual([
      ['keep', 5],
      ['discard', 6],
      ['keep', 4],
    ]);
    expect(readFileSync(rows[1]!.log_path!, 'utf8')).toContain('METRIC score=0'); // it did try
    const status = cli(repo, ['status']).stdout;
    expect(status).toContain('evaluation   by the protected eval command');
  });

  it('says when the metric comes from agent-editable code', async () => {
    const repo = repoWith(
      { 'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n', 'params.sh': p(5) },
      '',
      [[p(5), p(4)]],
    );
    await runHere(repo, { tag: 'u' });
    expect(cli(repo, ['status']).stdout).toContain(
      "from the run's own output: code the agent may edit prints the metric",
    );
  });

  it('runs the holdout on kept candidates and warns when validation improves while the holdout gets worse', async () => {
    const repo = repoWith(
      {
        'exp.sh': 'source ./params.sh\necho "score: $VALUE"\necho $HOLDOUT > model.txt\n',
        'holdout.sh': 'echo "score: $(cat model.txt)"\n',
        'params.sh': p(5, 'HOLDOUT=5\n'),
      },
      'holdout: bash holdout.sh\nartifacts: [model.txt]\n',
      [
        [p(5, 'HOLDOUT=5\n'), p(4, 'HOLDOUT=4.5\n')],
        [p(4, 'HOLDOUT=4.5\n'), p(3, 'HOLDOUT=6\n')],
        [p(3, 'HOLDOUT=6\n'), p(7, 'HOLDOUT=1\n')],
      ],
    );
    const { output } = await runHere(repo, { tag: 'h' });
    expect(output).toContain(
      'warning: experiment 2: validation improved but the holdout got worse: 4.5 -> 6',
    );
    const rows = ledgerRows(repo, 'h') as Array<{ status: string; holdout_value: number | null }>;
    expect(rows.map((x) => [x.status, x.holdout_value])).toEqual([
      ['keep', 5],
      ['keep', 4.5],
      ['keep', 6],
      ['discard', null],
    ]);
    const status = cli(repo, ['status']).stdout;
    expect(status).toContain('holdout      baseline 5, best 6');
    expect(status).toContain('warning      #2: validation improved but the holdout got worse');
  });

  it('simplicity: a tiny win that adds much code is discarded, an equal result with less code is kept', async () => {
    const bloat = Array.from({ length: 40 }, (_, i) => `# helper line ${i}`).join('\n') + '\n';
    const repo = repoWith(
      {
        'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
        'params.sh': p(5),
        'src/util.sh': 'a=1\nb=2\nc=3\n',
      },
      'simplicity: 0.01\n',
      [
        [{ 'params.sh': p(5) }, { 'params.sh': p(4.9), 'src/big.sh': bloat }],
        [{ 'src/util.sh': 'a=1\nb=2\nc=3\n' }, { 'src/util.sh': 'a=1\n' }],
      ],
    );
    await runHere(repo, { tag: 's' });
    const rows = ledgerRows(repo, 's') as Array<{
      status: string;
      reason: string | null;
      penalty: number | null;
    }>;
    expect(rows.map((x) => x.status)).toEqual(['keep', 'discard', 'keep']);
    expect(rows[1]!.penalty).toBeCloseTo(0.4);
    expect(rows[1]!.reason).toContain('penalty +0.4');
    expect(rows[2]!.penalty).toBeCloseTo(-0.02);
  });
});

describe('confirmed keeps on a noisy metric', () => {
  it('measures the noise, confirms in pairs, does not keep a neutral change, keeps a real one, and explains both', async () => {
    // score = VALUE + N(0, 0.1), the noise drawn from the harness's per-measurement seed, so the
    // test is repeatable and every repeat differs.
    const exp = `source ./params.sh
awk -v v="$VALUE" -v s="$AUTORESEARCH_SEED" 'BEGIN { srand(s); u = rand(); w = rand(); printf "score: %.6f\\n", v + 0.1 * sqrt(-2 * log(u + 1e-12)) * cos(6.2831853 * w) }'
`;
    const repo = makeRepo({ 'exp.sh': exp, 'params.sh': p(5, '# tuned\n') });
    writeFiles(repo, {
      'ideas/1.patch': patchBetween(
        repo,
        { 'params.sh': p(5, '# tuned\n') },
        { 'params.sh': p(5, '# retuned (no real change)\n') },
      ),
      'ideas/2.patch': patchBetween(
        repo,
        { 'params.sh': p(5, '# tuned\n') },
        { 'params.sh': p(4, '# tuned\n') },
      ),
      'program.md': `---\nmetric: { name: score, goal: minimize }\nrun: bash exp.sh\nbudget: 5s\neditable: [params.sh]\nprotected: [exp.sh]\nagent: { name: scripted, patches: [ideas/1.patch, ideas/2.patch] }\n---\n`,
    });
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'program');
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
      'holdout.sh': 'echo "score: $(cat model.txt)"\n',
      'params.sh': p(5, 'HOLDOUT=5\n'),
    });
    writeFiles(repo, {
      'ideas/1.patch': patchBetween(
        repo,
        { 'params.sh': p(5, 'HOLDOUT=5\n') },
        { 'params.sh': p(4, 'HOLDOUT=4.5\n') },
      ),
      // Three pairs to keep: C I I C C I, the incumbent's run last in the worktree.
      'program.md': `---\nmetric: { name: score, goal: minimize }\nrun: bash exp.sh\nbudget: 5s\neditable: [params.sh]\nprotected: [exp.sh, holdout.sh]\nholdout: bash holdout.sh\nartifacts: [model.txt]\nrepeats: { confirm: 3, max: 3 }\nagent: { name: scripted, patches: [ideas/1.patch] }\n---\n`,
    });
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'program');
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
