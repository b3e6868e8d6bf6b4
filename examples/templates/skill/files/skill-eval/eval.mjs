/**
 * The evaluator (protected): runs Claude Code, through the Claude Agent SDK, on each task of
 * skill-eval/tasks.jsonl in a fresh scratch folder (under $TMPDIR) holding only the skills of
 * .claude/skills/, then checks the task's assertions on what it left there. Prints
 *   METRIC pass_rate=...        tasks whose assertions all held (the metric: maximize)
 *   METRIC assertion_rate=...   assertions that held, over all tasks (a finer signal)
 *   METRIC cost_usd=... tokens=... input_tokens=... output_tokens=... turns=...   what it spent
 * Spend is capped: no task starts once SKILL_EVAL_MAX_USD (default 2) is spent, and each task may
 * spend only what is left; a task cut short fails. A failing model call fails the run, so an
 * outage is never scored as a bad skill.
 * `--holdout` runs skill-eval/holdout.jsonl on the copy of the skills the last run left in
 * skill-eval/.measured/ (holdout runs in a folder with only the protected files and that copy).
 *
 * Settings (environment): SKILL_EVAL_MODEL (default: Claude Code's), SKILL_EVAL_MAX_USD,
 * SKILL_EVAL_MAX_TURNS (per task, default 20), SKILL_EVAL_TASK_TIMEOUT (seconds, default 300).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const programDir = resolve(here, '..');
const holdout = process.argv.includes('--holdout');
const env = process.env;
const maxUsd = Number(env.SKILL_EVAL_MAX_USD ?? 2);
const maxTurns = Number(env.SKILL_EVAL_MAX_TURNS ?? 20);
const taskTimeout = Number(env.SKILL_EVAL_TASK_TIMEOUT ?? 300);

/** Stops the run with a message that names what to fix. */
function fail(message) {
  console.error(`skill-eval: ${message}`);
  process.exit(1);
}

let sdk;
try {
  sdk = await import('@anthropic-ai/claude-agent-sdk');
} catch {
  fail(
    'cannot load @anthropic-ai/claude-agent-sdk: install it in this project ' +
      '(npm install --save-dev @anthropic-ai/claude-agent-sdk); sealed runs see node_modules through `keep_ignored: [node_modules]`',
  );
}

// ---- the tasks -------------------------------------------------------------------------------

const ASSERTION_KEYS = ['exists', 'contains', 'matches'];

function readTasks(file) {
  const rel = relative(programDir, file);
  if (!existsSync(file)) fail(`${rel} does not exist`);
  const tasks = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const at = `${rel} line ${i + 1}`;
      let t;
      try {
        t = JSON.parse(line);
      } catch (e) {
        fail(`${at}: not JSON (${e.message})`);
      }
      if (typeof t.prompt !== 'string' || !t.prompt.trim()) fail(`${at}: give the task a "prompt"`);
      if (!Array.isArray(t.assertions) || t.assertions.length === 0)
        fail(`${at}: give the task "assertions", e.g. [{"file": "out.md", "exists": true}]`);
      t.assertions.forEach((a, j) => {
        const ok =
          (typeof a.run === 'string' && a.run.trim()) ||
          (typeof a.file === 'string' && ASSERTION_KEYS.some((k) => k in a));
        if (!ok)
          fail(
            `${at}: assertion ${j + 1} needs {"file", and "exists", "contains" or "matches"} or {"run", "exit"}`,
          );
      });
      tasks.push({ id: String(t.id ?? `task ${tasks.length + 1}`), ...t });
    });
  if (tasks.length === 0) fail(`${rel} has no tasks`);
  return tasks;
}

/** Does one assertion hold in the scratch folder? null when it does, else why not. */
function check(a, dir) {
  if (typeof a.run === 'string') {
    const r = spawnSync('sh', ['-c', a.run], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const want = a.exit ?? 0;
    if (r.status === want) return null;
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    return `\`${a.run}\` exited ${r.status ?? r.signal}, expected ${want}${out ? `: ${out}` : ''}`;
  }
  const path = join(dir, a.file);
  const present = existsSync(path);
  if ('exists' in a && a.exists !== present)
    return `${a.file} ${present ? 'exists' : 'does not exist'}`;
  if (!('contains' in a) && !('matches' in a)) return null;
  if (!present) return `${a.file} does not exist`;
  const text = readFileSync(path, 'utf8');
  if ('contains' in a && !text.includes(a.contains))
    return `${a.file} does not contain ${JSON.stringify(a.contains)}`;
  if ('matches' in a && !new RegExp(a.matches, a.flags ?? 'm').test(text))
    return `${a.file} does not match /${a.matches}/`;
  return null;
}

// ---- Claude Code on one task ------------------------------------------------------------------

/** Tools that touch one file, and the input field naming it: allowed inside the scratch folder. */
const FILE_TOOLS = {
  Read: 'file_path',
  Write: 'file_path',
  Edit: 'file_path',
  MultiEdit: 'file_path',
  NotebookEdit: 'notebook_path',
  Glob: 'path',
  Grep: 'path',
  LS: 'path',
};
/** Allowed as they are: the run is sealed where bubblewrap works, so commands stay in it. */
const OTHER_TOOLS = new Set(['Bash', 'BashOutput', 'KillShell', 'Skill', 'TodoWrite']);

function permission(dir) {
  return async (tool, input) => {
    const allow = { behavior: 'allow', updatedInput: input };
    if (OTHER_TOOLS.has(tool)) return allow;
    if (!(tool in FILE_TOOLS))
      return { behavior: 'deny', message: `${tool} is not available in this evaluation` };
    const p = input[FILE_TOOLS[tool]];
    if (p === undefined || p === '') return allow;
    const rel = relative(dir, resolve(dir, String(p)));
    if (rel.startsWith('..') || isAbsolute(rel))
      return { behavior: 'deny', message: `${p} is outside the task's folder ${dir}` };
    return allow;
  };
}

/** A private Claude Code config folder (a sealed run's HOME is read-only), with the login if any. */
function claudeConfig() {
  const dir = mkdtempSync(join(tmpdir(), 'skill-eval-claude-'));
  const login = join(env.CLAUDE_CONFIG_DIR ?? join(homedir(), '.claude'), '.credentials.json');
  if (existsSync(login)) copyFileSync(login, join(dir, '.credentials.json'));
  return dir;
}

async function runTask(task, skillsDir, skills, budgetUsd, config) {
  const dir = mkdtempSync(join(tmpdir(), `skill-task-${task.id.replace(/[^\w-]/g, '_')}-`));
  cpSync(skillsDir, join(dir, '.claude/skills'), { recursive: true });
  for (const [file, content] of Object.entries(task.files ?? {})) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), taskTimeout * 1000);
  const stderr = [];
  let result;
  try {
    const q = sdk.query({
      prompt: task.prompt,
      options: {
        cwd: dir,
        // Nonessential traffic off: else each task also asks the model for a session title
        // (billed, counted in cost_usd, never shown), checks for updates and sends telemetry.
        env: {
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          ...env,
          CLAUDE_CONFIG_DIR: config,
        },
        ...(env.SKILL_EVAL_MODEL ? { model: env.SKILL_EVAL_MODEL } : {}),
        // Project settings give Claude Code the folder's skills; only the ones under test are on.
        settingSources: ['project'],
        skills,
        maxTurns: task.max_turns ?? maxTurns,
        maxBudgetUsd: budgetUsd,
        permissionMode: 'default',
        canUseTool: permission(dir),
        disallowedTools: ['WebFetch', 'WebSearch'],
        persistSession: false,
        abortController: abort,
        stderr: (d) => stderr.length < 200 && stderr.push(d),
      },
    });
    for await (const m of q) if (m.type === 'result') result = m;
  } catch (e) {
    // The SDK throws after its error result (the budget reached): the result says what was spent.
    if (result && result.subtype !== 'success') {
      // scored below
    } else if (abort.signal.aborted) result = { subtype: 'timeout', usage: {}, total_cost_usd: 0 };
    else {
      const tail = stderr.join('').trim().split('\n').slice(-5).join('\n');
      fail(`Claude Code failed on task ${task.id}: ${e?.message ?? e}${tail ? `\n${tail}` : ''}`);
    }
  } finally {
    clearTimeout(timer);
  }
  if (!result) fail(`Claude Code ended task ${task.id} without a result`);
  const cut = ['error_max_turns', 'error_max_budget_usd', 'timeout'].includes(result.subtype);
  if (result.subtype !== 'success' && !cut)
    fail(
      `Claude Code failed on task ${task.id}: ${[result.subtype, ...(result.errors ?? [])].join(': ')}`,
    );
  const u = result.usage ?? {};
  const input =
    (u.input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
  const failures = task.assertions.map((a) => check(a, dir)).filter((f) => f !== null);
  rmSync(dir, { recursive: true, force: true });
  return {
    failures,
    cut: cut ? result.subtype : null,
    input,
    output: u.output_tokens ?? 0,
    cost: result.total_cost_usd ?? 0,
    turns: result.num_turns ?? 0,
  };
}

// ---- the evaluation ---------------------------------------------------------------------------

const measured = join(here, '.measured/skills');
const live = join(programDir, '.claude/skills');
if (!holdout) {
  // The artifact the holdout evaluates: exactly the skills scored here.
  rmSync(measured, { recursive: true, force: true });
  mkdirSync(dirname(measured), { recursive: true });
  writeFileSync(join(here, '.measured/.gitignore'), '*\n');
  if (existsSync(live)) cpSync(live, measured, { recursive: true });
}
const skillsDir = holdout ? measured : live;
if (!existsSync(skillsDir))
  fail(
    holdout
      ? `no skills in ${relative(programDir, measured)}: run the evaluation first`
      : 'no .claude/skills/ folder',
  );
const skills = readdirSync(skillsDir, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(skillsDir, e.name, 'SKILL.md')))
  .map((e) => e.name);
const tasks = readTasks(join(here, holdout ? 'holdout.jsonl' : 'tasks.jsonl'));
const config = claudeConfig();

let passed = 0;
let held = 0;
let asserted = 0;
const spent = { cost: 0, input: 0, output: 0, turns: 0 };
let capped = 0;
for (const task of tasks) {
  asserted += task.assertions.length;
  const left = maxUsd - spent.cost;
  if (left <= 0) {
    capped++;
    console.log(`task ${task.id}: not run, the cap of $${maxUsd} (SKILL_EVAL_MAX_USD) is spent`);
    continue;
  }
  const r = await runTask(task, skillsDir, skills, left, config);
  spent.cost += r.cost;
  spent.input += r.input;
  spent.output += r.output;
  spent.turns += r.turns;
  if (r.cut === 'error_max_budget_usd') capped++;
  const ok = task.assertions.length - r.failures.length;
  held += ok;
  if (r.failures.length === 0) passed++;
  console.log(
    `task ${task.id}: ${r.failures.length === 0 ? 'pass' : 'FAIL'} (${ok}/${task.assertions.length} assertions), ` +
      `${r.turns} turns, ${r.input + r.output} tokens, $${r.cost.toFixed(4)}${r.cut ? `, cut short (${r.cut})` : ''}`,
  );
  for (const f of r.failures) console.log(`  - ${f}`);
}
rmSync(config, { recursive: true, force: true });

console.log(
  `METRIC pass_rate=${(passed / tasks.length).toFixed(4)} assertion_rate=${(held / asserted).toFixed(4)} tasks=${tasks.length}`,
);
console.log(
  `METRIC cost_usd=${spent.cost.toFixed(6)} tokens=${spent.input + spent.output} input_tokens=${spent.input} output_tokens=${spent.output} turns=${spent.turns} capped=${capped}`,
);
