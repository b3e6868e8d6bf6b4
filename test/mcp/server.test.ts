/**
 * `autoresearch mcp` driven by the MCP SDK's own client over stdio, as Claude Code or Codex
 * would: one server for the file (a second one after it is killed), a real repository, the real
 * loop, sealed experiments, the ledger. The session's decisions are the harness's.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopHook } from '../../src/mcp/stop-hook-run.js';
import Database from 'better-sqlite3';
import { gitIn, ledgerRows, makeRepo, ROOT, tempDir, waitFor } from '../helpers/repo.js';
import { cliHere } from '../helpers/cli-here.js';

const TAG = 's';
const PROGRAM = `---
metric: { name: score, goal: maximize, deterministic: true }
run: bash exp.sh
budget: 20s
editable: [params.sh]
protected: [exp.sh]
---
Raise the score (SESSION-BRIEF-MARKER).
`;
// GATE holds an experiment until the test creates that file: it is still running when the
// server is killed or the run stopped under it, whatever the machine's speed, and its second
// measurement, after the gate is open, does not wait.
const EXP = `#!/bin/bash
source ./params.sh
if [ -n "$GATE" ]; then until [ -e "$GATE" ]; do sleep 0.05; done; fi
echo "score: $VALUE"
`;

interface Server {
  client: Client;
  pid: number;
  stderr: () => string;
}

async function connect(repo: string): Promise<Server> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(ROOT, 'dist/cli/main.js'), 'mcp', '--tag', TAG, '--wait', '10m'],
    cwd: repo,
    env: process.env as Record<string, string>,
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d) => (err += d));
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(transport);
  return { client, pid: transport.pid!, stderr: () => err };
}

type View = Record<string, any>;

async function call(
  server: Server,
  name: string,
  args: Record<string, unknown> = {},
  onprogress?: (p: { progress: number; message?: string }) => void,
): Promise<View> {
  const r = await server.client.callTool({ name, arguments: args }, undefined, {
    timeout: 170_000,
    ...(onprogress ? { onprogress } : {}),
  });
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}\n${server.stderr()}`);
  if (r.structuredContent) return r.structuredContent as View;
  // `state`: its facts as JSON, then the brief as Markdown.
  const [facts, brief] = r.content as Array<{ text: string }>;
  return { ...JSON.parse(facts!.text), brief: brief!.text };
}

const repo = makeRepo({ 'exp.sh': EXP, 'params.sh': 'VALUE=1\n', 'program.md': PROGRAM });
let server: Server;
let edit = ''; // the session worktree's program folder
const write = (text: string) => writeFileSync(join(edit, 'params.sh'), text);
const gates = tempDir();
const rows = () => ledgerRows(repo, TAG);
function runRow(): { state: string; stop_reason: string | null } {
  const db = new Database(join(repo, '.autoresearch/ledger.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT state, stop_reason FROM runs WHERE tag = ?').get(TAG) as never;
  } finally {
    db.close();
  }
}

afterAll(async () => {
  await server?.client.close();
});

describe('autoresearch mcp over stdio (the MCP SDK client)', () => {
  it('lists its tools, read-only and destructive ones marked', async () => {
    server = await connect(repo);
    const { tools } = await server.client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        'diff',
        'note',
        'pause',
        'rerun',
        'results',
        'resume',
        'state',
        'stop',
        'try',
        'wait',
      ].sort(),
    );
    for (const n of ['state', 'results', 'diff', 'wait'])
      expect(byName[n]!.annotations?.readOnlyHint, n).toBe(true);
    expect(byName.stop!.annotations?.destructiveHint).toBe(true);
    expect(byName.try!.annotations?.readOnlyHint).toBe(false);
    expect(Object.keys((byName.try!.inputSchema as { properties: object }).properties)).toEqual(
      expect.arrayContaining(['title', 'hypothesis', 'lessons', 'diff', 'wait_seconds']),
    );
  });

  it('states the brief, the incumbent, the decision rule and a worktree of the run to edit', async () => {
    const state = await call(server, 'state');
    edit = state.worktree.program_dir;
    expect(edit).toBe(join(repo, '.autoresearch', TAG, 'session'));
    expect(readFileSync(join(edit, 'params.sh'), 'utf8')).toBe('VALUE=1\n');
    expect(state.objective).toMatchObject({ metric: 'score', editable: ['params.sh'] });
    expect(state.decision_rule).toContain('The harness decides');
    expect(state.continuation.state).toBe('continue');
    expect(state.brief).toContain('SESSION-BRIEF-MARKER');
  });

  it('keeps a better change: decided and recorded by the harness, progress on the way, the checkout untouched', async () => {
    write('VALUE=5\n');
    const progress: string[] = [];
    const r = await call(
      server,
      'try',
      { title: 'value 5', hypothesis: 'higher', lessons: 'higher values score higher' },
      (p) => progress.push(p.message ?? ''),
    );
    expect(r).toMatchObject({ experiment: 1, status: 'keep', kept: true });
    expect(r.incumbent).toMatchObject({ experiment: 1, value: 5 });
    expect(r.continuation.state).toBe('continue');
    expect(progress.some((m) => m.startsWith('experiment 1: running'))).toBe(true);
    expect(rows()[1]).toMatchObject({
      status: 'keep',
      title: 'value 5',
      primary_value: 5,
      lessons: 'higher values score higher',
    });
    expect(rows()[1]!.candidate_commit).toBe(gitIn(repo, 'rev-parse', `autoresearch/${TAG}`));
    // The user's checkout is untouched; the session worktree holds the incumbent.
    expect(readFileSync(join(repo, 'params.sh'), 'utf8')).toBe('VALUE=1\n');
    expect(gitIn(repo, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(edit, 'params.sh'), 'utf8')).toBe('VALUE=5\n');
  });

  it('discards a worse change passed as a diff, and resets the worktree to the incumbent', async () => {
    const diff = [
      'diff --git a/params.sh b/params.sh',
      '--- a/params.sh',
      '+++ b/params.sh',
      '@@ -1 +1 @@',
      '-VALUE=5',
      '+VALUE=2',
      '',
    ].join('\n');
    const r = await call(server, 'try', { title: 'value 2', diff });
    expect(r).toMatchObject({ experiment: 2, status: 'discard', kept: false });
    expect(r.incumbent).toMatchObject({ experiment: 1 });
    expect(rows()[2]).toMatchObject({ status: 'discard', primary_value: 2 });
    expect(readFileSync(join(edit, 'params.sh'), 'utf8')).toBe('VALUE=5\n');
  });

  it('records a change to a protected file as invalid; an unchanged worktree is not tried', async () => {
    write('VALUE=9\n');
    writeFileSync(join(edit, 'exp.sh'), 'echo "score: 1000"\n');
    const r = await call(server, 'try', { title: 'print a number' });
    expect(r).toMatchObject({ experiment: 3, status: 'invalid' });
    expect(r.reason).toContain('exp.sh');
    expect(rows()[3]).toMatchObject({ status: 'invalid' });
    expect(readFileSync(join(edit, 'exp.sh'), 'utf8')).toBe(EXP);
    const none = await call(server, 'try', { title: 'nothing' });
    expect(none).toMatchObject({ status: 'not tried' });
    expect(none.reason).toContain('no change');
    expect(rows()).toHaveLength(5); // 0-3, and the proposal the loop has open
  });

  it('answers a short wait with a handle, and `wait` with the decision', async () => {
    write('VALUE=6\n');
    const pending = await call(server, 'try', { title: 'value 6', wait_seconds: 0 });
    expect(pending).toMatchObject({ pending: true, handle: 't4' });
    const busy = await server.client.callTool({ name: 'try', arguments: { title: 'again' } });
    expect(busy.isError).toBe(true);
    expect(JSON.stringify(busy.content)).toContain('still in flight');
    const r = await call(server, 'wait', { handle: pending.handle });
    expect(r).toMatchObject({ handle: 't4', experiment: 4, status: 'keep' });
  });

  it('sees a pause and a resume from the CLI, refuses tries while paused, and takes a note', async () => {
    expect((await cliHere(repo, ['pause', '--tag', TAG])).code).toBe(0);
    const paused = await call(server, 'state');
    expect(paused.continuation.state).toBe('paused');
    write('VALUE=7\n');
    const refused = await call(server, 'try', { title: 'value 7' });
    expect(refused).toMatchObject({ status: 'not tried', continuation: { state: 'paused' } });
    expect((await cliHere(repo, ['resume', '--tag', TAG])).code).toBe(0);
    expect((await call(server, 'state')).continuation.state).toBe('continue');
    const note = await call(server, 'note', { text: 'NOTE-MARKER: try larger values' });
    expect(note).toMatchObject({ ok: true, continuation: { state: 'continue' } });
  });

  it('resumes after the server is killed under a running experiment: it is measured again and recorded', async () => {
    const gate = join(gates, 'killed');
    write(`VALUE=8\nGATE=${gate}\n`);
    const pending = await call(server, 'try', { title: 'value 8, slowly', wait_seconds: 0 });
    const id = await waitFor(
      () => rows().find((e) => e.title === 'value 8, slowly' && e.state === 'running')?.id,
      60_000,
      'the experiment to run',
    );
    expect(pending.pending).toBe(true);
    const gone = new Promise<void>((resolve) => (server.client.onclose = resolve));
    process.kill(server.pid, 'SIGKILL');
    await gone;
    writeFileSync(gate, '');
    server = await connect(repo);
    const r = await call(server, 'wait', { experiment: id });
    expect(r).toMatchObject({ experiment: id, status: 'keep', value: 8 });
    // The loop goes on to the next proposal: its brief is the one the session reads. Its row in
    // the ledger first (a read here), not `state` asked back to back while the loop gets there.
    await waitFor(() => rows().some((e) => e.id > id), 60_000, 'the next proposal');
    let state = await call(server, 'state');
    while (!String(state.run.doing).startsWith('waiting for your try'))
      state = await call(server, 'state');
    expect(state.incumbent).toMatchObject({ experiment: id, value: 8 });
    // The brief of the proposal opened after the restart, with the note left before it.
    expect(state.brief).toContain('NOTE-MARKER');
    expect(readFileSync(join(edit, 'params.sh'), 'utf8')).toBe(`VALUE=8\nGATE=${gate}\n`);
  });

  it('sees a stop from the CLI: the run ends, tries are refused, and the Stop hook lets the session stop', async () => {
    const hook = (active: boolean) =>
      stopHook(JSON.stringify({ session_id: 'c1', cwd: edit, stop_hook_active: active }), {
        maxTurns: 10,
        maxUnproductive: 5,
      });
    const going = await hook(false);
    expect(going.decision.continue).toBe(true);
    expect(JSON.parse(going.stdout)).toMatchObject({ decision: 'block' });
    // Continued once and nothing tried since: a second continuation would only loop.
    expect((await hook(true)).decision).toMatchObject({ continue: false });

    expect((await cliHere(repo, ['stop', '--tag', TAG])).code).toBe(0);
    await waitFor(() => rows().length > 0 && runRow().state === 'stopped', 60_000, 'the stop');
    const stopped = await call(server, 'state');
    expect(stopped.continuation).toMatchObject({ state: 'stopped', reason: 'stop requested' });
    write('VALUE=9\n');
    expect(await call(server, 'try', { title: 'value 9' })).toMatchObject({
      status: 'not tried',
      continuation: { state: 'stopped' },
    });
    const after = await hook(false);
    expect(after.stdout).toBe('');
    expect(after.decision).toMatchObject({ continue: false });
  });
});

describe('the run stopped and started again from the session', () => {
  it('resume starts the loop again; stop now kills the experiment, which the next start measures again', async () => {
    const resumed = await call(server, 'resume');
    expect(resumed).toMatchObject({ ok: true, continuation: { state: 'continue' } });
    const gate = join(gates, 'stopped');
    write(`VALUE=10\nGATE=${gate}\n`);
    const pending = await call(server, 'try', { title: 'value 10, slowly', wait_seconds: 0 });
    const id = await waitFor(
      () => rows().find((e) => e.title === 'value 10, slowly' && e.state === 'running')?.id,
      60_000,
      'the experiment to run',
    );
    const stop = await call(server, 'stop', { now: true });
    expect(stop.message).toContain('stopping now');
    const cut = await call(server, 'wait', { handle: pending.handle });
    expect(cut).toMatchObject({ status: 'not decided', continuation: { state: 'stopped' } });
    expect(cut.reason).toContain('measured again when the run resumes');
    writeFileSync(gate, '');
    await call(server, 'resume');
    expect(await call(server, 'wait', { experiment: id })).toMatchObject({
      experiment: id,
      status: 'keep',
      value: 10,
    });
  });
});
