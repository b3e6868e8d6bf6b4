/**
 * `stop`, `pause`, `resume`, `abort`, `rerun` and `note`: thin callers of loop/control.ts. A run
 * that is not running is news, not an error (exit 0); any other refusal is an error with its fix.
 */
import type { Command } from 'commander';
import * as control from '../../loop/control.js';
import type { Outcome, RunTarget } from '../../loop/control.js';
import { UserError } from '../../program/errors.js';
import { openLedgerFor } from './inspect.js';

const TAG_OPTION = ['-t, --tag <tag>', 'which run (default: the most recent)'] as const;

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
      "measure an experiment's commit once more (its value becomes the mean of its runs): does the result reproduce?",
    )
    .option(...TAG_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  autoresearch rerun 12               # does experiment 12 reproduce?`,
    )
    .action((id: string, o: { tag?: string }) => act(o.tag, (t) => control.rerun(t, id)));

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
