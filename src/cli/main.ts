#!/usr/bin/env node
/** The `autoresearch` process: the command line (program.ts) and what only a process of its own does. */
import { armCrashPoints } from '../loop/crash-point.js';
import { runCli } from './program.js';

// A reader that goes away (`autoresearch results | head`) is not an error: the output is simply no
// longer read. The command goes on and ends as it would; a harness keeps running its loop.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });

// The crash-safety tests kill this process at chosen states; a program embedding the library never arms them.
armCrashPoints(process.env.AUTORESEARCH_CRASH_AT);

const code = await runCli(process.argv);
// A failed command line ends here, whatever it left running (a timer, a socket); a command that
// succeeded, or set its own code (130 for an interrupted run), ends when its work is done.
if (code !== 0 && process.exitCode === undefined) process.exit(code);
process.exitCode = code;
