/**
 * The skill template: its evaluator runs the real Claude Agent SDK and its bundled claude binary
 * against the fake model server (no network beyond 127.0.0.1, no paid API). The fake "model"
 * follows the skill it is given: it calls the Skill tool, and writes a test next to the module
 * only when the skill's text asks for one, so a better SKILL.md really scores better.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProgram } from '../../src/program/program.js';
import { writeTemplate } from '../../src/program/templates.js';
import { startFakeLlm, type FakeLlm, type FakeRequest, type Turn } from '../helpers/fake-llm.js';
import { patchBetween } from '../helpers/patches.js';
import { gitIn, ledgerRows, makeRepo, ROOT, tempDir } from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';

const WEAK = `---
name: node-module
description: How to write a small Node.js module in this project.
---
Write an ES module: a \`.mjs\` file with a named \`export function\`.
`;
/** The improved skill: the project's convention of a node:test file next to each module. */
const IMPROVED = `${WEAK}
Every module \`<name>.mjs\` gets a test next to it, \`<name>.test.mjs\`, written with
\`node:test\` and \`node:assert/strict\`; \`node --test <name>.test.mjs\` must pass.
`;

/** What the fake model writes for each task of the template's tasks.jsonl it knows. */
const SOLUTIONS: Record<string, { module: string; code: string; test: string }> = {
  slugify: {
    module: 'slugify.mjs',
    code: `export function slugify(text) {\n  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');\n}\n`,
    test: `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { slugify } from './slugify.mjs';\ntest('slug', () => assert.equal(slugify('A b'), 'a-b'));\n`,
  },
  chunk: {
    module: 'chunk.mjs',
    code: `export function chunk(items, size) {\n  if (!Number.isInteger(size) || size < 1) throw new RangeError('size');\n  const out = [];\n  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));\n  return out;\n}\n`,
    test: `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { chunk } from './chunk.mjs';\ntest('chunk', () => assert.deepEqual(chunk([1, 2, 3], 2), [[1, 2], [3]]));\n`,
  },
};

const text = (body: unknown) => JSON.stringify(body ?? '');

/** A model that uses the skill: loads it, then writes the module, and a test if the skill says so. */
function model(req: FakeRequest): Turn {
  if (!Array.isArray(req.body?.tools) || req.body.tools.length === 0) return { text: 'ok' };
  const all = text(req.body);
  const cwd = /Primary working directory: (.+?)\\n/.exec(all)?.[1];
  const prompt = text(req.body.messages);
  const task = Object.keys(SOLUTIONS).find((id) => prompt.includes(SOLUTIONS[id]!.module));
  if (!cwd || !task) return { text: 'I cannot tell what to do.' };
  if (req.turn === 0 && all.includes('- node-module: '))
    return { toolCalls: [{ name: 'Skill', args: { skill: 'node-module' } }] };
  const wrote = text(req.body.messages).includes(`"name":"Write"`);
  if (wrote) return { text: 'Done.' };
  const s = SOLUTIONS[task]!;
  const calls = [{ name: 'Write', args: { file_path: join(cwd, s.module), content: s.code } }];
  if (text(req.body.messages).includes('.test.mjs'))
    calls.push({
      name: 'Write',
      args: { file_path: join(cwd, s.module.replace('.mjs', '.test.mjs')), content: s.test },
    });
  return { toolCalls: calls };
}

let server: FakeLlm;
beforeAll(async () => {
  server = await startFakeLlm({ turns: model });
});
afterAll(() => server.close());

/**
 * The template written into a fresh repository (as `init --template skill` does) and committed,
 * with the first `tasks` of its validation tasks and the first of its holdout tasks.
 */
function project(tasks: number, agent: string | Record<string, unknown> = 'llm'): string {
  const repo = makeRepo({ '.gitignore': 'node_modules\n' });
  writeTemplate('skill', repo, { agent });
  // The Claude Agent SDK, as `npm install` would give the user's project.
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
  for (const [name, keep] of [
    ['tasks', tasks],
    ['holdout', 1],
  ] as const) {
    const file = join(repo, `skill-eval/${name}.jsonl`);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, lines.slice(0, keep).join('\n') + '\n');
  }
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-qm', 'autoresearch program');
  return repo;
}

/** The harness's environment for the loop: the fake model in place of the real one. */
const fakeEnv = () => ({
  PATH: process.env.PATH,
  HOME: tempDir('ar-skill-home-'),
  TMPDIR: tempDir('ar-skill-tmp-'),
  ANTHROPIC_API_KEY: 'sk-fake',
  ANTHROPIC_BASE_URL: server.url,
  SKILL_EVAL_MODEL: 'fake-model',
});

/** Runs the evaluator (in a child process: the fake model answers from this one's event loop). */
async function evaluate(repo: string, skill: string, env: Record<string, string> = {}) {
  writeFileSync(join(repo, '.claude/skills/node-module/SKILL.md'), skill);
  const child = spawn('node', ['skill-eval/eval.mjs'], {
    cwd: repo,
    env: { ...fakeEnv(), ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((done) => child.on('close', done));
  const metrics = Object.fromEntries(
    [...stdout.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]),
  );
  return { status, stdout, stderr, metrics };
}

describe('the skill template', () => {
  it('init writes a program run accepts, with the skill editable and the evaluator protected', async () => {
    const repo = makeRepo({ 'README.md': 'mine\n' });
    const r = await cliHere(repo, ['init', '--template', 'skill', '--agent', 'llm']);
    expect(r.stdout).toMatch(
      /wrote \.claude\/skills\/node-module\/SKILL\.md, .*skill-eval\/eval\.mjs/,
    );
    const program = loadProgram(join(repo, 'program.md'));
    expect(program.config.metric).toMatchObject({ name: 'pass_rate', goal: 'maximize' });
    expect(program.config.editable).toEqual(['.claude/skills/**']);
    expect(program.config.protected).toContain('skill-eval/eval.mjs');
    expect(program.config.constraints).toEqual(['cost_usd <= 2']);
    expect(program.config.env.allow).toContain('ANTHROPIC_API_KEY');
    // Every task line is JSON with a prompt and assertions.
    for (const f of ['skill-eval/tasks.jsonl', 'skill-eval/holdout.jsonl'])
      for (const line of readFileSync(join(repo, f), 'utf8').trim().split('\n'))
        expect(JSON.parse(line)).toMatchObject({
          prompt: expect.any(String),
          assertions: expect.any(Array),
        });
  });

  it('scores every task in a scratch folder by its assertions, with tokens and cost; a skill that asks for no test fails', async () => {
    // The better skill scoring higher is the loop's test below (a keep on pass_rate 1 over 0).
    const repo = project(2);
    const asked = server.requests.length;
    const weak = await evaluate(repo, WEAK);
    expect(weak.stderr).toBe('');
    expect(weak.status).toBe(0);
    // The module is right, but no test was written next to it.
    expect(weak.stdout).toMatch(/task slugify: FAIL \(2\/4 assertions\)/);
    expect(weak.stdout).toContain('slugify.test.mjs does not exist');
    expect(weak.stdout).toMatch(/task chunk: FAIL \(2\/4 assertions\)/);
    expect(weak.metrics).toMatchObject({ pass_rate: 0, assertion_rate: 0.5, tasks: 2, capped: 0 });
    // Metered: three model turns per task (Skill, Write, the answer), priced by the SDK.
    expect(weak.metrics.turns).toBeGreaterThanOrEqual(6);
    expect(weak.metrics.tokens).toBeGreaterThan(0);
    expect(weak.metrics.cost_usd).toBeGreaterThan(0);
    // Every model call was the task's own: no billed session title on the side.
    const calls = server.requests.slice(asked).filter((r) => r.method === 'POST');
    expect(calls.length).toBeGreaterThanOrEqual(6);
    expect(calls.filter((r) => !r.body?.tools?.length)).toEqual([]);
    // The skill the run scored, left for the holdout.
    expect(
      readFileSync(join(repo, 'skill-eval/.measured/skills/node-module/SKILL.md'), 'utf8'),
    ).toBe(WEAK);
    expect(gitIn(repo, 'status', '--porcelain', '--', 'skill-eval')).toBe(''); // ignored
  }, 120_000);

  it('stops starting tasks once the cap is spent; those tasks fail', async () => {
    const repo = project(2);
    const r = await evaluate(repo, IMPROVED, { SKILL_EVAL_MAX_USD: '0.000001' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/task chunk: not run, the cap of \$0\.000001/);
    expect(r.metrics).toMatchObject({ pass_rate: 0, capped: 2 });
  }, 60_000);

  it('through the real loop: an improved SKILL.md (a scripted agent’s patch) is kept on a higher pass_rate', async () => {
    const skill = '.claude/skills/node-module/SKILL.md';
    const repo = project(1, { name: 'scripted', patches: ['ideas/1.patch'] });
    const before = readFileSync(join(repo, skill), 'utf8');
    writeFileSync(
      join(repo, 'ideas-1.patch'),
      patchBetween({ [skill]: before }, { [skill]: `${before}${IMPROVED.slice(WEAK.length)}` }),
    );
    mkdirSync(join(repo, 'ideas'));
    renameSync(join(repo, 'ideas-1.patch'), join(repo, 'ideas/1.patch'));
    // One measurement each (the real template repeats them: Claude Code's answers vary), to keep
    // this test to a few Claude Code runs.
    const program = join(repo, 'program.md');
    const text = readFileSync(program, 'utf8');
    writeFileSync(
      program,
      text.replace('goal: maximize }', 'goal: maximize, deterministic: true }'),
    );
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-qm', 'the idea');
    const { result } = await runHere(repo, { tag: 'skill', maxExperiments: 1, env: fakeEnv() });
    const rows = ledgerRows(repo, 'skill') as Array<
      ReturnType<typeof ledgerRows>[number] & { holdout_value: number | null }
    >;
    expect(rows.map((r) => [r.id, r.status, r.primary_value])).toEqual([
      [0, 'keep', 0],
      [1, 'keep', 1],
    ]);
    // The improved skill made the fake model write the test as well: every assertion held.
    expect(readFileSync(rows[1]!.log_path!, 'utf8')).toMatch(
      /task slugify: pass \(4\/4 assertions\)/,
    );
    // The holdout ran on the skill the run scored (its task is one the fake model cannot do).
    expect(rows[1]!.holdout_value).toBe(0);
    expect(result.summary.bestExperiment).toBe(1);
    expect(gitIn(repo, 'show', `autoresearch/skill:${skill}`)).toContain('node --test');
  }, 180_000);
});
