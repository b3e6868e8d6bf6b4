/**
 * Throughput of parallel slots on a noisy metric, baseline included: the same program run with 1
 * slot and with 4 for the same time, side by side, and their ratio (target: 4 slots at least 3.6x
 * one slot). Runs per minute say how busy the slots were; experiments per minute also depend on
 * how many runs each judgement happened to need.
 *
 * The experiment sleeps (3 s) and prints a score with noise from $AUTORESEARCH_SEED, so the
 * paired policy measures each candidate and the incumbent as it would on a real noisy metric,
 * while the experiment itself needs no CPU: this machine has 2 cores, and 4 CPU-bound runs could
 * never go 4x faster on it. What the ratio measures is the harness: slots waiting on each other
 * (the decision lock, the baseline's repeats), and its own work between runs. A command agent
 * adds one file per experiment; every candidate is as good as the baseline, so nearly all are
 * discarded, after one run (the screen) or after pairs.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../ledger/ledger.js';
import type { LoopEvent } from '../loop/events.js';
import { startRun } from '../run.js';
import { benchRepo } from './fixture.js';

interface Throughput {
  slots: number;
  /** Experiments recorded within the window (the baseline not counted, its time included). */
  experiments: number;
  /** Runs measured within the window, the baseline's included. */
  runs: number;
  seconds: number;
  /** From the run's start to the baseline recorded. */
  baselineSeconds: number;
}

/**
 * One run for `seconds` from its start, baseline included: the loop stops proposing then, and
 * only what was recorded or measured by then counts. What was in flight at the end finishes
 * afterwards and is left out, as an overnight run never has an end that matters.
 */
async function measureThroughput(
  slots: number,
  seconds: number,
  runSeconds: number,
): Promise<Throughput> {
  const repo = benchRepo('ar-tput-', {
    'v/0': '0\n',
    'program.md': `---
metric: { name: score, goal: minimize }
run: 'sleep ${runSeconds}; echo "score: $((1000 + AUTORESEARCH_SEED % 100))"'
budget: 60s
editable: ["v/*"]
agent: { name: command, command: 'echo $AUTORESEARCH_EXPERIMENT_ID > v/$AUTORESEARCH_EXPERIMENT_ID' }
---
`,
  });
  try {
    let start = 0;
    let baseline = 0;
    const onEvent = (e: LoopEvent) => {
      if (e.type === 'run-start') start = Date.now();
      if (e.type === 'recorded' && e.experiment.id === 0) baseline = Date.now();
    };
    await startRun({ cwd: repo, tag: 't', maxHours: seconds / 3600, parallel: slots, onEvent });
    const end = start + seconds * 1000;
    const ledger = new Ledger(join(repo, '.autoresearch', 'ledger.sqlite'));
    const rows = ledger.listExperiments('t');
    const experiments = rows.filter(
      (e) =>
        e.id > 0 && e.recorded_at !== null && e.recorded_at <= end && e.status !== 'interrupted',
    ).length;
    const runs = rows
      .flatMap((e) => ledger.measurementsOf('t', e.id))
      .filter((m) => m.measured_at <= end).length;
    ledger.close();
    return { slots, experiments, runs, seconds, baselineSeconds: (baseline - start) / 1000 };
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

export async function benchThroughput(
  runSeconds = Number(process.env.BENCH_RUN_SECONDS ?? 3),
  seconds = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 150),
): Promise<string> {
  const rows: Throughput[] = [];
  for (const slots of [1, 4]) rows.push(await measureThroughput(slots, seconds, runSeconds));
  const one = rows[0]!;
  const perMin = (n: number, r: Throughput) => (n / r.seconds) * 60;
  return [
    `Throughput on ${runSeconds}s experiments with a noisy metric (sleep; noise from AUTORESEARCH_SEED), the first ${seconds} s of a run, baseline included; target: 4 slots >= 3.6x one slot`,
    'slots  baseline s  experiments  experiments/min  ratio  runs  runs/min  ratio',
    ...rows.map((r) =>
      [
        String(r.slots).padStart(5),
        r.baselineSeconds.toFixed(1).padStart(10),
        String(r.experiments).padStart(11),
        perMin(r.experiments, r).toFixed(2).padStart(15),
        (perMin(r.experiments, r) / perMin(one.experiments, one)).toFixed(2).padStart(5),
        String(r.runs).padStart(4),
        perMin(r.runs, r).toFixed(1).padStart(8),
        (perMin(r.runs, r) / perMin(one.runs, one)).toFixed(2).padStart(5),
      ].join('  '),
    ),
  ].join('\n');
}
