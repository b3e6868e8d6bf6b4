import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseDuration } from '../../program/duration.js';
import { UserError } from '../../program/errors.js';
import { detectLayout, renderProgram, type InitAnswers } from '../../program/init.js';
import { parseProgram } from '../../program/program.js';
import { detectCandidateConstants } from '../../tune/assignments.js';
import { agentNames } from '../../agents/catalog.js';

interface InitFlags {
  program: string;
  metric?: string;
  goal?: string;
  run?: string;
  budget?: string;
  timeout?: string;
  editable?: string[];
  protected?: string[];
  agent?: string;
  experiments?: string;
  tune?: string[];
  yes?: boolean;
  force?: boolean;
}

/** Offers the constants found in `files` as a search space; asks which to keep when interactive. */
async function searchFromConstants(
  files: string[],
  rl: ReturnType<typeof createInterface> | null,
): Promise<Record<string, unknown>> {
  const params: Record<string, Record<string, unknown>> = {};
  for (const file of files) {
    const path = resolve(process.cwd(), file);
    if (!existsSync(path))
      throw new UserError(
        `--tune ${file}: file not found`,
        'pass the editable file that holds your hyperparameters',
      );
    for (const c of detectCandidateConstants(readFileSync(path, 'utf8'), file)) {
      if (!c.complete) continue; // string constants need their alternatives listed by a person
      const { name: _name, ...spec } = c.suggested as unknown as Record<string, unknown>;
      params[c.name] = spec;
      process.stdout.write(
        `  found ${c.name} = ${String(c.value)} (${file}:${c.line}) -> ${JSON.stringify(spec)}\n`,
      );
    }
  }
  if (Object.keys(params).length === 0)
    throw new UserError(
      `no UPPER_CASE numeric or boolean constants found in ${files.join(', ')}`,
      'declare `search:` by hand (see the README)',
    );
  if (rl) {
    const answer = (
      await rl.question(`tune which? (comma-separated) [${Object.keys(params).join(',')}]: `)
    ).trim();
    if (answer)
      for (const name of Object.keys(params)) if (!list(answer).includes(name)) delete params[name];
  }
  return { strategy: 'tpe', params };
}

const list = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'write program.md: the metric, run command, budget and files of your experiment, plus research directions for the agent',
    )
    .option('-p, --program <file>', 'where to write it', 'program.md')
    .option('--metric <name>', 'the number your run prints, e.g. val_bpb')
    .option('--goal <goal>', 'minimize or maximize')
    .option('--run <command>', 'the experiment command, e.g. "uv run train.py"')
    .option('--budget <duration>', 'time budget per experiment, e.g. 300s')
    .option('--timeout <duration>', 'hard kill after, e.g. 600s')
    .option('--editable <files>', 'files the agent may change (comma-separated, repeatable)', list)
    .option(
      '--protected <files>',
      'files nobody may change, e.g. the evaluator (comma-separated, repeatable)',
      list,
    )
    .option('--agent <name>', `agent: ${agentNames().join(', ')}`)
    .option('--experiments <n>', 'stop after this many experiments')
    .option(
      '--tune <files>',
      "detect UPPER_CASE constants in these files and declare them as the tune agent's search space (comma-separated)",
      list,
    )
    .option('-y, --yes', 'do not ask: take flags and detected defaults')
    .option('-f, --force', 'overwrite an existing front matter')
    .addHelpText(
      'after',
      `
In a folder with train.py + prepare.py (the well-known single-GPU setup) it proposes
uv run train.py, val_bpb minimize, budget 300s, editable train.py, protected prepare.py, and
keeps the prose of an existing program.md as the body.

Example:
  autoresearch init --metric p99_ms --goal minimize --run "node bench.js" --editable src/cache.js --budget 60s -y`,
    )
    .action(async (flags: InitFlags) => {
      const file = resolve(process.cwd(), flags.program);
      let body = '';
      if (existsSync(file)) {
        const text = readFileSync(file, 'utf8');
        if (/^---\s*$/m.test(text.split('\n')[0] ?? '')) {
          if (!flags.force)
            throw new UserError(
              `${flags.program} already has front matter`,
              `edit it, or rewrite it with: autoresearch init --force`,
            );
          body = text.replace(/^---[\s\S]*?\n---[^\n]*\n?/, '');
        } else body = text;
      }
      const layout = detectLayout(readdirSync(process.cwd()));
      if (layout) process.stdout.write(`detected: ${layout.name}\n`);
      const d = layout?.defaults ?? {};
      const interactive = !flags.yes && Boolean(process.stdin.isTTY);
      const rl = interactive
        ? createInterface({ input: process.stdin, output: process.stdout })
        : null;
      const ask = async (
        question: string,
        flag: string | undefined,
        fallback: string | undefined,
      ): Promise<string | undefined> => {
        if (flag !== undefined) return flag;
        if (!rl) return fallback;
        const answer = (
          await rl.question(`${question}${fallback ? ` [${fallback}]` : ''}: `)
        ).trim();
        return answer || fallback;
      };
      try {
        const metric = await ask(
          'metric name (the number your run prints)',
          flags.metric,
          d.metric,
        );
        const goal = await ask('goal (minimize/maximize)', flags.goal, d.goal ?? 'minimize');
        const run = await ask('run command', flags.run, d.run);
        const budget = await ask('time budget per experiment', flags.budget, d.budget ?? '300s');
        const timeout = await ask(
          'hard timeout',
          flags.timeout,
          d.timeout ?? `${Math.max(2 * (parseDuration(budget ?? '300') ?? 300), 60)}s`,
        );
        const editable =
          flags.editable ??
          list(
            (await ask('editable files (comma-separated)', undefined, d.editable?.join(', '))) ??
              '',
          );
        const protectedFiles =
          flags.protected ??
          list(
            (await ask(
              'protected files (comma-separated, may be empty)',
              undefined,
              d.protected?.join(', ') ?? '',
            )) ?? '',
          );
        const missing = [
          !metric && '--metric',
          !run && '--run',
          editable.length === 0 && '--editable',
        ].filter(Boolean);
        if (missing.length > 0)
          throw new UserError(
            `missing ${missing.join(', ')}`,
            `autoresearch init --metric val_bpb --goal minimize --run "python train.py" --editable train.py -y`,
          );
        if (goal !== 'minimize' && goal !== 'maximize')
          throw new UserError(
            `goal must be minimize or maximize, not "${goal}"`,
            '--goal minimize',
          );
        for (const [name, value] of [
          ['budget', budget],
          ['timeout', timeout],
        ] as const) {
          if (parseDuration(value ?? '') === null)
            throw new UserError(`${name} "${value}" is not a duration`, `--${name} 300s`);
        }
        const search = flags.tune ? await searchFromConstants(flags.tune, rl) : undefined;
        const answers: InitAnswers = {
          metric: metric!,
          goal,
          run: run!,
          budget: budget!,
          timeout: timeout!,
          editable,
          protected: protectedFiles,
          agent: flags.agent ?? (search ? 'tune' : undefined),
          experiments: flags.experiments ? Number(flags.experiments) : undefined,
          extra: search ? { search } : undefined,
        };
        const text = renderProgram(answers, body);
        parseProgram(text, flags.program); // never write a file the run command would reject
        writeFileSync(file, text);
        process.stdout.write(
          `wrote ${flags.program}. Next: commit your files, then \`autoresearch run\`.\n`,
        );
      } finally {
        rl?.close();
      }
    });
}
