/**
 * Harness overhead per experiment: a no-op experiment and a scripted agent, so everything measured
 * is the harness (git, ledger, results.tsv, process spawn, checks), at ledger sizes 0 and 10,000.
 * Each experiment adds one new file (no duplicates); the metric is constant (every one a discard).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../ledger/ledger.js';
import { emptyExperiment } from '../loop/experiment.js';
import type { LoopEvent } from '../loop/events.js';
import { startRun } from '../run.js';
import { LocalExecutor } from '../executors/local.js';
import { detectSandbox } from '../sandbox/detect.js';
import { median } from '../policy/stats.js';
import { benchGit } from './fixture.js';

const git = benchGit;

function newFilePatch(k: number): string {
  return `diff --git a/n/${k}.txt b/n/${k}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/n/${k}.txt\n@@ -0,0 +1 @@\n+${k}\n`;
}

interface OverheadResult {
  ledgerRows: number;
  experiments: number;
  medianMs: number;
  p90Ms: number;
}

function summarize(ledgerRows: number, times: number[]): OverheadResult {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    ledgerRows,
    experiments: times.length,
    medianMs: median(times),
    p90Ms: sorted[Math.floor(sorted.length * 0.9)]!,
  };
}

/** Runs `experiments` scripted no-op experiments after pre-filling the ledger with `prefill` rows. */
async function measureOverhead(
  experiments: number,
  prefill: number,
  containment: 'auto' | 'process-group' = 'auto',
  sandbox: 'auto' | 'off' = 'auto',
): Promise<number[]> {
  const repo = mkdtempSync(join(tmpdir(), 'ar-bench-'));
  try {
    git(repo, 'init', '-q');
    mkdirSync(join(repo, 'ideas'));
    // The scripted agent's k-th proposal takes patch k; pre-filled history counts as proposals,
    // so the measured experiments use the patches after it.
    const skip = prefill > 0 ? prefill + 1 : 0;
    const patches = Array.from({ length: skip + experiments }, (_, i) => {
      const path = `ideas/${i}.patch`;
      if (i >= skip || i === 0) writeFileSync(join(repo, path), newFilePatch(i));
      return path;
    });
    writeFileSync(join(repo, 'evaluate.sh'), 'echo "score: 1"\n');
    writeFileSync(
      join(repo, 'program.md'),
      `---\nmetric: { name: score, goal: minimize }\nrun: 'echo "score: 1"'\nbudget: 10s\neditable: ["n/**"]\nprotected: [evaluate.sh]\nsandbox: ${sandbox}\nagent: { name: scripted, patches: [${patches.join(', ')}] }\n---\n`,
    );
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'bench');
    const times: number[] = [];
    let last = 0;
    const onEvent = (e: LoopEvent) => {
      if (e.type !== 'recorded') return;
      const now = performance.now();
      if (e.experiment.id > 1) times.push(now - last);
      last = now;
    };
    if (prefill > 0) {
      // Start the run for one experiment, then fill the ledger with recorded history.
      await startRun({ cwd: repo, tag: 'b', maxExperiments: 1, onEvent: () => {} });
      const ledger = new Ledger(join(repo, '.autoresearch/ledger.sqlite'));
      const base = git(repo, 'rev-parse', 'HEAD');
      ledger.batch(() => {
        for (let i = 0; i < prefill; i++) {
          ledger.insertExperiment({
            ...emptyExperiment('b', 0, 'scripted', base),
            state: 'recorded',
            status: 'discard',
            id: i + 2,
            title: `history ${i}`,
            primary_value: 1 + i * 1e-6,
            tree: `fake-tree-${i}`,
            candidate_commit: base,
            recorded_at: Date.now(),
          });
        }
      });
      ledger.close();
    }
    await startRun({
      cwd: repo,
      tag: 'b',
      maxExperiments: experiments + (prefill > 0 ? prefill + 1 : 0),
      onEvent,
      executor: new LocalExecutor({ containment }),
    });
    return times;
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

export async function benchOverhead(experiments = 200): Promise<string> {
  const sealed = (await detectSandbox()).sealed;
  const configs = [
    [0, 'auto', 'auto'],
    [0, 'auto', 'off'],
    [10_000, 'auto', 'auto'],
    [0, 'process-group', 'auto'],
  ] as const;
  // Side by side: the configurations take turns in rounds, so a machine that gets busier or
  // quieter during the bench weighs on each of them alike.
  const rounds = 4;
  const times: number[][] = configs.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, [prefill, containment, sandbox]] of configs.entries()) {
      const n = Math.ceil(experiments / rounds);
      times[i]!.push(...(await measureOverhead(n, prefill, containment, sandbox)));
    }
  }
  const rows = configs.map(([prefill], i) => summarize(prefill, times[i]!));
  const labels = configs.map(
    ([, containment, sandbox]) =>
      `${containment === 'auto' ? 'default' : containment}, ${sandbox === 'off' || !sealed ? 'unsealed' : 'sealed'}`,
  );
  const lines = [
    `Harness overhead per experiment (no-op experiment, scripted agent, about ${experiments} experiments each in ${rounds} interleaved rounds; targets: sandbox < 20 ms, < 60 ms at 10,000 rows)`,
    'ledger rows  containment, sandbox        experiments  median ms  p90 ms',
    ...rows.map(
      (r, i) =>
        `${String(r.ledgerRows).padStart(11)}  ${labels[i]!.padEnd(24)}  ${String(r.experiments).padStart(11)}  ${r.medianMs.toFixed(1).padStart(9)}  ${r.p90Ms.toFixed(1).padStart(6)}`,
    ),
    `sandbox cost: ${(rows[0]!.medianMs - rows[1]!.medianMs).toFixed(1)} ms per experiment (sealed minus unsealed medians)`,
    `ratio 10,000 rows / 0 rows: ${(rows[2]!.medianMs / rows[0]!.medianMs).toFixed(2)}x`,
  ];
  return lines.join('\n');
}
