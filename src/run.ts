/**
 * `autoresearch run` as a library call: open (or resume) the run, build the agent, executor and
 * policy, and drive the loop until a stop condition. The CLI is a thin shell around this.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, agentSetting } from './agents/registry.js';
import type { AgentContext } from './agents/descriptor.js';
import type { Agent } from './agents/agent.js';
import type { Executor } from './executors/executor.js';
import { createExecutor } from './executors/create.js';
import { Notifier } from './notify/notifier.js';
import type { WebhookConfig } from './notify/config.js';
import { runLoop, type LoopResult } from './loop/loop.js';
import type { LoopListener } from './loop/events.js';
import { openRun, type OpenRunOptions } from './loop/setup.js';
import { programPolicy } from './policy/paired.js';
import type { Policy } from './policy/policy.js';
import { UserError } from './program/errors.js';
import { Sandbox } from './sandbox/sandbox.js';
import { Ledger } from './ledger/ledger.js';
import { ledgerPath } from './loop/context.js';
import { repoRoot } from './workspace/git.js';
import type { SandboxSupport } from './sandbox/detect.js';

export interface StartRunOptions extends OpenRunOptions {
  /**
   * The agent: a registered name (overrides `agent:` in program.md, whose options it then keeps),
   * or an Agent object, which makes `agent:` unnecessary. Either way the loop hands it the same
   * ProposalContext, `seal` included.
   */
  agent?: string | Agent;
  /** Overrides a named agent's `model` option, e.g. anthropic:claude-sonnet-4-20250514. */
  model?: string;
  /** More webhooks for this invocation (`--webhook`), on top of `webhooks:`. */
  webhooks?: WebhookConfig[];
  /** Overrides `pipeline:`. */
  pipeline?: boolean;
  onEvent?: LoopListener;
  /** Aborting kills experiments in flight; the run stops and can be resumed. */
  abort?: AbortController;
  /** Where experiments run; default: `executor:` in program.md (local, or slurm). */
  executor?: Executor;
  /** Keeps or discards; default: the policy `decision:`, `repeats:` and `metric:` in program.md ask for. */
  policy?: Policy;
  /** The environment agents and experiments start from (secrets are removed); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Called with the goal once the program is read (for progress display). */
  onProgram?: (info: { goal: 'minimize' | 'maximize'; metric: string }) => void;
}

export async function startRun(opts: StartRunOptions): Promise<LoopResult> {
  return drive({ ...opts, rerunsOnly: false });
}

/** What `measureReruns` needs: the run, and optionally how to measure. */
export type MeasureRerunsOptions = Pick<
  StartRunOptions,
  'cwd' | 'program' | 'budget' | 'parallel' | 'onEvent' | 'abort' | 'executor' | 'env'
> & { tag: string };

/**
 * Measures a run's pending re-run requests now, in this process, when no harness runs it (a
 * finished run, `autoresearch rerun` on it): the loop's own re-run path (same executor, sandbox,
 * clean worktrees and ledger records) without proposing anything. While it measures, the run is
 * this process's (`status`, the controls and another `run` see a live harness); then its state
 * and stop reason are as before. Requests are taken from the ledger (`requestRerun`).
 */
export async function measureReruns(opts: MeasureRerunsOptions): Promise<LoopResult> {
  const program = opts.program ?? (await recordedProgram(opts.cwd, opts.tag));
  return drive({ ...opts, program, rerunsOnly: true });
}

/** The program file the run started from (it must be the same one). */
async function recordedProgram(cwd: string, tag: string): Promise<string> {
  const repo = await repoRoot(cwd);
  const path = ledgerPath(repo);
  const ledger = existsSync(path) ? new Ledger(path) : null;
  try {
    const run = ledger?.getRun(tag);
    if (!run) throw new UserError(`no run ${tag} in the ledger of ${repo}`, 'autoresearch status');
    return join(repo, run.program_path);
  } finally {
    ledger?.close();
  }
}

/** measureReruns proposes nothing: an agent that is never asked. */
const NO_AGENT: Agent = {
  name: 'none',
  propose: () => Promise.reject(new Error('measureReruns proposes nothing')),
};

async function drive(opts: StartRunOptions & { rerunsOnly: boolean }): Promise<LoopResult> {
  const env = opts.env ?? process.env;
  // The agent and the executor are made (and the cluster checked) before anything is created.
  const opened = await openRun<{ agent: Agent; executor: Executor; sandbox: SandboxSupport }>(
    opts,
    async ({ program, programDirAbs, ledger, tag }) => {
      const sandbox = await Sandbox.detect(program.config.sandbox, env);
      const agent = opts.rerunsOnly
        ? NO_AGENT
        : await agentFor(opts, { program, programDirAbs, ledger, runTag: tag, env });
      const executor = opts.executor ?? (await createExecutor(program, env));
      await executor.check?.();
      return { agent, executor, sandbox };
    },
  );
  const config = opened.program.config;
  if (opts.parallel && config.devices && opts.parallel > config.devices.length) {
    opened.ledger.close();
    throw new UserError(
      `--parallel ${opts.parallel} but only ${config.devices.length} devices in ${opened.program.file}: two experiments would share a device`,
      `--parallel ${config.devices.length}, or list more devices`,
    );
  }
  opts.onProgram?.({ goal: config.metric.goal, metric: config.metric.name });
  const emit = opts.onEvent ?? (() => {});
  const sandbox = new Sandbox(opened.prepared.sandbox, {
    repo: opened.repo,
    programDir: opened.programDir,
    stateDir: opened.paths.stateDir,
    workDir: opened.paths.workDir,
    hidden: config.hidden,
    keepIgnored: config.keep_ignored,
    protectedFiles: Object.keys(opened.protectedHashes),
  });
  opened.ledger.updateRun(opened.run.tag, {
    sandbox_json: JSON.stringify({ sealed: sandbox.sealed, text: sandbox.describe() }),
  });
  const webhooks = [...config.webhooks, ...(opts.webhooks ?? [])];
  // Re-runs alone notify nobody: the run did not start or stop.
  const notifier =
    webhooks.length && !opts.rerunsOnly
      ? new Notifier({
          webhooks,
          run: opened.run,
          spend: () => opened.ledger.spend(opened.run.tag).usd,
          onWarn: (text) => emit({ type: 'note', level: 'warn', text }),
        })
      : null;
  try {
    return await runLoop({
      run: opened.run,
      paths: opened.paths,
      program: opened.program,
      programDir: opened.programDir,
      ledger: opened.ledger,
      agent: opened.prepared.agent,
      executor: opened.prepared.executor,
      sandbox,
      policy: opts.policy ?? programPolicy(config),
      limits: {
        maxExperiments: opts.maxExperiments ?? config.stop.experiments,
        maxHours: opts.maxHours ?? config.stop.hours,
        maxFailures: config.stop.agent_failures,
        maxSkips: config.stop.skips_in_a_row,
        slots: opts.parallel ?? config.slots,
        pipeline: opts.pipeline ?? config.pipeline,
        maxSpendUsd: config.stop.spend_usd,
        maxTokens: config.stop.tokens,
      },
      protectedHashes: opened.protectedHashes,
      emit: (e) => {
        emit(e);
        notifier?.handle(e);
      },
      env,
      resumed: opened.resumed,
      abort: opts.abort,
      rerunsOnly: opts.rerunsOnly ? { before: opened.before } : undefined,
    });
  } finally {
    // Deliveries still retrying get a bounded wait: notifications never hold the harness hostage.
    if (notifier)
      await Promise.race([notifier.close(), new Promise((r) => setTimeout(r, 15_000).unref())]);
    opened.ledger.close();
  }
}

/** The Agent object given, or the registered one `agent:` (or the name given) asks for. */
async function agentFor(opts: StartRunOptions, ctx: AgentContext): Promise<Agent> {
  if (typeof opts.agent !== 'object') {
    const { name, options } = agentSetting(ctx.program, opts.agent, opts.model);
    return createAgent(name, options, ctx);
  }
  const agent = opts.agent as Partial<Agent> | null;
  if (
    !agent ||
    typeof agent.propose !== 'function' ||
    typeof agent.name !== 'string' ||
    !agent.name
  ) {
    throw new UserError(
      'startRun: `agent` is neither a registered name nor an Agent (an object with a `name` string and a `propose(ctx)` method)',
      "pass { name: 'my-agent', async propose(ctx) { ... return { title } } }",
    );
  }
  if (opts.model)
    throw new UserError(
      `startRun: \`model\` configures a named agent; the Agent object "${agent.name}" chooses its own model`,
      'drop `model`, or pass the agent by name',
    );
  return agent as Agent;
}
