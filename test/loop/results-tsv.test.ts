/** `results_tsv:` on a real run: the file where notebooks expect it, and the user's checkout left clean. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIn, makeRepo } from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';

const program = (extra: string) => `---
metric: { name: val_bpb, goal: minimize, deterministic: true }
run: bash train.sh
budget: 5s
editable: [params.sh]
protected: [train.sh]
agent: { name: command, command: "echo VALUE=2 > params.sh" }
${extra}---
Lower val_bpb.
`;
// The summary block the karpathy train.py prints at the end of a run.
const TRAIN =
  '#!/bin/bash\nsource ./params.sh\necho "---"\necho "val_bpb:          $VALUE.5"\necho "peak_vram_mb:     $((VALUE * 1024)).0"\n';

describe('results_tsv', () => {
  it('writes results.tsv at the repository root, keeps it out of git status, and memory_gb is peak_vram_mb / 1024', async () => {
    const repo = makeRepo({
      'train.sh': TRAIN,
      'params.sh': 'VALUE=3\n',
      'program.md': program('results_tsv: results.tsv\n'),
    });
    await runHere(repo, { tag: 'root', maxExperiments: 1 });
    const tsv = readFileSync(join(repo, 'results.tsv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(tsv.map((l) => l.slice(1, 5))).toEqual([
      ['val_bpb', 'memory_gb', 'status', 'description'],
      ['3.500000', '3.0', 'keep', 'baseline'],
      ['2.500000', '2.0', 'keep', expect.any(String)],
    ]);
    expect(existsSync(join(repo, '.autoresearch', 'root', 'results.tsv'))).toBe(false);
    expect(gitIn(repo, 'status', '--porcelain')).toBe('');
    expect((await cliHere(repo, ['status', '--tag', 'root'])).stdout).toMatch(
      /^results {6}results\.tsv$/m,
    );
  });

  it('refuses to overwrite a results.tsv that git tracks, and a path outside the repository', async () => {
    const tracked = makeRepo({
      'train.sh': TRAIN,
      'params.sh': 'VALUE=3\n',
      'results.tsv': 'my notes\n',
      'program.md': program('results_tsv: results.tsv\n'),
    });
    const refused = runHere(tracked, { tag: 'tr', maxExperiments: 1 });
    await expect(refused).rejects.toThrow('results_tsv: results.tsv is tracked by git');
    await expect(refused).rejects.toThrow('git rm --cached results.tsv');
    expect(readFileSync(join(tracked, 'results.tsv'), 'utf8')).toBe('my notes\n');
    expect(gitIn(tracked, 'branch', '--list', 'autoresearch/*')).toBe('');

    const outside = makeRepo({
      'train.sh': TRAIN,
      'params.sh': 'VALUE=3\n',
      'program.md': program('results_tsv: ../results.tsv\n'),
    });
    await expect(runHere(outside, { tag: 'out', maxExperiments: 1 })).rejects.toThrow(
      'program.md:8: results_tsv: write a file path inside the repository, relative to its root',
    );
  });
});
