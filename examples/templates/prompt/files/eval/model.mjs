/**
 * The model client of the prompt evaluator (protected, Node 20, no dependencies): OpenAI-compatible
 * chat completions over node:http(s), every answer cached by a hash of (model, messages, draw), and
 * every token metered.
 *
 * Settings come from the environment (program.md's `env.set`, or your shell when you run the
 * evaluator by hand):
 *   PROMPT_EVAL_BASE_URL   default http://127.0.0.1:11434/v1 (Ollama); else OPENAI_BASE_URL
 *   PROMPT_EVAL_MODEL      the model the prompts are for (default llama3.2)
 *   PROMPT_EVAL_JUDGE_MODEL  the judge (default: PROMPT_EVAL_MODEL)
 *   PROMPT_EVAL_API_KEY    or OPENAI_API_KEY (the harness strips API keys: `env.allow` one)
 *   PROMPT_EVAL_CACHE      the cache folder; else AUTORESEARCH_CACHE (the run's `cache:` folder,
 *                          kept across experiments); else eval/.cache, next to this file
 *   PROMPT_EVAL_PRICE_IN, PROMPT_EVAL_PRICE_OUT  US dollars per million tokens (default 0)
 *   PROMPT_EVAL_MAX_TOKENS a hard stop: no call is made once this many tokens were spent
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const env = process.env;

export const settings = {
  baseUrl: (env.PROMPT_EVAL_BASE_URL || env.OPENAI_BASE_URL || 'http://127.0.0.1:11434/v1').replace(
    /\/+$/,
    '',
  ),
  model: env.PROMPT_EVAL_MODEL || 'llama3.2',
  judgeModel: env.PROMPT_EVAL_JUDGE_MODEL || env.PROMPT_EVAL_MODEL || 'llama3.2',
  apiKey: env.PROMPT_EVAL_API_KEY || env.OPENAI_API_KEY || '',
  cacheDir:
    env.PROMPT_EVAL_CACHE ||
    env.AUTORESEARCH_CACHE ||
    fileURLToPath(new URL('.cache/', import.meta.url)),
  priceIn: Number(env.PROMPT_EVAL_PRICE_IN) || 0,
  priceOut: Number(env.PROMPT_EVAL_PRICE_OUT) || 0,
  maxTokens: Number(env.PROMPT_EVAL_MAX_TOKENS) || Infinity,
};

/** What this process spent: calls made, answered from the cache, tokens and dollars. */
export const meter = { calls: 0, cached: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };

export class BudgetExceeded extends Error {}

let cacheWritable = true;

/** The cache key: what determines the answer (the endpoint is left out: a model is a model). */
export function cacheKey(model, messages, sample, temperature) {
  const text = JSON.stringify({ model, messages, sample, temperature });
  return createHash('sha256').update(text).digest('hex');
}

function readCache(key) {
  try {
    return JSON.parse(
      readFileSync(join(settings.cacheDir, key.slice(0, 2), `${key}.json`), 'utf8'),
    );
  } catch {
    return null;
  }
}

/** Written whole then renamed: a parallel reader never sees half an entry. */
function writeCache(key, entry) {
  if (!cacheWritable) return;
  try {
    const dir = join(settings.cacheDir, key.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${key}.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, join(dir, `${key}.json`));
  } catch (e) {
    // A read-only place (a sealed run's checkout): answers stay uncached, the run goes on.
    cacheWritable = false;
    console.error(`model cache ${settings.cacheDir} is not writable (${e.code ?? e.message})`);
  }
}

/**
 * One chat completion: the text of the answer. `sample` tells repeated calls apart (the judge
 * asks n times). A sampled answer (temperature above 0) is drawn afresh for every measurement:
 * the harness's AUTORESEARCH_SEED differs per measurement, so repeats of one prompt show the
 * judge's real noise instead of replaying one draw from the cache (which would make the noise
 * look like zero and let judge noise pass for a gain). A temperature-0 answer is cached across
 * measurements. The draw is also sent as the seed, so a provider that honours seeds answers as
 * the cache would.
 */
export async function chat({ model, messages, temperature = 0, sample = 0, maxTokens }) {
  const draw = temperature > 0 ? `${process.env.AUTORESEARCH_SEED ?? ''}:${sample}` : sample;
  const key = cacheKey(model, messages, draw, temperature);
  const hit = readCache(key);
  if (hit) {
    meter.cached++;
    return hit.text;
  }
  if (meter.inputTokens + meter.outputTokens >= settings.maxTokens)
    throw new BudgetExceeded(
      `PROMPT_EVAL_MAX_TOKENS (${settings.maxTokens}) spent: no more model calls`,
    );
  const seed =
    typeof draw === 'number'
      ? draw
      : Number.parseInt(createHash('sha256').update(draw).digest('hex').slice(0, 8), 16);
  const body = { model, messages, temperature, seed, stream: false };
  if (maxTokens) body.max_tokens = maxTokens;
  const reply = await post(`${settings.baseUrl}/chat/completions`, body);
  const text = reply.choices?.[0]?.message?.content ?? '';
  const input = reply.usage?.prompt_tokens ?? 0;
  const output = reply.usage?.completion_tokens ?? 0;
  meter.calls++;
  meter.inputTokens += input;
  meter.outputTokens += output;
  meter.costUsd += (input * settings.priceIn + output * settings.priceOut) / 1e6;
  writeCache(key, { model, text, usage: { input, output } });
  return text;
}

/** POST with a timeout, retrying rate limits and server errors a few times. */
async function post(url, body, attempt = 0) {
  let res;
  try {
    res = await send(url, body);
  } catch (e) {
    if (attempt < 2) return post(url, body, attempt + 1);
    throw new Error(
      `cannot reach ${url} (${e.code ?? e.message}): is the server running? ` +
        'Set PROMPT_EVAL_BASE_URL in program.md (env.set), e.g. Ollama at http://127.0.0.1:11434/v1',
    );
  }
  if ((res.status === 429 || res.status >= 500) && attempt < 3) {
    await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    return post(url, body, attempt + 1);
  }
  if (res.status < 200 || res.status > 299)
    throw new Error(
      `${url}: HTTP ${res.status} for model ${body.model}: ${res.text.slice(0, 300)}`,
    );
  return JSON.parse(res.text);
}

/**
 * One JSON POST: its status and the answer's text. node:http, not fetch: loading fetch's client
 * (undici) and its streams cost about half a CPU-second per evaluation, twice the calls' own.
 */
function send(url, body) {
  const data = JSON.stringify(body);
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
          ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    // The whole exchange, as a slow model may think for a while before it answers.
    const timer = setTimeout(() => req.destroy(new Error('no answer in 120 s')), 120_000);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(data);
  });
}
