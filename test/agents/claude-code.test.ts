/**
 * The claude-code agent: the real Claude Agent SDK and its bundled claude binary against the fake
 * model server, in real temporary git repositories, with HOME in a temporary folder so no user
 * configuration or login is used. No network beyond 127.0.0.1, no paid API.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClaudeCodeAgent, permissionPolicy } from '../../src/agents/claude-code.js';
import type { AgentContext } from '../../src/agents/descriptor.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { parseProgram } from '../../src/program/program.js';
import type { FakeLlm, FakeRequest, Turn } from '../helpers/fake-llm.js';
import { agentFixture, fakeServers } from '../helpers/agent-fixture.js';
import { makeRepo } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

const PROGRAM = `---
metric: { name: loss, goal: minimize }
run: python train.py
editable: [train.py, model/**]
protected: [prepare.py]
prices:
  "anthropic:fake-model": { input: 1, output: 2, cached_input: 0.5 }
---
BRIEF-MARKER: try a lower learning rate.
`;

const FILES = {
  'secret.txt': 'outside the program folder\n',
  'exp/program.md': PROGRAM,
  'exp/train.py': 'import prepare\nlr = 0.1\nsteps = 100\n',
  'exp/prepare.py': 'SECRET_SPLIT = 42\n',
};

/**
 * A fake model for Claude Code: requests of the main conversation (those offering tools) walk the
 * script by turn; any side request Claude Code makes (no tools) gets a short text.
 */
const fake = fakeServers((script) => {
  const turns = script as Turn[];
  return {
    turns: (req: FakeRequest) =>
      Array.isArray(req.body?.tools) && req.body.tools.length > 0
        ? (turns[req.turn] ?? { text: 'Done.' })
        : { text: 'ok' },
  };
});

/** A repository, a fake model scripted with the program folder's real path, and the agent. */
async function setup(script: (dir: string) => Turn[], options: Record<string, unknown> = {}) {
  const home = tempDir('ar-claude-home-');
  const { repo, dir, actx, ctx } = agentFixture(
    FILES,
    { PATH: process.env.PATH, HOME: home, ANTHROPIC_API_KEY: 'sk-fake' },
    join(home, 'no-brief.md'),
  );
  const server = await fake(script(dir));
  const agent = await createClaudeCodeAgent(
    { model: 'fake-model', base_url: server.url, ...options },
    actx,
  );
  return { repo, dir, agent, ctx, server };
}

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');
/** Every tool result Claude Code sent back to the model, as text. */
const toolResults = (s: FakeLlm) =>
  s.requests.map((r) => JSON.stringify(r.body?.messages?.at(-1)?.content ?? '')).join('\n');

describe('the claude-code agent (real Claude Agent SDK against the fake model server)', () => {
  // One session for all of these: each Claude Code start costs more than the checks together.
  it('edits an editable file, refuses a protected edit, Bash and reads outside; reports title, hypothesis, tokens and cost', async () => {
    const outside = join(tempDir('ar-outside-'), 'secret.txt');
    writeFileSync(outside, 'OUTSIDE-SECRET\n');
    // Claude Code's file tools take absolute paths, and edit only files read first.
    const { dir, agent, ctx, server } = await setup((d) => [
      { toolCalls: [{ name: 'Read', args: { file_path: join(d, 'train.py') } }] },
      {
        toolCalls: [
          {
            name: 'Edit',
            args: {
              file_path: join(d, 'train.py'),
              old_string: 'lr = 0.1',
              new_string: 'lr = 0.05',
            },
          },
        ],
      },
      { toolCalls: [{ name: 'Read', args: { file_path: join(d, 'prepare.py') } }] },
      {
        toolCalls: [
          {
            name: 'Edit',
            args: {
              file_path: join(d, 'prepare.py'),
              old_string: 'SECRET_SPLIT = 42',
              new_string: 'SECRET_SPLIT = 0',
            },
          },
        ],
      },
      {
        toolCalls: [
          { name: 'Bash', args: { command: 'echo ok > ran.txt', description: 'make a file' } },
        ],
      },
      { toolCalls: [{ name: 'Read', args: { file_path: outside } }] },
      {
        text: 'I halved the learning rate.\nTITLE: lr 0.1 -> 0.05\nHYPOTHESIS: a smaller step lowers the loss',
      },
    ]);
    const p = await agent.propose(ctx);
    expect(read(dir, 'train.py')).toBe('import prepare\nlr = 0.05\nsteps = 100\n');
    expect(p.title).toBe('lr 0.1 -> 0.05');
    expect(p.hypothesis).toBe('a smaller step lowers the loss');

    // The protected file is unchanged: canUseTool refused the edit.
    expect(read(dir, 'prepare.py'), 'protected file').toBe('SECRET_SPLIT = 42\n');
    // Bash is refused by default and a read outside the workspace too: nothing runs, nothing
    // leaks. Every refusal reached the model as an error tool result.
    expect(existsSync(join(dir, 'ran.txt')), 'Bash ran').toBe(false);
    const results = toolResults(server);
    expect(results).toContain('prepare.py is protected and may not be changed');
    expect(results).toMatch(/No such tool available: Bash/);
    expect(results).toContain('is outside the workspace');
    expect(results).not.toContain('OUTSIDE-SECRET');

    // Seven model turns of the fake's default usage (100 in with 10 cached, 20 out); priced by program.md's `prices:`.
    expect(p.usage).toMatchObject({ inputTokens: 700, outputTokens: 140, cachedTokens: 70 });
    expect(p.usage!.costUsd).toBeCloseTo((630 * 1 + 70 * 0.5 + 140 * 2) / 1e6, 12);
    expect(p.meta).toMatchObject({
      model: 'fake-model',
      turns: 7,
      toolCalls: { Read: 3, Edit: 2, Bash: 1 },
      toolCallsAllowed: 1,
      toolCallsRefused: 2,
    });
    // The model was given the brief, with the human's directions and the instructions.
    const first = server.requests.find((r) => Array.isArray(r.body?.tools) && r.body.tools.length)!;
    expect(JSON.stringify(first.body)).toContain('BRIEF-MARKER');
    expect(JSON.stringify(first.body)).toContain('HYPOTHESIS:');
    // Only the proposal's own model calls: no session title on the side (billed, never shown).
    const side = server.requests.filter((r) => r.method === 'POST' && !r.body?.tools?.length);
    expect(side).toEqual([]);
  });

  it('fails with a clear error when it runs out of turns', async () => {
    const { agent, ctx } = await setup(
      (d) =>
        Array.from({ length: 5 }, () => ({
          toolCalls: [{ name: 'Read', args: { file_path: join(d, 'train.py') } }],
        })),
      { max_turns: 2 },
    );
    await expect(agent.propose(ctx)).rejects.toThrow(
      /claude-code agent failed.*maximum number of turns \(2\)/,
    );
  });
});

describe('the claude-code permission policy', () => {
  it('allows reads inside the workspace, edits only to editable unprotected files, no commands or web', () => {
    const repo = makeRepo(FILES);
    const dir = join(repo, 'exp');
    const policy = permissionPolicy({
      workspace: repo,
      programDir: dir,
      editable: ['train.py', 'model/**'],
      protected: ['prepare.py'],
      allowBash: false,
    });
    expect(policy('Read', { file_path: join(dir, 'prepare.py') })).toBeNull();
    expect(policy('Read', { file_path: join(repo, 'secret.txt') })).toBeNull();
    expect(policy('Read', { file_path: '/etc/passwd' })).toMatch(/outside the workspace/);
    expect(policy('Grep', { pattern: 'x' })).toBeNull();
    expect(policy('Edit', { file_path: join(dir, 'train.py') })).toBeNull();
    expect(policy('Write', { file_path: 'model/new.py' })).toBeNull();
    expect(policy('Edit', { file_path: join(dir, 'prepare.py') })).toMatch(/protected/);
    expect(policy('Write', { file_path: join(repo, 'secret.txt') })).toMatch(
      /outside the program folder/,
    );
    expect(policy('Write', { file_path: '../secret.txt' })).toMatch(/outside the program folder/);
    expect(policy('Write', { file_path: 'program.md' })).toMatch(/not editable/);
    expect(policy('Bash', { command: 'ls' })).toMatch(/not allowed/);
    expect(policy('WebFetch', { url: 'https://x' })).toMatch(/not allowed/);
    expect(policy('Task', {})).toMatch(/not available/);
    const withBash = permissionPolicy({
      workspace: repo,
      programDir: dir,
      editable: ['train.py'],
      protected: [],
      allowBash: true,
    });
    expect(withBash('Bash', { command: 'ls' })).toBeNull();
    expect(withBash('WebSearch', { query: 'x' })).toMatch(/not allowed/);
  });

  it('rejects unknown options with a ProgramError naming the option', async () => {
    const repo = makeRepo(FILES);
    const dir = join(repo, 'exp');
    const program = parseProgram(PROGRAM, join(dir, 'program.md'));
    const actx: AgentContext = {
      program,
      programDirAbs: dir,
      ledger: {} as Ledger,
      runTag: 't',
      env: {},
    };
    await expect(createClaudeCodeAgent({ max_step: 3 }, actx)).rejects.toThrow(
      /unknown option max_step/,
    );
  });
});
