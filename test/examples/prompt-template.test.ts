import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  judgePairwise,
  parseScore,
  parseWinner,
} from '../../examples/templates/prompt/files/eval/judge.mjs';
import { loadProgram } from '../../src/program/program.js';
import { writeTemplate } from '../../src/program/templates.js';
import { startFakeLlm, type FakeLlm, type FakeRequest, type Turn } from '../helpers/fake-llm.js';
import { gitIn, ledgerRows, makeRepo, tempDir } from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';
import { runHere } from '../helpers/run.js';

/** A stand-in model for the task: answers as its system prompt asks, from keywords of the input. */
function taskAnswer(system: string, input: string): string {
  const category = /charged|invoice|seats/i.test(input)
    ? 'billing'
    : /crash|sync|500/i.test(input)
      ? 'bug'
      : /dark mode/i.test(input)
        ? 'feature'
        : 'account';
  if (/one word/i.test(system)) return category;
  if (/JSON/.test(system))
    return JSON.stringify({
      category,
      urgency: /hour|losing|every POST/i.test(input) ? 5 : 3,
      reply: 'Thanks for telling us. Here is the next step you can take right away: see below.',
    });
  return 'We are sorry to hear that and will look into it.';
}

const between = (text: string, open: string, close: string) =>
  text.slice(text.indexOf(open) + open.length, text.indexOf(close, text.indexOf(open)));
const isJsonAnswer = (s: string) => s.trim().startsWith('{') && s.includes('"category"');

/** A stand-in judge: grades JSON answers 8-9 and others 2-3 (the seed adds the noise). */
function judgeAnswer(req: FakeRequest, user: string): string {
  const seed = Number(req.body.seed ?? 0);
  if (user.includes('# Response A')) {
    const [a, b] = user
      .split('# Response ')
      .slice(1)
      .map((part) => between(part, '<response>\n', '\n</response>'));
    const [ga, gb] = [isJsonAnswer(a!), isJsonAnswer(b!)];
    return `Both considered.\nWINNER: ${ga === gb ? 'TIE' : ga ? 'A' : 'B'}`;
  }
  const answer = between(user, '<response>\n', '\n</response>');
  return `Reasoning...\nSCORE: ${(isJsonAnswer(answer) ? 8 : 2) + (seed % 2)}`;
}

function script(req: FakeRequest): Turn {
  const messages = req.body.messages as Array<{ role: string; content: string }>;
  const system = messages.find((m) => m.role === 'system')?.content ?? '';
  const user = messages.find((m) => m.role === 'user')!.content;
  const text = system.startsWith('You are a strict evaluator')
    ? judgeAnswer(req, user)
    : taskAnswer(system, user);
  return { text, usage: { input: 50, output: 10, cached: 0 } };
}

const isJudge = (r: FakeRequest) =>
  String(r.body?.messages?.[0]?.content).startsWith('You are a strict evaluator');

let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm({ turns: script });
});
afterAll(() => llm.close());

/** The template in a fresh repository, pointed at the fake server, committed. */
function promptRepo(agent: Record<string, unknown>): string {
  const repo = makeRepo({ 'README.md': 'prompts\n' });
  writeTemplate('prompt', repo, { agent });
  const program = join(repo, 'program.md');
  writeFileSync(
    program,
    readFileSync(program, 'utf8')
      .replace('http://127.0.0.1:11434/v1', `${llm.url}/v1`)
      .replace('PROMPT_EVAL_MODEL: llama3.2', 'PROMPT_EVAL_MODEL: fake-model'),
  );
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'prompt program');
  return repo;
}

/**
 * Patches (git diff format, for the scripted agent) that each replace prompts/system.md, every one
 * on top of the one before, as the scripted agent applies them to the kept candidate.
 */
function systemPatches(repo: string, versions: Array<[subject: string, text: string]>): string[] {
  const dir = tempDir();
  const patches = versions.map(([subject, text], i) => {
    writeFileSync(join(repo, 'prompts/system.md'), text);
    const patch = join(dir, `${i + 1}.patch`);
    writeFileSync(patch, `Subject: ${subject}\n\n${gitIn(repo, 'diff')}\n`);
    gitIn(repo, 'add', 'prompts/system.md');
    return patch;
  });
  gitIn(repo, 'reset', '-q', '--hard');
  return patches;
}

const metricsOf = (row: { metrics_json: string | null }) =>
  JSON.parse(row.metrics_json ?? '{}') as Record<string, number>;

describe('the prompt template', () => {
  it('init --template prompt writes a program that parses, with the holdout hidden and ignored', async () => {
    const repo = makeRepo({ 'README.md': 'my project\n' });
    const r = await cliHere(repo, ['init', '--template', 'prompt', '--agent', 'llm']);
    expect(r.stderr).toBe('');
    const program = loadProgram(join(repo, 'program.md'));
    expect(program.config.metric).toMatchObject({ name: 'score', goal: 'maximize' });
    expect(program.config.editable).toEqual(['prompts']);
    expect(program.config.hidden).toContain('eval/holdout.jsonl');
    expect(program.config.constraints).toEqual(['eval_tokens <= 200000']);
    gitIn(repo, 'add', '-A');
    const tracked = gitIn(repo, 'ls-files');
    expect(tracked).toMatch(/eval\/validation\.jsonl/);
    expect(tracked).not.toMatch(/holdout\.jsonl/); // hidden paths must be untracked
    // The worked examples switch in with one command.
    const out = execFileSync('node', ['eval/use.mjs', 'email'], { cwd: repo, encoding: 'utf8' });
    expect(out).toMatch(/eval\/examples\/email\/rubric\.md -> eval\/rubric\.md/);
    expect(readFileSync(join(repo, 'prompts/task.md'), 'utf8')).toMatch(/\{\{audience\}\}/);
  });

  it('through the real loop: keeps the better prompt, discards a worse one, judges n times, caches across runs, meters', async () => {
    const repo = promptRepo({ name: 'scripted', patches: [] });
    // A JSON answer (better), then one word instead (worse).
    const [better, worse] = systemPatches(repo, [
      ['answer as JSON', 'Answer with JSON only: {"category", "urgency", "reply"}.\n'],
      ['one word', 'Answer in one word.\n'],
    ]);
    const program = join(repo, 'program.md');
    writeFileSync(
      program,
      readFileSync(program, 'utf8')
        .replace('patches: []', `patches: [${JSON.stringify(better)}, ${JSON.stringify(worse)}]`)
        // One baseline run, not the template's two: the keep rests on the candidate's own pairs
        // (the paired policy pools noise over judgements, not baseline runs).
        .replace('repeats: { baseline: 2, max: 2 }', 'repeats: { baseline: 1, max: 2 }'),
    );
    expect(readFileSync(program, 'utf8')).toContain('repeats: { baseline: 1, max: 2 }');
    gitIn(repo, 'commit', '-q', '-am', 'the scripted agent');

    const { result } = await runHere(repo, { tag: 't', maxExperiments: 2 });
    const rows = ledgerRows(repo, 't');
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [0, 'keep'],
      [1, 'keep'],
      [2, 'discard'],
    ]);
    expect(result.summary.bestExperiment).toBe(1);
    expect(gitIn(repo, 'show', 'autoresearch/t:prompts/system.md')).toMatch(/JSON only/);
    const [base, kept, worst] = rows.map(metricsOf);
    expect(kept!.score).toBeGreaterThan(base!.score! + 0.3);
    expect(worst!.score).toBeLessThan(kept!.score!);
    // 6 cases, each 1 task call + 3 pointwise + 3 pairwise judgments, at 60 tokens a call.
    // Its second run repeats the first's task calls (temperature 0): answered from the run's
    // cache (`cache: true`). The judge samples afresh in every measurement, so the repeat shows
    // the judge's real noise instead of replaying the first draw.
    expect(kept!.eval_calls).toBe(36);
    expect(kept!.eval_cached).toBe(6);
    // What the evaluator paid is each experiment's metered spend (`meter:`): the kept one's
    // first run (42 calls), each repeat (36: its task answers cached) and its holdout (3 cases,
    // 21 calls); the discarded one's single run.
    const metered = rows.map((r) => (r as { measured_tokens?: number | null }).measured_tokens!);
    const repeats = (metered[1]! / 60 - 42 - 21) / 36;
    expect(Number.isInteger(repeats) && repeats >= 1).toBe(true);
    expect(metered[2]).toBe(42 * 60);
    expect(kept!.judge_sd).toBeGreaterThan(0); // the judge's noise, seen through its n grades
    // The holdout scored the kept prompts (copied as an artifact) on the hidden cases.
    const kept1 = rows[1] as (typeof rows)[number] & { holdout_value: number | null };
    expect(kept1.holdout_value).toBeGreaterThan(base!.score!);

    // Each pointwise judgment of one answer was asked 3 times per measurement, every time with
    // a seed of its own: no draw of the judge is replayed from the cache.
    const firstCase = llm.requests.filter(
      (r) => isJudge(r) && String(r.body.messages[1].content).includes('INV-2291'),
    );
    const seeds = firstCase
      .filter((r) => String(r.body.messages[0].content).includes('SCORE'))
      .map((r) => r.body.seed as number);
    expect(seeds.length).toBeGreaterThanOrEqual(6);
    expect(seeds.length % 3).toBe(0);
    expect(new Set(seeds).size).toBe(seeds.length);
  }, 60_000);

  it('answers a repeated evaluation from the cache, without calling the model', async () => {
    const repo = promptRepo({ name: 'command', command: 'true' });
    const cache = join(tempDir(), 'cache');
    // Not execFileSync: the fake server answers from this process's event loop.
    const evaluate = async () =>
      (
        await promisify(execFile)('node', ['eval/evaluate.mjs'], {
          cwd: repo,
          encoding: 'utf8',
          env: {
            ...process.env,
            PROMPT_EVAL_BASE_URL: `${llm.url}/v1`,
            PROMPT_EVAL_MODEL: 'fake-model',
            PROMPT_EVAL_CACHE: cache,
            PROMPT_EVAL_PRICE_IN: '1',
            PROMPT_EVAL_PRICE_OUT: '2',
          },
        })
      ).stdout;
    const first = await evaluate();
    expect(first).toMatch(
      /METRIC eval_calls=42 eval_cached=0 eval_tokens=2520 eval_cost_usd=0\.002940/,
    );
    const calls = llm.requests.length;
    const again = await evaluate();
    expect(llm.requests.length).toBe(calls);
    expect(again).toMatch(
      /METRIC eval_calls=0 eval_cached=42 eval_tokens=0 eval_cost_usd=0\.000000/,
    );
    const score = (out: string) => /METRIC score=(\S+)/.exec(out)![1];
    expect(score(again)).toBe(score(first));
  });
  it.each([
    ['marketing', /\{\{persona\}\}/],
    ['email', /\{\{audience\}\}/],
  ])('the %s worked example switches in and evaluates', async (name, field) => {
    const repo = promptRepo({ name: 'command', command: 'true' });
    execFileSync('node', ['eval/use.mjs', name], { cwd: repo });
    expect(readFileSync(join(repo, 'prompts/task.md'), 'utf8')).toMatch(field);
    const { stdout } = await promisify(execFile)('node', ['eval/evaluate.mjs', '--holdout'], {
      cwd: repo,
      env: { ...process.env, PROMPT_EVAL_BASE_URL: `${llm.url}/v1`, PROMPT_EVAL_CACHE: tempDir() },
    });
    expect(stdout).toMatch(/^2 cases from eval\/holdout\.jsonl/);
    expect(stdout).toMatch(/METRIC score=0\.\d+ checks=/);
  });
});

describe("the prompt template's judge", () => {
  it('reads the last score of a reply in the forms judges write, and refuses what is out of range', () => {
    expect(parseScore('The reply is fine.\nSCORE: 7')).toBe(7);
    expect(parseScore('**Score:** 8/10')).toBe(8);
    expect(parseScore('{"reasoning": "ok", "score": 6.5}')).toBe(6.5);
    expect(parseScore('I would give it 9/10 overall.')).toBe(9);
    expect(parseScore(' 4 ')).toBe(4);
    expect(parseScore('Score: 3. On reflection, Score: 5')).toBe(5);
    expect(parseScore('SCORE: 11')).toBeNull();
    expect(parseScore('It has 3 problems.')).toBeNull();
    expect(parseWinner('A is clearer.\nWINNER: B')).toBe('B');
    expect(parseWinner('Winner: tie')).toBe('tie');
    expect(parseWinner('Both are fine.')).toBeNull();
  });

  it('pairwise: alternates the order, so a judge that always picks the first text scores a tie', async () => {
    const firstAlways = async () => 'WINNER: A';
    const r = await judgePairwise({
      chat: firstAlways,
      model: 'm',
      rubric: 'r',
      c: { input: 'x' },
      output: 'out',
      reference: 'ref',
      n: 4,
      temperature: 0.7,
    });
    expect(r.results).toEqual([1, 0, 1, 0]);
  });
});
