/**
 * Every model-backed agent runs a full loop iteration (startRun, in this process; the CLI's own
 * path to the agents is llm-cli.test) against the in-repo fake model server: the scripted tool
 * calls edit a file, the harness commits and runs it, and the ledger records the decision,
 * tokens and cost.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm, type FakeRequest, type Turn } from '../helpers/fake-llm.js';
import { gitIn, ledgerRows, makeRepo } from '../helpers/repo.js';
import { runHere } from '../helpers/run.js';
import { tempDir } from '../helpers/temp.js';

const servers: FakeLlm[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

interface Case {
  name: string;
  agent: (url: string) => string;
  price: string;
  env: Record<string, string>;
  /** The conversation, given the program folder of the slot's worktree (some tools want absolute paths). */
  turns: (dir: string) => Turn[];
  /** Claude Code sends side requests without tools; they get plain text. */
  toolsOnly?: boolean;
}

const finish: Turn = {
  toolCalls: [{ name: 'finish', args: { title: 'VALUE 5 -> 3', hypothesis: 'lower is better' } }],
};
const llmTurns = (): Turn[] => [
  {
    toolCalls: [
      { name: 'edit_file', args: { path: 'params.sh', search: 'VALUE=5', replace: 'VALUE=3' } },
    ],
  },
  finish,
];
const textEnd: Turn = { text: 'Done.\nTITLE: VALUE 5 -> 3\nHYPOTHESIS: lower is better' };

const cases: Case[] = [
  {
    name: 'llm, anthropic',
    agent: (u) => `{ name: llm, model: "anthropic:fake-model", base_url: "${u}/v1" }`,
    price: 'anthropic:fake-model',
    env: { ANTHROPIC_API_KEY: 'k' },
    turns: llmTurns,
  },
  {
    name: 'llm, openai Responses',
    agent: (u) => `{ name: llm, model: "openai:fake-model", base_url: "${u}/v1" }`,
    price: 'openai:fake-model',
    env: { OPENAI_API_KEY: 'k' },
    turns: llmTurns,
  },
  {
    name: 'llm, openai chat completions',
    agent: (u) => `{ name: llm, model: "openai-chat:fake-model", base_url: "${u}/v1" }`,
    price: 'openai-chat:fake-model',
    env: { OPENAI_API_KEY: 'k' },
    turns: llmTurns,
  },
  {
    name: 'llm, openai-compatible',
    agent: (u) => `{ name: llm, model: "openai-compatible:fake-model", base_url: "${u}/v1" }`,
    price: 'openai-compatible:fake-model',
    env: {},
    turns: llmTurns,
  },
  {
    name: 'claude-code',
    agent: (u) => `{ name: claude-code, model: fake-model, base_url: "${u}" }`,
    price: 'anthropic:fake-model',
    env: { ANTHROPIC_API_KEY: 'k', HOME: tempDir('ar-claude-home-') },
    turns: (dir) => [
      { toolCalls: [{ name: 'Read', args: { file_path: join(dir, 'params.sh') } }] },
      {
        toolCalls: [
          {
            name: 'Edit',
            args: {
              file_path: join(dir, 'params.sh'),
              old_string: 'VALUE=5',
              new_string: 'VALUE=3',
            },
          },
        ],
      },
      textEnd,
    ],
    toolsOnly: true,
  },
  {
    name: 'codex',
    agent: (u) => `{ name: codex, model: fake-model, base_url: "${u}/v1" }`,
    price: 'openai:fake-model',
    env: { OPENAI_API_KEY: 'k' },
    turns: () => [
      {
        toolCalls: [
          { name: 'exec_command', args: { cmd: "sed -i 's/VALUE=5/VALUE=3/' params.sh" } },
        ],
      },
      textEnd,
    ],
  },
];

describe('model-backed agents in the loop', () => {
  it.each(cases)(
    '$name: edit, commit, run, keep; tokens and cost in the ledger',
    async (c) => {
      // The server first: program.md names it, and is committed with the rest in one go.
      let turns: Turn[] = [];
      const server = await startFakeLlm({
        turns: (req: FakeRequest) =>
          c.toolsOnly && !(Array.isArray(req.body?.tools) && req.body.tools.length > 0)
            ? { text: 'ok' }
            : (turns[req.turn] ?? { text: 'Done.' }),
      });
      servers.push(server);
      const repo = makeRepo({
        'exp.sh': 'source ./params.sh\necho "score: $VALUE"\n',
        'params.sh': 'VALUE=5\n',
        'program.md': `---\nmetric: { name: score, goal: minimize, deterministic: true }\nrun: bash exp.sh\nbudget: 5s\neditable: [params.sh]\nprotected: [exp.sh]\nagent: ${c.agent(server.url)}\nprices: { "${c.price}": { input: 1, output: 10 } }\nstop: { experiments: 1 }\n---\nLower the score.\n`,
      });
      turns = c.turns(join(repo, '.autoresearch', 'a', 'slots', '0'));
      await runHere(repo, { tag: 'a', env: { ...process.env, ...c.env } });
      const rows = ledgerRows(repo, 'a') as Array<{
        status: string;
        title: string;
        primary_value: number;
        input_tokens: number;
        output_tokens: number;
        cost_usd: number;
      }>;
      expect(rows.map((x) => [x.status, x.primary_value])).toEqual([
        ['keep', 5],
        ['keep', 3],
      ]);
      expect(rows[1]!.title).toBe('VALUE 5 -> 3');
      expect(rows[1]!.input_tokens).toBeGreaterThan(0);
      expect(rows[1]!.output_tokens).toBeGreaterThan(0);
      expect(rows[1]!.cost_usd).toBeCloseTo(
        (rows[1]!.input_tokens * 1 + rows[1]!.output_tokens * 10) / 1e6,
        9,
      );
      expect(gitIn(repo, 'show', 'autoresearch/a:params.sh')).toBe('VALUE=3');
    },
    60_000,
  );
});
