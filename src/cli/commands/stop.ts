import type { Command } from 'commander';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { runPaths } from '../../loop/context.js';
import { liveHarness } from '../../loop/setup.js';
import { openLedgerFor } from './inspect.js';
import { UserError } from '../../program/errors.js';
import { createExecutor } from '../../executors/create.js';
import type { ProcessHandle } from '../../executors/executor.js';
import type { Program } from '../../program/program.js';

export function registerStop(program: Command): void {
  program
    .command('stop')
    .description('ask a run to stop after the experiment in flight (or at once with --now); resume later with `autoresearch run`')
    .option('-t, --tag <tag>', 'which run (default: the most recent)')
    .option('--now', 'kill the experiment in flight too (it is re-run on resume)')
    .action(async (o: { tag?: string; now?: boolean }) => {
      const { repo, ledger, run } = await openLedgerFor(process.cwd(), o.tag);
      const unfinished = ledger.unfinishedExperiments(run.tag).filter((e) => e.state === 'running' && e.process_json);
      ledger.close();
      const pid = liveHarness(run);
      if (!pid) {
        // The harness died: experiments it started (Slurm jobs, orphaned processes) may still run.
        let cancelled = 0;
        if (unfinished.length > 0) {
          const executor = await createExecutor({ config: JSON.parse(run.config_json) } as Program, process.env);
          for (const e of unfinished) {
            cancelled += await executor.killLeftovers(JSON.parse(e.process_json!) as ProcessHandle, { AUTORESEARCH_EXPERIMENT_ID: String(e.id), AUTORESEARCH_RUN_TAG: run.tag });
          }
        }
        process.stdout.write(`run ${run.tag} is not running (${run.state}${run.stop_reason ? `: ${run.stop_reason}` : ''})${cancelled ? `; cancelled ${cancelled} leftover job(s)/process(es) of experiments in flight (they are re-run on resume)` : '; nothing to stop'}\n`);
        return;
      }
      // The loop checks for this file before each experiment; --now also signals the harness.
      const paths = runPaths(repo, run.tag);
      mkdirSync(paths.runDir, { recursive: true });
      writeFileSync(paths.stopFile, `stop requested at ${new Date().toISOString()}\n`);
      if (o.now) process.kill(pid, 'SIGTERM');
      process.stdout.write(`run ${run.tag}: ${o.now ? 'stopping now' : 'will stop after the experiment in flight'} (harness pid ${pid})\n`);
    });
}

export function registerPause(program: Command): void {
  for (const [verb, description] of [
    ['pause', 'finish the experiments in flight, then wait (the harness keeps running) until `autoresearch resume`'],
    ['resume', 'continue a paused run'],
  ] as const) {
    program
      .command(verb)
      .description(description)
      .option('-t, --tag <tag>', 'which run (default: the most recent)')
      .action(async (o: { tag?: string }) => {
        const { repo, ledger, run } = await openLedgerFor(process.cwd(), o.tag);
        ledger.close();
        const paths = runPaths(repo, run.tag);
        const pid = liveHarness(run);
        if (verb === 'pause') {
          if (!pid) {
            process.stdout.write(`run ${run.tag} is not running; nothing to pause\n`);
            return;
          }
          mkdirSync(paths.runDir, { recursive: true });
          writeFileSync(paths.pauseFile, `paused at ${new Date().toISOString()}\n`);
          process.stdout.write(`run ${run.tag}: pausing after the experiments in flight (autoresearch resume to continue)\n`);
        } else {
          rmSync(paths.pauseFile, { force: true });
          process.stdout.write(pid ? `run ${run.tag}: resumed\n` : `run ${run.tag} is not running: start it with autoresearch run --tag ${run.tag}\n`);
        }
      });
  }
}

export function registerAbort(program: Command): void {
  program
    .command('abort')
    .description('kill the experiments in flight (recorded as interrupted); the loop goes on with the next proposal')
    .option('-t, --tag <tag>', 'which run (default: the most recent)')
    .action(async (o: { tag?: string }) => {
      const { repo, ledger, run } = await openLedgerFor(process.cwd(), o.tag);
      ledger.close();
      const pid = liveHarness(run);
      if (!pid) {
        process.stdout.write(`run ${run.tag} is not running; nothing to abort\n`);
        return;
      }
      const paths = runPaths(repo, run.tag);
      mkdirSync(paths.runDir, { recursive: true });
      // Its time is what counts: measurements started before it end; later ones are not affected.
      writeFileSync(paths.abortFile, `abort requested at ${new Date().toISOString()}\n`);
      process.stdout.write(`run ${run.tag}: aborting the experiments in flight\n`);
    });
}

export function registerRerun(program: Command): void {
  program
    .command('rerun')
    .argument('<id>', 'the experiment to measure again')
    .description('measure an experiment\'s commit once more (its value becomes the mean of its runs): does the result reproduce?')
    .option('-t, --tag <tag>', 'which run (default: the most recent)')
    .action(async (id: string, o: { tag?: string }) => {
      const { ledger, run } = await openLedgerFor(process.cwd(), o.tag);
      try {
        const n = Number(id);
        const row = Number.isInteger(n) ? ledger.getExperiment(run.tag, n) : undefined;
        if (!row?.candidate_commit) throw new UserError(`run ${run.tag} has no experiment ${id} with a commit`, `autoresearch results --tag ${run.tag}`);
        ledger.requestRerun(run.tag, n);
        process.stdout.write(`run ${run.tag}: experiment ${n} will be measured again ${liveHarness(run) ? 'before the next proposal' : 'when the run continues (autoresearch run)'}\n`);
      } finally {
        ledger.close();
      }
    });
}
