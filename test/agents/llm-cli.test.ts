import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliHere } from '../helpers/cli-here.js';
import { cli, gitIn, ledgerRows, makeRepo } from '../helpers/repo.js';

/** The command line in this process, which the fake model server shares: it must not block it. */
async function run(cwd: string, args: string[], env: Record<string, string>) {
  const r = await cliHere(cwd, args, env);
  return { code: r.code, output: r.stdout + r.stderr };
}
import { startFakeLlm } from '../helpers/fake-llm.js';
import { hideModulesEnv } from '../helpers/hide-modules.js';

type Fake = Awaited<ReturnType<typeof startFakeLlm>>;
let fake: Fake;

beforeAll(async () => {
  // Every conversation: read the file, lower the value, finish. The server counts turns per conversation.
  // Each turn: 100 prompt tokens (10 read from the cache, 50 written to it), 20 out.
  const usage = { cacheWrite: 50 };
  fake = await startFakeLlm([
    { toolCalls: [{ name: 'read_file', args: { path: 'params.sh' } }], usage },
    {
      toolCalls: [
        { name: 'edit_file', args: { path: 'params.sh', search: 'VALUE=5', replace: 'VALUE=3' } },
      ],
      usage,
    },
    {
      toolCalls: [
        {
          name: 'finish',
          args: { title: 'VALUE 5 -> 3', hypothesis: 'a lower value scores lower' },
        },
      ],
      usage,
    },
  ]);
});
afterAll(() => fake?.close());

describe('the llm agent through the real CLI', () => {
  it('runs a full loop iteration against a model server: edit, commit, run, keep, tokens and cost in the ledger', async () => {
    const repo = makeRepo({
      'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
      'params.sh': 'VALUE=5\n',
      'program.md': `---
metric: { name: score, goal: minimize, deterministic: true }
run: bash exp.sh
budget: 5s
editable: [params.sh]
protected: [exp.sh]
agent: { name: llm, model: "anthropic:fake-model", base_url: "${fake.url}/v1" }
prices: { "anthropic:fake-model": { input: 1, output: 10, cached_input: 0.1, cache_write: 1.25 } }
stop: { experiments: 1 }
---
Lower the score.
`,
    });
    const r = await run(repo, ['run', '--tag', 'l'], { ANTHROPIC_API_KEY: 'test-key' });
    expect(r.output).not.toContain('autoresearch:');
    expect(r.code).toBe(0);
    const rows = ledgerRows(repo, 'l') as Array<{
      status: string;
      title: string;
      primary_value: number;
      input_tokens: number;
      output_tokens: number;
      cached_tokens: number;
      cache_write_tokens: number;
      cost_usd: number;
    }>;
    expect(rows.map((x) => [x.status, x.primary_value])).toEqual([
      ['keep', 5],
      ['keep', 3],
    ]);
    expect(rows[1]!.title).toBe('VALUE 5 -> 3');
    expect(rows[1]!.input_tokens).toBe(300);
    expect(rows[1]!.output_tokens).toBe(60);
    expect(rows[1]!.cached_tokens).toBe(30);
    expect(rows[1]!.cache_write_tokens).toBe(150);
    expect(rows[1]!.cost_usd).toBeCloseTo((120 * 1 + 30 * 0.1 + 150 * 1.25 + 60 * 10) / 1e6, 12);
    expect(gitIn(repo, 'show', 'autoresearch/l:params.sh')).toBe('VALUE=3');
    // The model was given the brief, with the human's directions.
    expect(JSON.stringify(fake.requests[0]!.body)).toContain('Lower the score.');
    expect((await cliHere(repo, ['status'])).stdout).toMatch(
      /spend\s+\$0\.00 and 360 tokens so far/,
    );
  });

  it('stops with one clear message when the API key is missing', async () => {
    const repo = makeRepo({
      'exp.sh': 'echo "score: 1"\n',
      'program.md': `---\nmetric: { name: score, goal: minimize }\nrun: bash exp.sh\neditable: [exp.sh]\nagent: { name: llm, model: "anthropic:fake-model", base_url: "${fake.url}/v1" }\n---\n`,
    });
    const r = await cliHere(repo, ['run', '--tag', 'k'], { ANTHROPIC_API_KEY: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ANTHROPIC_API_KEY');
    expect(gitIn(repo, 'branch', '--list', 'autoresearch/*')).toBe('');
  });
});

describe('--agent and --model on the command line', () => {
  it('override the agent and its model from program.md', async () => {
    const repo = makeRepo({
      'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
      'params.sh': 'VALUE=5\n',
      'program.md': `---\nmetric: { name: score, goal: minimize, deterministic: true }\nrun: bash exp.sh\nbudget: 5s\neditable: [params.sh]\nagent: { name: llm, model: "anthropic:some-other-model", base_url: "${fake.url}/v1" }\nstop: { experiments: 1 }\n---\n`,
    });
    const before = fake.requests.length;
    const r = await run(
      repo,
      ['run', '--tag', 'm', '--agent', 'llm', '--model', 'anthropic:fake-model-2'],
      { ANTHROPIC_API_KEY: 'k' },
    );
    expect(r.code).toBe(0);
    const sent = fake.requests.slice(before).map((q) => (q.body as { model?: string }).model);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set(['fake-model-2']));
  });
});

describe('an agent whose optional SDK is not installed', () => {
  it.each([
    ['claude-code', '@anthropic-ai/claude-agent-sdk', 'ANTHROPIC_API_KEY'],
    ['codex', '@openai/codex-sdk', 'OPENAI_API_KEY'],
  ])('%s: one clear message with the install command, nothing started', (agent, pkg, keyVar) => {
    const repo = makeRepo({
      'exp.sh': 'echo "score: 1"\n',
      'program.md': `---\nmetric: { name: score, goal: minimize }\nrun: bash exp.sh\neditable: [exp.sh]\nagent: { name: ${agent}, base_url: "${fake.url}/v1" }\n---\n`,
    });
    // A process of its own: the packages are hidden from its module resolution.
    const r = cli(repo, ['run', '--tag', 's'], { [keyVar]: 'k', ...hideModulesEnv([pkg]) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `autoresearch: the ${agent} agent needs ${pkg}, which is not installed\n  fix: npm install ${pkg}\n`,
    );
    expect(r.stderr.match(/npm install/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(gitIn(repo, 'branch', '--list', 'autoresearch/*')).toBe('');
  });
});
