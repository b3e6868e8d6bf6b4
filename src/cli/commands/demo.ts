import type { Command } from 'commander';
import { relative } from 'node:path';
import { demoNames, prepareDemo } from '../../demo.js';
import { Ledger } from '../../ledger/ledger.js';
import { ledgerPath, runPathsOf } from '../../loop/context.js';
import { improvementPercent } from '../../loop/summary.js';
import { pooledNoise } from '../../policy/stats.js';
import { fmtPct, fmtValue } from '../format.js';
import { durationOption, intOption } from '../options.js';
import { count } from '../../util/words.js';

/** A metric that is a time (ms_per_op, p99_ms): its baseline / best is a speed-up. */
const TIME = /(^|_)(ms|us|ns|s|seconds)(_|$)/;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .argument('[example]', `which bundled example or template: ${demoNames().join(', ')}`, 'tinylm')
    .description(
      'run a bundled example or template end to end, offline, with no API key (the tune agent, or a scripted one)',
    )
    .option('--dir <dir>', 'where to create the demo repository', '.demo/<example>')
    .option(
      '-n, --max-experiments <n>',
      "experiments after the baseline (default: the example's stop.experiments)",
      intOption,
    )
    .option(
      '-b, --budget <duration>',
      "time budget per experiment (default: the example's budget:)",
      durationOption,
    )
    .option('--no-verify', 'skip re-running the best commit at the end')
    .addHelpText(
      'after',
      `
The example is copied into a fresh git repository (default .demo/<example>), then the loop runs
there: baseline, then the tune agent (TPE) rewrites the hyperparameters at the top of the editable
file, one experiment at a time. A template's demo (\`autoresearch init --template\` lists them)
is the program \`init --template\` writes, with a scripted agent replaying the patches in its
demo/ folder. At the end the best commit is re-run once, so you can see the
improvement is real and not noise.`,
    )
    .action(
      async (
        example: string,
        o: { dir: string; maxExperiments?: number; budget?: number; verify: boolean },
      ) => {
        const dir = o.dir.replace('<example>', example);
        const repo = prepareDemo(example, dir);
        process.stdout.write(`demo repository: ${relative(process.cwd(), repo) || '.'}\n`);
        const [{ startRun }, { ProgressReporter }] = await Promise.all([
          import('../../run.js'),
          import('../progress.js'),
        ]);
        const reporter = new ProgressReporter(process.stdout);
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        const result = await startRun({
          cwd: repo,
          tag: 'demo',
          maxExperiments: o.maxExperiments,
          budget: o.budget,
          abort,
          onEvent: reporter.handle,
          onProgram: ({ goal }) => reporter.setGoal(goal),
        }).finally(() => process.off('SIGINT', onSignal));
        const s = result.summary;
        const ledger = new Ledger(ledgerPath(repo));
        const paths = runPathsOf(repo, ledger.getRun('demo')!);
        const best =
          s.bestExperiment !== null ? ledger.getExperiment('demo', s.bestExperiment) : undefined;
        ledger.close();
        const metrics = best?.metrics_json
          ? (JSON.parse(best.metrics_json) as Record<string, number>)
          : {};
        const lines = [
          '',
          `== demo ${example}: ${count(s.candidates, 'experiment')} ==`,
          `baseline     ${s.metric} = ${fmtValue(s.baseline)}`,
          `best         ${s.metric} = ${fmtValue(s.best)} (#${s.bestExperiment}: ${s.bestTitle})`,
          `improvement  ${fmtPct(s.improvementPct)} over baseline`,
        ];
        if (s.goal === 'minimize' && TIME.test(s.metric) && s.best && s.baseline && s.best > 0)
          lines.push(`speed-up     ${(s.baseline / s.best).toFixed(1)}x (baseline / best)`);
        if (metrics.floor_bpb !== undefined) {
          const gapBefore = (s.baseline ?? 0) - metrics.floor_bpb;
          const gapAfter = (s.best ?? 0) - metrics.floor_bpb;
          lines.push(
            `floor        ${fmtValue(metrics.floor_bpb)} bits per byte (the source's entropy rate: no model can go below it); gap closed ${((1 - gapAfter / gapBefore) * 100).toFixed(1)}%`,
          );
        }
        if (
          o.verify &&
          best &&
          s.bestExperiment !== null &&
          s.bestExperiment !== 0 &&
          !abort.signal.aborted
        ) {
          const check = await remeasure(repo, s.bestExperiment, o.budget);
          if (check) {
            const agrees =
              check.value === s.best
                ? ', exactly the same'
                : check.noise === null
                  ? ', and no noise was measured to compare with'
                  : Math.abs(check.value - (s.best ?? NaN)) <= 2 * check.noise
                    ? `, within the noise (2 x ${fmtValue(check.noise)})`
                    : `, OUTSIDE the noise (2 x ${fmtValue(check.noise)}): the best did not reproduce`;
            lines.push(
              `re-run       ${s.metric} = ${fmtValue(check.value)} when the best commit runs again (${fmtPct(improvementPercent(s.goal, s.baseline, check.value))} over baseline${agrees}); recorded: its value is now ${fmtValue(check.mean)}, n=${check.n}`,
            );
          }
        }
        lines.push(
          `ledger       ${relative(process.cwd(), ledgerPath(repo))}`,
          `results.tsv  ${relative(process.cwd(), paths.resultsTsv)}`,
          `branch       ${s.branch} in ${relative(process.cwd(), repo) || '.'}`,
        );
        process.stdout.write(lines.join('\n') + '\n');
      },
    );
}

/**
 * Measures the best experiment once more through the loop's own re-run (`autoresearch rerun`: sealed, in
 * a clean worktree, recorded as one more measurement of that experiment, so the ledger, the
 * dashboard and results.tsv show the mean), and returns the new run's value.
 */
async function remeasure(
  repo: string,
  id: number,
  budget?: number,
): Promise<{ value: number; mean: number; n: number; noise: number | null } | null> {
  const ledger = new Ledger(ledgerPath(repo));
  try {
    const before = ledger.measurementsOf('demo', id).length;
    ledger.requestRerun('demo', id);
    const { measureReruns } = await import('../../run.js');
    await measureReruns({ cwd: repo, tag: 'demo', budget, onEvent: () => {} });
    const runs = ledger
      .measurementsOf('demo', id)
      .map((m) => m.value)
      .filter((v): v is number => v !== null);
    if (runs.length <= before) return null;
    const row = ledger.getExperiment('demo', id)!;
    return {
      value: runs.at(-1)!,
      mean: row.primary_value!,
      n: runs.length,
      noise: pooledNoise(ledger.repeatedGroups('demo'))?.sigma ?? null,
    };
  } finally {
    ledger.close();
  }
}
