/**
 * The dashboard app in process (createDashboardApp through app.request), over a real git
 * repository and a ledger written here: the token, headers and origin check, the JSON the page
 * reads, the change stream, and the controls (with a real process standing in for the harness).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { ledgerPath, runPaths } from '../../src/loop/context.js';
import { emptyExperiment } from '../../src/loop/experiment.js';
import { createDashboardApp, type DashboardApp } from '../../src/server/dashboard.js';
import { hostGuard } from '../../src/server/security.js';
import { exited, gitIn, makeRepo, writeFiles } from '../helpers/repo.js';

const PORT = 43211;
const HOST = `127.0.0.1:${PORT}`;
const ORIGIN = `http://${HOST}`;
const TOKEN = 'e'.repeat(32);
const COOKIE = 'autoresearch_token_test';
const TAG = 'app';
const XSS = '<img src=x onerror=alert(1)>';
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

let repo = '';
let ledger: Ledger;
let dash: DashboardApp;
let base = '';
let candidate = '';
const children: ChildProcess[] = [];

/** A request as the page sends it: this Host, the token as Bearer unless `headers` say otherwise. */
const req = (
  path: string,
  init: {
    method?: string;
    body?: string;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  } = {},
) =>
  dash.app.request(path, {
    ...init,
    headers: { host: HOST, authorization: `Bearer ${TOKEN}`, ...init.headers },
  });
const post = (path: string, body?: unknown) =>
  req(path, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { origin: ORIGIN, 'content-type': 'application/json' },
  });
const json = async (r: Response) => (await r.json()) as Record<string, unknown>;
const paths = () => runPaths(repo, TAG);

function liveHarness(pid?: number): ChildProcess | null {
  const child = pid === undefined ? spawn('sleep', ['600'], { stdio: 'ignore' }) : null;
  if (child) children.push(child);
  ledger.updateRun(TAG, {
    state: 'running',
    stop_reason: null,
    pid: pid ?? child!.pid!,
    heartbeat_at: Date.now(),
  });
  return child;
}

beforeAll(() => {
  repo = makeRepo({ 'params.sh': 'VALUE=1\n' });
  base = gitIn(repo, 'rev-parse', 'HEAD');
  writeFiles(repo, { 'params.sh': 'VALUE=2\n' });
  gitIn(repo, 'commit', '-qam', 'raise');
  candidate = gitIn(repo, 'rev-parse', 'HEAD');
  ledger = new Ledger(ledgerPath(repo));
  const now = Date.now();
  ledger.createRun({
    tag: TAG,
    branch: `autoresearch/${TAG}`,
    created_at: now,
    updated_at: now,
    program_path: 'program.md',
    program_dir: '',
    base_commit: base,
    metric_name: 'score',
    goal: 'maximize',
    config_json: '{"executor":"local","budget":5,"stop":{"experiments":40}}',
    protected_json: '{}',
    state: 'stopped',
    stop_reason: 'reached 40 experiments',
    pid: null,
    heartbeat_at: null,
    work_dir: null,
  });
  const row = (id: number, fields: object) =>
    ledger.insertExperiment({
      ...emptyExperiment(TAG, 0, 'test', base),
      id,
      recorded_at: now,
      ...fields,
    });
  row(0, {
    state: 'recorded',
    status: 'keep',
    candidate_commit: base,
    primary_value: 1,
    title: 'baseline',
  });
  row(1, {
    state: 'recorded',
    status: 'keep',
    candidate_commit: candidate,
    primary_value: 2,
    title: `raise to 2 ${XSS}`,
    hypothesis: 'a larger VALUE <b>scores</b> higher',
    log_path: join(paths().experimentDir(1), 'run.log'),
  });
  row(2, { state: 'running', candidate_commit: candidate, recorded_at: null, title: 'in flight' });
  mkdirSync(paths().experimentDir(1), { recursive: true });
  writeFileSync(
    join(paths().experimentDir(1), 'run.log'),
    'starting <script>x</script>\nscore: 2\n',
  );
  writeFileSync(join(paths().experimentDir(1), 'brief.md'), 'Raise the score.\n');
  dash = createDashboardApp({
    repo,
    token: TOKEN,
    cookieName: COOKIE,
    hostAllowed: hostGuard('127.0.0.1', PORT),
  });
});

afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  ledger.updateRun(TAG, { state: 'stopped', stop_reason: 'reached 40 experiments', pid: null });
});

afterAll(() => {
  dash?.close();
  ledger?.close();
});

describe('access', () => {
  it('needs the token: 401 without it; the token URL sets an HttpOnly cookie and leaves the address bar; Bearer works', async () => {
    expect((await req('/api/runs', { headers: { authorization: '' } })).status).toBe(401);
    expect((await req('/', { headers: { authorization: '' } })).status).toBe(401);
    expect((await req('/api/runs', { headers: { authorization: 'Bearer nope' } })).status).toBe(
      401,
    );
    expect((await req('/?token=wrong', { headers: { authorization: '' } })).status).toBe(401);

    const login = await req(`/?token=${TOKEN}`, { headers: { authorization: '' } });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const set = login.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    const byCookie = await req('/api/runs', {
      headers: { authorization: '', cookie: set.split(';')[0]! },
    });
    expect(byCookie.status).toBe(200);
    expect(((await byCookie.json()) as { runs: unknown[] }).runs).toEqual([
      expect.objectContaining({ tag: TAG, metric: 'score', goal: 'maximize', state: 'stopped' }),
    ]);
  });

  it('answers an API address with ?token= with its data, not a redirect (a script, a link to a log)', async () => {
    const anon = { headers: { authorization: '' } };
    const runs = await req(`/api/runs?token=${TOKEN}`, anon);
    expect(runs.status).toBe(200);
    expect(((await runs.json()) as { runs: unknown[] }).runs).toEqual([
      expect.objectContaining({ tag: TAG }),
    ]);
    const log = await req(`/api/runs/${TAG}/experiments/1/log?token=${TOKEN}`, anon);
    expect(log.status).toBe(200);
    expect(await log.text()).toBe('starting <script>x</script>\nscore: 2\n');
    expect((await req(`/api/runs?token=wrong`, anon)).status).toBe(401);
  });

  it('sends the CSP and the other protective headers on every answer, refusals included, and never HSTS', async () => {
    const answers = [
      await req('/'),
      await req('/api/runs', { headers: { authorization: '' } }),
      await req('/api/runs', { headers: { host: 'evil.example' } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 421]);
    for (const r of answers) {
      expect(r.headers.get('content-security-policy')).toBe(CSP);
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('same-origin');
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('strict-transport-security')).toBeNull();
    }
    expect(await answers[0]!.text()).toContain('<div id="chart"');
  });

  it('serves only its listed static files', async () => {
    expect((await req('/static/uPlot.iife.min.js')).status).toBe(200);
    expect((await req('/static/app.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
    for (const bad of ['..%2Fpackage.json', 'constructor', '__proto__', 'index.html'])
      expect((await req(`/static/${bad}`)).status, bad).toBe(404);
  });

  it('refuses state changes by GET, without the token, or from another origin, and changes nothing', async () => {
    liveHarness();
    const note = JSON.stringify({ text: 'cross-site note' });
    const from = (headers: Record<string, string>) =>
      req(`/api/runs/${TAG}/note`, {
        method: 'POST',
        body: note,
        headers: { 'content-type': 'application/json', ...headers },
      });
    expect((await from({ origin: ORIGIN, authorization: '' })).status).toBe(401);
    expect((await from({ origin: 'http://evil.example' })).status).toBe(403);
    expect((await from({ origin: 'null' })).status).toBe(403);
    expect((await from({ referer: 'http://evil.example/x' })).status).toBe(403);
    // A form post from another site: text/plain or form bodies too.
    expect(
      (
        await req(`/api/runs/${TAG}/pause`, {
          method: 'POST',
          body: 'x',
          headers: { origin: 'http://evil.example', 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(403);
    expect((await req(`/api/runs/${TAG}/pause`)).status).toBe(404);
    expect(existsSync(paths().pauseFile)).toBe(false);
    expect(ledger.notes(TAG)).toEqual([]);
  });
});

describe('the JSON the page reads', () => {
  it('lists the experiments as in the ledger and summarizes the run', async () => {
    const { experiments } = (await json(await req(`/api/runs/${TAG}/experiments`))) as {
      experiments: Array<Record<string, unknown>>;
    };
    expect(experiments.map((e) => [e.id, e.state, e.status, e.value, e.title])).toEqual([
      [0, 'recorded', 'keep', 1, 'baseline'],
      [1, 'recorded', 'keep', 2, `raise to 2 ${XSS}`],
      [2, 'running', null, null, 'in flight'],
    ]);
    // The chart's best line: the incumbent each one was judged against (a keep: itself).
    expect(experiments.map((e) => e.best)).toEqual([1, 2, null]);
    const summary = await json(await req(`/api/runs/${TAG}`));
    expect(summary).toMatchObject({
      tag: TAG,
      state: 'stopped',
      baseline: 1,
      best: 2,
      improvementPct: 100,
      budgetSeconds: 5,
      candidates: 1,
    });
    expect(summary.left).toEqual({ experiments: 39, seconds: null }); // stop.experiments 40, no stop.hours
    expect((await req('/api/runs/nope')).status).toBe(404);
    expect((await req('/api/runs/nope/experiments')).status).toBe(404);
  });

  it('gives each experiment the one it was built on, its island, and the run its strategy', async () => {
    // A second run, older than the first (the run list is newest first), under parents: islands.
    const long = Date.now() - 86_400_000;
    ledger.createRun({
      ...ledger.getRun(TAG)!,
      tag: 'isl',
      branch: 'autoresearch/isl',
      created_at: long,
      updated_at: long,
      config_json: '{"budget":5,"parents":{"strategy":"islands","islands":2}}',
    });
    const row = (id: number, parent: string, fields: object) =>
      ledger.insertExperiment({
        ...emptyExperiment('isl', 0, 'test', parent),
        id,
        recorded_at: long,
        state: 'recorded',
        status: 'discard',
        ...fields,
      });
    row(0, base, { status: 'keep', candidate_commit: base, primary_value: 1 });
    row(1, base, { status: 'keep', candidate_commit: candidate, primary_value: 2, island: 0 });
    row(2, candidate, { state: 'running', recorded_at: null, island: 1 });
    // Built on a commit no experiment made (an old ledger): the baseline stands for it.
    row(3, 'f'.repeat(40), { primary_value: 0.5, island: 0 });
    const { experiments } = (await json(await req('/api/runs/isl/experiments'))) as {
      experiments: Array<Record<string, unknown>>;
    };
    expect(experiments.map((e) => [e.id, e.parent, e.island])).toEqual([
      [0, null, null],
      [1, 0, 0],
      [2, 1, 1],
      [3, 0, 0],
    ]);
    expect((await json(await req('/api/runs/isl'))).strategy).toBe('islands');
    // A program without parents: is greedy.
    expect((await json(await req(`/api/runs/${TAG}`))).strategy).toBe('greedy');
  });

  it('gives a Pareto run its metrics and every judged point, the members flagged; a scalar run none', async () => {
    const long = Date.now() - 2 * 86_400_000;
    const metrics = [
      { name: 'ms', goal: 'minimize' },
      { name: 'heap', goal: 'minimize' },
    ];
    ledger.createRun({
      ...ledger.getRun(TAG)!,
      tag: 'par',
      branch: 'autoresearch/par',
      created_at: long,
      updated_at: long,
      metric_name: 'ms',
      config_json: JSON.stringify({ budget: 5, pareto: metrics }),
    });
    const third = gitIn(repo, 'commit-tree', '-p', candidate, '-m', 'third', `${candidate}^{tree}`);
    const runs = [base, candidate, third];
    const row = (id: number, fields: object, points: Array<[number, number]>) => {
      ledger.insertExperiment({
        ...emptyExperiment('par', 0, 'test', base),
        id,
        recorded_at: long,
        state: 'recorded',
        candidate_commit: runs[id],
        ...fields,
      });
      for (const [ms, heap] of points)
        ledger.addMeasurement({
          run_tag: 'par',
          experiment_id: id,
          during_id: id,
          commit_sha: runs[id]!,
          slot: 0,
          value: ms,
          metrics_json: JSON.stringify({ ms, heap }),
          exit_code: 0,
          wall_seconds: 1,
          peak_memory_bytes: null,
          log_path: null,
        });
    };
    row(0, { status: 'keep', left_front_by: 2 }, [
      [10, 10],
      [12, 10],
    ]);
    row(1, { status: 'discard' }, [[11, 12]]);
    row(2, { status: 'keep', title: 'fast' }, [[8, 9]]);
    const front = (await json(await req('/api/runs/par/front'))) as {
      metrics: unknown;
      points: Array<Record<string, unknown>>;
    };
    expect(front.metrics).toEqual(metrics);
    expect(front.points.map((p) => [p.id, p.member, p.leftBy, p.values])).toEqual([
      [0, false, 2, { ms: 11, heap: 10 }],
      [1, false, null, { ms: 11, heap: 12 }],
      [2, true, null, { ms: 8, heap: 9 }],
    ]);
    expect((await json(await req('/api/runs/par'))).pareto).toEqual(metrics);
    expect((await json(await req(`/api/runs/${TAG}`))).pareto).toBeNull();
    expect(await json(await req(`/api/runs/${TAG}/front`))).toEqual({ metrics: null, points: [] });
    expect((await req('/static/front.js')).status).toBe(200);
  });

  it("gives an experiment's details as raw text (diff, brief, log tail) and its full log by id only", async () => {
    const d = await json(await req(`/api/runs/${TAG}/experiments/1`));
    expect(d).toMatchObject({
      id: 1,
      title: `raise to 2 ${XSS}`,
      hypothesis: 'a larger VALUE <b>scores</b> higher',
      brief: 'Raise the score.\n',
      candidate_commit: candidate,
    });
    expect(d.diff).toContain('+VALUE=2');
    expect(d.log).toEqual({
      tail: 'starting <script>x</script>\nscore: 2\n',
      size: 37,
      truncated: false,
    });
    const log = await req(`/api/runs/${TAG}/experiments/1/log`);
    expect(log.status).toBe(200);
    expect(log.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(log.headers.get('content-disposition')).toBe(`attachment; filename="${TAG}-1.log"`);
    expect(await log.text()).toBe('starting <script>x</script>\nscore: 2\n');
    for (const bad of ['999999', 'abc', '..%2F..%2Fprogram.md', '-1']) {
      expect((await req(`/api/runs/${TAG}/experiments/${bad}/log`)).status, bad).toBe(404);
    }
  });

  it('streams hello, then a change naming the experiment that changed', async () => {
    const ac = new AbortController();
    const r = await req(`/api/runs/${TAG}/events`, { signal: ac.signal });
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const reader = r.body!.getReader();
    let text = '';
    const read = async (until: string) => {
      while (!text.includes(until)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${until}: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await read('event: hello');
    ledger.updateExperiment(TAG, 2, {
      state: 'recorded',
      status: 'discard',
      primary_value: 1.5,
      recorded_at: Date.now(),
    });
    await read('event: change');
    ac.abort();
    await reader.cancel().catch(() => {});
    const change = /event: change\ndata: (.*)\n/.exec(text)![1]!;
    expect(JSON.parse(change)).toEqual({ tag: TAG, experiments: [2], run: false });
    ledger.updateExperiment(TAG, 2, {
      state: 'running',
      status: null,
      primary_value: null,
      recorded_at: null,
    });
  });
});

describe('controls', () => {
  it('pause, resume, abort and stop now reach the harness through the run folder and a signal', async () => {
    const harness = liveHarness()!;
    const paused = await post(`/api/runs/${TAG}/pause`);
    expect(paused.status).toBe(200);
    expect(await paused.json()).toEqual({
      ok: true,
      message: `run ${TAG}: pausing after the experiments in flight (autoresearch resume to continue)`,
    });
    expect(existsSync(paths().pauseFile)).toBe(true);
    expect((await json(await req(`/api/runs/${TAG}`))).state).toBe('paused');
    expect((await json(await post(`/api/runs/${TAG}/resume`))).message).toBe(`run ${TAG}: resumed`);
    expect(existsSync(paths().pauseFile)).toBe(false);
    expect((await post(`/api/runs/${TAG}/abort`)).status).toBe(200);
    expect(existsSync(paths().abortFile)).toBe(true);
    const now = await post(`/api/runs/${TAG}/stop-now`);
    expect(now.status).toBe(200);
    expect((await json(now)).message).toContain('stopping now');
    expect(existsSync(paths().stopFile)).toBe(true);
    expect((await exited(harness)).signal).toBe('SIGTERM');
  });

  it('answers a run that is not running with 409 and the reason, an unknown run with 404', async () => {
    const r = await post(`/api/runs/${TAG}/stop`);
    expect(r.status).toBe(409);
    expect(await r.json()).toEqual({
      ok: false,
      code: 'not-running',
      error: `run ${TAG} is not running (stopped: reached 40 experiments); nothing to stop`,
    });
    for (const verb of ['pause', 'resume', 'abort', 'stop-now'])
      expect((await post(`/api/runs/${TAG}/${verb}`)).status, verb).toBe(409);
    const unknown = await post('/api/runs/nope/pause');
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error).toBe('no run "nope" in the ledger');
  });

  it('controls the run from inside its own harness (the dashboard `autoresearch run` serves)', async () => {
    liveHarness(process.pid);
    expect(((await json(await req('/api/runs'))).runs as Array<{ state: string }>)[0]!.state).toBe(
      'running',
    );
    expect((await post(`/api/runs/${TAG}/pause`)).status).toBe(200);
    expect(existsSync(paths().pauseFile)).toBe(true);
    expect((await post(`/api/runs/${TAG}/resume`)).status).toBe(200);
  });

  it('re-runs only a recorded experiment with a commit; notes need text', async () => {
    const rerun = await post(`/api/runs/${TAG}/experiments/1/rerun`);
    expect(await rerun.json()).toEqual({
      ok: true,
      experiment: 1,
      waiting: true,
      message: `run ${TAG}: experiment 1 will be measured again when the run continues (autoresearch run)`,
    });
    expect((await post(`/api/runs/${TAG}/experiments/2/rerun`)).status).toBe(409); // still running
    expect((await post(`/api/runs/${TAG}/experiments/99/rerun`)).status).toBe(404);
    expect(ledger.takeRerun(TAG)).toBe(1);
    expect(ledger.takeRerun(TAG)).toBeNull();

    const note = await post(`/api/runs/${TAG}/note`, { text: '  try <b>bigger</b> steps  ' });
    expect(await note.json()).toEqual({
      ok: true,
      notes: ['try <b>bigger</b> steps'],
      message: `run ${TAG}: 1 steering note; the next brief shows them`,
    });
    expect((await post(`/api/runs/${TAG}/note`, { text: ' ' })).status).toBe(400);
    expect((await post(`/api/runs/${TAG}/note`, { words: 'x' })).status).toBe(400);
    expect((await post(`/api/runs/${TAG}/note`, { text: 'x'.repeat(10_001) })).status).toBe(400);
    expect(ledger.notes(TAG)).toEqual(['try <b>bigger</b> steps']);
  });
});
