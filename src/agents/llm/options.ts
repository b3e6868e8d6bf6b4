/**
 * The llm agent's options and its "provider:model" names: what the catalog checks before the
 * agent (and the AI SDK with it) is loaded.
 */
import { z } from 'zod';
import { DurationSchema, EnvNameSchema } from '../../program/zod-types.js';

const PROVIDERS = ['anthropic', 'openai', 'openai-chat', 'openai-compatible'] as const;
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

const LlmOptionsSchema = z
  .strictObject({
    model: z.string().refine((m) => parseModel(m) !== null, {
      message: `expected "provider:model" with provider one of ${PROVIDERS.join(', ')} (e.g. anthropic:claude-sonnet-4-20250514)`,
    }),
    /** API base URL (required for openai-compatible; a proxy for the others). Include the /v1. */
    base_url: z
      .url({
        protocol: /^https?$/,
        message: 'expected an http(s) URL such as http://localhost:11434/v1',
      })
      .optional(),
    /** Environment variable holding the API key (default ANTHROPIC_API_KEY / OPENAI_API_KEY). */
    api_key_env: EnvNameSchema.optional(),
    max_steps: z.number().int().min(1).max(1000).default(30),
    max_output_tokens: z.number().int().min(1).default(4096),
    temperature: z.number().min(0).max(2).optional(),
    /** true: protected files may be read, never written; false: they are hidden too. */
    read_protected: z.boolean().default(true),
    /** Retries of one model call (429, 5xx, network errors), by the AI SDK: backoff from 2 s, doubling, retry-after honoured. */
    retries: z.number().int().min(0).max(20).default(3),
    /** Wall-clock limit for one proposal. */
    timeout: DurationSchema.default(1800),
    /** Anthropic: mark the system prompt, the brief and the growing conversation for prompt caching. */
    prompt_cache: z.boolean().default(true),
  })
  .superRefine((o, c) => {
    if (o.model.startsWith('openai-compatible:') && !o.base_url) {
      c.addIssue({
        code: 'custom',
        path: ['base_url'],
        message:
          'openai-compatible models need `base_url:` (e.g. http://localhost:11434/v1 for Ollama)',
      });
    }
  });

export type LlmOptions = z.output<typeof LlmOptionsSchema>;

/** The descriptor's name, hint and schema (what checking the options needs). */
export const llmOptions = {
  name: 'llm',
  hint: 'write `agent: { name: llm, model: "anthropic:claude-sonnet-4-20250514" }` (providers: anthropic, openai, openai-chat, openai-compatible with base_url)',
  optionsSchema: LlmOptionsSchema,
};
