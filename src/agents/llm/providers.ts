/**
 * Model construction for the llm agent: "provider:id" to an AI SDK model, plus a fetch wrapper
 * that retries rate limits (429), server errors (5xx) and network errors with exponential backoff,
 * honouring retry-after. Retrying at the HTTP level repeats one model call, never a whole
 * multi-step conversation (whose tools already changed files). The SDK's own retries are off.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';

export const PROVIDERS = ['anthropic', 'openai', 'openai-chat', 'openai-compatible'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const DEFAULT_KEY_ENV: Record<Provider, string | undefined> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  'openai-chat': 'OPENAI_API_KEY',
  'openai-compatible': undefined,
};

/** Splits "provider:id" (the id may itself contain colons, as in Ollama's `qwen2.5-coder:7b`). */
export function parseModel(spec: string): { provider: Provider; id: string } | null {
  const at = spec.indexOf(':');
  if (at <= 0) return null;
  const provider = spec.slice(0, at) as Provider;
  const id = spec.slice(at + 1).trim();
  return PROVIDERS.includes(provider) && id ? { provider, id } : null;
}

export interface RetryOptions {
  retries: number;
  /** First backoff in milliseconds; doubles on each retry. */
  baseMs: number;
  /** Longest single wait, also the cap on a server's retry-after. */
  maxDelayMs?: number;
  /** Called before each wait (for logs and tests). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

const RETRYABLE = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/** A fetch that retries; after the last attempt it returns the failing response (or throws the network error) for the SDK to report. */
export function retryingFetch(o: RetryOptions, inner: typeof fetch = globalThis.fetch): typeof fetch {
  const maxDelay = o.maxDelayMs ?? 60_000;
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const signal = init?.signal ?? undefined;
      let reason: string;
      let retryAfterMs: number | null = null;
      try {
        const res = await inner(input, init);
        if (!RETRYABLE(res.status) || attempt >= o.retries) return res;
        reason = `HTTP ${res.status}`;
        retryAfterMs = retryAfter(res.headers);
        await res.body?.cancel().catch(() => undefined);
      } catch (e) {
        if (signal?.aborted || attempt >= o.retries || (e as Error).name === 'AbortError') throw e;
        reason = `network error: ${(e as Error).message}`;
      }
      const backoff = o.baseMs * 2 ** attempt * (1 + Math.random() * 0.2);
      const delayMs = Math.min(maxDelay, retryAfterMs ?? backoff);
      o.onRetry?.({ attempt: attempt + 1, delayMs, reason });
      await sleep(delayMs, signal);
    }
  };
}

/** retry-after-ms, or retry-after in seconds or as an HTTP date; null when absent or unreadable. */
function retryAfter(headers: Headers): number | null {
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(signal!.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ModelSettings {
  provider: Provider;
  id: string;
  baseURL?: string;
  apiKey?: string;
  fetch: typeof fetch;
}

export function createModel(s: ModelSettings): LanguageModel {
  switch (s.provider) {
    case 'anthropic':
      return createAnthropic({ apiKey: s.apiKey, baseURL: s.baseURL, fetch: s.fetch })(s.id);
    case 'openai':
      return createOpenAI({ apiKey: s.apiKey, baseURL: s.baseURL, fetch: s.fetch }).responses(s.id);
    case 'openai-chat':
      return createOpenAI({ apiKey: s.apiKey, baseURL: s.baseURL, fetch: s.fetch }).chat(s.id);
    case 'openai-compatible':
      return createOpenAICompatible({ name: 'openai-compatible', baseURL: s.baseURL!, apiKey: s.apiKey, fetch: s.fetch, includeUsage: true }).chatModel(s.id);
  }
}
