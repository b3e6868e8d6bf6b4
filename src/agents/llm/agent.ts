/**
 * The `llm` agent: a small tool-using coding agent over the AI SDK. For each proposal it gives a
 * model the rendered brief and workspace tools (list, read, search, edit, write, finish), lets it
 * work for up to `max_steps` steps, and returns the title and hypothesis it gave with `finish`,
 * with the tokens and cost of all steps. Only editable, unprotected files can be changed.
 */
import { oneLine as titleLine, titleFromMessage } from '../title.js';
import { APICallError, generateText, hasToolCall, RetryError, stepCountIs } from 'ai';
import { UserError } from '../../program/errors.js';
import { renderBriefWithin } from '../../program/brief.js';
import type { Price } from '../pricing.js';
import { costOf } from '../pricing.js';
import type { Agent, Proposal, ProposalContext, Usage } from '../agent.js';
import { parseAgentOptions, type AgentContext } from '../descriptor.js';
import {
  DEFAULT_KEY_ENV,
  llmOptions,
  parseModel,
  type LlmOptions,
  type Provider,
} from './options.js';
import { createModel } from './providers.js';
import { cachedPrompt, withMovingBreakpoint } from './prompt-cache.js';
import { workspaceTools, type ToolStats } from './tools.js';

/** The agent for raw `agent:` options (checked here). */
export function createLlmAgent(options: Record<string, unknown>, ctx: AgentContext): Agent {
  return llmAgentFor(parseAgentOptions(llmOptions, options, ctx), ctx);
}

/** The agent for checked options (the descriptor's `load`). */
export function llmAgentFor(o: LlmOptions, ctx: AgentContext): Agent {
  return new LlmAgent(o, {
    env: ctx.env,
    editable: ctx.program.config.editable,
    protected: ctx.program.config.protected,
    prices: ctx.program.config.prices,
    briefTokens: ctx.program.config.brief_tokens,
  });
}

export interface LlmAgentSettings {
  env: NodeJS.ProcessEnv;
  editable: string[];
  protected: string[];
  prices?: Record<string, Price>;
  /** The brief is rendered within this many tokens (program.md `brief_tokens`), as for every agent. */
  briefTokens?: number;
}

export class LlmAgent implements Agent {
  readonly name = 'llm';
  private readonly provider: Provider;
  private readonly modelId: string;
  private readonly apiKey: string | undefined;

  constructor(
    private readonly o: LlmOptions,
    private readonly s: LlmAgentSettings,
  ) {
    const m = parseModel(o.model)!;
    this.provider = m.provider;
    this.modelId = m.id;
    const keyEnv = o.api_key_env ?? DEFAULT_KEY_ENV[m.provider];
    this.apiKey = keyEnv ? s.env[keyEnv] : undefined;
    if (keyEnv && !this.apiKey) {
      throw new UserError(
        `the llm agent (model ${o.model}) needs an API key in the environment variable ${keyEnv}, which is not set`,
        `export ${keyEnv}=... before starting the run${o.api_key_env ? '' : ', or name another variable with `api_key_env:` under `agent:`'}`,
      );
    }
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const stats: ToolStats = { calls: {}, errors: 0, changed: [] };
    const tools = workspaceTools(
      {
        programDir: ctx.programDir,
        editable: this.s.editable,
        protected: this.s.protected,
        readProtected: this.o.read_protected,
      },
      stats,
    );
    const timeout = AbortSignal.timeout(this.o.timeout * 1000);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    // The AI SDK retries one model call at a time (never the whole conversation, whose tools
    // already changed files); the requests it made, less the steps, are its retries.
    let requests = 0;
    const model = createModel({
      provider: this.provider,
      id: this.modelId,
      baseURL: this.o.base_url,
      apiKey: this.apiKey,
      fetch: (input, init) => {
        requests++;
        return globalThis.fetch(input, init);
      },
    });
    const usage = { inputTokens: 0, outputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 };
    let steps = 0;
    let text = '';
    let finishReason = '';
    const system = systemPrompt(
      this.s.editable,
      this.s.protected,
      this.o.read_protected,
      this.o.max_steps,
    );
    const brief = renderBriefWithin(ctx.brief, this.s.briefTokens ?? 8000);
    const cache = this.provider === 'anthropic' && this.o.prompt_cache;
    try {
      const result = await generateText({
        model,
        ...(cache
          ? {
              ...cachedPrompt(system, brief),
              prepareStep: ({ messages }) => ({ messages: withMovingBreakpoint(messages) }),
            }
          : { system, prompt: brief }),
        tools,
        stopWhen: [stepCountIs(this.o.max_steps), hasToolCall('finish')],
        maxOutputTokens: this.o.max_output_tokens,
        ...(this.o.temperature !== undefined ? { temperature: this.o.temperature } : {}),
        maxRetries: this.o.retries,
        abortSignal: signal,
        onStepFinish: (step) => {
          steps++;
          usage.inputTokens += step.usage.inputTokens ?? 0;
          usage.outputTokens += step.usage.outputTokens ?? 0;
          usage.cachedTokens +=
            step.usage.inputTokenDetails?.cacheReadTokens ?? step.usage.cachedInputTokens ?? 0;
          usage.cacheWriteTokens += step.usage.inputTokenDetails?.cacheWriteTokens ?? 0;
        },
      });
      text = result.text;
      finishReason = result.finishReason;
    } catch (e) {
      if (ctx.signal.aborted) throw new Error('the llm agent was interrupted');
      if (timeout.aborted)
        throw new Error(
          `the llm agent timed out after ${this.o.timeout}s (${steps} steps; model ${this.o.model})`,
        );
      // The failing call's last request was no retry.
      throw new Error(this.describeFailure(e, steps, Math.max(0, requests - steps - 1)), {
        cause: e,
      });
    }

    const { title, hypothesis } = stats.finish ?? fallbackTitle(text, stats.changed, steps);
    const lessons = stats.finish?.lessons?.trim();
    return {
      title: oneLine(title),
      hypothesis: hypothesis?.trim() || undefined,
      ...(lessons ? { lessons } : {}),
      usage: { ...usage, costUsd: this.cost(usage) },
      meta: {
        model: this.o.model,
        steps,
        finished: stats.finish !== undefined,
        finishReason,
        toolCalls: stats.calls,
        toolErrors: stats.errors,
        changedFiles: stats.changed,
        retries: requests - steps,
      },
    };
  }

  /** Price keys are "provider:id"; openai-chat models fall back to the openai entries. */
  private cost(usage: Omit<Usage, 'costUsd'>): number | undefined {
    const direct = costOf(this.o.model, usage, this.s.prices);
    const viaOpenai =
      direct === null && this.provider === 'openai-chat'
        ? costOf(`openai:${this.modelId}`, usage, this.s.prices)
        : null;
    return direct ?? viaOpenai ?? undefined;
  }

  private describeFailure(e: unknown, steps: number, retries: number): string {
    const where = `${this.provider} model ${this.modelId}`;
    const after = `after ${steps} completed step${steps === 1 ? '' : 's'}${retries ? ` and ${retries} retr${retries === 1 ? 'y' : 'ies'}` : ''}`;
    const last = RetryError.isInstance(e) ? e.lastError : e;
    if (APICallError.isInstance(last)) {
      const status = last.statusCode !== undefined ? `HTTP ${last.statusCode}` : 'no response';
      return `the llm agent's request to ${where} failed (${status} from ${last.url}) ${after}: ${last.message}`;
    }
    return `the llm agent failed calling ${where} ${after}: ${(last as Error)?.message ?? String(last)}`;
  }
}

function systemPrompt(
  editable: string[],
  protectedPatterns: string[],
  readProtected: boolean,
  maxSteps: number,
): string {
  return [
    "You are a research engineer in an automated experiment loop. The user message is a research brief: the metric to improve, what has been tried, and the human's directions.",
    'Your job: make ONE focused change to the code that tests one idea for improving the metric, then call `finish`.',
    '',
    'Rules:',
    '- Work only through the tools. Paths are relative to the program folder; never use absolute paths or "..".',
    `- You may change only files matching: ${editable.join(', ')}.`,
    protectedPatterns.length
      ? `- Protected files (${protectedPatterns.join(', ')}) must never be changed${readProtected ? '; you may read them' : ' and are hidden from you'}.`
      : null,
    '- Read the relevant code before editing. `edit_file` replaces text that must occur exactly once in the file; `write_file` replaces a whole file.',
    '- Keep the change small and self-contained so its effect can be measured. Do not try to run anything: after you finish, the harness commits your change, runs the experiment and measures it.',
    `- You have at most ${maxSteps} steps. When the change is made, call \`finish\` with a one-line \`title\` (what changed), a \`hypothesis\` (why it should help) and, when you learned something later experiments should know, \`lessons\`; then stop.`,
  ]
    .filter((l) => l !== null)
    .join('\n');
}

/** A title when the model never called finish: TITLE:/HYPOTHESIS: lines, else its last words, else what it changed. */
function fallbackTitle(
  text: string,
  changed: string[],
  steps: number,
): { title: string; hypothesis?: string } {
  const { title, hypothesis } = titleFromMessage(text);
  if (title) return { title, hypothesis };
  if (changed.length)
    return {
      title: `edit ${changed.join(', ')} (the llm agent stopped after ${steps} steps without calling finish)`,
    };
  return { title: `no change (the llm agent stopped after ${steps} steps without calling finish)` };
}

const oneLine = (s: string): string => titleLine(s, 'untitled change by the llm agent');
