/**
 * The `command` agent: any shell command is an agent. It runs in the candidate's workspace with
 * the brief's path in AUTORESEARCH_BRIEF; whatever it changes in the editable files is the
 * proposal. It may write {"title": ..., "hypothesis": ..., "lessons": ..., "usage": {"input_tokens": ...,
 * "output_tokens": ..., "cached_tokens": ..., "cache_write_tokens": ..., "cost_usd": ...}} to
 * AUTORESEARCH_PROPOSAL, or print `TITLE: ...` / `HYPOTHESIS: ...` lines. Exit code 99 means "nothing more to propose".
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { LocalExecutor } from '../executors/local.js';
import { DurationSchema } from '../program/zod-types.js';
import { AgentExhausted, type Agent, type Proposal, type ProposalContext } from './agent.js';
import { defineAgent } from './descriptor.js';
import { parseTitleLines } from './title.js';

const EXIT_EXHAUSTED = 99;

export const commandAgent = defineAgent({
  name: 'command',
  summary: 'any shell command: a CLI agent, a script, a person with an editor',
  hint: 'write `agent: { name: command, command: ./propose.sh, timeout: 30m }`',
  optionsSchema: z.strictObject({
    command: z
      .string({ error: 'the command agent needs `command:`' })
      .min(1, 'the command agent needs `command:`'),
    timeout: DurationSchema.default(1800),
  }),
  load: async (o, ctx) =>
    new CommandAgent({ command: o.command, timeoutSeconds: o.timeout, env: ctx.env }),
});

export interface CommandAgentOptions {
  command: string;
  /** Seconds before the agent's process tree is killed. */
  timeoutSeconds: number;
  /** Environment for the agent (the harness's own: agents may need API keys). */
  env: NodeJS.ProcessEnv;
}

export class CommandAgent implements Agent {
  readonly name = 'command';
  private readonly executor = new LocalExecutor();

  constructor(private readonly options: CommandAgentOptions) {}

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const folder = dirname(ctx.briefPath);
    const logPath = join(folder, 'agent.log');
    // The run's own folder is invisible in the sandbox: the brief goes in, and the proposal comes
    // out, through the agent's private temp folder.
    const brief = join(ctx.seal.tmp, 'brief.md');
    copyFileSync(ctx.briefPath, brief);
    const proposalPath = join(ctx.seal.tmp, 'proposal.json');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.options.env))
      if (v !== undefined && !k.startsWith('AUTORESEARCH_')) env[k] = v;
    Object.assign(env, ctx.seal.env, {
      AUTORESEARCH_BRIEF: brief,
      AUTORESEARCH_PROPOSAL: proposalPath,
      AUTORESEARCH_WORKSPACE: ctx.workspace,
      AUTORESEARCH_EXPERIMENT_ID: String(ctx.experimentId),
    });
    const result = await this.executor.run(
      {
        experimentId: ctx.experimentId,
        command: this.options.command,
        cwd: ctx.programDir,
        env,
        budgetSeconds: this.options.timeoutSeconds,
        timeoutSeconds: this.options.timeoutSeconds,
        killGraceSeconds: 5,
        logPath,
        logHeadBytes: 256 * 1024,
        logTailBytes: 256 * 1024,
        seal: { prefix: ctx.seal.prefix, isolatesNetwork: false },
        onStart: ctx.onProcess,
      },
      ctx.signal,
    );
    if (existsSync(proposalPath)) copyFileSync(proposalPath, join(folder, 'proposal.json'));
    const output = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    if (result.aborted) throw new Error('the agent was interrupted');
    if (result.timedOut)
      throw new Error(`the agent command timed out after ${this.options.timeoutSeconds}s`);
    if (result.exitCode === EXIT_EXHAUSTED)
      throw new AgentExhausted('the agent command exited 99: nothing more to propose');
    if (result.exitCode !== 0) {
      const tail = output.trimEnd().split('\n').slice(-5).join('\n');
      throw new Error(
        `the agent command exited ${result.exitCode ?? result.signal}${tail ? `:\n${tail}` : ''}`,
      );
    }
    return readProposal(proposalPath, output);
  }
}

function readProposal(proposalPath: string, output: string): Proposal {
  let title: string | undefined;
  let hypothesis: string | undefined;
  let lessons: string | undefined;
  let usage: Proposal['usage'];
  if (existsSync(proposalPath)) {
    try {
      const data = JSON.parse(readFileSync(proposalPath, 'utf8')) as {
        title?: unknown;
        hypothesis?: unknown;
        lessons?: unknown;
        usage?: Record<string, unknown>;
      };
      if (typeof data.title === 'string') title = data.title;
      if (typeof data.hypothesis === 'string') hypothesis = data.hypothesis;
      // What the agent learned, for later briefs: one text, or a list of short ones.
      if (typeof data.lessons === 'string') lessons = data.lessons;
      else if (Array.isArray(data.lessons))
        lessons = data.lessons.filter((l) => typeof l === 'string').join('\n');
      if (data.usage && typeof data.usage === 'object') {
        // A CLI agent that reports its own tokens and cost (most do, in their JSON output) gets metered too.
        const n = (k: string) =>
          typeof data.usage![k] === 'number' ? (data.usage![k] as number) : undefined;
        usage = {
          inputTokens: n('input_tokens'),
          outputTokens: n('output_tokens'),
          cachedTokens: n('cached_tokens'),
          cacheWriteTokens: n('cache_write_tokens'),
          costUsd: n('cost_usd'),
        };
      }
    } catch (e) {
      throw new Error(`the agent wrote an unreadable ${proposalPath}: ${(e as Error).message}`);
    }
  }
  const lines = parseTitleLines(output);
  title ??= lines.title;
  hypothesis ??= lines.hypothesis;
  title ??=
    output
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean)
      ?.slice(0, 120) ?? 'change by command agent';
  return { title, hypothesis, usage, ...(lessons ? { lessons } : {}) };
}
