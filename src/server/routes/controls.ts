/** The run's controls over HTTP: POST-only thin callers of loop/control.ts, refusals as HTTP statuses. */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as control from '../../loop/control.js';
import type { Outcome, RefusalCode, RunTarget } from '../../loop/control.js';
import type { LedgerSource } from '../source.js';

const STATUS: Record<RefusalCode, ContentfulStatusCode> = {
  'no-runs': 404,
  'no-run': 404,
  'no-experiment': 404,
  'not-running': 409,
  'not-finished': 409,
  'bad-note': 400,
};

export function controlRoutes(source: LedgerSource): Hono {
  const app = new Hono();

  const act = async (c: Context, verb: (t: RunTarget) => Outcome | Promise<Outcome>) => {
    const found = control.findRun(source.repo, source.open(), c.req.param('tag') ?? '');
    const out = control.isRefusal(found) ? found : await verb(found);
    if (out.ok) return c.json(out);
    return c.json(
      { ok: false, code: out.code, error: out.message, ...(out.hint ? { hint: out.hint } : {}) },
      STATUS[out.code],
    );
  };

  app.post('/:tag/pause', (c) => act(c, control.pause));
  app.post('/:tag/resume', (c) => act(c, control.resume));
  app.post('/:tag/stop', (c) => act(c, (t) => control.stop(t)));
  app.post('/:tag/stop-now', (c) => act(c, (t) => control.stop(t, { now: true })));
  app.post('/:tag/abort', (c) => act(c, control.abort));
  app.post('/:tag/experiments/:id/rerun', (c) =>
    act(c, (t) => control.rerun(t, c.req.param('id'))),
  );
  app.post('/:tag/note', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { text?: unknown } | null;
    return act(c, (t) => control.note(t, typeof body?.text === 'string' ? body.text : ''));
  });

  return app;
}
