/**
 * The `claude-code` agent: Claude Code itself, through the Claude Agent SDK (an optional peer
 * dependency, loaded on demand). For each proposal it runs one `query()` in the candidate's
 * program folder with the rendered brief, and decides every tool call itself (`canUseTool`, with
 * filesystem settings off so no settings file can pre-approve anything): read-only tools anywhere
 * inside the workspace, edits only to editable, unprotected files, Bash only with `allow_bash`,
 * web tools never. Returns the title and hypothesis from the final text, with tokens and cost.
 */
import { oneLine as titleLine, titleFromMessage } from './title.js';
import { loadOptionalSdk } from './optional-sdk.js';
import { DurationSchema, EnvNameSchema } from '../program/zod-types.js';
import { spawnSealed } from '../sandbox/spawn.js';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { renderBriefWithin } from '../program/brief.js';
import { workspacePaths } from '../workspace/paths.js';
import type { Price } from './pricing.js';
import { costOf } from './pricing.js';
import type { Agent, Proposal, ProposalContext, Usage } from './agent.js';
import { defineAgent, parseAgentOptions, type AgentContext } from './descriptor.js';

const duration = DurationSchema;

const ClaudeCodeOptionsSchema = z.strictObject({
  /** A Claude model id (e.g. claude-sonnet-4-5); default: the SDK's default model. */
  model: z.string().min(1).optional(),
  /** Most model turns for one proposal. */
  max_turns: z.number().int().min(1).max(1000).default(30),
  /** Let the agent run shell commands (Bash and the other command tools). Off by default. */
  allow_bash: z.boolean().default(false),
  /** Wall-clock limit for one proposal. */
  timeout: duration.default(1800),
  /** Environment variable holding the API key; when unset, Claude Code may use an existing login. */
  api_key_env: EnvNameSchema.default('ANTHROPIC_API_KEY'),
  /** API base URL (a proxy, or a test server); sets ANTHROPIC_BASE_URL for Claude Code. */
  base_url: z
    .url({ protocol: /^https?$/, message: 'expected an http(s) URL such as http://localhost:8080' })
    .optional(),
});

type ClaudeCodeOptions = z.output<typeof ClaudeCodeOptionsSchema>;

type Sdk = typeof import('@anthropic-ai/claude-agent-sdk');

const loadSdk = (): Promise<Sdk> =>
  loadOptionalSdk(
    'claude-code',
    '@anthropic-ai/claude-agent-sdk',
    () => import('@anthropic-ai/claude-agent-sdk'),
  );

export const claudeCodeAgent = defineAgent({
  name: 'claude-code',
  summary: 'Claude Code (optional: npm install @anthropic-ai/claude-agent-sdk)',
  hint: 'write `agent: { name: claude-code, model: claude-sonnet-4-20250514, max_turns: 30 }`',
  optionsSchema: ClaudeCodeOptionsSchema,
  load: async (o, ctx) =>
    new ClaudeCodeAgent(await loadSdk(), o, {
      env: ctx.env,
      editable: ctx.program.config.editable,
      protected: ctx.program.config.protected,
      prices: ctx.program.config.prices,
      briefTokens: ctx.program.config.brief_tokens,
    }),
});

/** The agent for raw `agent:` options (checked here). */
export async function createClaudeCodeAgent(
  options: Record<string, unknown>,
  ctx: AgentContext,
): Promise<Agent> {
  return claudeCodeAgent.load(parseAgentOptions(claudeCodeAgent, options, ctx), ctx);
}

interface ClaudeCodeSettings {
  env: NodeJS.ProcessEnv;
  editable: string[];
  protected: string[];
  prices?: Record<string, Price>;
  briefTokens?: number;
}

/** Tools that only read; allowed for paths inside the workspace. */
const READ_TOOLS = new Set(['Read', 'Glob', 'Grep', 'LS']);
/** Tools that write one file, and the input field naming it. */
const WRITE_TOOLS: Record<string, string> = {
  Edit: 'file_path',
  Write: 'file_path',
  MultiEdit: 'file_path',
  NotebookEdit: 'notebook_path',
};
/** Tools that run commands. */
const COMMAND_TOOLS = new Set(['Bash', 'BashOutput', 'KillShell', 'KillBash']);
/** Never allowed: the agent works offline on the workspace. */
const WEB_TOOLS = ['WebFetch', 'WebSearch'];

interface PermissionStats {
  allowed: number;
  refused: number;
  /** "Tool: reason" for each refusal, in order (capped). */
  refusals: string[];
}

/**
 * The permission policy for one workspace, as a pure function of the tool call: `null` allows,
 * a string is the refusal the model sees. Exported for unit tests.
 */
export function permissionPolicy(o: {
  workspace: string;
  programDir: string;
  editable: string[];
  protected: string[];
  allowBash: boolean;
}) {
  // Claude Code's tools give absolute paths; reads may look anywhere in the worktree.
  const paths = workspacePaths({
    programDir: o.programDir,
    readRoot: o.workspace,
    editable: o.editable,
    protected: o.protected,
    paths: 'absolute',
  });

  return (tool: string, input: Record<string, unknown>): string | null => {
    if (READ_TOOLS.has(tool)) {
      const p = input.file_path ?? input.path;
      if (p === undefined || p === null || p === '') return null;
      if (typeof p !== 'string') return `${tool}: expected a path`;
      const v = paths.mayRead(p);
      return v.ok ? null : v.reason;
    }
    if (tool in WRITE_TOOLS) {
      const p = input[WRITE_TOOLS[tool]!];
      if (typeof p !== 'string' || !p) return `${tool}: a file path is required`;
      const v = paths.mayWrite(p);
      return v.ok ? null : v.reason;
    }
    if (COMMAND_TOOLS.has(tool)) {
      return o.allowBash
        ? null
        : `${tool} is not allowed: this agent may not run commands (set \`allow_bash: true\` under \`agent:\` to allow it). Do not try to run anything; the harness runs the experiment after you finish`;
    }
    if (WEB_TOOLS.includes(tool))
      return `${tool} is not allowed: the agent works offline, on the workspace only`;
    return `${tool} is not available to this agent; use Read, Glob, Grep to look and Edit or Write to change editable files`;
  };
}

class ClaudeCodeAgent implements Agent {
  readonly name = 'claude-code';

  constructor(
    private readonly sdk: Sdk,
    private readonly o: ClaudeCodeOptions,
    private readonly s: ClaudeCodeSettings,
  ) {}

  private env(ctx: ProposalContext): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = { ...this.s.env, ...ctx.seal.env };
    if (ctx.seal.prefix.length > 0) {
      // Sealed, the user's home is read-only: Claude Code keeps its state in the private temp folder.
      const config = join(ctx.seal.tmp, 'claude');
      mkdirSync(config, { recursive: true });
      const credentials = join(
        this.s.env.CLAUDE_CONFIG_DIR ?? join(this.s.env.HOME ?? '', '.claude'),
        '.credentials.json',
      );
      if (existsSync(credentials)) copyFileSync(credentials, join(config, '.credentials.json'));
      env.CLAUDE_CONFIG_DIR = config;
    }
    const key = this.s.env[this.o.api_key_env];
    if (key) env.ANTHROPIC_API_KEY = key;
    if (this.o.base_url)
      env.ANTHROPIC_BASE_URL = this.o.base_url.replace(/\/v1\/?$/, '').replace(/\/$/, '');
    // Otherwise every proposal also asks the model for a session title (billed, never shown),
    // and Claude Code checks for updates and reports telemetry.
    env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC ??= '1';
    return env;
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const policy = permissionPolicy({
      workspace: ctx.workspace,
      programDir: ctx.programDir,
      editable: this.s.editable,
      protected: this.s.protected,
      allowBash: this.o.allow_bash,
    });
    const stats: PermissionStats = { allowed: 0, refused: 0, refusals: [] };
    const abort = new AbortController();
    let timedOut = false;
    const onAbort = () => abort.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.o.timeout * 1000);
    timer.unref?.();

    const brief = existsSync(ctx.briefPath)
      ? readFileSync(ctx.briefPath, 'utf8')
      : renderBriefWithin(ctx.brief, this.s.briefTokens ?? 8000);
    const prompt = `${brief}\n\n---\n${instructions(this.s.editable, this.s.protected, this.o.allow_bash)}`;
    const stderr: string[] = [];
    let result: any;
    let lastText = '';
    let turns = 0;
    const toolCalls: Record<string, number> = {};
    try {
      if (ctx.signal.aborted) throw new Error('aborted');
      const q = this.sdk.query({
        prompt,
        options: {
          cwd: ctx.programDir,
          env: this.env(ctx),
          ...(ctx.seal.prefix.length > 0
            ? {
                spawnClaudeCodeProcess: sealedSpawn(ctx, (d) => {
                  if (stderr.join('').length < 20_000) stderr.push(d);
                }),
              }
            : {}),
          ...(this.o.model ? { model: this.o.model } : {}),
          maxTurns: this.o.max_turns,
          permissionMode: 'default',
          // No settings files: a settings.json in the workspace or HOME must not pre-approve tools.
          settingSources: [],
          // Defence in depth: tools that are never allowed are not offered at all.
          disallowedTools: this.o.allow_bash ? [...WEB_TOOLS] : [...WEB_TOOLS, ...COMMAND_TOOLS],
          abortController: abort,
          persistSession: false,
          stderr: (d: string) => {
            if (stderr.join('').length < 20_000) stderr.push(d);
          },
          canUseTool: async (tool, input) => {
            const refusal = policy(tool, input);
            if (refusal === null) {
              stats.allowed++;
              return { behavior: 'allow', updatedInput: input };
            }
            stats.refused++;
            if (stats.refusals.length < 50) stats.refusals.push(`${tool}: ${refusal}`);
            return { behavior: 'deny', message: refusal };
          },
        },
      });
      for await (const m of q) {
        if (m.type === 'assistant' && m.parent_tool_use_id === null) {
          for (const b of m.message.content as Array<{ type: string; name?: string }>) {
            if (b.type === 'tool_use' && b.name) toolCalls[b.name] = (toolCalls[b.name] ?? 0) + 1;
          }
          const text = (m.message.content as Array<{ type: string; text?: string }>)
            .filter((b) => b.type === 'text')
            .map((b) => b.text ?? '')
            .join('');
          if (text.trim()) lastText = text;
        } else if (m.type === 'result') {
          result = m;
        }
      }
    } catch (e) {
      if (ctx.signal.aborted) throw new Error('the claude-code agent was interrupted');
      if (timedOut) throw new Error(`the claude-code agent timed out after ${this.o.timeout}s`);
      const tail = stderr.join('').trim().split('\n').slice(-5).join('\n');
      throw new Error(
        `the claude-code agent failed: ${(e as Error)?.message ?? String(e)}${tail ? `\n${tail}` : ''}`,
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (!result) throw new Error('the claude-code agent ended without a result');
    turns = result.num_turns ?? 0;
    const usage = usageOf(result.usage);
    if (result.subtype !== 'success' || result.is_error) {
      const why =
        result.subtype === 'error_max_turns'
          ? `it reached max_turns (${this.o.max_turns})`
          : [result.subtype, ...(result.errors ?? []), result.result].filter(Boolean).join(': ');
      throw new Error(
        `the claude-code agent failed after ${turns} turn${turns === 1 ? '' : 's'}: ${why}`,
      );
    }
    const text =
      typeof result.result === 'string' && result.result.trim() ? result.result : lastText;
    const { title = '', hypothesis } = titleFromMessage(text);
    const model = this.o.model ?? Object.keys(result.modelUsage ?? {})[0];
    // A price in program.md's `prices:` wins; else the SDK's own estimate; else the built-in table.
    const key = model ? `anthropic:${model}` : undefined;
    const userPriced =
      key !== undefined && Object.keys(this.s.prices ?? {}).some((k) => key.startsWith(k));
    const sdkCost =
      typeof result.total_cost_usd === 'number' && result.total_cost_usd > 0
        ? result.total_cost_usd
        : undefined;
    const tableCost = key ? (costOf(key, usage, this.s.prices) ?? undefined) : undefined;
    const cost = userPriced ? tableCost : (sdkCost ?? tableCost);
    return {
      title: oneLine(title),
      hypothesis,
      usage: { ...usage, costUsd: cost },
      meta: {
        model: model ?? null,
        turns,
        toolCalls,
        toolCallsAllowed: stats.allowed,
        toolCallsRefused: stats.refused,
        refusals: stats.refusals,
        sdkCostUsd: result.total_cost_usd ?? null,
        durationMs: result.duration_ms ?? null,
      },
    };
  }
}

/**
 * Starts Claude Code itself inside the run's sandbox (every tool it runs, its file edits included,
 * is then confined to the worktree); the SDK talks to it over stdio as usual.
 */
function sealedSpawn(ctx: ProposalContext, onStderr: (text: string) => void) {
  return (o: {
    command: string;
    args: string[];
    cwd?: string;
    env: Record<string, string | undefined>;
    signal: AbortSignal;
  }) => {
    const child = spawnSealed(ctx.seal.prefix, o.command, o.args, {
      cwd: o.cwd,
      env: o.env as NodeJS.ProcessEnv,
      signal: o.signal,
    });
    child.stderr.on('data', (d: Buffer) => onStderr(d.toString('utf8')));
    child.on('error', () => {
      // reported through the exit; an unhandled 'error' would crash the harness
    });
    // No handle to record: bwrap dies with the harness (--die-with-parent), and everything in it.
    return child;
  };
}

/** Anthropic usage counts cache reads and writes apart from input; the harness counts input with them. */
function usageOf(u: any): Omit<Usage, 'costUsd'> {
  const cached = u?.cache_read_input_tokens ?? 0;
  const written = u?.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (u?.input_tokens ?? 0) + cached + written,
    outputTokens: u?.output_tokens ?? 0,
    cachedTokens: cached,
    cacheWriteTokens: written,
  };
}

function instructions(editable: string[], protectedPatterns: string[], allowBash: boolean): string {
  return [
    'You are a research engineer in an automated experiment loop; the text above is your research brief.',
    'Make ONE focused change to the code that tests one idea for improving the metric.',
    `- You may change only files matching: ${editable.join(', ')} (paths relative to the current directory, the program folder).`,
    protectedPatterns.length
      ? `- Protected files (${protectedPatterns.join(', ')}) must never be changed.`
      : null,
    allowBash
      ? '- Do not run the experiment itself: after you finish, the harness commits your change, runs it and measures it.'
      : '- You cannot run commands: after you finish, the harness commits your change, runs the experiment and measures it.',
    '- Keep the change small and self-contained, so its effect can be measured.',
    '- When the change is made, end your final message with two lines:',
    'TITLE: <one line: what changed>',
    'HYPOTHESIS: <why it should improve the metric>',
  ]
    .filter((l) => l !== null)
    .join('\n');
}

const oneLine = (s: string): string => titleLine(s, 'untitled change by the claude-code agent');
