/**
 * The prompt evaluator (protected). For each case of the eval set (eval/validation.jsonl, or
 * eval/holdout.jsonl with --holdout) it renders prompts/system.md and prompts/task.md with the
 * case's fields, asks the model, and scores the answer: the case's `checks` (the scorers of
 * scorers.mjs) and the LLM judge with the rubric (pointwise 1-10, and pairwise against the case's
 * `reference`), each judgment asked n times. Prints, as metric lines:
 *   score            the mean case score in [0, 1] (the metric: maximize)
 *   checks, pointwise, pairwise   its parts (pointwise rescaled from 1-10 to 0-1)
 *   judge_sd         the judge's noise: the mean spread of its n scores of one output (1-10 scale)
 *   judge_unparsed   judge replies without a verdict
 *   eval_calls, eval_cached, eval_tokens, eval_cost_usd   what this measurement spent
 * Settings: eval/config.json (the set, the judge) and the environment (model.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { BudgetExceeded, chat, meter, settings } from './model.mjs';
import { judgePairwise, judgePointwise, meanSd } from './judge.mjs';
import * as scorers from './scorers.mjs';

const here = (p) => new URL(p, import.meta.url);
const config = JSON.parse(readFileSync(here('config.json'), 'utf8'));
const holdout = process.argv.includes('--holdout');
const setFile = holdout ? config.holdout : config.validation;

/** The eval set: one JSON object per line; a broken line is an error naming it. */
function readCases(file) {
  const lines = readFileSync(here(file), 'utf8').split('\n');
  const cases = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      cases.push(JSON.parse(line));
    } catch (e) {
      throw new Error(`eval/${file}:${i + 1}: not JSON (${e.message})`);
    }
  });
  return cases;
}

const readPrompt = (name) => {
  const url = here(`../prompts/${name}`);
  return existsSync(url) ? readFileSync(url, 'utf8') : null;
};

/** `{{input}}` and `{{field}}` (any of the case's `vars`); an unknown name is an error. */
function render(template, c, file) {
  const fields = { input: c.input, ...c.vars };
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_, name) => {
    if (!(name in fields))
      throw new Error(
        `${file}: {{${name}}} is not a field of the eval cases (they have: ${Object.keys(fields).join(', ')})`,
      );
    return String(fields[name]);
  });
}

/** A JSON field of the output (`a.b`), for checks that name one. */
function field(output, path) {
  const text = String(output).trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n```$/.exec(text);
  let value = JSON.parse(fenced ? fenced[1] : text);
  for (const k of path.split('.')) value = value?.[k];
  return value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}

/** One check of a case: `{ scorer, field?, ...its arguments }`. */
function runCheck(output, check) {
  let text = output;
  if (check.field) {
    try {
      text = field(output, check.field);
    } catch (e) {
      return { score: 0, why: `${check.field}: output is not JSON (${e.message})` };
    }
  }
  switch (check.scorer) {
    case 'exact':
      return scorers.exact(text, check.expected, check);
    case 'regex':
      return scorers.regex(text, check.pattern, check.flags);
    case 'numeric':
      return scorers.numeric(text, check.expected, check);
    case 'jsonSchema':
      return scorers.jsonSchema(text, check.schema);
    default:
      throw new Error(
        `unknown scorer ${JSON.stringify(check.scorer)} (exact, regex, numeric, jsonSchema)`,
      );
  }
}

/** Runs `fn` over `items`, `limit` at a time, in order. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function scoreCase(c, prompts, rubric) {
  const messages = [];
  if (prompts.system !== null)
    messages.push({ role: 'system', content: render(prompts.system, c, 'prompts/system.md') });
  messages.push({ role: 'user', content: render(prompts.task, c, 'prompts/task.md') });
  const output = await chat({
    model: settings.model,
    messages,
    temperature: config.temperature ?? 0,
    maxTokens: config.max_output_tokens,
  });
  const j = config.judge ?? {};
  const n = j.n ?? 3;
  const judgeArgs = {
    chat,
    model: settings.judgeModel,
    rubric,
    c,
    output,
    n,
    temperature: j.temperature ?? 0.7,
  };
  const parts = {};
  const checks = (c.checks ?? []).map((check) => runCheck(output, check));
  if (checks.length) parts.checks = checks.reduce((a, r) => a + r.score, 0) / checks.length;
  let sd = null;
  let unparsed = 0;
  if (j.pointwise !== false && c.judge !== false) {
    const r = await judgePointwise(judgeArgs);
    unparsed += r.unparsed;
    const { mean, sd: spread } = meanSd(r.scores);
    if (mean !== null) parts.pointwise = (mean - 1) / 9;
    if (r.scores.length > 1) sd = spread;
  }
  if (j.pairwise !== false && c.judge !== false && c.reference) {
    const r = await judgePairwise({ ...judgeArgs, reference: c.reference });
    unparsed += r.unparsed;
    const { mean } = meanSd(r.results);
    if (mean !== null) parts.pairwise = mean;
  }
  const w = config.weights ?? {};
  const keys = Object.keys(parts);
  const weight = keys.reduce((a, k) => a + (w[k] ?? 1), 0);
  const score = weight ? keys.reduce((a, k) => a + (w[k] ?? 1) * parts[k], 0) / weight : 0;
  const failed = checks.filter((r) => r.score < 1).map((r) => r.why);
  return { id: c.id, score, parts, sd, unparsed, failed, output };
}

const fmt = (x) => (x === null || x === undefined ? 'none' : x.toFixed(4));

async function main() {
  const cases = readCases(setFile);
  const prompts = { system: readPrompt('system.md'), task: readPrompt('task.md') };
  if (prompts.task === null)
    throw new Error('prompts/task.md is missing: it holds the task prompt');
  const rubric = readFileSync(here(config.rubric), 'utf8');
  console.log(
    `${cases.length} cases from eval/${setFile}; model ${settings.model}, judge ${settings.judgeModel} at ${settings.baseUrl}`,
  );
  const results = await pool(cases, config.concurrency ?? 4, (c) => scoreCase(c, prompts, rubric));
  for (const r of results) {
    const parts = Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(2)}`);
    console.log(`case ${r.id}: ${r.score.toFixed(3)} (${parts.join(', ')})`);
    for (const why of r.failed) console.log(`  check: ${why}`);
    console.log(`  output: ${JSON.stringify(r.output.slice(0, 160))}`);
  }
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const part = (k) => mean(results.flatMap((r) => (k in r.parts ? [r.parts[k]] : [])));
  const sds = results.flatMap((r) => (r.sd === null ? [] : [r.sd]));
  console.log(
    `METRIC score=${fmt(mean(results.map((r) => r.score)))} checks=${fmt(part('checks'))} ` +
      `pointwise=${fmt(part('pointwise'))} pairwise=${fmt(part('pairwise'))} ` +
      `judge_sd=${fmt(mean(sds))} judge_unparsed=${results.reduce((a, r) => a + r.unparsed, 0)}`,
  );
}

function printSpend() {
  console.log(
    `METRIC eval_calls=${meter.calls} eval_cached=${meter.cached} ` +
      `eval_tokens=${meter.inputTokens + meter.outputTokens} eval_cost_usd=${meter.costUsd.toFixed(6)}`,
  );
}

try {
  await main();
  printSpend();
} catch (e) {
  printSpend();
  console.error(e instanceof BudgetExceeded ? `over the token cap: ${e.message}` : e.message);
  process.exit(1);
}
