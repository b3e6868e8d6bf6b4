/** What `autoresearch init` decides from a folder's files and the answers: pure functions. */
import { describe, expect, it } from 'vitest';
import { findAgent } from '../../src/agents/catalog.js';
import { agentSetting as programAgent } from '../../src/agents/registry.js';
import {
  agentSetting,
  agentTodo,
  COMMAND_STUB,
  defaultAgent,
  type AgentEnvironment,
} from '../../src/program/init-agent.js';
import { detectProject, guessGoal } from '../../src/program/init-project.js';
import { previousAnswers, renderProgram, type InitAnswers } from '../../src/program/init.js';
import { parseProgram } from '../../src/program/program.js';

const project = (files: Record<string, string>) =>
  detectProject(Object.keys(files), (f) => files[f] ?? null);

const env = (keys: string[] = [], installed: string[] = []): AgentEnvironment => ({
  keys: new Set(keys),
  installed: new Set(installed),
});

describe('detectProject', () => {
  it('finds the test command of each language as the default checks', () => {
    expect(project({ 'package.json': '{"scripts":{"test":"vitest run"}}' }).checks).toBe(
      'npm test',
    );
    expect(project({ 'train.py': '', tests: '' }).checks).toBe('pytest');
    expect(project({ 'pyproject.toml': '[tool.pytest.ini_options]\n', 'uv.lock': '' }).checks).toBe(
      'uv run pytest',
    );
    expect(project({ 'Cargo.toml': '' }).checks).toBe('cargo test');
    expect(project({ 'go.mod': '' }).checks).toBe('go test ./...');
  });

  it("proposes no checks where there are no tests, nor for npm's placeholder script", () => {
    const placeholder = '{"scripts":{"test":"echo \\"Error: no test specified\\" && exit 1"}}';
    expect(project({ 'package.json': placeholder }).checks).toBeUndefined();
    expect(project({ 'package.json': '{}' }).checks).toBeUndefined();
    expect(project({ 'train.py': '' }).checks).toBeUndefined();
    expect(project({ 'bench.sh': '' }).checks).toBeUndefined();
  });

  it('speaks the language of the project in its hints and examples', () => {
    const node = project({ 'package.json': '{}', node_modules: '' });
    expect(node.budgetHint).toContain('process.env');
    expect(node.example.run).toMatch(/^node /);
    expect(node.dependencies).toEqual(['node_modules']);
    const py = project({ 'requirements.txt': '', '.venv': '', 'package.json': '{}' });
    expect(py.language).toBe('python');
    expect(py.budgetHint).toContain('os.environ');
    expect(py.dependencies).toEqual(['.venv']);
  });
});

describe('guessGoal', () => {
  it.each([
    ['val_bpb', 'minimize'],
    ['time_ms', 'minimize'],
    ['p99_latency', 'minimize'],
    ['val_acc', 'maximize'],
    ['tokens_per_s', 'maximize'],
    ['score', 'maximize'],
    ['widgets', null],
  ])('%s -> %s', (metric, goal) => expect(guessGoal(metric)).toBe(goal));
});

describe('the agent init writes', () => {
  const base: InitAnswers = {
    metric: 'time_ms',
    goal: 'minimize',
    run: 'node bench.js',
    budget: '30s',
    timeout: '90s',
    editable: ['src/a.js'],
    protected: ['bench.js'],
  };

  /** The agent setting a written program hands to `run`, checked as `run` checks it. */
  function runAccepts(setting: string | Record<string, unknown>): void {
    const text = renderProgram({ ...base, agent: setting }, '');
    const program = parseProgram(text, 'program.md');
    const { name, options } = programAgent(program);
    const parsed = findAgent(name)!.optionsSchema.safeParse(options);
    expect(parsed.success, JSON.stringify(setting)).toBe(true);
  }

  it('is a setting run accepts for every offered agent, with nothing filled in by hand', () => {
    for (const name of ['tune', 'llm', 'claude-code', 'codex', 'command'])
      runAccepts(agentSetting(name, {}, env()));
    expect(agentSetting('command', {}, env())).toEqual({ name: 'command', command: COMMAND_STUB });
    expect(agentSetting('llm', {}, env(['OPENAI_API_KEY']))).toEqual({
      name: 'llm',
      model: 'openai:gpt-4.1',
    });
  });

  it('defaults to an agent that can run here', () => {
    expect(defaultAgent(env(), true)).toBe('tune');
    expect(defaultAgent(env(['ANTHROPIC_API_KEY']), false)).toBe('llm');
    expect(defaultAgent(env(), false)).toBe('command');
  });

  it('says what is left to do before run', () => {
    expect(agentTodo(agentSetting('command', {}, env()), env())[0]).toContain('placeholder');
    expect(agentTodo({ name: 'command', command: './p.sh' }, env())).toEqual([]);
    expect(agentTodo('codex', env())).toEqual([
      'npm install @openai/codex-sdk',
      "export OPENAI_API_KEY=...   (codex's API key)",
    ]);
    expect(agentTodo({ name: 'llm', model: 'anthropic:x' }, env(['ANTHROPIC_API_KEY']))).toEqual(
      [],
    );
  });

  it('writes checks, constraints, keep_ignored and stop conditions that parse', () => {
    const text = renderProgram(
      {
        ...base,
        checks: 'npm test -- --reporter dot',
        constraints: ['p99_ms <= 20', 'memory_gb <= 60'],
        keepIgnored: ['node_modules'],
        agent: { name: 'command', command: './propose.sh' },
        stop: { experiments: 50, hours: 8, spend_usd: undefined },
        budgetHint: 'Number(process.env.AUTORESEARCH_TIME_BUDGET)',
      },
      '',
    );
    const c = parseProgram(text, 'program.md').config;
    expect(c.checks).toBe('npm test -- --reporter dot');
    expect(c.constraints).toEqual(['p99_ms <= 20', 'memory_gb <= 60']);
    expect(c.keep_ignored).toEqual(['node_modules']);
    expect(c.stop).toMatchObject({ experiments: 50, hours: 8 });
    expect(c.stop.spend_usd).toBeUndefined();
    expect(text).toContain('Number(process.env.AUTORESEARCH_TIME_BUDGET)');
    expect(text).toContain('`npm test -- --reporter dot` must pass');
  });

  it("run's error for a program without an agent points to init", () => {
    const program = parseProgram(renderProgram(base, ''), 'program.md');
    expect(() => programAgent(program)).toThrow(/autoresearch init.*--tune <file>.*--agent <name>/);
  });
});

describe('previousAnswers', () => {
  it('reads what init writes back as answers, and names what it would drop', () => {
    const text = renderProgram(
      {
        metric: 'score',
        goal: 'maximize',
        run: 'bash exp.sh',
        budget: '30s',
        timeout: '90s',
        editable: ['params.sh'],
        protected: ['exp.sh'],
        checks: 'bash test.sh',
        constraints: ['mem <= 2'],
        agent: { name: 'command', command: './p.sh' },
        stop: { experiments: 9 },
      },
      '',
    );
    const yaml = text.split('---\n')[1]!;
    const { answers, dropped } = previousAnswers(yaml + 'webhooks: []\n');
    expect(answers).toEqual({
      metric: 'score',
      goal: 'maximize',
      run: 'bash exp.sh',
      budget: '30s',
      timeout: '90s',
      editable: ['params.sh'],
      protected: ['exp.sh'],
      checks: 'bash test.sh',
      constraints: ['mem <= 2'],
      agent: { name: 'command', command: './p.sh' },
      stop: { experiments: 9, hours: undefined, spend_usd: undefined },
    });
    expect(dropped).toEqual(['webhooks']);
    expect(
      previousAnswers('metric: { name: x, goal: minimize, deterministic: true }\n').dropped,
    ).toEqual(['metric.deterministic']);
    expect(previousAnswers('run: [unclosed').answers).toEqual({});
  });
});
