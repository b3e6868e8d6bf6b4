/**
 * `autoresearch init --template [name]`: without a name, the list of ready programs; with one,
 * the program written into this folder, with an agent that runs here (or the one the flags name).
 */
import { agentTodo } from '../../program/init-agent.js';
import { templateMenu, writeTemplate } from '../../program/templates.js';
import { agentEnvironment, chooseAgent, type AgentFlags } from './init-agent.js';

export async function initTemplate(
  template: string | true,
  flags: AgentFlags & { force?: boolean },
): Promise<void> {
  if (template === true) {
    process.stdout.write(
      `templates (autoresearch init --template <name>):\n${templateMenu()
        .map((l) => `  ${l}\n`)
        .join('')}`,
    );
    return;
  }
  // Nothing asked: the flags, else an agent that runs here (llm with a key, else a placeholder).
  const { setting } = await chooseAgent(
    flags,
    async (_q, flag, d) => flag ?? d,
    null,
    [],
    undefined,
  );
  const written = writeTemplate(template, process.cwd(), { force: flags.force, agent: setting });
  process.stdout.write(
    `wrote ${written.join(', ')}.\n` +
      agentTodo(setting, agentEnvironment())
        .map((t) => `  before run: ${t}\n`)
        .join('') +
      'Read program.md, then: git add -A && git commit -m "autoresearch program", then `autoresearch run`.\n',
  );
}
