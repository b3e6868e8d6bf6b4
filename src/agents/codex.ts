/**
 * The `codex` agent: OpenAI's Codex coding agent through `@openai/codex-sdk` (an optional peer
 * dependency, loaded on demand). For each proposal it starts a Codex thread in the candidate's
 * worktree with the rendered brief plus instructions, lets Codex edit the files with its own tools
 * (shell commands, apply_patch) inside its sandbox, and returns the TITLE:/HYPOTHESIS: it ends with,
 * the turn's tokens and their cost.
 *
 * Enforcement: Codex has no per-tool permission hook (nothing like the Claude Agent SDK's
 * canUseTool), so the rules cannot be checked before a write. The run's sandbox starts the Codex
 * binary itself (every command it runs writes only the worktree, protected files are read-only),
 * and the harness rejects a candidate that changed files outside `editable` as invalid. Unsealed,
 * Codex's own workspace-write sandbox keeps writes inside the worktree.
 */
import { sealedLauncher } from '../sandbox/spawn.js';
import { oneLine as titleLine, titleFromMessage } from './title.js';
import { loadOptionalSdk } from './optional-sdk.js';
import { DurationSchema, EnvNameSchema } from '../program/zod-types.js';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../program/errors.js';
import type { Agent, Proposal, ProposalContext, Usage } from './agent.js';
import { costOf, type Price } from './pricing.js';
import { defineAgent, parseAgentOptions, type AgentContext } from './descriptor.js';

const duration = DurationSchema;

const CodexOptionsSchema = z.strictObject({
  /** Codex model id (e.g. gpt-5-codex); Codex's own default when omitted. */
  model: z.string().min(1).optional(),
  /** A Responses-API endpoint (proxy, local server, tests). Include the /v1. */
  base_url: z
    .url({
      protocol: /^https?$/,
      message: 'expected an http(s) URL such as http://localhost:8080/v1',
    })
    .optional(),
  /** Environment variable holding the API key. */
  api_key_env: EnvNameSchema.default('OPENAI_API_KEY'),
  sandbox: z
    .enum(['workspace-write', 'read-only', 'danger-full-access'])
    .default('workspace-write'),
  /** Wall-clock limit for one proposal. */
  timeout: duration.default(1800),
});

type CodexAgentOptions = z.output<typeof CodexOptionsSchema>;

type CodexSdk = typeof import('@openai/codex-sdk');

const loadSdk = (): Promise<CodexSdk> =>
  loadOptionalSdk('codex', '@openai/codex-sdk', () => import('@openai/codex-sdk'));

export const codexAgent = defineAgent({
  name: 'codex',
  summary: 'OpenAI Codex (optional: npm install @openai/codex-sdk)',
  hint: 'write `agent: { name: codex, model: gpt-5-codex, sandbox: workspace-write }`',
  optionsSchema: CodexOptionsSchema,
  load: async (o, ctx) =>
    new CodexAgent(await loadSdk(), o, {
      env: ctx.env,
      editable: ctx.program.config.editable,
      protected: ctx.program.config.protected,
      prices: ctx.program.config.prices,
    }),
});

/** The agent for raw `agent:` options (checked here). */
export async function createCodexAgent(
  options: Record<string, unknown>,
  ctx: AgentContext,
): Promise<Agent> {
  return codexAgent.load(parseAgentOptions(codexAgent, options, ctx), ctx);
}

interface CodexAgentSettings {
  env: NodeJS.ProcessEnv;
  editable: string[];
  protected: string[];
  prices?: Record<string, Price>;
}

/** Variables passed through besides PATH, HOME, the key and CODEX_HOME (the SDK does not inherit process.env). */
const PASS_THROUGH = [
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
];

class CodexAgent implements Agent {
  readonly name = 'codex';
  private readonly apiKey: string | undefined;

  constructor(
    private readonly sdk: CodexSdk,
    private readonly o: CodexAgentOptions,
    private readonly s: CodexAgentSettings,
  ) {
    this.apiKey = s.env[o.api_key_env] || undefined;
    // A local server may need no key; OpenAI itself does.
    if (!this.apiKey && !o.base_url) {
      throw new UserError(
        `the codex agent needs an API key in the environment variable ${o.api_key_env}, which is not set`,
        `export ${o.api_key_env}=... before starting the run, or name another variable with \`api_key_env:\` under \`agent:\``,
      );
    }
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    // Codex refuses to put its sandbox helper (`codex-linux-sandbox`) on PATH when its home is
    // inside $TMPDIR, and without it a Codex installed under a writable folder such as /tmp cannot
    // start its own sandbox: every command fails. So its home and its commands' $TMPDIR are
    // siblings, both in the agent's private temp folder.
    const codexHome = join(ctx.seal.tmp, 'codex-home');
    const tmp = join(ctx.seal.tmp, 'tmp');
    for (const dir of [codexHome, tmp]) mkdirSync(dir, { recursive: true });
    const sealed = ctx.seal.prefix.length > 0;
    const env = { ...this.env(codexHome), ...ctx.seal.env, TMPDIR: tmp };
    if (!sealed) this.preferBundledBwrap(ctx, env);
    const codex = new this.sdk.Codex({
      env,
      config: this.config(),
      ...(sealed ? { codexPathOverride: this.sealedBinary(ctx, env) } : {}),
    });
    const thread = codex.startThread({
      ...(this.o.model ? { model: this.o.model } : {}),
      workingDirectory: ctx.programDir,
      // The worktree is a git repository anyway; the check only costs a failure mode.
      skipGitRepoCheck: true,
      // Inside the run's sandbox Codex's own (a second bubblewrap inside the first) cannot start,
      // and is not needed: the run's already confines every command it runs.
      sandboxMode: sealed ? 'danger-full-access' : this.o.sandbox,
      approvalPolicy: 'never',
      networkAccessEnabled: false,
      webSearchMode: 'disabled',
    });

    const timeout = AbortSignal.timeout(this.o.timeout * 1000);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    let turn: Awaited<ReturnType<typeof thread.run>>;
    try {
      turn = await thread.run(this.prompt(ctx), { signal });
    } catch (e) {
      if (ctx.signal.aborted) throw new Error('the codex agent was interrupted');
      if (timeout.aborted)
        throw new Error(
          `the codex agent timed out after ${this.o.timeout}s (model ${this.modelName()})`,
        );
      throw new Error(
        `the codex agent failed (model ${this.modelName()}${this.o.base_url ? ` at ${this.o.base_url}` : ''}): ${(e as Error)?.message ?? String(e)}`,
        { cause: e },
      );
    }

    const items: Record<string, number> = {};
    for (const item of turn.items) items[item.type] = (items[item.type] ?? 0) + 1;
    const usage: Omit<Usage, 'costUsd'> = {
      inputTokens: turn.usage?.input_tokens ?? 0,
      cachedTokens: turn.usage?.cached_input_tokens ?? 0,
      outputTokens: turn.usage?.output_tokens ?? 0,
    };
    const cost = this.o.model ? costOf(`openai:${this.o.model}`, usage, this.s.prices) : null;
    const { title = '', hypothesis } = titleFromMessage(turn.finalResponse);
    const errors = turn.items
      .filter((i) => i.type === 'error')
      .map((i) => (i as { message: string }).message);
    return {
      title: oneLine(title),
      hypothesis,
      usage: { ...usage, ...(cost !== null ? { costUsd: cost } : {}) },
      meta: {
        model: this.modelName(),
        threadId: thread.id,
        items,
        ...(turn.usage?.reasoning_output_tokens
          ? { reasoningTokens: turn.usage.reasoning_output_tokens }
          : {}),
        ...(errors.length ? { errors: errors.slice(0, 5) } : {}),
      },
    };
  }

  /**
   * A launcher in the private temp folder that starts the real Codex binary inside the run's
   * sandbox; the SDK runs it in the binary's place. The folders the SDK would put on PATH for
   * the binary's own helpers are added to `env` here, as the SDK only does so for its own launch.
   */
  private sealedBinary(ctx: ProposalContext, env: Record<string, string>): string {
    const found = this.binary();
    if (!found?.executablePath)
      throw new Error(
        'cannot find the Codex binary of @openai/codex-sdk to start it in the sandbox',
      );
    if (found.pathDirs?.length) env.PATH = [...found.pathDirs, env.PATH].filter(Boolean).join(':');
    const launcher = join(ctx.seal.tmp, 'codex-sealed');
    writeFileSync(launcher, sealedLauncher(ctx.seal.prefix, found.executablePath), { mode: 0o700 });
    return launcher;
  }

  /** Where the SDK would start Codex from, and the folders it puts on PATH for it. */
  private binary(): { executablePath?: string; pathDirs?: string[] } | undefined {
    return (
      new this.sdk.Codex({}) as unknown as {
        exec?: { executablePath?: string; pathDirs?: string[] };
      }
    ).exec;
  }

  /**
   * Unsealed, Codex sandboxes its own commands with the first `bwrap` on PATH, and a system one
   * older than 0.9 (Debian 12's 0.8) cannot start its helper (`--argv0`): every command then fails
   * and the proposal changes nothing. The bwrap bundled with Codex is put first on PATH instead.
   */
  private preferBundledBwrap(ctx: ProposalContext, env: Record<string, string>): void {
    const codex = this.binary()?.executablePath;
    const bundled = codex ? join(dirname(dirname(codex)), 'codex-resources', 'bwrap') : null;
    if (!bundled || !existsSync(bundled)) return;
    const bin = join(ctx.seal.tmp, 'codex-bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(bundled, join(bin, 'bwrap'));
    env.PATH = [bin, env.PATH].filter(Boolean).join(':');
  }

  private modelName(): string {
    return this.o.model ?? 'codex default';
  }

  private env(codexHome: string): Record<string, string> {
    const env: Record<string, string> = { CODEX_HOME: codexHome };
    for (const k of ['PATH', 'HOME', ...PASS_THROUGH]) {
      const v = this.s.env[k];
      if (v !== undefined) env[k] = v;
    }
    if (this.apiKey) env[this.o.api_key_env] = this.apiKey;
    // The built-in OpenAI provider reads its key from CODEX_API_KEY in `codex exec`.
    if (this.apiKey && !this.o.base_url) env.CODEX_API_KEY = this.apiKey;
    return env;
  }

  /**
   * Commands run in a plain `bash -c`, as the experiment itself runs: a login shell (and its
   * snapshot) sourced the user's profile before every command, seconds each with pyenv or conda,
   * and could see another environment than the run. No plugin sync at start-up (it fetched a
   * repository from the network for every proposal). With base_url, a custom Responses provider
   * over SSE (WebSockets off: Codex would retry them first).
   */
  private config(): Record<string, any> {
    const quiet = {
      allow_login_shell: false,
      features: { shell_snapshot: false, plugins: false },
    };
    if (!this.o.base_url) return quiet;
    return {
      ...quiet,
      model_provider: 'autoresearch',
      model_providers: {
        autoresearch: {
          name: 'autoresearch',
          base_url: this.o.base_url,
          wire_api: 'responses',
          supports_websockets: false,
          ...(this.apiKey ? { env_key: this.o.api_key_env } : {}),
        },
      },
    };
  }

  private prompt(ctx: ProposalContext): string {
    const brief = readFileSync(ctx.briefPath, 'utf8');
    return [
      brief.trim(),
      '',
      '---',
      'You are a research engineer in an automated experiment loop; the text above is the research brief.',
      'Make ONE focused change to the code that tests one idea for improving the metric. Keep it small and self-contained.',
      `You may change only files matching (relative to the current directory): ${this.s.editable.join(', ')}.`,
      this.s.protected.length
        ? `Never modify protected files (${this.s.protected.join(', ')}): a candidate that changes one is invalid.`
        : null,
      'Do not run the experiment, commit, or create other files: the harness commits your change, runs it and measures it.',
      'When done, end your final message with two lines:',
      'TITLE: <one line: what changed>',
      'HYPOTHESIS: <why it should improve the metric>',
    ]
      .filter((l) => l !== null)
      .join('\n');
  }
}

const oneLine = (s: string): string => titleLine(s, 'untitled change by the codex agent');
