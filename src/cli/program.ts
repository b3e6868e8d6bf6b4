/**
 * The `autoresearch` command line as a function: a fresh commander program per call, the exit
 * code returned rather than the process ended. `main.ts` is the process around it; the tests run
 * it in their own process where starting Node is not what they test.
 */
import { Command, CommanderError } from 'commander';
import { ProgramError, UserError } from '../program/errors.js';

type Register = (program: Command) => void;

/**
 * The commands, by the module that defines them, in the order `--help` lists them. A command
 * line that names one loads only its module: `status` or `pause` need not load the agents, the
 * loop or the dashboard (a third of a second of start-up); `--version` loads none. Help,
 * completion and anything unknown (for its suggestion) load them all.
 */
const GROUPS: { names: string[]; load: () => Promise<Register[]> }[] = [
  { names: ['init'], load: async () => [(await import('./commands/init.js')).registerInit] },
  { names: ['run'], load: async () => [(await import('./commands/run.js')).registerRun] },
  {
    names: ['status', 'results'],
    load: async () => [(await import('./commands/inspect.js')).registerInspect],
  },
  {
    names: ['stop', 'pause', 'resume', 'abort', 'rerun', 'note'],
    load: async () => [(await import('./commands/control.js')).registerControls],
  },
  { names: ['demo'], load: async () => [(await import('./commands/demo.js')).registerDemo] },
  { names: ['serve'], load: async () => [(await import('./commands/serve.js')).registerServe] },
  { names: ['report'], load: async () => [(await import('./commands/inspect.js')).registerReport] },
  { names: ['mcp'], load: async () => [(await import('./commands/mcp.js')).registerMcp] },
  {
    names: ['runs', 'diff', 'apply'],
    load: async () => [(await import('./commands/after.js')).registerAfter],
  },
  { names: ['clean'], load: async () => [(await import('./commands/clean.js')).registerClean] },
  {
    names: ['completion'],
    load: async () => [(await import('./commands/completion.js')).registerCompletion],
  },
];

const HELP_AFTER = `
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

In the morning:
  autoresearch runs        # every run: state, best, improvement, spend
  autoresearch diff best   # what the run kept, against where it started
  autoresearch apply best  # onto your branch (--squash: one commit; --branch NAME: a new branch)
  autoresearch clean       # remove finished runs' worktrees, refs and branches (--keep-best)

From a Claude Code or Codex session (it edits; the harness measures and decides):
  autoresearch mcp         # the MCP server the client starts (see the README)`;

/** The program with the commands `argv` needs registered (see GROUPS). */
async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('autoresearch')
    .description(
      'An autonomous experiment loop: an agent proposes a change, the harness commits it, runs it on a fixed budget, measures, keeps it only if it is really better, records everything, and repeats.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    // Commander throws its exits (help, version, a usage error) instead of ending the process;
    // the commands registered below inherit this.
    .exitOverride()
    .addHelpText('after', HELP_AFTER);

  const asked = argv[2];
  const one =
    asked === 'completion' ? undefined : GROUPS.find((g) => g.names.includes(asked ?? ''));
  const version = asked === '-V' || asked === '--version';
  for (const group of version ? [] : one ? [one] : GROUPS)
    for (const register of await group.load()) register(program);

  // At the top level a mistyped command gets one line naming the closest one, not the whole help
  // (the commands, registered above, keep their own help after an error).
  program.showHelpAfterError(false).configureOutput({
    outputError: (text, write) => {
      const [first, ...rest] = text.trim().split('\n');
      const close = /^\(Did you mean (.+)\?\)$/.exec(rest.join(' ').trim());
      const hint = close ? `; did you mean ${close[1]}?` : rest.length ? ` ${rest.join(' ')}` : '';
      const help =
        first!.startsWith('error: unknown command') && !close
          ? ' (autoresearch --help lists them)'
          : '';
      write(`${first}${hint}${help}\n`);
    },
  });
  return program;
}

/**
 * Runs one command line (`argv` as in `process.argv`: node, script, then the arguments) and
 * returns its exit code: 2 for a ProgramError or UserError (its message on stderr), commander's
 * own for help, version and usage errors, otherwise what the command set in `process.exitCode`
 * (130 for an interrupted run), else 0. Other errors are thrown.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof ProgramError || e instanceof UserError) {
      process.stderr.write(`autoresearch: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return Number(process.exitCode ?? 0);
}
