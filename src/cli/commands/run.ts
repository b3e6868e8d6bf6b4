import type { Command } from 'commander';
import { durationOption, hostNameOption, intOption, numberOption } from '../options.js';
import { InvalidArgumentError } from 'commander';
import { WebhookSchema, type WebhookConfig } from '../../notify/config.js';
import { agentHelp, agentNames } from '../../agents/catalog.js';

/** `--webhook slack:https://…` or `--webhook https://…` (generic JSON). */
function webhookOption(value: string, previous: WebhookConfig[] = []): WebhookConfig[] {
  const m = /^(json|slack|discord|ntfy):(https?:\/\/.+)$/.exec(value);
  const parsed = WebhookSchema.safeParse(m ? { url: m[2], format: m[1] } : { url: value });
  if (!parsed.success)
    throw new InvalidArgumentError(
      'expected [json|slack|discord|ntfy:]http(s)://… e.g. slack:https://hooks.example/…',
    );
  return [...previous, parsed.data as WebhookConfig];
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'run the experiment loop: baseline, then propose -> commit -> run -> measure -> keep/discard -> record, until a stop condition',
    )
    .option('-p, --program <file>', 'the program file', 'program.md')
    .option(
      '-t, --tag <tag>',
      'run name; the branch is autoresearch/<tag> (default: today, e.g. nov28). An existing tag is resumed',
    )
    .option(
      '-a, --agent <name>',
      `agent that proposes changes (overrides \`agent:\`): ${agentNames().join(', ')}`,
    )
    .option(
      '-m, --model <model>',
      "the agent's model, e.g. anthropic:claude-sonnet-4-20250514 for llm (overrides its `model`)",
    )
    .option(
      '-n, --max-experiments <n>',
      'stop after this many experiments, not counting the baseline (overrides stop.experiments)',
      intOption,
    )
    .option(
      '--max-hours <h>',
      'stop after this many hours of this invocation (overrides stop.hours)',
      numberOption,
    )
    .option(
      '-b, --budget <duration>',
      'time budget per experiment for this invocation, e.g. 60s (overrides `budget:`)',
      durationOption,
    )
    .option(
      '--webhook <[format:]url>',
      'notify this URL of new bests, crash streaks, the stop and a digest (format json, slack, discord or ntfy; repeatable)',
      webhookOption,
    )
    .option('--no-dashboard', 'do not serve the live dashboard')
    .option(
      '--host <host>',
      'dashboard address (default 127.0.0.1; 0.0.0.0 exposes it, token-protected, with a warning)',
      '127.0.0.1',
    )
    .option('--port <port>', 'dashboard port (default: any free port)', intOption)
    .option(
      '--allow-host <name>',
      'another name the dashboard answers to, e.g. behind a reverse proxy (repeatable; other names are refused against DNS rebinding)',
      hostNameOption,
      [],
    )
    .option(
      '--pipeline',
      'let the agent prepare the next candidate while the current one runs (overrides `pipeline:`)',
    )
    .option(
      '-j, --parallel <n>',
      'experiments run at once, one worktree each (overrides `slots:`)',
      intOption,
    )
    .addHelpText(
      'after',
      `
Everything happens on branch autoresearch/<tag> in worktrees under .autoresearch/; your checkout,
branch and uncommitted work are never touched. Kill it any time (Ctrl-C, or even kill -9) and run
the same command again to resume: no experiment is lost or counted twice.

Agents (\`agent:\` in program.md, or --agent):
${agentHelp()}

Examples:
  autoresearch run                          # today's run, settings from program.md
  autoresearch run --tag lr-sweep -n 50     # a named run of 50 experiments
  autoresearch run --agent command          # use agent settings from program.md for 'command'
  autoresearch run --agent llm --model anthropic:claude-sonnet-4-20250514
  autoresearch stop                         # from another shell: finish the current experiment, then stop`,
    )
    .action(
      async (o: {
        program: string;
        tag?: string;
        agent?: string;
        maxExperiments?: number;
        maxHours?: number;
        parallel?: number;
        budget?: number;
        pipeline?: boolean;
        model?: string;
        dashboard: boolean;
        host: string;
        port?: number;
        allowHost: string[];
        webhook?: WebhookConfig[];
      }) => {
        // Loaded here, not at the top: `--help`, `status` and the other quick commands skip the loop's modules.
        const [{ startRun }, { ProgressReporter }, { serveDashboard }] = await Promise.all([
          import('../../run.js'),
          import('../progress.js'),
          import('./serve.js'),
        ]);
        const reporter = new ProgressReporter(process.stdout);
        const abort = new AbortController();
        let signals = 0;
        const onSignal = (sig: NodeJS.Signals) => {
          signals++;
          if (signals > 1) {
            process.stderr.write(
              `\n${sig} again: exiting now; the experiment in flight is re-run on resume\n`,
            );
            process.exit(130);
          }
          process.stderr.write(
            `\n${sig}: stopping the experiment in flight and saving the run (again to force)\n`,
          );
          abort.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        let dashboard: Awaited<ReturnType<typeof serveDashboard>> | null = null;
        try {
          if (o.dashboard)
            dashboard = await serveDashboard(process.cwd(), o.host, o.port, o.allowHost);
          const result = await startRun({
            cwd: process.cwd(),
            program: o.program,
            tag: o.tag,
            agent: o.agent,
            model: o.model,
            maxExperiments: o.maxExperiments,
            maxHours: o.maxHours,
            parallel: o.parallel,
            budget: o.budget,
            pipeline: o.pipeline,
            webhooks: o.webhook,
            abort,
            onEvent: reporter.handle,
            onProgram: ({ goal }) => reporter.setGoal(goal),
          });
          if (result.reason === 'interrupted') process.exitCode = 130;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await dashboard?.close();
        }
      },
    );
}
