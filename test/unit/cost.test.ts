import { describe, expect, it } from 'vitest';
import { costOf, priceOf } from '../../src/agents/pricing.js';
import { stopReason } from '../../src/loop/stop.js';
import { projectSpend } from '../../src/loop/summary.js';

describe('pricing', () => {
  it('prices a dated model id by its family, and user overrides win', () => {
    expect(priceOf('anthropic:claude-sonnet-4-20250514')).toEqual({
      input: 3,
      output: 15,
      cached_input: 0.3,
      cache_write: 3.75,
    });
    expect(priceOf('openai:gpt-4o-mini-2024-07-18')?.input).toBe(0.15); // the longest prefix, not gpt-4o
    expect(
      priceOf('anthropic:claude-sonnet-4', {
        'anthropic:claude-sonnet-4': { input: 1, output: 2 },
      }),
    ).toEqual({ input: 1, output: 2 });
    expect(priceOf('local:llama-3')).toBeNull();
  });
  it('charges cached input at its own price', () => {
    // 1M input of which 400k cached, 100k output at 3/15/0.3 per million.
    expect(
      costOf('anthropic:claude-sonnet-4', {
        inputTokens: 1_000_000,
        cachedTokens: 400_000,
        outputTokens: 100_000,
      }),
    ).toBeCloseTo(0.6 * 3 + 0.4 * 0.3 + 0.1 * 15);
    expect(costOf('local:llama-3', { inputTokens: 10 })).toBeNull();
  });
  it('charges input written to the prompt cache at its own price (input when unpriced)', () => {
    // 1M input: 400k read from the cache, 500k written to it, 100k plain; 100k output.
    const usage = {
      inputTokens: 1_000_000,
      cachedTokens: 400_000,
      cacheWriteTokens: 500_000,
      outputTokens: 100_000,
    };
    expect(costOf('anthropic:claude-sonnet-4', usage)).toBeCloseTo(
      0.1 * 3 + 0.4 * 0.3 + 0.5 * 3.75 + 0.1 * 15,
    );
    expect(costOf('x:m', usage, { 'x:m': { input: 2, output: 4 } })).toBeCloseTo(1 * 2 + 0.1 * 4);
  });
});

describe('spend caps and projection', () => {
  const base = {
    candidates: 0,
    elapsedHours: 0,
    trailingFailures: 0,
    maxFailures: 5,
    stopRequested: false,
    agentExhausted: false,
  };
  it('stops at the dollar and token caps', () => {
    expect(stopReason({ ...base, spentUsd: 20.01, maxSpendUsd: 20 })).toBe(
      'spent $20.01, the cap is $20',
    );
    expect(stopReason({ ...base, spentUsd: 19.99, maxSpendUsd: 20 })).toBeNull();
    expect(stopReason({ ...base, tokensUsed: 1000, maxTokens: 1000 })).toBe(
      'used 1000 tokens, the cap is 1000',
    );
  });
  it('projects the rest from the average cost per proposal or per hour, whichever bounds first', () => {
    expect(projectSpend(2, 10, 1, { experiments: 40 })).toBeCloseTo(8);
    expect(projectSpend(2, 10, 1, { hours: 3 })).toBeCloseTo(6);
    expect(projectSpend(2, 10, 1, { experiments: 40, hours: 3 })).toBeCloseTo(6);
    expect(projectSpend(0, 0, 1, { experiments: 40 })).toBeNull();
    expect(projectSpend(2, 10, 1, {})).toBeNull();
  });
});
