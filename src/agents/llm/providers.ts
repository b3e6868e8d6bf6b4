/**
 * Model construction for the llm agent: "provider:id" to an AI SDK model. Failed calls are
 * retried by the AI SDK itself (`maxRetries` of generateText: 429, 5xx and network errors, from
 * 2 s doubling, a retry-after under a minute honoured).
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import type { Provider } from './options.js';

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
      return createOpenAICompatible({
        name: 'openai-compatible',
        baseURL: s.baseURL!,
        apiKey: s.apiKey,
        fetch: s.fetch,
        includeUsage: true,
      }).chatModel(s.id);
  }
}
