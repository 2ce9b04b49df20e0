// Cross-cutting HTTP middleware: request ids and logs, security headers, error pages, and the
// static assets of the pages.
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Db } from '@pictor/platform/db';
import { isDatabaseUnavailable } from '@pictor/platform/db';
import { accessLogger } from '@pictor/platform/logging';
import { probeRoutes, readinessCheck } from '@pictor/platform/readiness';
import { HttpError, sendHtml } from './http.ts';
import type { SigningKeys } from './keys.ts';
import type { Logger } from './log.ts';
import { POLL_SCRIPT, STYLESHEET } from './views/assets.ts';
import { errorPage } from './views/errors.ts';

type Middleware = (ctx: Context, next: Next) => Promise<void>;

declare module 'koa' {
  interface DefaultState {
    /** Set when a request failed because Postgres could not be reached (see pageErrors). */
    databaseUnavailable?: boolean;
  }
}

/**
 * Every URL this server writes (metadata, registration_client_uri, redirects, the resume URL of
 * an interaction) is built by oidc-provider from the request's protocol and host. Those come from
 * the client (Host, X-Forwarded-Host/Proto, or an absolute request target), so a forged one would
 * put its own host in the metadata a cache may keep. Here they always read AUTH_ISSUER's; the
 * server still answers under any name, such as the internal one the MCP server fetches /jwks by.
 */
export function pinIssuer(issuer: string): Middleware {
  const { protocol, host, hostname } = new URL(issuer);
  const pinned = { protocol: { value: protocol.slice(0, -1) }, host: { value: host }, hostname: { value: hostname } };
  return async (ctx, next) => {
    if (/^https?:\/\//i.test(ctx.originalUrl)) {
      const target = URL.parse(ctx.originalUrl);
      ctx.url = ctx.originalUrl = ctx.request.originalUrl = target ? `${target.pathname}${target.search}` : '/';
    }
    // Koa's getters for these (and href, secure and URL, which derive from them) live on the
    // request's prototype; own properties take precedence for this request only.
    Object.defineProperties(ctx.request, pinned);
    await next();
  };
}

/** One line per request, with the path only: query strings carry codes and link tokens. `counted` gets each response (metrics). */
export function requestLog(log: Logger, counted?: (path: string, status: number) => void): Middleware {
  const access = accessLogger(log);
  return async (ctx, next) => {
    const started = performance.now();
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
    } finally {
      counted?.(ctx.path, ctx.status);
      access.info({ id: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) }, 'request');
    }
  };
}

// No inline scripts or styles: our pages load /assets/*; oidc-provider adds the hash of its own
// form_post script to this header when it renders one. frame-ancestors 'none' stops
// clickjacking of the consent page (X-Frame-Options for older browsers).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(https: boolean): Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (https) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
  };
}

/**
 * Errors of our own pages become readable pages: an HttpError shows its text, anything else is
 * logged with the request id and shown as a generic error, never a stack. When the database
 * cannot be reached, every answer — our pages, and oidc-provider's endpoints, which mark the
 * request through markDatabaseOutage — is a 503 with Retry-After that says so, not a 500.
 */
export function pageErrors(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) sendHtml(ctx, errorPage('not_found'), 404);
      if (ctx.status === 500 && ctx.state.databaseUnavailable) databaseOutage(ctx);
    } catch (error) {
      if (error instanceof HttpError) {
        sendHtml(ctx, errorPage(error.code, error.description), error.status);
        return;
      }
      if (isDatabaseUnavailable(error)) {
        log.warn({ err: error, id: ctx.state.requestId, path: ctx.path }, 'database unavailable');
        databaseOutage(ctx);
        return;
      }
      log.error({ err: error, id: ctx.state.requestId, path: ctx.path }, 'request failed');
      sendHtml(ctx, errorPage('server_error', `request id ${String(ctx.state.requestId)}`), 500);
    }
  };
}

/** For oidc-provider's 'server_error' event: a database outage, so pageErrors answers 503. */
export function markDatabaseOutage(ctx: { state?: Record<string, unknown> }, error: unknown): boolean {
  if (!isDatabaseUnavailable(error) || !ctx.state) return false;
  ctx.state.databaseUnavailable = true;
  return true;
}

// OAuth endpoints and API clients get JSON (RFC 6749 §5.2 shape, with the `temporarily_unavailable`
// code of §4.1.2.1); a browser (Accept: text/html) gets a page. Nothing was changed, so the client
// may simply retry.
function databaseOutage(ctx: Context): void {
  ctx.set('Retry-After', '5');
  const json = typeof ctx.body === 'object' && ctx.body !== null && !Buffer.isBuffer(ctx.body) && 'error' in ctx.body;
  if (json || !/text\/html/i.test(ctx.get('Accept'))) {
    ctx.status = 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: 'temporarily_unavailable', error_description: 'the authorization server cannot reach its database; try again in a few seconds' };
    return;
  }
  sendHtml(ctx, errorPage('temporarily_unavailable'), 503);
}

const ASSETS: Record<string, { type: string; body: string }> = {
  '/assets/style.css': { type: 'text/css; charset=utf-8', body: STYLESHEET },
  '/assets/poll.js': { type: 'text/javascript; charset=utf-8', body: POLL_SCRIPT },
};

export function assets(): Middleware {
  return async (ctx, next) => {
    const asset = ctx.method === 'GET' ? ASSETS[ctx.path] : undefined;
    if (!asset) return next();
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = asset.body;
  };
}

/**
 * GET /livez and GET /readyz for load balancers, compose and `npm start` (shape and database
 * checks shared with the MCP server). Ready also needs an activated signing key loaded.
 */
export function health(db: Db, keys: Pick<SigningKeys, 'signingKid'>): Middleware {
  return probeRoutes(
    readinessCheck(db, {
      signing_keys: () => {
        try {
          keys.signingKid();
          return 'ok';
        } catch {
          return 'not_loaded';
        }
      },
    }),
  );
}
