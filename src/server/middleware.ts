/**
 * The dashboard's guards, in the order they run: response headers (Hono's secure-headers, plus no
 * caching), the Host check against DNS rebinding, the token, and the origin of state changes.
 */
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { hostOf, sameToken } from './security.js';

/** CSP and the usual headers; no HSTS (it is plain HTTP, and a proxy's name should not inherit it). */
export function dashboardHeaders(): MiddlewareHandler {
  const secure = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'same-origin',
    strictTransportSecurity: false,
  });
  return async (c, next) => {
    c.header('Cache-Control', 'no-store');
    await secure(c, next);
  };
}

const MISDIRECTED =
  'misdirected request: this dashboard does not answer to that Host name (a guard against DNS rebinding).\n' +
  'Open the address it printed, or start it with --allow-host <name> to serve it under another name.\n';

/** Before the token: to the browser, a page under a rebound name is this origin; it gets nothing. */
export function hostCheck(allowed: (host: string | undefined) => boolean): MiddlewareHandler {
  return async (c, next) => {
    if (!allowed(c.req.header('host'))) return c.text(MISDIRECTED, 421);
    await next();
  };
}

/**
 * The token, three ways: `?token=` (it becomes an HttpOnly cookie; a page then leaves the address
 * bar through a redirect, an `/api/` address answers at once, so a script or a shared link to a
 * log gets data), the cookie, or `Authorization: Bearer` (scripts). Hono's bearer-auth knows only
 * the last, and answers a malformed header with 400 and plain text; this one answers 401 in JSON.
 */
export function tokenAuth(token: string, cookieName: string): MiddlewareHandler {
  return async (c, next) => {
    const q = c.req.query('token');
    if (q !== undefined) {
      if (!sameToken(q, token)) return c.json({ error: 'unauthorized' }, 401);
      setCookie(c, cookieName, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      if (c.req.path.startsWith('/api/')) return next();
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(url.pathname + url.search, 303);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    if (!sameToken(getCookie(c, cookieName), token) && !sameToken(bearer, token))
      return c.json({ error: 'unauthorized' }, 401);
    await next();
  };
}

/**
 * Any method but GET and HEAD must come from a page of this server: its Origin (or, without one,
 * its Referer) must name the Host it was sent to; a client that sends neither (curl, a script
 * with the token) passes. Hono's csrf middleware checks form and text bodies only, trusting CORS
 * preflight for JSON; this refuses any body type from another origin.
 */
export function sameOrigin(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const expected = (c.req.header('host') ?? '').toLowerCase();
      const origin = c.req.header('origin');
      const referer = c.req.header('referer');
      const from =
        origin !== undefined
          ? origin === 'null'
            ? null
            : hostOf(origin)
          : referer !== undefined
            ? hostOf(referer)
            : expected;
      if (!expected || from !== expected)
        return c.json({ error: 'cross-origin request refused' }, 403);
    }
    await next();
  };
}
