/**
 * The `codex` agent: OpenAI's Codex coding agent through `@openai/codex-sdk` (an optional peer
 * dependency, loaded on demand). For each proposal it starts a Codex thread in the candidate's
 * worktree with the rendered brief plus instructions, lets Codex edit the files with its own tools
 * (shell commands, apply_patch) inside its sandbox, and returns the TITLE:/HYPOTHESIS: it ends with,
 * the turn's tokens and their cost.
 *
 * Enforcement: Codex has no per-tool permission hook (nothing like the Claude Agent SDK's
 * canUseTool), so the rules cannot be checked before a write. The sandbox keeps writes inside the
 * worktree, the harness rejects a candidate that changed files outside `editable` as invalid, and
 * this agent additionally fails the proposal (restoring nothing) when a protected file changed.
 */
import { oneLine as titleLine, titleFromMessage } from './title.js';
import { loadOptionalSdk } from './optional-sdk.js';
import { DurationSchema, EnvNameSchema } from '../program/zod-types.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { z } from 'zod';
import { UserError } from '../program/errors.js';
import { makeMatcher, toProgramPath } from '../workspace/rules.js';
import type { Agent, Proposal, ProposalContext, Usage } from './agent.js';
import { costOf, type Price } from './pricing.js';
import { agentOptions, type AgentContext } from './registry.js';

const duration = DurationSchema;

export const CodexOptionsSchema = z.strictObject({
  /** Codex model id (e.g. gpt-5-codex); Codex's own default when omitted. */
  model: z.string().min(1).optional(),
  /** A Responses-API endpoint (proxy, local server, tests). Include the /v1. */
  base_url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL such as http://localhost:8080/v1' }).optional(),
  /** Environment variable holding the API key. */
  api_key_env: EnvNameSchema.default('OPENAI_API_KEY'),
  sandbox: z.enum(['workspace-write', 'read-only', 'danger-full-access']).default('workspace-write'),
  /** Wall-clock limit for one proposal. */
  timeout: duration.default(1800),
});

export type CodexAgentOptions = z.output<typeof CodexOptionsSchema>;

type CodexSdk = typeof import('@openai/codex-sdk');

const loadSdk = (): Promise<CodexSdk> => loadOptionalSdk('codex', '@openai/codex-sdk', () => import('@openai/codex-sdk'));

export async function createCodexAgent(options: Record<string, unknown>, ctx: AgentContext): Promise<Agent> {
  const o = agentOptions(CodexOptionsSchema, options, ctx, 'codex');
  const sdk = await loadSdk();
  return new CodexAgent(sdk, o, {
    env: ctx.env,
    editable: ctx.program.config.editable,
    protected: ctx.program.config.protected,
    prices: ctx.program.config.prices,
  });
}

export interface CodexAgentSettings {
  env: NodeJS.ProcessEnv;
  editable: string[];
  protected: string[];
  prices?: Record<string, Price>;
}

/** Variables passed through besides PATH, HOME, the key and CODEX_HOME (the SDK does not inherit process.env). */
const PASS_THROUGH = ['LANG', 'LC_ALL', 'TMPDIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

export class CodexAgent implements Agent {
  readonly name = 'codex';
  private readonly apiKey: string | undefined;

  constructor(private readonly sdk: CodexSdk, private readonly o: CodexAgentOptions, private readonly s: CodexAgentSettings) {
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
    const codexHome = join(dirname(ctx.briefPath), 'codex-home');
    mkdirSync(codexHome, { recursive: true });
    const codex = new this.sdk.Codex({ env: this.env(codexHome), config: this.config() });
    const thread = codex.startThread({
      ...(this.o.model ? { model: this.o.model } : {}),
      workingDirectory: ctx.programDir,
      // The worktree is a git repository anyway; the check only costs a failure mode.
      skipGitRepoCheck: true,
      sandboxMode: this.o.sandbox,
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
      if (timeout.aborted) throw new Error(`the codex agent timed out after ${this.o.timeout}s (model ${this.modelName()})`);
      throw new Error(`the codex agent failed (model ${this.modelName()}${this.o.base_url ? ` at ${this.o.base_url}` : ''}): ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }

    const touched = this.protectedChanges(ctx);
    if (touched.length) {
      throw new Error(`the codex agent changed protected file${touched.length === 1 ? '' : 's'} ${touched.join(', ')}; protected: ${this.s.protected.join(', ')}`);
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
    const errors = turn.items.filter((i) => i.type === 'error').map((i) => (i as { message: string }).message);
    return {
      title: oneLine(title),
      hypothesis,
      usage: { ...usage, ...(cost !== null ? { costUsd: cost } : {}) },
      meta: {
        model: this.modelName(),
        threadId: thread.id,
        items,
        ...(turn.usage?.reasoning_output_tokens ? { reasoningTokens: turn.usage.reasoning_output_tokens } : {}),
        ...(errors.length ? { errors: errors.slice(0, 5) } : {}),
      },
    };
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

  /** With base_url, a custom Responses provider over SSE (WebSockets off: Codex would retry them first). */
  private config(): Record<string, any> {
    if (!this.o.base_url) return {};
    return {
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
      this.s.protected.length ? `Never modify protected files (${this.s.protected.join(', ')}): a change to any of them fails the proposal.` : null,
      'Do not run the experiment, commit, or create other files: the harness commits your change, runs it and measures it.',
      'When done, end your final message with two lines:',
      'TITLE: <one line: what changed>',
      'HYPOTHESIS: <why it should improve the metric>',
    ].filter((l) => l !== null).join('\n');
  }

  /** Protected files changed in the workspace (repository-relative paths). */
  private protectedChanges(ctx: ProposalContext): string[] {
    if (!this.s.protected.length) return [];
    const isProtected = makeMatcher(this.s.protected);
    const programRel = relative(ctx.workspace, ctx.programDir).split(sep).join('/');
    return changedPaths(ctx.workspace).filter((p) => {
      const rel = toProgramPath(p, programRel);
      return rel !== null && isProtected(rel);
    });
  }
}

/** Paths changed, added, deleted or renamed (both sides) per `git status`, repository-relative. */
function changedPaths(workspace: string): string[] {
  const out = execFileSync('git', ['status', '--porcelain', '-z', '--untracked-files=all'], { cwd: workspace, encoding: 'utf8' });
  const fields = out.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length < 4) continue;
    paths.push(f.slice(3));
    // A rename or copy is followed by its source path.
    if (f[0] === 'R' || f[0] === 'C') paths.push(fields[++i] ?? '');
  }
  return paths.filter(Boolean);
}

const oneLine = (s: string): string => titleLine(s, 'untitled change by the codex agent');
