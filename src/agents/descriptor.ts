/**
 * An agent as the harness knows it before building one: its name, a line about it, its options
 * as a zod schema, and `load`, which builds the Agent from options already checked (importing
 * only then what that agent alone needs: an agent SDK, the AI SDK). Every agent module exports
 * one; `catalog.ts` lists them all.
 */
import type { z } from 'zod';
import type { Ledger } from '../ledger/ledger.js';
import { ProgramError } from '../program/errors.js';
import type { Program } from '../program/program.js';
import type { Agent } from './agent.js';

/** What an agent is built with. */
export interface AgentContext {
  program: Program;
  /** The program's folder in the user's checkout (for files the agent reads, like patches). */
  programDirAbs: string;
  ledger: Ledger;
  runTag: string;
  env: NodeJS.ProcessEnv;
}

export interface AgentDescriptor<S extends z.ZodType = z.ZodType> {
  /** What `agent:` says in program.md, and `--agent` on the command line. */
  readonly name: string;
  /** One line for `--help`. */
  readonly summary: string;
  /** How to write `agent:` for this agent: the fix shown with an error in its options. */
  readonly hint: string;
  /** Its options: the keys of `agent:` besides `name`. */
  readonly optionsSchema: S;
  load(options: z.output<S>, ctx: AgentContext): Promise<Agent>;
}

/** Keeps the schema's type for `load`'s options. */
export function defineAgent<S extends z.ZodType>(
  descriptor: AgentDescriptor<S>,
): AgentDescriptor<S> {
  return descriptor;
}

/** Checks an agent's options against its schema; an error is a ProgramError on `agent.<key>`. */
export function parseAgentOptions<S extends z.ZodType>(
  agent: Pick<AgentDescriptor<S>, 'name' | 'hint' | 'optionsSchema'>,
  options: Record<string, unknown>,
  ctx: AgentContext,
): z.output<S> {
  const parsed = agent.optionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = ['agent', ...issue.path.map(String)].join('.');
  const detail =
    issue.code === 'unrecognized_keys'
      ? `unknown option ${issue.keys.join(', ')} for the ${agent.name} agent`
      : issue.message;
  throw new ProgramError(ctx.program.file, null, key, detail, agent.hint);
}
