/**
 * A fake model server for tests: node:http on 127.0.0.1, speaking the real wire protocols of
 * OpenAI chat completions, OpenAI Responses and Anthropic messages (JSON and SSE streaming), so
 * the real AI SDK clients run against it unchanged. A script decides every reply.
 *
 * Turns are chosen statelessly from the request itself: the turn index is the number of assistant
 * turns already in the conversation. So a retried request gets the same turn again, and parallel
 * conversations each walk the script from the start.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeUsage {
  /** Prompt tokens, cached ones included (as OpenAI counts them; the Anthropic reply is split). */
  input: number;
  output: number;
  cached: number;
  /** Prompt tokens written to the cache (Anthropic's cache_creation_input_tokens; part of `input`). */
  cacheWrite?: number;
}

export type Turn =
  | {
      text?: string;
      toolCalls?: Array<{ name: string; args: unknown }>;
      usage?: Partial<FakeUsage>;
    }
  | { status: number; headers?: Record<string, string>; body?: unknown };

export interface FakeRequest {
  method: string;
  /** The URL pathname (query string removed). */
  path: string;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body (undefined for GET). */
  body: any;
  /** Index of this reply in the conversation (assistant turns already in the request). */
  turn: number;
}

export interface FakeLlmScript {
  turns: Turn[] | ((req: FakeRequest) => Turn);
  /** Reply with this status to the next `count` model requests (before the script is asked). */
  fail?: { count: number; status: number; headers?: Record<string, string>; body?: unknown };
  /** Usage reported when a turn does not say (default input 100, output 20, cached 10). */
  usage?: FakeUsage;
}

export interface FakeLlm {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

const DEFAULT_USAGE: FakeUsage = { input: 100, output: 20, cached: 10 };
const LAST_TURN: Turn = { text: 'Done.' };

export async function startFakeLlm(script: FakeLlmScript | Turn[]): Promise<FakeLlm> {
  const s: FakeLlmScript = Array.isArray(script) ? { turns: script } : script;
  let failuresLeft = s.fail?.count ?? 0;
  const requests: FakeRequest[] = [];

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return json(res, 400, { error: { message: 'invalid JSON' } });
    }
    const kind = path.endsWith('/chat/completions')
      ? 'chat'
      : path.endsWith('/responses')
        ? 'responses'
        : path.endsWith('/messages')
          ? 'anthropic'
          : null;
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
      turn: kind ? countTurns(kind, body) : 0,
    };
    requests.push(request);

    if (req.method === 'GET' && path.endsWith('/models')) {
      return json(res, 200, {
        object: 'list',
        data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }],
      });
    }
    if (req.method !== 'POST' || !kind)
      return json(res, 404, { error: { message: `no route for ${req.method} ${path}` } });

    // Failure injection first, then the script.
    let turn: Turn;
    if (failuresLeft > 0 && s.fail) {
      failuresLeft--;
      turn = { status: s.fail.status, headers: s.fail.headers, body: s.fail.body };
    } else {
      turn =
        typeof s.turns === 'function' ? s.turns(request) : (s.turns[request.turn] ?? LAST_TURN);
    }
    if ('status' in turn) {
      res.writeHead(turn.status, { 'content-type': 'application/json', ...turn.headers });
      return res.end(JSON.stringify(turn.body ?? errorBody(kind, turn.status)));
    }
    const usage = { ...(s.usage ?? DEFAULT_USAGE), ...turn.usage };
    const calls = (turn.toolCalls ?? []).map((c, i) => ({
      id: `call_${request.turn}_${i}`,
      name: c.name,
      args: JSON.stringify(c.args),
    }));
    const reply: Reply = {
      text: turn.text ?? '',
      calls,
      usage,
      model: String(body?.model ?? 'fake-model'),
    };
    const stream = body?.stream === true;
    if (kind === 'chat')
      return stream ? sse(res, chatEvents(reply, body)) : json(res, 200, chatJson(reply));
    if (kind === 'responses')
      return stream ? sse(res, responsesEvents(reply)) : json(res, 200, responsesJson(reply));
    return stream ? sse(res, anthropicEvents(reply)) : json(res, 200, anthropicJson(reply));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Reply {
  text: string;
  calls: Array<{ id: string; name: string; args: string }>;
  usage: FakeUsage;
  model: string;
}

/** Assistant turns already in the conversation: assistant messages, or for Responses each run of output items. */
function countTurns(kind: 'chat' | 'responses' | 'anthropic', body: any): number {
  if (kind !== 'responses')
    return (body?.messages ?? []).filter((m: any) => m.role === 'assistant').length;
  if (!Array.isArray(body?.input)) return 0;
  let turns = 0;
  let inTurn = false;
  for (const item of body.input) {
    const isOutput =
      item.role === 'assistant' ||
      ['function_call', 'item_reference', 'reasoning'].includes(item.type);
    if (isOutput && !inTurn) turns++;
    inTurn = isOutput;
  }
  return turns;
}

function errorBody(kind: string, status: number): unknown {
  const message = `fake error ${status}`;
  return kind === 'anthropic'
    ? { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message } }
    : { error: { message, type: 'fake_error', code: String(status) } };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Writes server-sent events; an event with a `type` also gets an `event:` line (Anthropic, Responses). */
function sse(res: ServerResponse, events: Array<object | '[DONE]'>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) {
    if (e === '[DONE]') res.write('data: [DONE]\n\n');
    else
      res.write(
        `${'type' in e ? `event: ${String((e as { type: unknown }).type)}\n` : ''}data: ${JSON.stringify(e)}\n\n`,
      );
  }
  res.end();
}

// ---- OpenAI chat completions -------------------------------------------------------------------

function chatUsage(u: FakeUsage) {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached },
  };
}

function chatJson(r: Reply) {
  const message: any = { role: 'assistant', content: r.text || null };
  if (r.calls.length)
    message.tool_calls = r.calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.args },
    }));
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 0,
    model: r.model,
    choices: [{ index: 0, message, finish_reason: r.calls.length ? 'tool_calls' : 'stop' }],
    usage: chatUsage(r.usage),
  };
}

function chatEvents(r: Reply, body: any): Array<object | '[DONE]'> {
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 0, model: r.model };
  const events: Array<object | '[DONE]'> = [
    {
      ...base,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    },
  ];
  for (const piece of split(r.text))
    events.push({
      ...base,
      choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
    });
  r.calls.forEach((c, index) => {
    events.push({
      ...base,
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              { index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } },
            ],
          },
          finish_reason: null,
        },
      ],
    });
    for (const piece of split(c.args))
      events.push({
        ...base,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: piece } }] },
            finish_reason: null,
          },
        ],
      });
  });
  events.push({
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: r.calls.length ? 'tool_calls' : 'stop' }],
  });
  if (body?.stream_options?.include_usage)
    events.push({ ...base, choices: [], usage: chatUsage(r.usage) });
  events.push('[DONE]');
  return events;
}

// ---- OpenAI Responses ----------------------------------------------------------------------------

function responsesUsage(u: FakeUsage) {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.input + u.output,
  };
}

function responsesOutput(r: Reply): any[] {
  const out: any[] = [];
  if (r.text)
    out.push({
      type: 'message',
      id: 'msg_fake',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: r.text, annotations: [] }],
    });
  for (const c of r.calls)
    out.push({
      type: 'function_call',
      id: `fc_${c.id}`,
      call_id: c.id,
      name: c.name,
      arguments: c.args,
      status: 'completed',
    });
  return out;
}

function responsesJson(r: Reply) {
  return {
    id: 'resp_fake',
    object: 'response',
    created_at: 0,
    status: 'completed',
    model: r.model,
    output: responsesOutput(r),
    incomplete_details: null,
    usage: responsesUsage(r.usage),
  };
}

function responsesEvents(r: Reply): object[] {
  const events: object[] = [
    {
      type: 'response.created',
      response: {
        id: 'resp_fake',
        object: 'response',
        created_at: 0,
        status: 'in_progress',
        model: r.model,
        output: [],
      },
    },
  ];
  responsesOutput(r).forEach((item, output_index) => {
    if (item.type === 'message') {
      events.push({
        type: 'response.output_item.added',
        output_index,
        item: { ...item, status: 'in_progress', content: [] },
      });
      for (const delta of split(r.text))
        events.push({
          type: 'response.output_text.delta',
          item_id: item.id,
          output_index,
          content_index: 0,
          delta,
        });
    } else {
      events.push({
        type: 'response.output_item.added',
        output_index,
        item: { ...item, status: 'in_progress', arguments: '' },
      });
      for (const delta of split(item.arguments))
        events.push({
          type: 'response.function_call_arguments.delta',
          item_id: item.id,
          output_index,
          delta,
        });
      events.push({
        type: 'response.function_call_arguments.done',
        item_id: item.id,
        output_index,
        arguments: item.arguments,
      });
    }
    events.push({ type: 'response.output_item.done', output_index, item });
  });
  events.push({ type: 'response.completed', response: { ...responsesJson(r) } });
  return events;
}

// ---- Anthropic messages --------------------------------------------------------------------------

/** Anthropic reports uncached input and cache reads separately; the SDK adds them back up. */
function anthropicUsage(u: FakeUsage) {
  const written = u.cacheWrite ?? 0;
  return {
    input_tokens: u.input - u.cached - written,
    cache_read_input_tokens: u.cached,
    cache_creation_input_tokens: written,
    output_tokens: u.output,
  };
}

function anthropicContent(r: Reply): any[] {
  const content: any[] = [];
  if (r.text) content.push({ type: 'text', text: r.text });
  for (const c of r.calls)
    content.push({
      type: 'tool_use',
      id: `toolu_${c.id}`,
      name: c.name,
      input: JSON.parse(c.args),
    });
  return content;
}

/** Each reply gets its own message id: Claude Code merges consecutive assistant messages that share one. */
let anthropicReplies = 0;

function anthropicJson(r: Reply) {
  return {
    id: `msg_fake_${++anthropicReplies}`,
    type: 'message',
    role: 'assistant',
    model: r.model,
    content: anthropicContent(r),
    stop_reason: r.calls.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: anthropicUsage(r.usage),
  };
}

function anthropicEvents(r: Reply): object[] {
  const { output_tokens, ...inputUsage } = anthropicUsage(r.usage);
  const events: object[] = [
    {
      type: 'message_start',
      message: {
        ...anthropicJson(r),
        content: [],
        stop_reason: null,
        usage: { ...inputUsage, output_tokens: 1 },
      },
    },
  ];
  anthropicContent(r).forEach((block, index) => {
    if (block.type === 'text') {
      events.push({
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '' },
      });
      for (const text of split(block.text))
        events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
    } else {
      events.push({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
      for (const partial_json of split(JSON.stringify(block.input)))
        events.push({
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json },
        });
    }
    events.push({ type: 'content_block_stop', index });
  });
  events.push({
    type: 'message_delta',
    delta: { stop_reason: r.calls.length ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens },
  });
  events.push({ type: 'message_stop' });
  return events;
}

/** Splits a string into a few pieces, to exercise incremental parsing in the clients. */
function split(s: string): string[] {
  if (!s) return [];
  const n = Math.ceil(s.length / 3);
  return [s.slice(0, n), s.slice(n, 2 * n), s.slice(2 * n)].filter(Boolean);
}
