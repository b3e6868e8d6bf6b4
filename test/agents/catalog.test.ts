/**
 * The catalog: one list of agents that `agent:`, `--agent`, `--help` and the errors all use, whose
 * entries load what their agent needs only when a run builds that agent.
 */
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AGENTS, agentNames } from '../../src/agents/catalog.js';
import { createAgent } from '../../src/agents/registry.js';
import { agentFixture } from '../helpers/agent-fixture.js';
import { hideModulesEnv } from '../helpers/hide-modules.js';
import { cli } from '../helpers/repo.js';

const FILES = {
  'exp/program.md':
    '---\nmetric: { name: loss, goal: minimize }\nrun: python train.py\neditable: [train.py]\n---\n',
  'exp/train.py': 'lr = 0.1\n',
};

describe('the agent catalog', () => {
  it('names each agent once, with a summary, an options schema and a hint', () => {
    expect(agentNames()).toEqual(['tune', 'llm', 'claude-code', 'codex', 'command', 'scripted']);
    for (const a of AGENTS) {
      expect(a.summary.length).toBeGreaterThan(10);
      expect(a.hint).toContain(a.name);
      expect(typeof a.optionsSchema.safeParse).toBe('function');
    }
  });

  it('--help lists every agent even when no model or agent SDK is installed: the list loads none of them', () => {
    const hidden = hideModulesEnv([
      'ai',
      '@ai-sdk/anthropic',
      '@ai-sdk/openai',
      '@ai-sdk/openai-compatible',
      '@anthropic-ai/claude-agent-sdk',
      '@openai/codex-sdk',
    ]);
    const r = cli(tmpdir(), ['run', '--help'], hidden);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const a of AGENTS)
      expect(r.stdout).toMatch(
        new RegExp(
          `\\n  ${a.name} +${a.summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        ),
      );
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      `(overrides \`agent:\`): ${agentNames().join(', ')}`,
    );
  });

  it("refuses an unknown agent by listing the catalog, and checks options against the agent's schema", async () => {
    const { actx } = agentFixture(FILES, {});
    await expect(createAgent('gpt', {}, actx)).rejects.toThrow(
      `unknown agent "gpt"\n  fix: use one of: ${agentNames().join(', ')}`,
    );
    await expect(createAgent('command', {}, actx)).rejects.toThrow(
      /agent\.command: .*the command agent needs `command:`\n  fix: write `agent: \{ name: command/,
    );
    await expect(createAgent('scripted', { patches: ['a.patch'], extra: 1 }, actx)).rejects.toThrow(
      /unknown option extra for the scripted agent/,
    );
    await expect(createAgent('tune', {}, actx)).rejects.toThrow(
      /the tune agent needs a search space/,
    ); // options fine: load ran
    await expect(createAgent('command', { command: 'true' }, actx)).resolves.toMatchObject({
      name: 'command',
    });
  });
});
