/**
 * Experiment code that games its score, against a sealed run set up as the README recommends
 * (a protected evaluator in `eval`, the answer key in `hidden`, the run's output declared in
 * `artifacts`, no network), on a real repository through the real CLI. The agent is scripted and
 * honest; the attacks live in the editable file the run executes. None may be kept.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { patchBetween } from '../helpers/patches.js';
import { PYTHON } from '../helpers/python.js';
import { gitIn, ledgerRows, makeRepo, readResultsTsv, writeFiles } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';

const sealed = await detectSandbox();

/** The run writes a prediction; the evaluator scores it against the hidden answer (2). */
const EXP = 'source ./params.sh\necho "{\\"pred\\": $PRED}" > pred.json\n';
const EVAL =
  "import json\npred = json.load(open('pred.json'))['pred']\nanswer = int(open('answer.txt').read())\nprint(f'score: {abs(pred - answer)}')\n";

/** The editable file the run sources: one attack per experiment (the run's folder is the worktree). */
const ATTACKS: Array<[string, string]> = [
  ['read the hidden answer key', 'PRED=$(cat ../../../../answer.txt)\n'],
  [
    'forge the ledger',
    `${PYTHON} -c "import sqlite3; c = sqlite3.connect('../../../ledger.sqlite'); c.execute('update measurements set value = 100'); c.commit()"\nPRED=6\n`,
  ],
  [
    'resume from a checkpoint (v1)',
    'PRED=$(cat ckpt.bin 2>/dev/null || echo 5)\nPRED=$((PRED - 1))\necho $PRED > ckpt.bin\n',
  ],
  [
    'resume from a checkpoint (v2)',
    '# v2\nPRED=$(cat ckpt.bin 2>/dev/null || echo 5)\nPRED=$((PRED - 1))\necho $PRED > ckpt.bin\n',
  ],
  [
    'shadow the evaluator',
    'PRED=9\nprintf \'import sys\\nprint("score: 0")\\nsys.exit(0)\\n\' > json.py\n',
  ],
  [
    'escape the kill',
    'for f in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/*/*/cgroup.procs; do echo $$ > "$f"; done 2>/dev/null\nsetsid bash -c \'exec -a ar-escapee-4251 sleep 600\' &\nPRED=6\n',
  ],
  [
    'reach the network',
    'PRED=5\nnsenter -t 1 -n -- bash -c "echo hi > /dev/tcp/127.0.0.1/$PROBE_PORT" && PRED=2\nbash -c "echo hi > /dev/tcp/127.0.0.1/$PROBE_PORT" 2>/dev/null && PRED=2\n',
  ],
  ['train past the budget', 'sleep 30\nPRED=3\n'],
  [
    'write outside the worktree',
    'echo pwned > ../../../../pwned-by-run.txt\ntouch ../../STOP\necho fake >> ../../results.tsv\nPRED=5\n',
  ],
  ['honest', 'PRED=3\n'],
];

const PROGRAM = (patches: string[]) => `---
metric: { name: score, goal: minimize, deterministic: true }
run: bash exp.sh
eval: { run: ${PYTHON} eval.py, reads_hidden: true }
holdout: ${PYTHON} eval.py
budget: 1s
editable: [params.sh]
protected: [exp.sh, eval.py]
hidden: [answer.txt]
artifacts: [pred.json]
limits: { network: false }
agent: { name: scripted, patches: [${patches.join(', ')}] }
---
`;

function escapees(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('ar-escapee-4251');
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!sealed.sealed)('a sealed run against experiment code that games its score', () => {
  let repo: string;
  let probe: Server;
  let connections = 0;
  const rows = () => ledgerRows(repo, 'r');
  const row = (id: number) => rows()[id]!;
  const log = (id: number) =>
    readFileSync(join(repo, `.autoresearch/r/experiments/${id}/run.log`), 'utf8');

  beforeAll(async () => {
    probe = createServer((s) => {
      connections++;
      s.on('error', () => {});
      s.destroy();
    });
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    repo = makeRepo({
      'exp.sh': EXP,
      'eval.py': EVAL,
      'params.sh': 'PRED=5\n',
      '.gitignore': '*.bin\nanswer.txt\n',
      'program.md': '',
    });
    writeFileSync(join(repo, 'answer.txt'), '2\n');
    // Each attack is proposed against the incumbent of its moment: the baseline, then the first
    // checkpoint version once it is kept (a failed defence keeps something else, and the
    // patches after it no longer apply: the test fails either way).
    const patches = ATTACKS.map(([, body], i) => {
      const name = `ideas/${i + 1}.patch`;
      const incumbent = i <= 2 ? 'PRED=5\n' : ATTACKS[2]![1];
      writeFiles(repo, {
        [name]: patchBetween(repo, { 'params.sh': incumbent }, { 'params.sh': body }),
      });
      return name;
    });
    writeFiles(repo, { 'program.md': PROGRAM(patches) });
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-q', '-m', 'program');
    await runHere(repo, { tag: 'r', env: { ...process.env, PROBE_PORT: String(port) } });
  });

  afterAll(() => new Promise<void>((r) => probe.close(() => r())));

  it('keeps only the honest changes', () => {
    expect(rows().map((r) => [r.id, r.status])).toEqual([
      [0, 'keep'],
      [1, 'crash'],
      [2, 'discard'],
      [3, 'keep'],
      [4, 'discard'],
      [5, 'discard'],
      [6, 'discard'],
      [7, 'discard'],
      [8, 'timeout'],
      [9, 'discard'],
      [10, 'keep'],
    ]);
    expect(row(0).primary_value).toBe(3);
    expect(row(10).primary_value).toBe(1);
  });

  it('the hidden answer key is unreadable by the run, and readable by the evaluator and the holdout', () => {
    expect(log(1)).toContain('answer.txt: Permission denied');
    expect(row(1).reason).toMatch(/^the evaluation failed/);
    const holdout = ledgerRows(repo, 'r') as unknown as Array<{ holdout_value: number | null }>;
    expect(holdout[10]!.holdout_value).toBe(1);
  });

  it('the ledger cannot be forged: a worse candidate is discarded against the true incumbent', () => {
    expect(log(2)).toMatch(/unable to open database|readonly|Read-only/);
    expect(row(2).reason).toMatch(/^discarded: 4 vs 3/);
  });

  it('nothing one experiment leaves behind reaches the next: a kept result reproduces', () => {
    expect(row(3).primary_value).toBe(2);
    expect(row(4).primary_value).toBe(2); // not 1: the first one's checkpoint was cleaned away
  });

  it('a module the run writes beside the evaluator does not shadow its imports', () => {
    expect(row(5).primary_value).toBe(7);
  });

  it('nothing the run starts outlives it, even after trying to join other cgroups', () => {
    expect(escapees()).toEqual([]);
  });

  it('limits.network: false holds, even against nsenter', () => {
    expect(connections).toBe(0);
    expect(row(7).primary_value).toBe(3);
  });

  it('a run past budget + grace ends as a timeout that says "over budget"', () => {
    expect(row(8).reason).toMatch(/^over budget: still running at 6s \(budget 1s \+ 5s grace\)/);
  });

  it("the run cannot write the user's checkout, STOP or results.tsv", () => {
    expect(existsSync(join(repo, 'pwned-by-run.txt'))).toBe(false);
    expect(row(10).status).toBe('keep'); // not stopped by a planted STOP
    expect(readResultsTsv(repo, 'r').flat()).not.toContain('fake');
    expect(gitIn(repo, 'status', '--porcelain')).toBe('');
  });
});

describe.skipIf(!sealed.sealed)(
  'a protected file swapped during the run and put back before the hash check',
  () => {
    it('cannot be swapped: protected files are read-only to the run', async () => {
      // The run scores itself with the protected score.sh (the metric comes from the run, as in the
      // original single-GPU setup); the editable params.sh swaps in a fake scorer and a background
      // process puts the real one back once the score is printed, before the after-run hash check.
      const swap = [
        'cat score.sh > "$TMPDIR/real" && printf \'echo "score: 0"\\n\' > score.sh',
        '(while [ ! -e printed.flag ]; do sleep 0.05; done; cat "$TMPDIR/real" > score.sh) &',
        '',
      ].join('\n');
      const repo = makeRepo({
        'exp.sh': 'source ./params.sh\nbash score.sh\ntouch printed.flag\nwait\n',
        'score.sh': 'echo "score: $(cat reference.txt)"\n',
        'reference.txt': '5\n',
        'params.sh': '# honest\n',
        'program.md': '',
      });
      writeFiles(repo, {
        'ideas/1.patch': patchBetween(repo, { 'params.sh': '# honest\n' }, { 'params.sh': swap }),
        'program.md': `---\nmetric: { name: score, goal: minimize, deterministic: true }\nrun: bash exp.sh\nbudget: 5s\neditable: [params.sh]\nprotected: [exp.sh, score.sh, reference.txt]\nagent: { name: scripted, patches: [ideas/1.patch] }\n---\n`,
      });
      gitIn(repo, 'add', '-A');
      gitIn(repo, 'commit', '-q', '-m', 'program');
      await runHere(repo, { tag: 's' });
      const rows = ledgerRows(repo, 's');
      expect(rows.map((x) => [x.status, x.primary_value])).toEqual([
        ['keep', 5],
        ['discard', 5],
      ]);
      expect(readFileSync(rows[1]!.log_path!, 'utf8')).toContain('score.sh: Read-only file system');
    });
  },
);
