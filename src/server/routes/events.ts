/** The server-sent change stream of a run: the ledger polled, a `change` when an experiment or the run's state moves. */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { runState } from '../../loop/control.js';
import type { LedgerSource } from '../source.js';

const POLL_MS = 500;
const HEARTBEAT_MS = 10_000;

export function eventRoutes(source: LedgerSource): Hono {
  const app = new Hono();
  app.get('/:tag/events', (c) => {
    const tag = c.req.param('tag');
    if (!source.run(tag)) return c.json({ error: 'no such run' }, 404);
    return streamSSE(c, async (stream) => {
      let seen = new Map<number, string>();
      let runKey = '';
      let first = true;
      let lastBeat = Date.now();
      while (!stream.aborted && !source.closed) {
        const found = source.run(tag);
        if (found) {
          const rows = found.ledger.listExperiments(tag);
          const now = new Map(
            rows.map(
              (r) =>
                [r.id, `${r.state}|${r.status}|${r.primary_value}|${r.holdout_value}`] as const,
            ),
          );
          const changed = first
            ? []
            : rows.filter((r) => seen.get(r.id) !== now.get(r.id)).map((r) => r.id);
          const key = `${runState(source.repo, found.run).state}|${found.run.stop_reason}`;
          if (first)
            await stream.writeSSE({ event: 'hello', data: JSON.stringify({ tag, state: key }) });
          else if (changed.length || key !== runKey) {
            await stream.writeSSE({
              event: 'change',
              data: JSON.stringify({ tag, experiments: changed, run: key !== runKey }),
            });
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
  return app;
}
