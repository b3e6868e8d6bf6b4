import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { agentNames } from '../../agents/catalog.js';
import { parseDuration } from '../../program/duration.js';
import { ProgramError, UserError } from '../../program/errors.js';
import { agentTodo } from '../../program/init-agent.js';
import { detectProject, guessGoal, type Project } from '../../program/init-project.js';
import {
  detectLayout,
  previousAnswers,
  renderProgram,
  type InitAnswers,
} from '../../program/init.js';
import { parseProgram } from '../../program/program.js';
import { agentEnvironment, chooseAgent, list, type AgentFlags, type Ask } from './init-agent.js';
import { describeProbe, probeRun } from './init-probe.js';
import { initTemplate } from './init-template.js';
import { Prompter } from './init-prompt.js';

interface InitFlags extends AgentFlags {
  program: string;
  metric?: string;
  goal?: string;
  run?: string;
  budget?: string;
  timeout?: string;
  editable?: string[];
  protected?: string[];
  checks?: string | false;
  constraints?: string[];
  experiments?: string;
  hours?: string;
  spend?: string;
  probe?: boolean;
  yes?: boolean;
  force?: boolean;
  template?: string | true;
}

const NONE = /^(none|no|-)$/i;

/** A positive number answer (or none), with the flag that fixes a wrong one. */
function positive(answer: string | undefined, flag: string, integer: boolean): number | undefined {
  if (answer === undefined || answer === '' || NONE.test(answer)) return undefined;
  const n = Number(answer);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new UserError(
      `${flag.slice(2)}: "${answer}" is not a ${integer ? 'whole ' : ''}number above 0`,
      `${flag} ${integer ? 100 : 8}`,
    );
  return n;
}

/** Dependency folders that exist and git does not track: sealed processes see them read-only. */
function untrackedDependencies(project: Project): string[] {
  return project.dependencies.filter((dir) => {
    try {
      return execFileSync('git', ['ls-files', '--', dir], { encoding: 'utf8' }).trim() === '';
    } catch {
      return false; // not a git repository yet: `run` will say so
    }
  });
}

/**
 * An existing program.md: its prose becomes the new one's body, and with --force its settings
 * become the default answers.
 */
function existing(
  file: string,
  flags: InitFlags,
): { body: string; previous: Partial<InitAnswers>; dropped: string[] } {
  const none = { previous: {}, dropped: [] };
  if (!existsSync(file)) return { body: '', ...none };
  const text = readFileSync(file, 'utf8');
  if (!/^---\s*$/m.test(text.split('\n')[0] ?? '')) return { body: text, ...none };
  if (!flags.force)
    throw new UserError(
      `${flags.program} already has front matter`,
      `edit it, or rewrite it with: autoresearch init --force (its settings are the default answers)`,
    );
  const match = /^---[^\n]*\n([\s\S]*?)\n?---[^\n]*\n?/.exec(text);
  const { answers, dropped } = previousAnswers(match?.[1] ?? '');
  return { body: match ? text.slice(match[0].length) : text, previous: answers, dropped };
}

async function init(flags: InitFlags): Promise<void> {
  const cwd = process.cwd();
  const file = resolve(cwd, flags.program);
  const { body, previous, dropped } = existing(file, flags);
  const entries = readdirSync(cwd);
  const layout = detectLayout(entries);
  const project = detectProject(entries, (f) => {
    try {
      return readFileSync(join(cwd, f), 'utf8');
    } catch {
      return null;
    }
  });
  process.stdout.write(
    `detected: ${layout ? layout.name : project.description}${project.checks ? `; tests: ${project.checks}` : ''}\n`,
  );
  const d: Partial<InitAnswers> = { ...layout?.defaults, ...previous };
  const prompter = flags.yes ? null : new Prompter(process.stdin, process.stdout);
  const ask: Ask = async (question, flag, fallback) =>
    flag !== undefined ? flag : prompter ? prompter.ask(question, fallback) : fallback;
  const example = `autoresearch init --run "${project.example.run}" --metric score --editable ${project.example.editable} -y`;
  try {
    const run = await ask('run command (the experiment)', flags.run, d.run);
    const budget = await ask('time budget per experiment', flags.budget, d.budget ?? '300s');
    const budgetSeconds = parseDuration(budget ?? '');
    if (budgetSeconds === null || budgetSeconds <= 0)
      throw new UserError(`budget "${budget}" is not a duration`, '--budget 300s');
    let printed: string[] = [];
    if (flags.probe) {
      if (!run)
        throw new UserError('--probe needs the run command', example.replace(' -y', ' --probe'));
      process.stdout.write(`probe: running \`${run}\` once here (budget ${budget})...\n`);
      const result = await probeRun(run, cwd, budgetSeconds);
      process.stdout.write(`${describeProbe(result)}\n`);
      printed = Object.keys(result.metrics.values);
    }
    const metric = await ask(
      `metric name (the number your run prints${printed.length ? `: ${printed.join(', ')}` : ''})`,
      flags.metric,
      d.metric && (printed.length === 0 || printed.includes(d.metric)) ? d.metric : printed[0],
    );
    const goal = await ask(
      'goal (minimize/maximize)',
      flags.goal,
      d.goal ?? (metric ? guessGoal(metric) : null) ?? 'minimize',
    );
    const timeout = await ask(
      'hard timeout',
      flags.timeout,
      // A timeout chosen for another budget is no default for this one.
      (budget === d.budget ? d.timeout : undefined) ??
        `${Math.max(2 * budgetSeconds, budgetSeconds + 60)}s`,
    );
    const editable =
      flags.editable ??
      list(
        (await ask('editable files (comma-separated)', undefined, d.editable?.join(', '))) ?? '',
      );
    const protectedFiles =
      flags.protected ??
      list(
        (await ask(
          'protected files, e.g. the evaluator (comma-separated, may be empty)',
          undefined,
          d.protected?.join(', ') ?? '',
        )) ?? '',
      );
    const missing = [
      !metric && '--metric',
      !run && '--run',
      editable.length === 0 && '--editable',
    ].filter(Boolean);
    if (missing.length > 0) throw new UserError(`missing ${missing.join(', ')}`, example);
    if (goal !== 'minimize' && goal !== 'maximize')
      throw new UserError(`goal must be minimize or maximize, not "${goal}"`, '--goal minimize');
    if (parseDuration(timeout ?? '') === null)
      throw new UserError(`timeout "${timeout}" is not a duration`, '--timeout 600s');
    const checks =
      flags.checks === false
        ? undefined
        : await ask(
            'checks: a command that must pass before each experiment, e.g. the tests ("none": no checks)',
            flags.checks,
            d.checks ?? project.checks ?? 'none',
          );
    const constraints =
      flags.constraints ??
      list(
        (await ask(
          'constraints on other metrics, e.g. memory_gb <= 60 (comma-separated, may be empty)',
          undefined,
          d.constraints?.join(', ') ?? '',
        )) ?? '',
      );
    const { setting: agent, search } = await chooseAgent(flags, ask, prompter, editable, d.agent);
    const agentName = typeof agent === 'string' ? agent : String(agent.name);
    const paid = ['llm', 'claude-code', 'codex'].includes(agentName);
    const stop = {
      experiments: positive(
        await ask(
          'stop after how many experiments ("none": no limit)',
          flags.experiments,
          String(d.stop?.experiments ?? 'none'),
        ),
        '--experiments',
        true,
      ),
      hours: positive(
        await ask(
          'stop after how many hours ("none": no limit)',
          flags.hours,
          String(d.stop?.hours ?? 'none'),
        ),
        '--hours',
        false,
      ),
      spend_usd: positive(
        paid
          ? await ask(
              'stop when the agent has spent how many US dollars ("none": no limit)',
              flags.spend,
              String(d.stop?.spend_usd ?? 'none'),
            )
          : (flags.spend ?? d.stop?.spend_usd?.toString()),
        '--spend',
        false,
      ),
    };
    const answers: InitAnswers = {
      metric: metric!,
      goal,
      run: run!,
      budget: budget!,
      timeout: timeout!,
      editable,
      protected: protectedFiles,
      ...(checks && !NONE.test(checks) ? { checks } : {}),
      constraints,
      keepIgnored: untrackedDependencies(project),
      agent,
      stop,
      budgetHint: project.budgetHint,
      ...(search ? { extra: { search } } : {}),
    };
    const text = renderProgram(answers, body);
    try {
      parseProgram(text, flags.program); // never write a file the run command would reject
    } catch (e) {
      if (!(e instanceof ProgramError)) throw e;
      throw new UserError(
        `${e.key ?? 'program'}: ${e.problem} (nothing was written)`,
        e.hint ?? 'see `autoresearch init --help`',
      );
    }
    writeFileSync(file, text);
    const todo = agentTodo(agent, agentEnvironment());
    process.stdout.write(
      `wrote ${flags.program}.\n` +
        (dropped.length > 0
          ? `  not carried over from the old front matter (add them again if you need them): ${dropped.join(', ')}\n`
          : '') +
        todo.map((t) => `  before run: ${t}\n`).join('') +
        `Next: git add -A && git commit -m "autoresearch program", then \`autoresearch run\`.\n`,
    );
  } finally {
    prompter?.close();
  }
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'write program.md: the metric, run command, budget, files, checks, agent and stop conditions of your experiment, plus research directions for the agent',
    )
    .option('-p, --program <file>', 'where to write it', 'program.md')
    .option('--run <command>', 'the experiment command, e.g. "node bench.js" or "uv run train.py"')
    .option('--budget <duration>', 'time budget per experiment, e.g. 300s')
    .option(
      '--probe',
      'run the command once (within the budget) and propose the metrics it printed',
    )
    .option('--metric <name>', 'the number your run prints, e.g. val_bpb')
    .option('--goal <goal>', 'minimize or maximize')
    .option('--timeout <duration>', 'hard kill after, e.g. 600s')
    .option('--editable <files>', 'files the agent may change (comma-separated, repeatable)', list)
    .option(
      '--protected <files>',
      'files nobody may change, e.g. the evaluator (comma-separated, repeatable)',
      list,
    )
    .option(
      '--checks <command>',
      'must pass before each experiment, e.g. "npm test" (default: the tests found)',
    )
    .option('--no-checks', 'no checks, even if tests are found')
    .option(
      '--constraints <list>',
      'secondary metrics that must hold, e.g. "memory_gb <= 60" (comma-separated)',
      list,
    )
    .option('--agent <name>', `agent: ${agentNames().join(', ')}`)
    .option('--agent-command <command>', "the command agent's command (implies --agent command)")
    .option('--model <model>', 'the model, e.g. anthropic:claude-sonnet-4-20250514 for llm')
    .option(
      '--tune <files>',
      "detect UPPER_CASE constants in these files and declare them as the tune agent's search space (comma-separated)",
      list,
    )
    .option('--experiments <n>', 'stop after this many experiments')
    .option('--hours <n>', 'stop after this many hours')
    .option('--spend <usd>', "stop when the agent's spend reaches this many US dollars")
    .option(
      '--template [name]',
      'write a ready program (its evaluator, checks and program.md); no name: list them',
    )
    .option('-y, --yes', 'do not ask: take flags and detected defaults')
    .option(
      '-f, --force',
      'rewrite an existing front matter (its settings are the default answers)',
    )
    .addHelpText(
      'after',
      `
Asks one question per line (answers may be piped in, one per line, in this order): run
command, budget, metric, goal, timeout, editable, protected, checks, constraints, agent (and
its model, command or files to tune), stop after experiments, hours, spend (paid agents).
An empty answer takes the default in brackets; flags answer their question.

It detects the project: checks default to \`npm test\` (package.json with a test script),
\`pytest\` (tests/ or pytest config), \`cargo test\` (Cargo.toml) or \`go test ./...\` (go.mod);
installed node_modules or .venv are listed in keep_ignored so sealed runs see them. In a folder
with train.py + prepare.py (the single-GPU training setup) it proposes uv run train.py,
val_bpb minimize, budget 300s, editable train.py, protected prepare.py. The prose of an existing
program.md is kept as the body. What it writes always passes \`autoresearch run\`'s checks.

Examples:
  autoresearch init --template code-perf --agent claude-code
  autoresearch init --run "node bench.js" --probe --editable src/cache.js --budget 60s -y
  autoresearch init --tune train.py -y
  autoresearch init --agent command --agent-command "./propose.sh" --checks "npm test" -y`,
    )
    .action(async (flags: InitFlags) =>
      flags.template !== undefined ? initTemplate(flags.template, flags) : init(flags),
    );
}
