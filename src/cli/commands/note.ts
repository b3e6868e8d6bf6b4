import type { Command } from 'commander';
import { UserError } from '../../program/errors.js';
import { openLedgerFor } from './inspect.js';

export function registerNote(program: Command): void {
  program
    .command('note')
    .argument('[text...]', 'the note, e.g. "stop tuning the learning rate; try wider layers"')
    .description('add a steering note: every following brief shows it to the agent (a running loop picks it up at the next proposal)')
    .option('-t, --tag <tag>', 'which run (default: the most recent)')
    .option('--list', 'print the notes of the run instead')
    .action(async (words: string[], o: { tag?: string; list?: boolean }) => {
      const { ledger, run } = await openLedgerFor(process.cwd(), o.tag);
      try {
        const text = words.join(' ').trim();
        if (!o.list && !text) throw new UserError('a note needs text', 'autoresearch note "try wider layers"');
        if (!o.list) ledger.addNote(run.tag, text);
        const notes = ledger.notes(run.tag);
        process.stdout.write(o.list ? notes.map((n, i) => `${i + 1}. ${n}\n`).join('') : `run ${run.tag}: ${notes.length} steering note${notes.length === 1 ? '' : 's'}; the next brief shows them\n`);
      } finally {
        ledger.close();
      }
    });
}
