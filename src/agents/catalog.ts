/**
 * Every agent the harness can build, in one list: what `agent:` may name, what `--help` and the
 * errors list. Each entry is a descriptor (name, summary, options schema, loader) that its own
 * module exports; loading one imports only what that agent needs.
 */
import type { AgentDescriptor } from './descriptor.js';
import { claudeCodeAgent } from './claude-code.js';
import { codexAgent } from './codex.js';
import { commandAgent } from './command.js';
import { llmAgent } from './llm/descriptor.js';
import { scriptedAgent } from './scripted.js';
import { tuneAgent } from './tune.js';

export const AGENTS: readonly AgentDescriptor[] = [
  tuneAgent,
  llmAgent,
  claudeCodeAgent,
  codexAgent,
  commandAgent,
  scriptedAgent,
];

export function agentNames(): string[] {
  return AGENTS.map((a) => a.name);
}

export function findAgent(name: string): AgentDescriptor | undefined {
  return AGENTS.find((a) => a.name === name);
}

/** "  name  summary" lines, aligned, for `--help`. */
export function agentHelp(): string {
  const width = Math.max(...AGENTS.map((a) => a.name.length));
  return AGENTS.map((a) => `  ${a.name.padEnd(width)}  ${a.summary}`).join('\n');
}
