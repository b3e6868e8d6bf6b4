import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { exampleNames, prepareDemo } from '../../demo.js';
import { Ledger } from '../../ledger/ledger.js';
import { ledgerPath, runPathsOf } from '../../loop/context.js';
import { improvementPercent } from '../../loop/summary.js';
import { startRun } from '../../run.js';
import { LocalExecutor } from '../../executors/local.js';
import { experimentEnvironment } from '../../loop/environment.js';
import { parseMetricOutput } from '../../metrics/parse.js';
import { Worktree } from '../../workspace/worktree.js';
import { loadProgram } from '../../program/program.js';
import { fmtPct, fmtValue } from '../format.js';
import { ProgressReporter } from '../progress.js';
import { durationOption, intOption } from '../options.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .argument('[example]', `which bundled example: ${exampleNames().join(', ')}`, 'tinylm')
    .description('run a bundled example end to end, offline, with the built-in tune agent (no API key)')
    .option('--dir <dir>', 'where to create the demo repository', '.demo/<example>')
    .option('-n, --max-experiments <n>', 'experiments after the baseline (default: the example\'s stop.experiments)', intOption)
    .option('-b, --budget <duration>', 'time budget per experiment (default: the example\'s budget:)', durationOption)
    .option('--no-verify', 'skip re-running the best commit at the end')
    .addHelpText('after', `
The example is copied into a fresh git repository (default .demo/<example>), then the loop runs
there: baseline, then the tune agent (TPE) rewrites the hyperparameters at the top of the editable
file, one experiment at a time. At the end the best commit is re-run once, so you can see the
improvement is real and not noise.`)
    .action(async (example: string, o: { dir: string; maxExperiments?: number; budget?: number; verify: boolean }) => {
      const dir = o.dir.replace('<example>', example);
      const repo = prepareDemo(example, dir);
      process.stdout.write(`demo repository: ${relative(process.cwd(), repo) || '.'}\n`);
      const reporter = new ProgressReporter(process.stdout);
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      const result = await startRun({ cwd: repo, tag: 'demo', maxExperiments: o.maxExperiments, budget: o.budget, abort, onEvent: reporter.handle, onProgram: ({ goal }) => reporter.setGoal(goal) });
      process.off('SIGINT', onSignal);
      const s = result.summary;
      const ledger = new Ledger(ledgerPath(repo));
      const paths = runPathsOf(repo, ledger.getRun('demo')!);
      const best = s.bestExperiment !== null ? ledger.getExperiment('demo', s.bestExperiment) : undefined;
      ledger.close();
      const metrics = best?.metrics_json ? (JSON.parse(best.metrics_json) as Record<string, number>) : {};
      const lines = [
        '',
        `== demo ${example}: ${s.candidates} experiments ==`,
        `baseline     ${s.metric} = ${fmtValue(s.baseline)}`,
        `best         ${s.metric} = ${fmtValue(s.best)} (#${s.bestExperiment}: ${s.bestTitle})`,
        `improvement  ${fmtPct(s.improvementPct)} over baseline`,
      ];
      if (metrics.floor_bpb !== undefined) {
        const gapBefore = (s.baseline ?? 0) - metrics.floor_bpb;
        const gapAfter = (s.best ?? 0) - metrics.floor_bpb;
        lines.push(`floor        ${fmtValue(metrics.floor_bpb)} bits per byte (the source's entropy rate: no model can go below it); gap closed ${((1 - gapAfter / gapBefore) * 100).toFixed(1)}%`);
      }
      if (o.verify && best?.candidate_commit && s.bestExperiment !== 0 && !abort.signal.aborted) {
        const again = await rerun(repo, best.candidate_commit, o.budget);
        if (again !== null) {
          lines.push(`re-run       ${s.metric} = ${fmtValue(again)} when the best commit runs again (${fmtPct(improvementPercent(s.goal, s.baseline, again))} over baseline)`);
        }
      }
      lines.push(`ledger       ${relative(process.cwd(), ledgerPath(repo))}`, `results.tsv  ${relative(process.cwd(), paths.resultsTsv)}`, `branch       ${s.branch} in ${relative(process.cwd(), repo) || '.'}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/** Runs a commit once more outside the loop, to show its value is reproducible. */
async function rerun(repo: string, commit: string, budget?: number): Promise<number | null> {
  const wt = new Worktree(repo, join(repo, '.autoresearch', 'demo', 'verify'));
  await wt.reset(commit);
  const program = loadProgram(join(wt.path, 'program.md'));
  const c = program.config;
  if (budget !== undefined) c.budget = budget;
  const logPath = join(repo, '.autoresearch', 'demo', 'verify.log');
  const env = experimentEnvironment({ base: process.env, allow: c.env.allow, secrets: c.env.secrets, set: c.env.set, budgetSeconds: c.budget, experimentId: -1, runTag: 'demo' });
  const result = await new LocalExecutor().run({
    experimentId: -1, command: c.run, cwd: wt.path, env, budgetSeconds: c.budget, timeoutSeconds: c.timeout, killGraceSeconds: c.kill_grace,
    logPath, logHeadBytes: 1 << 20, logTailBytes: 1 << 20,
  });
  if (result.exitCode !== 0) return null;
  const value = (result.metrics ?? parseMetricOutput(readFileSync(logPath, 'utf8'))).values[c.metric.name];
  return value !== undefined && Number.isFinite(value) ? value : null;
}
