/**
 * What a proposal cost: tokens from the SDK's usage report times a price table (US dollars per
 * million tokens). The built-in table covers a few well-known models at their published list
 * prices when this was written; prices change, so `prices:` in program.md overrides or extends it,
 * and an unknown model costs `null` (tokens are still recorded and `stop.tokens` still applies).
 */
import type { Usage } from './agent.js';

export interface Price {
  /** Dollars per million input tokens. */
  input: number;
  /** Dollars per million output tokens. */
  output: number;
  /** Dollars per million cached input tokens (defaults to `input`). */
  cached_input?: number;
  /** Dollars per million input tokens written to the prompt cache (defaults to `input`). */
  cache_write?: number;
}

const DEFAULT_PRICES: Record<string, Price> = {
  // Anthropic: cache reads at 0.1x input, 5-minute cache writes at 1.25x.
  'anthropic:claude-opus-4': { input: 15, output: 75, cached_input: 1.5, cache_write: 18.75 },
  'anthropic:claude-sonnet-4': { input: 3, output: 15, cached_input: 0.3, cache_write: 3.75 },
  'anthropic:claude-3-5-haiku': { input: 0.8, output: 4, cached_input: 0.08, cache_write: 1 },
  'openai:gpt-4o': { input: 2.5, output: 10, cached_input: 1.25 },
  'openai:gpt-4o-mini': { input: 0.15, output: 0.6, cached_input: 0.075 },
  'openai:gpt-4.1': { input: 2, output: 8, cached_input: 0.5 },
  'openai:gpt-4.1-mini': { input: 0.4, output: 1.6, cached_input: 0.1 },
};

/**
 * The price of `model` ("provider:id"): an exact entry, else the longest table key that the id
 * starts with (so dated ids like claude-sonnet-4-20250514 find claude-sonnet-4). Overrides first.
 */
export function priceOf(model: string, overrides: Record<string, Price> = {}): Price | null {
  for (const table of [overrides, DEFAULT_PRICES]) {
    if (table[model]) return table[model]!;
    const prefix = Object.keys(table)
      .filter((k) => model.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    if (prefix) return table[prefix]!;
  }
  return null;
}

/** Dollars for one proposal's usage; null when the model has no known price. */
export function costOf(
  model: string,
  usage: Omit<Usage, 'costUsd'>,
  overrides?: Record<string, Price>,
): number | null {
  const price = priceOf(model, overrides);
  if (!price) return null;
  const cached = usage.cachedTokens ?? 0;
  const written = usage.cacheWriteTokens ?? 0;
  const input = Math.max(0, (usage.inputTokens ?? 0) - cached - written);
  return (
    (input * price.input +
      cached * (price.cached_input ?? price.input) +
      written * (price.cache_write ?? price.input) +
      (usage.outputTokens ?? 0) * price.output) /
    1e6
  );
}
