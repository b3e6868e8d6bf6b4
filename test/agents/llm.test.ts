/**
 * The llm agent against a fake model server speaking the real wire protocols, through the real AI
 * SDK clients, in real temporary git repositories. No network beyond 127.0.0.1, no paid API.
 */
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Agent, ProposalContext } from '../../src/agents/agent.js';
import { createLlmAgent } from '../../src/agents/llm/agent.js';
import type { FakeLlm, FakeRequest, Turn } from '../helpers/fake-llm.js';
import { agentFixture, fakeServers } from '../helpers/agent-fixture.js';
import { makeRepo } from '../helpers/repo.js';

const PROGRAM = `---
metric: { name: loss, goal: minimize }
run: python train.py
editable: [train.py, model/**]
protected: [prepare.py]
prices:
  "anthropic:fake-model": { input: 1, output: 2, cached_input: 0.5, cache_write: 1.25 }
  "openai:fake-model": { input: 1, output: 2, cached_input: 0.5 }
  "openai-chat:fake-model": { input: 1, output: 2, cached_input: 0.5 }
  "openai-compatible:fake-model": { input: 1, output: 2, cached_input: 0.5 }
---
BRIEF-MARKER: try a lower learning rate.
`;

const FILES = {
  'secret.txt': 'outside the program folder\n',
  'exp/program.md': PROGRAM,
  'exp/train.py': 'import prepare\nlr = 0.1\nsteps = 100\n',
  'exp/prepare.py': 'SECRET_SPLIT = 42\n',
  'exp/notes.txt': 'notes\n',
  'exp/model/net.py': 'width = 64\nwidth = 64\n',
};

const fake = fakeServers();

interface Setup {
  repo: string;
  dir: string;
  agent: Agent;
  ctx: ProposalContext;
}

function setup(
  options: Record<string, unknown>,
  env: NodeJS.ProcessEnv = { ANTHROPIC_API_KEY: 'sk-fake', OPENAI_API_KEY: 'sk-fake' },
): Setup {
  const { repo, dir, actx, ctx } = agentFixture(FILES, env);
  return { repo, dir, agent: createLlmAgent(options, actx), ctx };
}

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');
const bodyText = (r: FakeRequest) => JSON.stringify(r.body);
/** The tool results an Anthropic request sends back (its last user message). */
const toolResult = (r: FakeRequest) => JSON.stringify(r.body.messages.at(-1).content);

/** A model that calls the given tools one turn each, then finishes. */
const calls = (...turns: Array<[string, unknown]>): Turn[] => [
  ...turns.map(([name, args]) => ({ toolCalls: [{ name, args }] })),
  { toolCalls: [{ name: 'finish', args: { title: 'done', hypothesis: 'h' } }] },
];

const HAPPY: Turn[] = [
  { toolCalls: [{ name: 'read_file', args: { path: 'train.py' } }] },
  {
    text: 'Lowering the learning rate.',
    toolCalls: [
      { name: 'edit_file', args: { path: 'train.py', search: 'lr = 0.1', replace: 'lr = 0.05' } },
    ],
  },
  {
    toolCalls: [
      {
        name: 'finish',
        args: {
          title: 'Lower LR to 0.05',
          hypothesis: 'A smaller step reduces loss noise.',
          lessons: 'LR 0.1 oscillates.',
        },
      },
    ],
  },
];

const PROVIDERS = [
  {
    provider: 'anthropic',
    path: '/v1/messages',
    auth: (r: FakeRequest) => r.headers['x-api-key'] === 'sk-fake',
  },
  {
    provider: 'openai',
    path: '/v1/responses',
    auth: (r: FakeRequest) => r.headers.authorization === 'Bearer sk-fake',
  },
  {
    provider: 'openai-chat',
    path: '/v1/chat/completions',
    auth: (r: FakeRequest) => r.headers.authorization === 'Bearer sk-fake',
  },
  {
    provider: 'openai-compatible',
    path: '/v1/chat/completions',
    auth: (r: FakeRequest) => r.headers.authorization === undefined,
  },
];

describe('the llm agent, per provider', () => {
  for (const p of PROVIDERS) {
    it(`${p.provider}: reads, edits an editable file, finishes; usage and cost summed over steps`, async () => {
      const server = await fake(HAPPY);
      const env =
        p.provider === 'openai-compatible'
          ? {}
          : { ANTHROPIC_API_KEY: 'sk-fake', OPENAI_API_KEY: 'sk-fake' };
      const { dir, agent, ctx } = setup(
        { model: `${p.provider}:fake-model`, base_url: `${server.url}/v1` },
        env,
      );

      const proposal = await agent.propose(ctx);

      expect(read(dir, 'train.py')).toBe('import prepare\nlr = 0.05\nsteps = 100\n');
      expect(proposal.title).toBe('Lower LR to 0.05');
      expect(proposal.hypothesis).toBe('A smaller step reduces loss noise.');
      expect(proposal.lessons).toBe('LR 0.1 oscillates.');
      // Three model calls of 100 input (10 cached) and 20 output tokens each.
      expect(proposal.usage).toMatchObject({
        inputTokens: 300,
        outputTokens: 60,
        cachedTokens: 30,
      });
      expect(proposal.usage!.costUsd).toBeCloseTo((270 * 1 + 30 * 0.5 + 60 * 2) / 1e6, 12);
      expect(proposal.meta).toMatchObject({
        steps: 3,
        finished: true,
        toolCalls: { read_file: 1, edit_file: 1, finish: 1 },
        toolErrors: 0,
        changedFiles: ['train.py'],
      });

      expect(server.requests.map((r) => r.path)).toEqual([p.path, p.path, p.path]);
      expect(server.requests.every(p.auth)).toBe(true);
      expect(server.requests[0]!.body.model).toBe('fake-model');
      expect(bodyText(server.requests[0]!)).toContain('BRIEF-MARKER');
      expect(bodyText(server.requests[0]!)).toContain('edit_file'); // the tools are offered
      expect(bodyText(server.requests[1]!)).toContain('lr = 0.1'); // the read_file result went back
      expect(bodyText(server.requests[2]!)).toContain('edited train.py');
    });
  }
});

describe('the llm agent, prompt caching (Anthropic)', () => {
  /** Where a request asks Anthropic to cache: "system", or the index of the message. */
  const breakpoints = (r: FakeRequest): Array<string | number> => {
    const marked = (blocks: unknown) =>
      Array.isArray(blocks) &&
      blocks.some((b: { cache_control?: unknown }) => b.cache_control !== undefined);
    return [
      ...(marked(r.body.system) ? ['system'] : []),
      ...r.body.messages.flatMap((m: { content: unknown }, i: number) =>
        marked(m.content) ? [i] : [],
      ),
    ];
  };

  it('marks the system prompt, the brief and the newest message; cache reads and writes are priced apart', async () => {
    // Step 1 writes the prefix to the cache; later steps read it and write what was added.
    const server = await fake({
      turns: HAPPY,
      usage: { input: 1000, cached: 0, cacheWrite: 900, output: 20 },
    });
    const { agent, ctx } = setup({ model: 'anthropic:fake-model', base_url: `${server.url}/v1` });
    const proposal = await agent.propose(ctx);
    expect(proposal.title).toBe('Lower LR to 0.05');
    expect(server.requests.map(breakpoints)).toEqual([
      ['system', 0],
      ['system', 0, 2], // the brief, then the read_file result, the newest message
      ['system', 0, 4],
    ]);
    expect(proposal.usage).toMatchObject({
      inputTokens: 3000,
      cachedTokens: 0,
      cacheWriteTokens: 2700,
      outputTokens: 60,
    });
    // program.md prices: input 1, cached_input 0.5, cache_write 1.25, output 2 (dollars per million).
    expect(proposal.usage!.costUsd).toBeCloseTo((300 * 1 + 2700 * 1.25 + 60 * 2) / 1e6, 12);
  });

  it('sends no cache markers with prompt_cache: false, nor to OpenAI (which caches by itself)', async () => {
    const server = await fake(HAPPY);
    const off = setup({
      model: 'anthropic:fake-model',
      base_url: `${server.url}/v1`,
      prompt_cache: false,
    });
    await off.agent.propose(off.ctx);
    const openai = setup({ model: 'openai:fake-model', base_url: `${server.url}/v1` });
    await openai.agent.propose(openai.ctx);
    expect(server.requests).toHaveLength(6);
    expect(server.requests.map((r) => bodyText(r).includes('cache_control'))).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('the llm agent, rules', () => {
  const anthropic = (server: FakeLlm, extra: Record<string, unknown> = {}) => ({
    model: 'anthropic:fake-model',
    base_url: `${server.url}/v1`,
    ...extra,
  });

  it('refuses edits to protected and non-editable files, and the model sees why', async () => {
    const server = await fake(
      calls(
        ['edit_file', { path: 'prepare.py', search: '42', replace: '43' }],
        ['write_file', { path: 'notes.txt', content: 'hacked' }],
        ['write_file', { path: 'new_module.py', content: 'x = 1' }],
      ),
    );
    const { dir, agent, ctx } = setup(anthropic(server));
    const proposal = await agent.propose(ctx);
    expect(read(dir, 'prepare.py')).toBe('SECRET_SPLIT = 42\n');
    expect(read(dir, 'notes.txt')).toBe('notes\n');
    expect(existsSync(join(dir, 'new_module.py'))).toBe(false);
    expect(bodyText(server.requests[1]!)).toContain('prepare.py is protected');
    expect(bodyText(server.requests[2]!)).toContain('notes.txt is not editable');
    expect(bodyText(server.requests[2]!)).toContain('editable: train.py, model/**');
    expect(bodyText(server.requests[3]!)).toContain('new_module.py is not editable');
    expect(proposal.meta).toMatchObject({ toolErrors: 3, changedFiles: [] });
  });

  it('refuses paths that escape the program folder: .., absolute, symlinks out', async () => {
    const repo = makeRepo(FILES);
    symlinkSync('../secret.txt', join(repo, 'exp/link.txt'));
    symlinkSync('../../secret.txt', join(repo, 'exp/model/evil.py'));
    symlinkSync('../..', join(repo, 'exp/model/up'));
    symlinkSync('..', join(repo, 'exp/model/loop')); // model/loop/prepare.py would be prepare.py
    const server = await fake(
      calls(
        ['read_file', { path: '../secret.txt' }],
        ['read_file', { path: join(repo, 'secret.txt') }],
        ['read_file', { path: 'link.txt' }],
        ['write_file', { path: 'model/evil.py', content: 'pwned' }],
        ['write_file', { path: 'model/up/secret.txt', content: 'pwned' }],
        ['list_files', { path: '..' }],
        ['write_file', { path: 'model/loop/prepare.py', content: 'pwned' }],
        ['write_file', { path: 'model/.git/config', content: '[core]\n\tfsmonitor = ./pwn.sh\n' }],
      ),
    );
    // The same agent, pointed at the repo with the symlinks.
    const s = setup(anthropic(server));
    const ctx = { ...s.ctx, workspace: repo, programDir: join(repo, 'exp') };
    const proposal = await s.agent.propose(ctx);
    const results = server.requests.slice(1).map(bodyText);
    expect(results[0]).toContain('\\"..\\" is not allowed');
    expect(results[1]).toContain('absolute paths are not allowed');
    expect(results[2]).toContain('resolves outside the program folder');
    expect(results[3]).toContain('resolves outside the program folder');
    expect(results[4]).toContain('model/up/secret.txt');
    expect(results[4]).toMatch(/resolves outside the program folder/);
    expect(results[5]).toContain('\\"..\\" is not allowed');
    expect(results[6]).toContain('model/loop/prepare.py goes through a symlinked folder');
    expect(results[7]).toContain('.git folders are off limits'); // editable model/**, but a nested repository hides files from git
    expect(existsSync(join(repo, 'exp/model/.git'))).toBe(false);
    expect(read(repo, 'exp/prepare.py')).toBe('SECRET_SPLIT = 42\n');
    expect(results.join('')).not.toContain('outside the program folder\\n'); // the secret's content never leaked
    expect(read(repo, 'secret.txt')).toBe('outside the program folder\n');
    expect(proposal.meta).toMatchObject({ toolErrors: 8 });
  });

  it('lists and searches only what it may read: a symlink pointing out is neither shown nor searched', async () => {
    const server = await fake(
      calls(['list_files', {}], ['search_text', { pattern: 'outside the program folder' }]),
    );
    const s = setup(anthropic(server));
    symlinkSync('../secret.txt', join(s.dir, 'leak.txt')); // new, not ignored: git lists it
    await s.agent.propose(s.ctx);
    expect(toolResult(server.requests[1]!)).toContain('train.py (editable)');
    expect(toolResult(server.requests[1]!)).not.toContain('leak.txt');
    expect(toolResult(server.requests[2]!)).toContain('no matches');
  });

  it('shows protected files read-only by default, and hides them with read_protected: false', async () => {
    const script = calls(
      ['list_files', {}],
      ['read_file', { path: 'prepare.py' }],
      ['search_text', { pattern: 'SECRET_SPLIT' }],
    );
    const open = await fake(script);
    const o = setup(anthropic(open));
    await o.agent.propose(o.ctx);
    expect(bodyText(open.requests[1]!)).toContain('prepare.py (protected, read-only)');
    expect(bodyText(open.requests[1]!)).toContain('train.py (editable)');
    expect(bodyText(open.requests[2]!)).toContain('SECRET_SPLIT = 42');
    expect(bodyText(open.requests[3]!)).toContain('prepare.py:1: SECRET_SPLIT');

    const closed = await fake(script);
    const s = setup(anthropic(closed, { read_protected: false }));
    await s.agent.propose(s.ctx);
    expect(toolResult(closed.requests[1]!)).not.toContain('prepare.py');
    expect(toolResult(closed.requests[1]!)).toContain('train.py (editable)');
    expect(bodyText(closed.requests[2]!)).toContain('prepare.py: not available');
    expect(toolResult(closed.requests[3]!)).toContain('no matches');
    expect(bodyText(closed.requests[0]!)).toContain('hidden from you'); // the system prompt says so
  });

  it('edit_file needs the search text exactly once; reads take line ranges; search takes regexes', async () => {
    const server = await fake(
      calls(
        ['edit_file', { path: 'model/net.py', search: 'width = 64', replace: 'width = 128' }],
        ['edit_file', { path: 'model/net.py', search: 'depth = 3', replace: 'depth = 4' }],
        ['read_file', { path: 'train.py', start_line: 2, end_line: 2 }],
        ['search_text', { pattern: '^(lr|steps) =', regex: true }],
        ['write_file', { path: 'model/new/layer.py', content: 'k = 3\n' }],
      ),
    );
    const { dir, agent, ctx } = setup(anthropic(server));
    const proposal = await agent.propose(ctx);
    expect(read(dir, 'model/net.py')).toBe('width = 64\nwidth = 64\n');
    expect(bodyText(server.requests[1]!)).toContain('occurs 2 times');
    expect(bodyText(server.requests[2]!)).toContain('not found in model/net.py');
    const range = bodyText(server.requests[3]!);
    expect(range).toContain('2\\tlr = 0.1');
    expect(range).not.toContain('import prepare');
    expect(bodyText(server.requests[4]!)).toContain('train.py:2: lr = 0.1');
    expect(bodyText(server.requests[4]!)).toContain('train.py:3: steps = 100');
    expect(read(dir, 'model/new/layer.py')).toBe('k = 3\n');
    expect(proposal.meta).toMatchObject({ changedFiles: ['model/new/layer.py'], toolErrors: 2 });
  });
});

describe('the llm agent, failures and limits', () => {
  const anthropic = (server: FakeLlm, extra: Record<string, unknown> = {}) => ({
    model: 'anthropic:fake-model',
    base_url: `${server.url}/v1`,
    ...extra,
  });

  it('retries a 429 (honouring retry-after) and goes on; the retry is in the request log', async () => {
    const server = await fake({
      turns: HAPPY,
      fail: { count: 1, status: 429, headers: { 'retry-after': '0' } },
    });
    const { dir, agent, ctx } = setup(anthropic(server));
    const proposal = await agent.propose(ctx);
    expect(server.requests).toHaveLength(4);
    expect(server.requests[0]!.body).toEqual(server.requests[1]!.body);
    expect(read(dir, 'train.py')).toContain('lr = 0.05');
    expect(proposal.meta).toMatchObject({ retries: 1, steps: 3 });
  });

  it('gives up after the retries with an error naming status, provider and model', async () => {
    const server = await fake({
      turns: HAPPY,
      fail: { count: 100, status: 503, headers: { 'retry-after': '0' } },
    });
    const { agent, ctx } = setup(anthropic(server, { retries: 2 }));
    const error = await agent.propose(ctx).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/HTTP 503/);
    expect((error as Error).message).toContain('anthropic model fake-model');
    expect((error as Error).message).toContain('2 retries');
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a 400', async () => {
    const server = await fake({ turns: HAPPY, fail: { count: 1, status: 400 } });
    const { agent, ctx } = setup({ model: 'openai-chat:fake-model', base_url: `${server.url}/v1` });
    await expect(agent.propose(ctx)).rejects.toThrow(
      /HTTP 400.*openai-chat model fake-model|openai-chat model fake-model.*HTTP 400/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('reports an unreachable server as a network failure after retrying', async () => {
    const server = await fake(HAPPY);
    const url = server.url;
    await server.close();
    const { agent, ctx } = setup({ model: 'openai:fake-model', base_url: `${url}/v1`, retries: 1 });
    await expect(agent.propose(ctx)).rejects.toThrow(/openai model fake-model/);
  });

  it('needs the API key from the environment, named in the error', () => {
    expect(() => setup({ model: 'anthropic:fake-model' }, {})).toThrow(/ANTHROPIC_API_KEY/);
    expect(() => setup({ model: 'openai:fake-model' }, {})).toThrow(/OPENAI_API_KEY/);
    expect(() =>
      setup(
        { model: 'openai-compatible:m', base_url: 'http://127.0.0.1:1/v1', api_key_env: 'MY_KEY' },
        {},
      ),
    ).toThrow(/MY_KEY/);
    expect(() =>
      setup({ model: 'anthropic:fake-model', api_key_env: 'MY_KEY' }, { MY_KEY: 'k' }),
    ).not.toThrow();
  });

  it('validates its options with errors on agent.<key>', () => {
    expect(() => setup({ model: 'gemini:x' })).toThrow(/agent\.model.*provider:model/);
    expect(() => setup({ model: 'openai-compatible:llama3' })).toThrow(/agent\.base_url/);
    expect(() => setup({ model: 'anthropic:m', max_step: 3 })).toThrow(/unknown option max_step/);
    expect(() => setup({ model: 'anthropic:m', timeout: 'soon' })).toThrow(/agent\.timeout/);
  });

  it('stops at max_steps without finish and still returns a sensible title', async () => {
    const server = await fake({ turns: () => ({ toolCalls: [{ name: 'list_files', args: {} }] }) });
    const { agent, ctx } = setup(anthropic(server, { max_steps: 3 }));
    const proposal = await agent.propose(ctx);
    expect(server.requests).toHaveLength(3);
    expect(proposal.title).toBe(
      'no change (the llm agent stopped after 3 steps without calling finish)',
    );
    expect(proposal.meta).toMatchObject({ steps: 3, finished: false });
    expect(proposal.usage).toMatchObject({ inputTokens: 300, outputTokens: 60 });

    const editing = await fake([
      {
        toolCalls: [
          {
            name: 'edit_file',
            args: { path: 'train.py', search: 'steps = 100', replace: 'steps = 200' },
          },
        ],
      },
      ...Array(5).fill({ toolCalls: [{ name: 'list_files', args: {} }] }),
    ]);
    const s = setup(anthropic(editing, { max_steps: 2 }));
    expect((await s.agent.propose(s.ctx)).title).toBe(
      'edit train.py (the llm agent stopped after 2 steps without calling finish)',
    );
  });

  it('takes the title from final text when the model answers without finish', async () => {
    const server = await fake([
      {
        toolCalls: [
          {
            name: 'edit_file',
            args: { path: 'train.py', search: 'steps = 100', replace: 'steps = 200' },
          },
        ],
      },
      { text: 'TITLE: Double the steps\nHYPOTHESIS: More steps, lower loss.' },
    ]);
    const { agent, ctx } = setup({ model: 'openai:fake-model', base_url: `${server.url}/v1` });
    const proposal = await agent.propose(ctx);
    expect(proposal).toMatchObject({
      title: 'Double the steps',
      hypothesis: 'More steps, lower loss.',
    });
    expect(proposal.meta).toMatchObject({ finished: false, steps: 2 });
  });

  it('stops promptly when the run is stopping', async () => {
    const server = await fake(HAPPY);
    const { agent, ctx } = setup(anthropic(server));
    const stop = new AbortController();
    stop.abort();
    await expect(agent.propose({ ...ctx, signal: stop.signal })).rejects.toThrow(/interrupted/);
  });

  it('gives up when the proposal takes longer than timeout', async () => {
    const server = await fake({
      turns: HAPPY,
      fail: { count: 100, status: 429, headers: { 'retry-after': '30' } },
    });
    const { agent, ctx } = setup(anthropic(server, { timeout: '300ms', retries: 5 }));
    const started = Date.now();
    await expect(agent.propose(ctx)).rejects.toThrow(/timed out after 0.3s/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('prices', () => {
  it('openai-chat models fall back to openai price entries; unknown models cost nothing known', async () => {
    const server = await fake(HAPPY);
    const { agent, ctx } = setup({
      model: 'openai-chat:gpt-4o-mini',
      base_url: `${server.url}/v1`,
    });
    const proposal = await agent.propose(ctx);
    expect(proposal.usage!.costUsd).toBeCloseTo((270 * 0.15 + 30 * 0.075 + 60 * 0.6) / 1e6, 12);

    const other = await fake(HAPPY);
    const s = setup({ model: 'openai-compatible:no-such-model', base_url: `${other.url}/v1` }, {});
    const p2 = await s.agent.propose(s.ctx);
    expect(p2.usage!.costUsd).toBeUndefined();
    expect(p2.usage!.inputTokens).toBe(300);
  });
});
