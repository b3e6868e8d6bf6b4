/**
 * Anthropic prompt caching for the llm agent. Every step of a proposal sends the tools, the system
 * prompt, the brief and the conversation so far again; marked as cache breakpoints, the repeated
 * prefix is read from the provider's cache at a tenth of the input price instead of paid in full.
 * Breakpoints: the system prompt (with the tools before it), the brief, and the newest message of
 * each later step (the conversation grows, so its prefix is cached step by step). Anthropic allows
 * four; this uses at most three. OpenAI caches long prompts by itself, without markers.
 */
import type { ModelMessage, SystemModelMessage } from 'ai';

type ProviderOptions = NonNullable<ModelMessage['providerOptions']>;

const EPHEMERAL = { type: 'ephemeral' } as const;

function mark(options: ModelMessage['providerOptions']): ProviderOptions {
  return { ...options, anthropic: { ...options?.anthropic, cacheControl: EPHEMERAL } };
}

function unmark(options: ModelMessage['providerOptions']): ModelMessage['providerOptions'] {
  if (!options?.anthropic || !('cacheControl' in options.anthropic)) return options;
  const { cacheControl: _, ...anthropic } = options.anthropic;
  return { ...options, anthropic };
}

/** The first request of a proposal: the system prompt and the brief, each a breakpoint. */
export function cachedPrompt(system: string, brief: string): { system: SystemModelMessage; prompt: ModelMessage[] } {
  return {
    system: { role: 'system', content: system, providerOptions: mark(undefined) },
    prompt: [{ role: 'user', content: brief, providerOptions: mark(undefined) }],
  };
}

/**
 * The messages of a later step with one moving breakpoint on the newest message. The first
 * message (the brief) keeps its own; any other marker, such as one a previous step placed, goes.
 */
export function withMovingBreakpoint(messages: ModelMessage[]): ModelMessage[] {
  const last = messages.length - 1;
  return messages.map((m, i) => {
    if (i === 0) return m;
    const providerOptions = i === last ? mark(m.providerOptions) : unmark(m.providerOptions);
    return { ...m, providerOptions } as ModelMessage;
  });
}
