/**
 * The dashboard's guards, in process (the Hono app through app.request, over a ledger written
 * here): the Host check against DNS rebinding, and experiment files served without following links.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { ledgerPath, runPaths } from '../../src/loop/context.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { createDashboardApp, type DashboardApp } from '../../src/server/dashboard.js';
import { hostGuard, parseHostHeader } from '../../src/server/security.js';
import { tempDir } from '../helpers/temp.js';

const PORT = 43210;
const TOKEN = 'f'.repeat(32);
const TAG = 'g';
const SECRET = 'TOP SECRET: root:$6$hash';

let repo = '';
let dash: DashboardApp;

const get = (path: string, host: string | null, headers: Record<string, string> = {}) =>
  dash.app.request(path, {
    headers: { ...(host === null ? {} : { host }), authorization: `Bearer ${TOKEN}`, ...headers },
  });

beforeAll(() => {
  repo = tempDir('ar-guards-');
  const ledger = new Ledger(ledgerPath(repo));
  const now = Date.now();
  ledger.createRun({
    tag: TAG,
    branch: `autoresearch/${TAG}`,
    created_at: now,
    updated_at: now,
    program_path: 'program.md',
    program_dir: '',
    base_commit: 'a'.repeat(40),
    metric_name: 'score',
    goal: 'minimize',
    config_json: '{}',
    protected_json: '{}',
    state: 'stopped',
    stop_reason: 'done',
    pid: null,
    heartbeat_at: null,
    work_dir: null,
  });
  const paths = runPaths(repo, TAG);
  for (const id of [1, 2, 3, 4]) {
    ledger.insertExperiment({
      ...emptyExperiment(TAG, 0, 'test', 'a'.repeat(40)),
      id,
      state: 'recorded',
      status: 'discard',
      title: `experiment ${id}`,
      recorded_at: now,
      log_path: id === 4 ? join(repo, 'secret.txt') : join(paths.experimentDir(id), 'run.log'),
    });
  }
  ledger.close();
  writeFileSync(join(repo, 'secret.txt'), SECRET);
  // 1: the files the harness wrote.
  mkdirSync(paths.experimentDir(1), { recursive: true });
  writeFileSync(join(paths.experimentDir(1), 'run.log'), 'score: 3\n');
  writeFileSync(join(paths.experimentDir(1), 'brief.md'), 'the brief\n');
  // 2: the experiment left its log as a link to the ledger, its brief as a link to a secret.
  mkdirSync(paths.experimentDir(2), { recursive: true });
  symlinkSync(ledgerPath(repo), join(paths.experimentDir(2), 'run.log'));
  symlinkSync(join(repo, 'secret.txt'), join(paths.experimentDir(2), 'brief.md'));
  // 3: the experiment's folder itself is a link to a folder outside the run with ordinary files.
  const elsewhere = join(repo, 'elsewhere');
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, 'run.log'), SECRET);
  writeFileSync(join(elsewhere, 'brief.md'), SECRET);
  symlinkSync(elsewhere, paths.experimentDir(3));
  dash = createDashboardApp({
    repo,
    token: TOKEN,
    cookieName: 'autoresearch_token_test',
    hostAllowed: hostGuard('127.0.0.1', PORT),
  });
});

afterAll(() => dash?.close());

describe('the Host check (DNS rebinding)', () => {
  it('refuses a request naming another host before looking at the token, even with a valid one', async () => {
    // evil.example resolves to 127.0.0.1: the browser sends the attacker's name with the right port.
    for (const host of [
      `evil.example:${PORT}`,
      'evil.example',
      `127.0.0.1.evil.example:${PORT}`,
      `127.0.0.1:${PORT}@evil.example`,
    ]) {
      const r = await get('/api/runs', host, { cookie: `autoresearch_token_test=${TOKEN}` });
      expect(r.status, host).toBe(421);
      expect(await r.text()).toContain('DNS rebinding');
    }
    expect((await get('/api/runs', null)).status).toBe(421); // no Host at all (HTTP/1.0)
    const login = await dash.app.request(`/?token=${TOKEN}`, {
      headers: { host: `evil.example:${PORT}` },
    });
    expect(login.status).toBe(421);
    expect(login.headers.get('set-cookie')).toBeNull();
    const post = await dash.app.request(`/api/runs/${TAG}/note`, {
      method: 'POST',
      body: JSON.stringify({ text: 'rebound' }),
      headers: {
        host: `evil.example:${PORT}`,
        origin: `http://evil.example:${PORT}`,
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
      },
    });
    expect(post.status).toBe(421);
  });

  it('answers under the loopback names it is served at, and through a tunnel to another local port', async () => {
    for (const host of [
      `127.0.0.1:${PORT}`,
      `localhost:${PORT}`,
      `LOCALHOST:${PORT}`,
      `[::1]:${PORT}`,
      'localhost:8000',
    ]) {
      const r = await get('/api/runs', host);
      expect(r.status, host).toBe(200);
      expect(((await r.json()) as { runs: Array<{ tag: string }> }).runs.map((x) => x.tag)).toEqual(
        [TAG],
      );
    }
  });

  it("on 0.0.0.0 accepts the machine's addresses and host name with the port, and names given with --allow-host", () => {
    const machine = {
      hostname: 'gpubox.lab.example',
      addresses: ['127.0.0.1', '10.1.2.3', '::1', 'fe80::1'],
    };
    const open = hostGuard('0.0.0.0', PORT, ['Dash.Example.org'], machine);
    for (const ok of [
      `10.1.2.3:${PORT}`,
      `gpubox.lab.example:${PORT}`,
      `gpubox:${PORT}`,
      `[fe80::1]:${PORT}`,
      `[FE80:0:0:0:0:0:0:1]:${PORT}`,
      'dash.example.org',
      'dash.example.org:8443',
      `localhost:${PORT}`,
    ]) {
      expect(open(ok), ok).toBe(true);
    }
    for (const bad of [
      `evil.example:${PORT}`,
      `10.1.2.3:${PORT + 1}`,
      '10.1.2.3',
      `gpubox.evil.example:${PORT}`,
      `0.0.0.0:${PORT}`,
      `10.1.2.3:${PORT}/x`,
      `10.1.2.3:${PORT}, evil.example`,
      '',
    ]) {
      expect(open(bad), bad).toBe(false);
    }
    // Bound to one address, it answers under that address only (plus loopback names).
    const one = hostGuard('10.1.2.3', PORT, [], machine);
    expect(one(`10.1.2.3:${PORT}`)).toBe(true);
    expect(one(`gpubox:${PORT}`)).toBe(false);
    expect(one(`evil.example:${PORT}`)).toBe(false);
    expect(parseHostHeader('[::1]:80')).toEqual({ name: '::1', port: 80 });
    expect(parseHostHeader('Example.ORG.')).toEqual({ name: 'example.org', port: 80 });
  });
});

describe('experiment files', () => {
  const host = `127.0.0.1:${PORT}`;

  it('serves the log and brief the harness wrote, by experiment id', async () => {
    const d = (await (await get(`/api/runs/${TAG}/experiments/1`, host)).json()) as {
      log: { tail: string };
      brief: string;
    };
    expect(d.log.tail).toBe('score: 3\n');
    expect(d.brief).toBe('the brief\n');
    const log = await get(`/api/runs/${TAG}/experiments/1/log`, host);
    expect(log.status).toBe(200);
    expect(await log.text()).toBe('score: 3\n');
  });

  it('never follows a link an experiment left: a linked log or brief, or a linked folder on the way', async () => {
    for (const id of [2, 3, 4]) {
      const r = await get(`/api/runs/${TAG}/experiments/${id}`, host);
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text, `experiment ${id}`).not.toContain('TOP SECRET');
      expect(text).not.toContain('SQLite format');
      expect(JSON.parse(text)).toMatchObject({ id, log: null, brief: null });
      expect(
        (await get(`/api/runs/${TAG}/experiments/${id}/log`, host)).status,
        `log of ${id}`,
      ).toBe(404);
    }
  });
});
