/**
 * Throughput with 1, 2 and 4 slots on sleep experiments of fixed length: experiments per minute
 * and the ratio to 1 slot (target: within 10 % of linear). A command agent adds one file per
 * experiment; the metric is constant and deterministic, so every candidate runs exactly once.
 */
import { rmSync } from 'node:fs';
import type { LoopEvent } from '../loop/events.js';
import { startRun } from '../run.js';
import { benchRepo } from './fixture.js';


export async function measureThroughput(slots: number, experiments: number, sleepSeconds: number): Promise<number> {
  const repo = benchRepo('ar-tput-', {
    'v/0': '0\n',
    'program.md': `---\nmetric: { name: score, goal: maximize, deterministic: true }\nrun: 'sleep ${sleepSeconds}; echo "score: 1"'\nbudget: 60s\neditable: ["v/*"]\nagent: { name: command, command: 'echo $AUTORESEARCH_EXPERIMENT_ID > v/$AUTORESEARCH_EXPERIMENT_ID' }\n---\n`,
  });
  try {
    let first = 0;
    let last = 0;
    const onEvent = (e: LoopEvent) => {
      if (e.type === 'recorded' && e.experiment.id === 0) first = performance.now();
      if (e.type === 'recorded' && e.experiment.id > 0) last = performance.now();
    };
    await startRun({ cwd: repo, tag: 't', maxExperiments: experiments, parallel: slots, onEvent });
    return experiments / ((last - first) / 60_000);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

export async function benchThroughput(sleepSeconds = 1, experiments = 16): Promise<string> {
  const rows: Array<[number, number]> = [];
  for (const slots of [1, 2, 4]) rows.push([slots, await measureThroughput(slots, experiments, sleepSeconds)]);
  const base = rows[0]![1];
  return [
    `Throughput on ${sleepSeconds}s sleep experiments (${experiments} experiments after the baseline; target: within 10% of linear)`,
    'slots  experiments/min  ratio to 1 slot  % of linear',
    ...rows.map(([n, r]) => `${String(n).padStart(5)}  ${r.toFixed(1).padStart(15)}  ${(r / base).toFixed(2).padStart(15)}  ${((r / base / n) * 100).toFixed(0).padStart(10)}%`),
  ].join('\n');
}
