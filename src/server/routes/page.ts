/** The page itself (src/web) and its few static files, by name from a fixed list. */
import { Hono } from 'hono';
import { join } from 'node:path';
import { readText, STATIC, webDir } from '../files.js';

export function pageRoutes(): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    const html = readText(join(webDir(), 'index.html'));
    return html === null ? c.text('page missing', 500) : c.html(html);
  });
  app.get('/static/:name', (c) => {
    const name = c.req.param('name');
    const entry = Object.hasOwn(STATIC, name) ? STATIC[name] : undefined;
    if (!entry) return c.text('not found', 404);
    const body = readText(entry.file());
    if (body === null) return c.text('not found', 404);
    return c.body(body, 200, { 'Content-Type': entry.type });
  });
  return app;
}
