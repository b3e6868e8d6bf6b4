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

/** The first request of a proposal: the system prompt and the brief, each a breakpoint. */
export function cachedPrompt(
  system: string,
  brief: string,
): { system: SystemModelMessage; prompt: ModelMessage[] } {
  return {
    system: { role: 'system', content: system, providerOptions: mark(undefined) },
    prompt: [{ role: 'user', content: brief, providerOptions: mark(undefined) }],
  };
}

/**
 * A step's messages with one more breakpoint, on the newest message. The AI SDK rebuilds each
 * step's messages from the prompt and the responses, so the one placed at the step before is
 * already gone: the brief's and this one are the only markers in the messages.
 */
export function withMovingBreakpoint(messages: ModelMessage[]): ModelMessage[] {
  const last = messages.at(-1);
  return last
    ? [
        ...messages.slice(0, -1),
        { ...last, providerOptions: mark(last.providerOptions) } as ModelMessage,
      ]
    : messages;
}
