/**
 * `init`'s agent question: the agents offered with what each needs, the default (one that runs
 * here without editing), and the follow-up answers each agent needs (its model, its command, the
 * files whose constants `tune` searches), checked against the agent's own options schema.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { findAgent } from '../../agents/catalog.js';
import { UserError } from '../../program/errors.js';
import {
  agentMenu,
  agentSetting,
  COMMAND_STUB,
  defaultAgent,
  defaultModel,
  OFFERED_AGENTS,
  type AgentEnvironment,
} from '../../program/init-agent.js';
import type { InitAnswers } from '../../program/init.js';
import { detectCandidateConstants } from '../../tune/assignments.js';
import type { Prompter } from './init-prompt.js';

export type Ask = (
  question: string,
  flag: string | undefined,
  fallback?: string,
) => Promise<string | undefined>;

/** The flags that answer the agent questions. */
export interface AgentFlags {
  agent?: string;
  agentCommand?: string;
  model?: string;
  tune?: string[];
}

export const list = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** UPPER_CASE constants of `files` as a search space; asks which to keep when interactive. */
async function searchFromConstants(
  files: string[],
  prompter: Prompter | null,
): Promise<Record<string, unknown>> {
  const params: Record<string, Record<string, unknown>> = {};
  for (const file of files) {
    const path = resolve(process.cwd(), file);
    if (!existsSync(path))
      throw new UserError(
        `--tune ${file}: file not found`,
        'pass the editable file that holds your hyperparameters',
      );
    for (const c of detectCandidateConstants(readFileSync(path, 'utf8'), file)) {
      if (!c.complete) continue; // string constants need their alternatives listed by a person
      const { name: _name, ...spec } = c.suggested as unknown as Record<string, unknown>;
      params[c.name] = spec;
      process.stdout.write(
        `  found ${c.name} = ${String(c.value)} (${file}:${c.line}) -> ${JSON.stringify(spec)}\n`,
      );
    }
  }
  if (Object.keys(params).length === 0)
    throw new UserError(
      `no UPPER_CASE numeric or boolean constants found in ${files.join(', ')}`,
      'declare `search:` by hand (see the README), or choose another agent with --agent',
    );
  if (prompter) {
    const answer = await prompter.ask(
      'tune which? (comma-separated)',
      Object.keys(params).join(','),
    );
    const keep = list(answer ?? '');
    if (keep.length > 0)
      for (const name of Object.keys(params)) if (!keep.includes(name)) delete params[name];
  }
  return { strategy: 'tpe', params };
}

/** Editable entries that are files here: where constants to tune may be. */
function editableFiles(editable: string[]): string[] {
  return editable.filter((f) => {
    try {
      return statSync(resolve(process.cwd(), f)).isFile();
    } catch {
      return false;
    }
  });
}

function hasTunableConstants(files: string[]): boolean {
  return files.some((f) =>
    detectCandidateConstants(readFileSync(resolve(process.cwd(), f), 'utf8'), f).some(
      (c) => c.complete,
    ),
  );
}

export function agentEnvironment(): AgentEnvironment {
  const keys = new Set(Object.keys(process.env).filter((k) => process.env[k]));
  const installed = new Set<string>();
  for (const pkg of ['@anthropic-ai/claude-agent-sdk', '@openai/codex-sdk']) {
    try {
      import.meta.resolve(pkg);
      installed.add(pkg);
    } catch {
      // not installed: the menu says how to install it
    }
  }
  return { keys, installed };
}

/** The agent: from flags, else asked (with what each needs), defaulting to one that runs here. */
export async function chooseAgent(
  flags: AgentFlags,
  ask: Ask,
  prompter: Prompter | null,
  editable: string[],
  previous: InitAnswers['agent'],
): Promise<{ setting: string | Record<string, unknown>; search?: Record<string, unknown> }> {
  const env = agentEnvironment();
  const before = typeof previous === 'string' ? { name: previous } : (previous ?? {});
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  let name = flags.agent ?? (flags.tune ? 'tune' : flags.agentCommand ? 'command' : undefined);
  if (!name) {
    const fallback =
      str(before.name) ?? defaultAgent(env, hasTunableConstants(editableFiles(editable)));
    if (prompter)
      process.stdout.write(
        `agents:\n${agentMenu(env)
          .map((l) => `  ${l}\n`)
          .join('')}`,
      );
    name = await ask(`agent (${OFFERED_AGENTS.join(', ')})`, undefined, fallback);
  }
  const agent = findAgent(name ?? '');
  if (!agent) throw new UserError(`unknown agent "${name}"`, `--agent ${OFFERED_AGENTS.join('|')}`);
  let search: Record<string, unknown> | undefined;
  if (agent.name === 'tune' || flags.tune) {
    const files =
      flags.tune ??
      list(
        (await ask(
          'files whose UPPER_CASE constants to tune (comma-separated)',
          undefined,
          editableFiles(editable).join(', '),
        )) ?? '',
      );
    search = await searchFromConstants(files, prompter);
  }
  const model =
    agent.name === 'llm'
      ? await ask('model (provider:model)', flags.model, str(before.model) ?? defaultModel(env))
      : (flags.model ?? (before.name === agent.name ? str(before.model) : undefined));
  const oldCommand = before.name === 'command' ? str(before.command) : undefined;
  const fallbackCommand = oldCommand ?? COMMAND_STUB;
  const command =
    agent.name !== 'command'
      ? undefined
      : (flags.agentCommand ??
        (prompter
          ? await prompter.ask(
              'agent command (reads the brief at $AUTORESEARCH_BRIEF, edits the editable files)',
              fallbackCommand,
              fallbackCommand === COMMAND_STUB ? 'a placeholder that proposes nothing' : undefined,
            )
          : fallbackCommand));
  const setting = agentSetting(agent.name, { model, command }, env);
  const { name: _name, ...options } = typeof setting === 'string' ? { name: setting } : setting;
  const parsed = agent.optionsSchema.safeParse(options);
  if (!parsed.success)
    throw new UserError(`agent ${agent.name}: ${parsed.error.issues[0]!.message}`, agent.hint);
  return search ? { setting, search } : { setting };
}
