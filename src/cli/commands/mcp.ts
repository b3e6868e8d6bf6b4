/**
 * `autoresearch mcp` (the MCP server of an agent-owned run, over stdio) and `autoresearch mcp
 * stop-hook` (the Stop hook Claude Code and Codex run when the model ends its turn).
 */
import type { Command } from 'commander';
import { basename, dirname, resolve } from 'node:path';
import { durationOption, intOption, numberOption } from '../options.js';

/** A limit from an option, else from a variable (plugins set hooks once; users set variables), else the default. */
function limit(option: number | undefined, variable: string, fallback: number): number {
  const fromEnv = Number(process.env[variable]);
  return option ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : fallback);
}

export function registerMcp(program: Command): void {
  const mcp = program
    .command('mcp')
    .description(
      'serve an agent-owned run over MCP (stdio) to an interactive Claude Code or Codex session: it edits, the harness measures, decides and records',
    )
    .option(
      '-p, --program <file>',
      'the program file (default $AUTORESEARCH_PROGRAM or program.md)',
    )
    .option(
      '-t, --tag <tag>',
      'run name; the branch is autoresearch/<tag> (default $AUTORESEARCH_TAG, else today). An existing tag is resumed',
    )
    .option('-n, --max-experiments <n>', 'stop after this many experiments', intOption)
    .option('--max-hours <h>', 'stop after this many hours of this server', numberOption)
    .option(
      '-b, --budget <duration>',
      'time budget per experiment (overrides `budget:`)',
      durationOption,
    )
    .option(
      '--wait <duration>',
      "how long a try holds the call before answering with a handle for `wait` (default 50s; keep it under the client's tool timeout)",
      durationOption,
    )
    .option('--dashboard', 'serve the live dashboard on 127.0.0.1 (its URL goes to stderr)')
    .option('--port <port>', 'dashboard port (default: any free port)', intOption)
    .addHelpText(
      'after',
      `
Configure it in the client, from the repository that holds program.md:
  claude mcp add autoresearch -- autoresearch mcp -p program.md
  codex mcp add autoresearch -- autoresearch mcp -p program.md
The session edits a worktree of the run (.autoresearch/<tag>/session) and calls \`try\`; the
harness runs the experiment sealed, decides, records, and resets the worktree to the incumbent.
Stdout carries the protocol; progress goes to stderr.`,
    )
    .action(
      async (o: {
        program?: string;
        tag?: string;
        maxExperiments?: number;
        maxHours?: number;
        budget?: number;
        wait?: number;
        dashboard?: boolean;
        port?: number;
      }) => {
        const { serveMcp } = await import('../../mcp/server.js');
        // The repository is the program's: a client may start the server anywhere (an absolute -p).
        const program = resolve(o.program ?? (process.env.AUTORESEARCH_PROGRAM || 'program.md'));
        await serveMcp({
          cwd: dirname(program),
          program: basename(program),
          tag: o.tag ?? (process.env.AUTORESEARCH_TAG || undefined),
          maxExperiments: o.maxExperiments,
          maxHours: o.maxHours,
          budget: o.budget,
          waitSeconds: o.wait ?? 50,
          dashboard: o.dashboard ? { port: o.port } : undefined,
        });
      },
    );

  mcp
    .command('stop-hook')
    .description(
      "a Claude Code or Codex Stop hook: reads the hook's JSON on stdin and continues the session while its run says continue",
    )
    .option(
      '--max-turns <n>',
      'continue a client session at most this many times (default $AUTORESEARCH_MAX_TURNS or 100)',
      intOption,
    )
    .option(
      '--max-failed <n>',
      'let it stop after this many tries in a row failed, skipped or invalid (default $AUTORESEARCH_MAX_FAILED_TRIES or 5)',
      intOption,
    )
    .action(async (o: { maxTurns?: number; maxFailed?: number }) => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const { stopHook } = await import('../../mcp/stop-hook-run.js');
      try {
        const { stdout } = await stopHook(Buffer.concat(chunks).toString('utf8'), {
          maxTurns: limit(o.maxTurns, 'AUTORESEARCH_MAX_TURNS', 100),
          maxUnproductive: limit(o.maxFailed, 'AUTORESEARCH_MAX_FAILED_TRIES', 5),
        });
        if (stdout) process.stdout.write(`${stdout}\n`);
      } catch (e) {
        // A hook that fails must let the session stop, never hold it.
        process.stderr.write(`autoresearch stop-hook: ${(e as Error).message}\n`);
      }
    });
}
