#!/usr/bin/env node
/** The `autoresearch` command line: a thin shell over the library; errors become one clear message. */
import { Command, CommanderError } from 'commander';
import { ProgramError, UserError } from '../program/errors.js';
import { registerDemo } from './commands/demo.js';
import { registerInit } from './commands/init.js';
import { registerControls } from './commands/control.js';
import { registerServe } from './commands/serve.js';
import { registerInspect, registerReport } from './commands/inspect.js';
import { registerMcp } from './commands/mcp.js';
import { registerRun } from './commands/run.js';
import { armCrashPoints } from '../loop/crash-point.js';

// The crash-safety tests kill this process at chosen states; a program embedding the library never arms them.
armCrashPoints(process.env.AUTORESEARCH_CRASH_AT);

const program = new Command();
program
  .name('autoresearch')
  .description(
    'An autonomous experiment loop: an agent proposes a change, the harness commits it, runs it on a fixed budget, measures, keeps it only if it is really better, records everything, and repeats.',
  )
  .version('0.1.0')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Try it offline, no API key:
  autoresearch demo        # tunes a tiny language model for ~3 minutes on CPU

In a git repository with an experiment that prints a number:
  autoresearch init        # write program.md (metric, run command, budget, editable files)
  git add -A && git commit -m "program"
  autoresearch run         # loop until stop conditions; Ctrl-C and run again to resume
  autoresearch status      # from another shell: best so far, experiment in flight
  autoresearch serve       # the live dashboard (run serves it too, and prints its URL)
  autoresearch results     # the table of experiments (also .autoresearch/<tag>/results.tsv)
  autoresearch note "try wider layers"   # steer: the next brief shows it to the agent

From a Claude Code or Codex session (it edits; the harness measures and decides):
  autoresearch mcp         # the MCP server the client starts (see the README)`,
  );

registerInit(program);
registerRun(program);
registerInspect(program);
registerControls(program);
registerDemo(program);
registerServe(program);
registerReport(program);
registerMcp(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof ProgramError || e instanceof UserError) {
    process.stderr.write(`autoresearch: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof CommanderError) process.exit(e.exitCode);
  throw e;
}
