/**
 * `stop`, `pause`, `resume`, `abort`, `rerun` and `note`: thin callers of loop/control.ts. A run
 * that is not running is news, not an error (exit 0); any other refusal is an error with its fix.
 */
import type { Command } from 'commander';
import * as control from '../../loop/control.js';
import type { Outcome, RunTarget } from '../../loop/control.js';
import { UserError } from '../../program/errors.js';
import { openLedgerFor } from './inspect.js';
import { TAG_OPTION } from '../options.js';

/**
 * No harness runs the run: this process measures the request (and any other pending one) as the
 * loop would, sealed, in a clean worktree, recorded in the ledger. Ctrl-C ends it.
 */
async function rerunNow({ repo, run }: RunTarget, id: number): Promise<void> {
  process.stdout.write(`run ${run.tag} is not running: measuring experiment ${id} again now\n`);
  const [{ measureReruns }, { ProgressReporter }, { Ledger }, { ledgerPath }] = await Promise.all([
    import('../../run.js'),
    import('../progress.js'),
    import('../../ledger/ledger.js'),
    import('../../loop/context.js'),
  ]);
  const count = () => {
    const ledger = new Ledger(ledgerPath(repo));
    try {
      return ledger.measurementsOf(run.tag, id).length;
    } finally {
      ledger.close();
    }
  };
  const before = count();
  const reporter = new ProgressReporter(process.stdout);
  reporter.setGoal(run.goal);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await measureReruns({
      cwd: repo,
      tag: run.tag,
      abort,
      // Its notes and progress; the run neither starts nor stops.
      onEvent: (e) =>
        e.type === 'run-start' || e.type === 'run-stop' ? undefined : reporter.handle(e),
    });
  } finally {
    reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (abort.signal.aborted) process.exitCode = 130;
  else if (count() === before)
    throw new UserError(
      `experiment ${id} of run ${run.tag} was not measured (the reason is above)`,
      `autoresearch results --tag ${run.tag}`,
    );
}

async function act(
  tag: string | undefined,
  verb: (t: RunTarget) => Outcome | Promise<Outcome>,
): Promise<void> {
  const target = await openLedgerFor(process.cwd(), tag);
  try {
    const out = await verb(target);
    if (!out.ok && out.code !== 'not-running') throw new UserError(out.message, out.hint);
    process.stdout.write(`${out.message}\n`);
  } finally {
    target.ledger.close();
  }
}

export function registerControls(program: Command): void {
  program
    .command('stop')
    .description(
      'ask a run to stop after the experiment in flight (or at once with --now); resume later with `autoresearch run`',
    )
    .option(...TAG_OPTION)
    .option('--now', 'kill the experiment in flight too (it is re-run on resume)')
    .addHelpText(
      'after',
      `
Examples:
  autoresearch stop                   # after the experiment in flight
  autoresearch stop --now --tag nov28`,
    )
    .action((o: { tag?: string; now?: boolean }) =>
      act(o.tag, (t) => control.stop(t, { now: o.now })),
    );

  program
    .command('pause')
    .description(
      'finish the experiments in flight, then wait (the harness keeps running) until `autoresearch resume`',
    )
    .option(...TAG_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  autoresearch pause && autoresearch resume`,
    )
    .action((o: { tag?: string }) => act(o.tag, control.pause));

  program
    .command('resume')
    .description('continue a paused run')
    .option(...TAG_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  autoresearch resume --tag nov28`,
    )
    .action((o: { tag?: string }) => act(o.tag, control.resume));

  program
    .command('abort')
    .description(
      'kill the experiments in flight (recorded as interrupted); the loop goes on with the next proposal',
    )
    .option(...TAG_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  autoresearch abort                  # the experiment in flight is recorded as interrupted`,
    )
    .action((o: { tag?: string }) => act(o.tag, control.abort));

  program
    .command('rerun')
    .argument('<id>', 'the experiment to measure again')
    .description(
      "measure an experiment's commit once more (its value becomes the mean of its runs): does the result reproduce? A running loop measures it before its next proposal; a run that is not running is measured at once, here",
    )
    .option(...TAG_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  autoresearch rerun 12               # does experiment 12 reproduce?`,
    )
    .action(async (id: string, o: { tag?: string }) => {
      const target = await openLedgerFor(process.cwd(), o.tag);
      let out: ReturnType<typeof control.rerun>;
      try {
        out = control.rerun(target, id);
      } finally {
        target.ledger.close();
      }
      if (!out.ok) throw new UserError(out.message, out.hint);
      if (!out.waiting) return void process.stdout.write(`${out.message}\n`);
      await rerunNow(target, out.experiment);
    });

  program
    .command('note')
    .argument('[text...]', 'the note, e.g. "stop tuning the learning rate; try wider layers"')
    .description(
      'add a steering note: every following brief shows it to the agent (a running loop picks it up at the next proposal)',
    )
    .option(...TAG_OPTION)
    .option('--list', 'print the notes of the run instead')
    .addHelpText(
      'after',
      `
Examples:
  autoresearch note "stop tuning the learning rate; try wider layers"
  autoresearch note --list`,
    )
    .action(async (words: string[], o: { tag?: string; list?: boolean }) => {
      if (!o.list) return act(o.tag, (t) => control.note(t, words.join(' ')));
      const { ledger, run } = await openLedgerFor(process.cwd(), o.tag);
      try {
        process.stdout.write(
          ledger
            .notes(run.tag)
            .map((n, i) => `${i + 1}. ${n}\n`)
            .join(''),
        );
      } finally {
        ledger.close();
      }
    });
}
