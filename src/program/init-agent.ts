/**
 * The agents `autoresearch init` offers, what each needs before `run` can use it, and the
 * `agent:` setting it writes for each: always one `run` accepts as written. Pure: the caller says
 * which keys are set and which SDKs are installed.
 */

export const OFFERED_AGENTS = ['tune', 'llm', 'claude-code', 'codex', 'command'] as const;

/**
 * The command agent's placeholder: valid, and honest about doing nothing. Exit 99 means "nothing
 * more to propose", so a run measures the baseline and stops, saying so.
 */
export const COMMAND_STUB =
  'exit 99  # placeholder: replace with your agent; it reads $AUTORESEARCH_BRIEF and edits the editable files';

export interface AgentEnvironment {
  /** Names of the environment variables that are set (values are never needed). */
  keys: Set<string>;
  /** Optional SDK packages that resolve from here. */
  installed: Set<string>;
}

const SDK: Record<string, string> = {
  'claude-code': '@anthropic-ai/claude-agent-sdk',
  codex: '@openai/codex-sdk',
};

/** One line per offered agent: what it is, what it needs, and whether that is here. */
export function agentMenu(env: AgentEnvironment): string[] {
  const key = (name: string) => (env.keys.has(name) ? `${name} is set` : `${name} is not set`);
  const sdk = (agent: string) =>
    env.installed.has(SDK[agent]!)
      ? `${SDK[agent]} is installed`
      : `needs: npm install ${SDK[agent]}`;
  return [
    'tune         built-in optimizer over the UPPER_CASE constants of your files; needs nothing',
    `llm          built-in coding agent over a model API; needs an API key (${key('ANTHROPIC_API_KEY')}, ${key('OPENAI_API_KEY')})`,
    `claude-code  Claude Code; ${sdk('claude-code')}, and ANTHROPIC_API_KEY or a Claude login`,
    `codex        OpenAI Codex; ${sdk('codex')}, and OPENAI_API_KEY`,
    'command      any shell command that edits the files (a CLI agent, a script); needs the command',
  ];
}

/** The default model of the llm agent: a provider whose key is set. */
export function defaultModel(env: AgentEnvironment): string {
  return env.keys.has('OPENAI_API_KEY') && !env.keys.has('ANTHROPIC_API_KEY')
    ? 'openai:gpt-4.1'
    : 'anthropic:claude-sonnet-4-20250514';
}

/** The agent to propose when nobody chose one: one that can run here without editing. */
export function defaultAgent(env: AgentEnvironment, tunableConstants: boolean): string {
  if (tunableConstants) return 'tune';
  if (env.keys.has('ANTHROPIC_API_KEY') || env.keys.has('OPENAI_API_KEY')) return 'llm';
  return 'command';
}

export interface AgentAnswers {
  model?: string;
  command?: string;
}

/** The `agent:` setting: a bare name when the agent needs no options, else `{ name, ... }`. */
export function agentSetting(
  name: string,
  answers: AgentAnswers,
  env: AgentEnvironment,
): string | Record<string, unknown> {
  switch (name) {
    case 'llm':
      return { name, model: answers.model ?? defaultModel(env) };
    case 'command':
      return { name, command: answers.command ?? COMMAND_STUB };
    case 'claude-code':
    case 'codex':
      return answers.model ? { name, model: answers.model } : name;
    default:
      return name;
  }
}

/** What to do before `run`, if anything, for the chosen agent. */
export function agentTodo(
  setting: string | Record<string, unknown>,
  env: AgentEnvironment,
): string[] {
  const name = typeof setting === 'string' ? setting : String(setting.name);
  const todo: string[] = [];
  if (typeof setting !== 'string' && setting.command === COMMAND_STUB)
    todo.push(
      'agent.command is a placeholder that proposes nothing: `run` measures the baseline and stops. Put your agent command there (e.g. a CLI agent given the brief at $AUTORESEARCH_BRIEF)',
    );
  if (SDK[name] && !env.installed.has(SDK[name]!)) todo.push(`npm install ${SDK[name]}`);
  const model = typeof setting === 'string' ? undefined : setting.model;
  if (name === 'llm' && typeof model === 'string') {
    const key = model.startsWith('anthropic:')
      ? 'ANTHROPIC_API_KEY'
      : model.startsWith('openai') && !model.startsWith('openai-compatible:')
        ? 'OPENAI_API_KEY'
        : null;
    if (key && !env.keys.has(key)) todo.push(`export ${key}=...   (the llm agent's API key)`);
  }
  if (name === 'codex' && !env.keys.has('OPENAI_API_KEY'))
    todo.push("export OPENAI_API_KEY=...   (codex's API key)");
  return todo;
}
