/**
 * The codex agent through the real @openai/codex-sdk and its bundled codex binary, against the
 * fake model server (Responses API over SSE), in real temporary git repositories. The scripted
 * model edits files with `exec_command`, the tool codex offers a model without known metadata.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCodexAgent } from '../../src/agents/codex.js';
import type { Turn } from '../helpers/fake-llm.js';
import { agentFixture, fakeServers, sealedSeal } from '../helpers/agent-fixture.js';
import { detectSandbox } from '../../src/sandbox/detect.js';
import { gitIn, waitFor } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

const PROGRAM = `---
metric: { name: loss, goal: minimize }
run: python train.py
editable: [train.py]
protected: [prepare.py]
prices:
  "openai:fake-model": { input: 1, output: 2, cached_input: 0.5 }
---
try a lower learning rate.
`;

const FILES = {
  'exp/program.md': PROGRAM,
  'exp/train.py': 'import prepare\nlr = 0.1\n',
  'exp/prepare.py': 'SPLIT = 42\n',
};

const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME };

const sealed = (await detectSandbox()).sealed;

/**
 * Codex in the run's sandbox where this machine has one, as a run starts it (Codex's own sandbox
 * cannot start under a system bubblewrap); in its own workspace-write sandbox elsewhere.
 */
async function setup(env: NodeJS.ProcessEnv = { ...BASE_ENV, OPENAI_API_KEY: 'sk-fake' }) {
  // The experiment's folder lies outside the worktree, as in a run.
  const expDir = tempDir('ar-codex-exp-');
  const briefPath = join(expDir, 'brief.md');
  writeFileSync(briefPath, 'BRIEF-MARKER: try a lower learning rate.\n');
  const fixture = agentFixture(FILES, env, briefPath);
  const seal = await sealedSeal(fixture);
  const ctx = seal ? { ...fixture.ctx, seal } : fixture.ctx;
  return { repo: fixture.repo, dir: fixture.dir, expDir, actx: fixture.actx, ctx };
}

const fake = fakeServers();

const shell = (cmd: string): Turn => ({ toolCalls: [{ name: 'exec_command', args: { cmd } }] });
const DONE: Turn = {
  text: 'Lowered the learning rate.\nTITLE: Lower LR to 0.05\nHYPOTHESIS: A smaller step reduces loss noise.',
};

describe('the codex agent', () => {
  // Sealed, the same session also tries the protected file: one Codex start less than a test of its own.
  it('edits an editable file through a codex tool (sealed, a protected file is read-only to it); title, hypothesis, usage and cost from the turn', async () => {
    const edit = "sed -i 's/lr = 0.1/lr = 0.05/' train.py";
    const server = await fake([
      shell(sealed ? `${edit}; echo 'SPLIT = 0' > prepare.py` : edit),
      DONE,
    ]);
    const { repo, dir, expDir, actx, ctx } = await setup();
    const agent = await createCodexAgent(
      { model: 'fake-model', base_url: `${server.url}/v1` },
      actx,
    );

    const proposal = await agent.propose(ctx);

    expect(readFileSync(join(dir, 'train.py'), 'utf8')).toBe('import prepare\nlr = 0.05\n');
    expect(gitIn(repo, 'status', '--porcelain')).toBe('M exp/train.py');
    if (sealed) {
      expect(readFileSync(join(dir, 'prepare.py'), 'utf8'), 'protected file').toBe('SPLIT = 42\n');
      const output = JSON.stringify(
        server.requests.filter((r) => r.method === 'POST')[1]!.body.input,
      );
      expect(output).toContain('prepare.py: Read-only file system');
    }
    expect(proposal.title).toBe('Lower LR to 0.05');
    expect(proposal.hypothesis).toBe('A smaller step reduces loss noise.');
    // Two model calls of 100 input (10 cached) and 20 output tokens each.
    expect(proposal.usage).toMatchObject({ inputTokens: 200, cachedTokens: 20, outputTokens: 40 });
    expect(proposal.usage!.costUsd).toBeCloseTo((180 * 1 + 20 * 0.5 + 40 * 2) / 1e6, 12);
    expect(proposal.meta).toMatchObject({
      model: 'fake-model',
      items: { command_execution: 1, agent_message: 1 },
    });

    const posts = server.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.path)).toEqual(['/v1/responses', '/v1/responses']);
    expect(
      posts.every(
        (r) =>
          r.headers.authorization === 'Bearer sk-fake' &&
          r.body.model === 'fake-model' &&
          r.body.stream === true,
      ),
    ).toBe(true);
    const prompt = JSON.stringify(posts[0]!.body.input);
    expect(prompt).toContain('BRIEF-MARKER');
    expect(prompt).toContain('TITLE:');
    // Codex kept its state in the agent's private temp folder, not in the user's ~/.codex.
    expect(existsSync(join(ctx.seal.tmp, 'codex-home'))).toBe(true);
    void expDir;
  });

  it("unsealed, Codex runs in its own workspace-write sandbox, even beside an old system bubblewrap; commands see the run's environment, not a login profile", async () => {
    // A login shell would source the profile (seconds with pyenv or conda) before every command.
    // (Not .bashrc: bash reads it for `bash -c` too when its stdin is a socket, as in Codex's sandbox.)
    const home = tempDir('ar-codex-home-');
    for (const profile of ['.profile', '.bash_profile'])
      writeFileSync(join(home, profile), 'export FROM_PROFILE=sourced\n');
    const server = await fake([
      shell(
        'sed -i \'s/lr = 0.1/lr = 0.05/\' train.py; echo "# ${FROM_PROFILE:-plain}" >> train.py',
      ),
      DONE,
    ]);
    const { dir, actx, ctx } = await setup({ ...BASE_ENV, HOME: home, OPENAI_API_KEY: 'sk-fake' });
    const agent = await createCodexAgent(
      { model: 'fake-model', base_url: `${server.url}/v1` },
      actx,
    );
    await agent.propose({ ...ctx, seal: { ...ctx.seal, prefix: [] } });
    expect(readFileSync(join(dir, 'train.py'), 'utf8')).toBe(
      'import prepare\nlr = 0.05\n# plain\n',
    );
    // Codex put its sandbox helper on PATH (it refuses to when its home is inside $TMPDIR): a
    // Codex installed under /tmp, a writable root, starts its sandbox only through it.
    expect(existsSync(join(ctx.seal.tmp, 'codex-home', 'tmp', 'arg0-linux'))).toBe(true);
  });

  it('a model error fails the proposal with a clear message', async () => {
    const server = await fake([
      {
        status: 400,
        body: { error: { message: 'bad request from fake', type: 'invalid_request_error' } },
      },
    ]);
    const { actx, ctx } = await setup();
    const agent = await createCodexAgent(
      { model: 'fake-model', base_url: `${server.url}/v1` },
      actx,
    );
    await expect(agent.propose(ctx)).rejects.toThrow(
      /the codex agent failed \(model fake-model at http.*bad request from fake/s,
    );
  });

  it('gives up when the run stops', async () => {
    const server = await fake([shell('sleep 20'), DONE]);
    const { actx, ctx } = await setup();
    const stop = new AbortController();
    const agent = await createCodexAgent(
      { model: 'fake-model', base_url: `${server.url}/v1` },
      actx,
    );
    const started = Date.now();
    const proposing = agent.propose({ ...ctx, signal: stop.signal });
    // Stopped once the model has asked for the 20 s command.
    await waitFor(() => server.requests.length > 0, 120_000, 'the first model request');
    stop.abort();
    await expect(proposing).rejects.toThrow('the codex agent was interrupted');
    expect(Date.now() - started).toBeLessThan(10_000); // not after the command's 20 s
  });

  it('validates options and needs a key without base_url', async () => {
    const { actx } = await setup({ ...BASE_ENV });
    await expect(createCodexAgent({ sandbox: 'yolo' }, actx)).rejects.toThrow(/agent\.sandbox/);
    await expect(createCodexAgent({ modle: 'x' }, actx)).rejects.toThrow(/unknown option modle/);
    await expect(createCodexAgent({ timeout: 'soon' }, actx)).rejects.toThrow(/duration/);
    await expect(createCodexAgent({}, actx)).rejects.toThrow(/OPENAI_API_KEY/);
    await expect(
      createCodexAgent({ base_url: 'http://127.0.0.1:9/v1' }, actx),
    ).resolves.toMatchObject({ name: 'codex' });
  });
});
