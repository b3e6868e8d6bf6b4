/** The fake model server speaks each wire protocol well enough for the real AI SDK clients, streaming included. */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, stepCountIs, streamText, tool, type LanguageModel } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.js';

let server: FakeLlm | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const MODELS: Record<string, (url: string) => LanguageModel> = {
  anthropic: (url) => createAnthropic({ baseURL: `${url}/v1`, apiKey: 'k' })('fake-model'),
  'openai responses': (url) =>
    createOpenAI({ baseURL: `${url}/v1`, apiKey: 'k' }).responses('fake-model'),
  'openai chat': (url) => createOpenAI({ baseURL: `${url}/v1`, apiKey: 'k' }).chat('fake-model'),
  'openai-compatible': (url) =>
    createOpenAICompatible({ name: 'x', baseURL: `${url}/v1`, includeUsage: true }).chatModel(
      'fake-model',
    ),
};

describe('the fake model server', () => {
  for (const [name, make] of Object.entries(MODELS)) {
    for (const mode of ['json', 'sse'] as const) {
      it(`${name} (${mode}): multi-step tool calls, text and usage`, async () => {
        server = await startFakeLlm([
          {
            text: 'Adding.',
            toolCalls: [{ name: 'add', args: { a: 2, b: 3 } }],
            usage: { input: 50, output: 5, cached: 0 },
          },
          { text: 'The sum is 5.', usage: { input: 70, output: 7, cached: 20 } },
        ]);
        const seen: unknown[] = [];
        const options = {
          model: make(server.url),
          prompt: 'add 2 and 3',
          maxOutputTokens: 100,
          tools: {
            add: tool({
              inputSchema: z.object({ a: z.number(), b: z.number() }),
              execute: async ({ a, b }) => (seen.push({ a, b }), String(a + b)),
            }),
          },
          stopWhen: stepCountIs(3),
        };
        let text: string;
        let usage: { inputTokens?: number; outputTokens?: number; cachedInputTokens?: number };
        if (mode === 'json') {
          const r = await generateText(options);
          text = r.text;
          usage = r.totalUsage;
        } else {
          const r = streamText(options);
          text = await r.text;
          usage = await r.totalUsage;
          expect(server.requests.every((q) => q.body.stream === true)).toBe(true);
        }
        expect(seen).toEqual([{ a: 2, b: 3 }]);
        expect(text).toBe('The sum is 5.');
        expect(usage).toMatchObject({ inputTokens: 120, outputTokens: 12, cachedInputTokens: 20 });
        expect(server.requests.map((q) => q.turn)).toEqual([0, 1]);
      });
    }
  }

  it('lists models, injects failures, and answers unknown routes with 404', async () => {
    server = await startFakeLlm({
      turns: [{ text: 'hi' }],
      fail: { count: 1, status: 429, headers: { 'retry-after': '0' } },
    });
    expect((await (await fetch(`${server.url}/v1/models`)).json()).data[0].id).toBe('fake-model');
    const post = () =>
      fetch(`${server!.url}/v1/chat/completions?x=1`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', messages: [] }),
      });
    const first = await post();
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('0');
    expect((await (await post()).json()).choices[0].message.content).toBe('hi');
    expect((await fetch(`${server.url}/v2/nothing`, { method: 'POST', body: '{}' })).status).toBe(
      404,
    );
    expect(server.requests.map((r) => r.path)).toEqual([
      '/v1/models',
      '/v1/chat/completions',
      '/v1/chat/completions',
      '/v2/nothing',
    ]);
  });
});
