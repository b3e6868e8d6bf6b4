/** Builds the agent a program asks for; each agent validates its own options. */
import { DurationSchema } from '../program/zod-types.js';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ProgramError } from '../program/errors.js';
import type { Program } from '../program/program.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Agent } from './agent.js';
import { CommandAgent } from './command.js';
import { ScriptedAgent } from './scripted.js';

export interface AgentContext {
  program: Program;
  /** The program's folder in the user's checkout (for files the agent reads, like patches). */
  programDirAbs: string;
  ledger: Ledger;
  runTag: string;
  env: NodeJS.ProcessEnv;
}

export type AgentFactory = (options: Record<string, unknown>, ctx: AgentContext) => Agent | Promise<Agent>;

const factories = new Map<string, AgentFactory>();

export function registerAgent(name: string, factory: AgentFactory): void {
  factories.set(name, factory);
}

export function agentNames(): string[] {
  return [...factories.keys()].sort();
}

/** Splits `agent:` (a name or { name, ...options }) and applies --agent and --model overrides. */
export function agentSetting(program: Program, override?: string, model?: string): { name: string; options: Record<string, unknown> } {
  const resolved = agentSettingOf(program, override);
  return model ? { ...resolved, options: { ...resolved.options, model } } : resolved;
}

function agentSettingOf(program: Program, override?: string): { name: string; options: Record<string, unknown> } {
  const setting = program.config.agent;
  const fromFile = typeof setting === 'string' ? { name: setting, options: {} } : setting ? { name: setting.name, options: omitName(setting) } : undefined;
  if (override) return { name: override, options: fromFile?.name === override ? fromFile.options : {} };
  if (!fromFile) {
    throw new ProgramError(program.file, null, 'agent', 'no agent chosen',
      `add \`agent: tune\` (built-in optimizer, needs \`search:\`), \`agent: { name: command, command: ./propose.sh }\`, or pass --agent <${agentNames().join('|')}>`);
  }
  return fromFile;
}

function omitName(o: Record<string, unknown>): Record<string, unknown> {
  const { name: _name, ...rest } = o;
  return rest;
}

export async function createAgent(name: string, options: Record<string, unknown>, ctx: AgentContext): Promise<Agent> {
  const factory = factories.get(name);
  if (!factory) {
    throw new ProgramError(ctx.program.file, null, 'agent', `unknown agent "${name}"`, `use one of: ${agentNames().join(', ')}`);
  }
  return factory(options, ctx);
}

/** Validates an agent's options, turning zod issues into a ProgramError on `agent.<key>`. */
export function agentOptions<T extends z.ZodType>(schema: T, options: Record<string, unknown>, ctx: AgentContext, agent: string): z.output<T> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = ['agent', ...issue.path.map(String)].join('.');
  const detail = issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.join(', ')} for the ${agent} agent` : issue.message;
  return (() => {
    throw new ProgramError(ctx.program.file, null, key, detail, AGENT_HINTS[agent]);
  })();
}

const AGENT_HINTS: Record<string, string> = {
  command: 'write `agent: { name: command, command: ./propose.sh, timeout: 30m }`',
  scripted: 'write `agent: { name: scripted, patches: [ideas/1.patch, ideas/2.patch] }`',
  tune: 'write `agent: tune`; the search space goes under `search:`',
  'claude-code': 'write `agent: { name: claude-code, model: claude-sonnet-4-20250514, max_turns: 30 }`',
  codex: 'write `agent: { name: codex, model: gpt-5-codex, sandbox: workspace-write }`',
  llm: 'write `agent: { name: llm, model: "anthropic:claude-sonnet-4-20250514" }` (providers: anthropic, openai, openai-chat, openai-compatible with base_url)',
};

const durationOption = DurationSchema;

registerAgent('command', (options, ctx) => {
  const o = agentOptions(z.strictObject({ command: z.string().min(1, 'the command agent needs `command:`'), timeout: durationOption.default(1800) }), options, ctx, 'command');
  return new CommandAgent({ command: o.command, timeoutSeconds: o.timeout, env: ctx.env });
});

registerAgent('scripted', (options, ctx) => {
  const o = agentOptions(z.strictObject({ patches: z.array(z.string()).min(1, 'list at least one patch file') }), options, ctx, 'scripted');
  return new ScriptedAgent(o.patches.map((p) => resolve(ctx.programDirAbs, p)), (id) => ctx.ledger.proposalsBefore(ctx.runTag, id));
});

registerAgent('tune', async (options, ctx) => {
  agentOptions(z.strictObject({}), options, ctx, 'tune');
  const { TuneAgent, loadSearchSpace } = await import('./tune.js');
  const { space, defaults } = loadSearchSpace(ctx.program, ctx.programDirAbs);
  return new TuneAgent(space, defaults, ctx.program.config.metric.goal, ctx.ledger, ctx.runTag);
});

registerAgent('llm', async (options, ctx) => {
  // Loaded on demand: the AI SDK is only needed by runs that use a model.
  const { createLlmAgent } = await import('./llm/agent.js');
  return createLlmAgent(options, ctx);
});

registerAgent('codex', async (options, ctx) => (await import('./codex.js')).createCodexAgent(options, ctx));

registerAgent('claude-code', async (options, ctx) => (await import('./claude-code.js')).createClaudeCodeAgent(options, ctx));
