/**
 * The live dashboard: a Hono app composed of route modules (routes/: the page, runs and
 * experiments as JSON, the SSE change stream, the controls) behind the guards in middleware.ts,
 * all reading the run ledger while the loop writes it. `startDashboard` gives it a socket.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { dashboardHeaders, hostCheck, sameOrigin, tokenAuth } from './middleware.js';
import { controlRoutes } from './routes/controls.js';
import { eventRoutes } from './routes/events.js';
import { pageRoutes } from './routes/page.js';
import { runRoutes } from './routes/runs.js';
import { hostGuard, isNonLoopbackHost } from './security.js';
import { LedgerSource } from './source.js';

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

/** The whole dashboard as a Hono app, without a socket: `app.request()` drives it in tests. */
export function createDashboardApp(opts: DashboardAppOptions): DashboardApp {
  const source = new LedgerSource(opts.repo);
  const app = new Hono();
  app.use('*', dashboardHeaders());
  app.use('*', hostCheck(opts.hostAllowed));
  app.use('*', tokenAuth(opts.token, opts.cookieName));
  app.use('*', sameOrigin());
  app.route('/', pageRoutes());
  app.route('/api/runs', runRoutes(source));
  app.route('/api/runs', eventRoutes(source));
  app.route('/api/runs', controlRoutes(source));
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  return { app, close: () => source.close() };
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(16).toString('hex');
  // The app needs the port (cookie name, Host check), known once listening.
  let handle: Hono['fetch'] = () => new Response('starting', { status: 503 });
  const { server, port } = await new Promise<{ server: ServerType; port: number }>(
    (resolveListen, reject) => {
      const s = serve(
        { fetch: (req, env) => handle(req, env), hostname: host, port: opts.port ?? 0 },
        (info: AddressInfo) => resolveListen({ server: s, port: info.port }),
      );
      s.once('error', reject);
    },
  );
  const dash = createDashboardApp({
    repo: opts.repo,
    token,
    cookieName: `autoresearch_token_${port}`,
    hostAllowed: hostGuard(host, port, opts.allowHosts),
  });
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
