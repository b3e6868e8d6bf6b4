/**
 * The live dashboard: a small Hono app that reads the run ledger (while the loop writes it) and
 * serves JSON, an SSE change stream, the static page in src/web, and pause/resume/stop/note controls.
 * Every request must name a host the server is served under (DNS rebinding), then carry the token
 * (query once -> cookie, cookie, or Bearer header).
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { Ledger } from '../ledger/ledger.js';
import type { ExperimentRow, RunRow } from '../ledger/types.js';
import { ledgerPath, runPaths } from '../loop/context.js';
import { liveHarness } from '../loop/setup.js';
import { git, resolveRef } from '../workspace/git.js';
import { parseJson, readBelow, readTail, readText, STATIC, webDir } from './files.js';
import { hostGuard, hostOf, isNonLoopbackHost, sameToken } from './security.js';
import { experimentJson, runView } from './views.js';

export { isNonLoopbackHost };

export interface DashboardOptions {
  repo: string;
  host?: string;
  port?: number;
  token?: string;
  /** More names the dashboard answers to (a reverse proxy's, a tunnel's), any port. */
  allowHosts?: string[];
}

export interface Dashboard {
  /** The address to open, with `?token=` (the page then drops it from the address bar). */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const LOG_TAIL_BYTES = 64 * 1024;
const DIFF_MAX_BYTES = 1024 * 1024;
const POLL_MS = 500;
const HEARTBEAT_MS = 10_000;

export interface DashboardAppOptions {
  repo: string;
  token: string;
  /** Named after the port, so two dashboards on one machine keep their own cookie. */
  cookieName: string;
  /** Whether a Host header names this server (see hostGuard). */
  hostAllowed: (host: string | undefined) => boolean;
}

export interface DashboardApp {
  app: Hono;
  /** Ends the event streams and closes the ledger. */
  close(): void;
}

const MISDIRECTED =
  'misdirected request: this dashboard does not answer to that Host name (a guard against DNS rebinding).\n' +
  'Open the address it printed, or start it with --allow-host <name> to serve it under another name.\n';

export function dashboardApp(opts: DashboardAppOptions): DashboardApp {
  const repo = resolve(opts.repo);
  const { token, cookieName } = opts;
  let ledger: Ledger | null = null;
  let closing = false;

  const openLedger = (): Ledger | null => {
    if (ledger || closing) return ledger;
    const path = ledgerPath(repo);
    if (!existsSync(path)) return null;
    ledger = new Ledger(path);
    return ledger;
  };

  const runOf = (tag: string): { ledger: Ledger; run: RunRow } | null => {
    const l = openLedger();
    const run = l?.getRun(tag);
    return l && run ? { ledger: l, run } : null;
  };

  /** The effective state: the ledger's, or 'paused' while the PAUSE file exists and the harness lives. */
  const stateOf = (run: RunRow): { state: string; pid: number | null } => {
    const pid = liveHarness(run);
    if (pid && existsSync(runPaths(repo, run.tag).pauseFile)) return { state: 'paused', pid };
    if (run.state === 'running' && !pid) return { state: 'not running', pid };
    return { state: run.state, pid };
  };

  /**
   * A file of the experiment's folder, as the run's work folder and the path below it: only files
   * the harness writes there are served, by experiment id, and never through a link (openBelow).
   */
  const experimentFile = (run: RunRow, r: ExperimentRow, name: string): [string, string] => [
    runPaths(repo, run.tag, run.work_dir).workDir,
    join('experiments', String(r.id), name),
  ];
  const logFile = (run: RunRow, r: ExperimentRow): [string, string] => {
    const own = runPaths(repo, run.tag, run.work_dir).experimentDir(r.id);
    const named = r.log_path && dirname(resolve(repo, r.log_path)) === own ? basename(r.log_path) : 'run.log';
    return experimentFile(run, r, named);
  };

  const app = new Hono();

  app.use('*', async (c, next) => {
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cache-Control', 'no-store');
    c.header('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    // Before the token: to the browser, a page under a rebound name is this origin; it gets nothing.
    if (!opts.hostAllowed(c.req.header('host'))) return c.text(MISDIRECTED, 421);
    const q = c.req.query('token');
    if (q !== undefined) {
      if (!sameToken(q, token)) return c.json({ error: 'unauthorized' }, 401);
      setCookie(c, cookieName, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(url.pathname + url.search, 303);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    if (!sameToken(getCookie(c, cookieName), token) && !sameToken(bearer, token)) return c.json({ error: 'unauthorized' }, 401);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const expected = (c.req.header('host') ?? '').toLowerCase();
      const origin = c.req.header('origin');
      const referer = c.req.header('referer');
      const from = origin !== undefined ? (origin === 'null' ? null : hostOf(origin)) : referer !== undefined ? hostOf(referer) : expected;
      if (!expected || from !== expected) return c.json({ error: 'cross-origin request refused' }, 403);
    }
    await next();
  });

  app.get('/', (c) => {
    const html = readText(join(webDir(), 'index.html'));
    return html === null ? c.text('page missing', 500) : c.html(html);
  });

  app.get('/static/:name', (c) => {
    const entry = STATIC[c.req.param('name')];
    if (!entry) return c.text('not found', 404);
    const body = readText(entry.file());
    if (body === null) return c.text('not found', 404);
    return c.body(body, 200, { 'Content-Type': entry.type });
  });

  app.get('/api/runs', (c) => {
    const l = openLedger();
    const runs = (l?.listRuns() ?? []).map((r) => ({
      tag: r.tag,
      branch: r.branch,
      state: stateOf(r).state,
      metric: r.metric_name,
      goal: r.goal,
      created_at: r.created_at,
      updated_at: r.updated_at,
    }));
    runs.sort((a, b) => b.updated_at - a.updated_at);
    return c.json({ runs });
  });

  app.get('/api/runs/:tag', async (c) => {
    const found = runOf(c.req.param('tag'));
    if (!found) return c.json({ error: 'no such run' }, 404);
    const { ledger: l, run } = found;
    const rows = l.listExperiments(run.tag);
    const head = await resolveRef(repo, run.branch).catch(() => null);
    return c.json(runView(run, rows, head, stateOf(run), l.spend(run.tag), Date.now()));
  });

  app.get('/api/runs/:tag/experiments', (c) => {
    const found = runOf(c.req.param('tag'));
    if (!found) return c.json({ error: 'no such run' }, 404);
    return c.json({ experiments: found.ledger.listExperiments(found.run.tag).map(experimentJson) });
  });

  const experimentOf = (c: Context): { run: RunRow; row: ExperimentRow } | null => {
    const found = runOf(c.req.param('tag') ?? '');
    const idText = c.req.param('id') ?? '';
    if (!found || !/^\d{1,9}$/.test(idText)) return null;
    const row = found.ledger.getExperiment(found.run.tag, Number(idText));
    return row ? { run: found.run, row } : null;
  };

  app.get('/api/runs/:tag/experiments/:id', async (c) => {
    const found = experimentOf(c);
    if (!found) return c.json({ error: 'no such experiment' }, 404);
    const { run, row } = found;
    let diff: string | null = null;
    if (row.candidate_commit && row.parent_commit && row.candidate_commit !== row.parent_commit) {
      diff = await git(repo, ['diff', row.parent_commit, row.candidate_commit], { allowFail: true });
      if (diff.length > DIFF_MAX_BYTES) diff = diff.slice(0, DIFF_MAX_BYTES) + '\n… (diff truncated)\n';
    }
    const tail = readTail(...logFile(run, row), LOG_TAIL_BYTES);
    return c.json({
      ...experimentJson(row),
      hypothesis: row.hypothesis,
      agent: row.agent,
      parent_commit: row.parent_commit,
      candidate_commit: row.candidate_commit,
      incumbent_value: row.incumbent_value,
      penalty: row.penalty,
      exit_code: row.exit_code,
      wall_seconds: row.wall_seconds,
      files_changed: row.files_changed,
      lines_added: row.lines_added,
      lines_deleted: row.lines_deleted,
      input_tokens: row.input_tokens,
      output_tokens: row.output_tokens,
      cached_tokens: row.cached_tokens,
      cache_write_tokens: row.cache_write_tokens,
      decision: parseJson(row.decision_json),
      metrics: parseJson(row.metrics_json),
      holdout: parseJson(row.holdout_json),
      diff,
      brief: readBelow(...experimentFile(run, row, 'brief.md'))?.toString('utf8') ?? null,
      log: tail ? { tail: tail.text, size: tail.size, truncated: tail.truncated } : null,
    });
  });

  app.get('/api/runs/:tag/experiments/:id/log', (c) => {
    const found = experimentOf(c);
    if (!found) return c.json({ error: 'no such experiment' }, 404);
    const log = readBelow(...logFile(found.run, found.row));
    if (log === null) return c.json({ error: 'no log' }, 404);
    return c.body(new Uint8Array(log), 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="${found.run.tag}-${found.row.id}.log"`,
    });
  });

  app.get('/api/runs/:tag/events', (c) => {
    const tag = c.req.param('tag');
    if (!runOf(tag)) return c.json({ error: 'no such run' }, 404);
    return streamSSE(c, async (stream) => {
      let seen = new Map<number, string>();
      let runKey = '';
      let first = true;
      let lastBeat = Date.now();
      while (!stream.aborted && !closing) {
        const found = runOf(tag);
        if (found) {
          const rows = found.ledger.listExperiments(tag);
          const now = new Map(rows.map((r) => [r.id, `${r.state}|${r.status}|${r.primary_value}|${r.holdout_value}`] as const));
          const changed = first ? [] : rows.filter((r) => seen.get(r.id) !== now.get(r.id)).map((r) => r.id);
          const key = `${stateOf(found.run).state}|${found.run.stop_reason}`;
          if (first) await stream.writeSSE({ event: 'hello', data: JSON.stringify({ tag, state: key }) });
          else if (changed.length || key !== runKey) {
            await stream.writeSSE({ event: 'change', data: JSON.stringify({ tag, experiments: changed, run: key !== runKey }) });
          }
          seen = now;
          runKey = key;
          first = false;
        }
        if (Date.now() - lastBeat >= HEARTBEAT_MS) {
          await stream.writeSSE({ event: 'heartbeat', data: String(Date.now()) });
          lastBeat = Date.now();
        }
        await stream.sleep(POLL_MS);
      }
    });
  });

  const control = (verb: 'pause' | 'resume' | 'stop' | 'stop-now' | 'abort') =>
    app.post(`/api/runs/:tag/${verb}`, (c) => {
      const found = runOf(c.req.param('tag'));
      if (!found) return c.json({ error: 'no such run' }, 404);
      const paths = runPaths(repo, found.run.tag);
      const pid = liveHarness(found.run);
      if (verb === 'resume') {
        rmSync(paths.pauseFile, { force: true });
        return c.json({ ok: true, message: pid ? 'resumed' : 'not running; start it with autoresearch run --tag ' + found.run.tag });
      }
      if (!pid) return c.json({ ok: false, message: `run ${found.run.tag} is not running` }, 409);
      mkdirSync(paths.runDir, { recursive: true });
      // The same files (and signal) the CLI uses: autoresearch pause / stop [--now] / abort.
      const file = verb === 'pause' ? paths.pauseFile : verb === 'abort' ? paths.abortFile : paths.stopFile;
      writeFileSync(file, `${verb} requested at ${new Date().toISOString()}\n`);
      // Like Ctrl-C: the experiments in flight are killed and run again when the run resumes.
      if (verb === 'stop-now') process.kill(pid, 'SIGTERM');
      const messages = {
        pause: 'pausing after the experiments in flight',
        stop: 'will stop after the experiment in flight',
        'stop-now': 'stopping now: the experiments in flight are killed and run again on resume',
        abort: 'aborting the experiments in flight',
      };
      return c.json({ ok: true, message: messages[verb] });
    });
  control('pause');
  control('resume');
  control('stop');
  control('stop-now');
  control('abort');

  app.post('/api/runs/:tag/experiments/:id/rerun', (c) => {
    const found = runOf(c.req.param('tag'));
    if (!found) return c.json({ error: 'no such run' }, 404);
    const id = c.req.param('id');
    const row = /^\d{1,9}$/.test(id) ? found.ledger.getExperiment(found.run.tag, Number(id)) : undefined;
    if (!row?.candidate_commit || row.state !== 'recorded') return c.json({ error: 'no finished experiment with that id' }, 404);
    found.ledger.requestRerun(found.run.tag, row.id);
    return c.json({ ok: true, message: `experiment ${row.id} will be measured again ${liveHarness(found.run) ? 'before the next proposal' : 'when the run continues'}` });
  });

  app.post('/api/runs/:tag/note', async (c) => {
    const found = runOf(c.req.param('tag'));
    if (!found) return c.json({ error: 'no such run' }, 404);
    const body = (await c.req.json().catch(() => null)) as { text?: unknown } | null;
    const text = typeof body?.text === 'string' ? body.text.trim() : '';
    if (!text || text.length > 10_000) return c.json({ error: 'a note needs text (at most 10000 characters)' }, 400);
    found.ledger.addNote(found.run.tag, text);
    return c.json({ ok: true, notes: found.ledger.notes(found.run.tag) });
  });

  app.notFound((c) => c.json({ error: 'not found' }, 404));

  return {
    app,
    close: () => {
      closing = true;
      ledger?.close();
      ledger = null;
    },
  };
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(16).toString('hex');
  // The app needs the port (cookie name, Host check), known once listening.
  let handle: Hono['fetch'] = () => new Response('starting', { status: 503 });
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolveListen, reject) => {
    const s = serve({ fetch: (req, env) => handle(req, env), hostname: host, port: opts.port ?? 0 }, (info: AddressInfo) => resolveListen({ server: s, port: info.port }));
    s.once('error', reject);
  });
  const dash = dashboardApp({ repo: opts.repo, token, cookieName: `autoresearch_token_${port}`, hostAllowed: hostGuard(host, port, opts.allowHosts) });
  handle = dash.app.fetch;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;

  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((done) => {
        const s = server as ServerType & { closeAllConnections?: () => void };
        s.close(() => {
          dash.close();
          done();
        });
        s.closeAllConnections?.();
      }),
  };
}
