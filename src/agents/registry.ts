/** Builds the agent a program asks for, from the catalog; each agent's options are checked against its schema. */
import { ProgramError } from '../program/errors.js';
import type { Program } from '../program/program.js';
import type { Agent } from './agent.js';
import { agentNames, findAgent } from './catalog.js';
import { parseAgentOptions, type AgentContext } from './descriptor.js';

/** Splits `agent:` (a name or { name, ...options }) and applies --agent and --model overrides. */
export function agentSetting(
  program: Program,
  override?: string,
  model?: string,
): { name: string; options: Record<string, unknown> } {
  const resolved = agentSettingOf(program, override);
  return model ? { ...resolved, options: { ...resolved.options, model } } : resolved;
}

function agentSettingOf(
  program: Program,
  override?: string,
): { name: string; options: Record<string, unknown> } {
  const setting = program.config.agent;
  const fromFile =
    typeof setting === 'string'
      ? { name: setting, options: {} }
      : setting
        ? { name: setting.name, options: omitName(setting) }
        : undefined;
  if (override)
    return { name: override, options: fromFile?.name === override ? fromFile.options : {} };
  if (!fromFile) {
    throw new ProgramError(
      program.file,
      null,
      'agent',
      'no agent chosen',
      `add \`agent: tune\` (built-in optimizer, needs \`search:\`) or \`agent: { name: command, command: ./propose.sh }\`, or pass --agent <${agentNames().join('|')}> (\`autoresearch init\` asks for one, or takes \`--tune <file>\` or \`--agent <name>\`)`,
    );
  }
  return fromFile;
}

function omitName(o: Record<string, unknown>): Record<string, unknown> {
  const { name: _name, ...rest } = o;
  return rest;
}

export async function createAgent(
  name: string,
  options: Record<string, unknown>,
  ctx: AgentContext,
): Promise<Agent> {
  const agent = findAgent(name);
  if (!agent) {
    throw new ProgramError(
      ctx.program.file,
      null,
      'agent',
      `unknown agent "${name}"`,
      `use one of: ${agentNames().join(', ')}`,
    );
  }
  return agent.load(parseAgentOptions(agent, options, ctx), ctx);
}
