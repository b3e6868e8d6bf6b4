/**
 * An interactive Claude Code session drives a run through the plugin in integrations/claude-code:
 * the real Claude Agent SDK and its bundled claude binary, loading the plugin (its MCP server
 * entry and its Stop hook) against the in-repo fake model server. HOME is a temporary folder; no
 * network beyond 127.0.0.1.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { FakeRequest, Turn } from '../helpers/fake-llm.js';
import { fakeServers } from '../helpers/agent-fixture.js';
import { ledgerRows, makeRepo, ROOT } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

const PLUGIN = join(ROOT, 'integrations/claude-code');
const PROGRAM = `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 20s
editable: [params.sh]
protected: [exp.sh]
stop: { experiments: 2 }
---
Raise the score.
`;

/** The claude binary the Agent SDK bundles for this platform (an optional peer), or null. */
function claudeBinary(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const pkg = `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}/package.json`;
    return join(dirname(require.resolve(pkg)), 'claude');
  } catch {
    return null;
  }
}

const diff = (from: number, to: number) =>
  [
    'diff --git a/params.sh b/params.sh',
    '--- a/params.sh',
    '+++ b/params.sh',
    '@@ -1 +1 @@',
    `-VALUE=${from}`,
    `+VALUE=${to}`,
    '',
  ].join('\n');

/** The plugin's tool `name`, as this Claude Code names a plugin's MCP tools. */
const toolNamed = (req: FakeRequest, name: string): string | undefined =>
  (req.body?.tools as Array<{ name: string }> | undefined)
    ?.map((t) => t.name)
    .find((n) => n.startsWith('mcp__') && n.endsWith(`__${name}`));

const fake = fakeServers();
const claude = claudeBinary();

describe('a Claude Code session with the autoresearch plugin (Agent SDK, fake model)', () => {
  it.skipIf(!claude)("the plugin passes Claude Code's own strict validation", () => {
    const r = spawnSync(claude!, ['plugin', 'validate', '--strict', PLUGIN], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: tempDir('ar-claude-home-') },
      timeout: 60_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it.skipIf(!claude)(
    'tries changes through the MCP server; the Stop hook continues it until the run is exhausted',
    async () => {
      const repo = makeRepo({
        'exp.sh': '#!/bin/bash\nsource ./params.sh\necho "score: $VALUE"\n',
        'params.sh': 'VALUE=1\n',
        'program.md': PROGRAM,
      });
      // The plugin starts `autoresearch` from PATH: this checkout's build.
      const bin = tempDir('ar-bin-');
      writeFileSync(
        join(bin, 'autoresearch'),
        `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist/cli/main.js')}" "$@"\n`,
      );
      chmodSync(join(bin, 'autoresearch'), 0o755);
      // Requests of the main conversation (those offering tools) walk the script by turn.
      const script = (req: FakeRequest): Turn => {
        if (!Array.isArray(req.body?.tools) || req.body.tools.length === 0) return { text: 'ok' };
        const tryTool = toolNamed(req, 'try');
        if (!tryTool) return { text: 'The autoresearch tools are not there.' };
        if (req.turn === 0)
          return { toolCalls: [{ name: tryTool, args: { title: 'value 5', diff: diff(1, 5) } }] };
        if (req.turn === 1) return { text: 'Tried one change.' };
        if (req.turn === 2)
          return { toolCalls: [{ name: tryTool, args: { title: 'value 7', diff: diff(5, 7) } }] };
        return { text: 'The run is exhausted.' };
      };
      const server = await fake({ turns: script });
      const home = tempDir('ar-claude-home-');
      mkdirSync(join(home, '.claude'), { recursive: true });
      const { query } = await import('@anthropic-ai/claude-agent-sdk');
      let result: any;
      for await (const m of query({
        prompt: '/autoresearch',
        options: {
          cwd: repo,
          model: 'fake-model',
          env: {
            PATH: `${bin}:${process.env.PATH}`,
            HOME: home,
            ANTHROPIC_API_KEY: 'sk-fake',
            ANTHROPIC_BASE_URL: server.url,
            // The plugin's server takes its tag from here (its arguments are the plugin's).
            AUTORESEARCH_TAG: 'session-test',
            // MCP tools offered at once, not deferred behind tool search (the script calls them directly).
            ENABLE_TOOL_SEARCH: 'false',
            // The first turn waits for the MCP servers to connect (else it may start without them).
            CLAUDE_CODE_MCP_STARTUP_WAIT_MS: '60000',
          },
          plugins: [{ type: 'local', path: PLUGIN }],
          settingSources: [],
          persistSession: false,
          maxTurns: 12,
          canUseTool: async (_tool, input) => ({ behavior: 'allow', updatedInput: input }),
        },
      })) {
        if (m.type === 'result') result = m;
      }
      expect(result?.subtype).toBe('success');
      const conversation = server.requests.filter((r) => r.body?.tools?.length);
      expect(conversation.every((r) => toolNamed(r, 'try'))).toBe(true);

      const rows = ledgerRows(repo, 'session-test').filter((r) => r.id > 0 && r.title);
      expect(rows.map((r) => [r.title, r.status, r.primary_value])).toEqual([
        ['value 5', 'keep', 5],
        ['value 7', 'keep', 7],
      ]);
      const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), { readonly: true });
      const agents = db.prepare('SELECT DISTINCT agent FROM experiments WHERE id > 0').all();
      const run = db.prepare('SELECT state, stop_reason FROM runs').get();
      db.close();
      expect(agents).toEqual([{ agent: 'session' }]);
      expect(run).toMatchObject({ state: 'finished', stop_reason: 'reached 2 experiments' });
      // The hook continued the session once, telling the model what to do, and let it stop at the end.
      const main = server.requests.filter((r) => toolNamed(r, 'try'));
      expect(JSON.stringify(main.at(-1)!.body)).toContain('autoresearch: the run continues');
      expect(Math.max(...main.map((r) => r.turn))).toBe(3);
    },
  );
});
