// Koa middleware around oidc-provider's endpoints, for the parts of this server's policy that
// sit outside its configuration. Each one matches one endpoint and says why it exists.
import type { Context, Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { rotationOf } from '../adapter.ts';
import type { Audit } from '../audit.ts';
import type { RateLimit } from '../config.ts';
import { publishedJwks } from '../keys.ts';
import { hit } from '../rate-limit.ts';

type Middleware = (ctx: Context, next: Next) => Promise<void>;

/**
 * A request that asks for none of the MCP scopes (or no scope at all) gets `pictor:read`
 * instead of a token that can do nothing (RFC 6749 §3.3: the server may apply a default scope).
 */
export function defaultScope(mcpScopes: readonly string[], fallback: string): Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      const params = new URLSearchParams(ctx.querystring);
      const requested = (params.get('scope') ?? '').split(' ').filter(Boolean);
      if (!requested.some((s) => mcpScopes.includes(s))) {
        params.set('scope', [...requested, fallback].join(' '));
        ctx.querystring = params.toString();
      }
    }
    await next();
  };
}

/**
 * Registration is open to browser-based clients (CORS, no credentials involved) and rate
 * limited per IP, since anyone may call it.
 */
export function registrationGuard(deps: { db: Db; clock: Clock; limit: RateLimit; audit: Audit }): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/reg' && !ctx.path.startsWith('/reg/')) return next();
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Access-Control-Expose-Headers', 'WWW-Authenticate');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'GET, POST');
      ctx.set('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      ctx.set('Access-Control-Max-Age', '3600');
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/reg') {
      const decision = await hit(deps.db, deps.clock, `register:ip:${ctx.ip}`, deps.limit);
      if (!decision.allowed) {
        ctx.status = 429;
        ctx.set('Retry-After', String(decision.retryAfter));
        ctx.body = { error: 'temporarily_unavailable', error_description: 'too many client registrations from this address; try again later' };
        return;
      }
    }
    await next();
    if (ctx.method === 'POST' && ctx.status === 201) {
      const body = ctx.body as { client_id?: string; client_name?: string };
      await deps.audit.record({ type: 'client.registered', clientId: body.client_id, ip: ctx.ip, detail: { name: body.client_name ?? null } });
    }
  };
}

/**
 * The JWKS comes from the database rather than the keys this process loaded at start, so every
 * replica publishes the same set, including a new key another replica prepared (see keys.ts).
 */
export function jwksFromDatabase(deps: { db: Db; clock: Clock; accessTokenTtl: number }): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' || ctx.path !== '/jwks') return next();
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.type = 'application/jwk-set+json; charset=utf-8';
    ctx.body = await publishedJwks(deps.db, deps.clock.now(), deps.accessTokenTtl);
  };
}

/**
 * Every token issued records that the person's app was used: the connected-apps page shows it,
 * and clients that never got a token are purged after a while. A refresh whose successor was
 * recorded has done so in the same statement (adapter.ts #saveSuccessor).
 */
export function recordConnections(deps: { db: Db; clock: Clock }): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200 || rotationOf(ctx)?.claimed) return;
    const { entities } = (ctx as KoaContextWithOIDC).oidc;
    const grant = entities.Grant;
    if (!grant?.accountId || !grant.clientId) return;
    const now = deps.clock.now();
    await deps.db
      .insertInto('auth_connections')
      .values({
        user_id: grant.accountId,
        client_id: grant.clientId,
        client_name: entities.Client?.clientName ?? null,
        first_authorized_at: now,
        last_used_at: now,
      })
      .onConflict((oc) =>
        oc.columns(['user_id', 'client_id']).doUpdateSet((eb) => ({
          last_used_at: now,
          client_name: eb.ref('excluded.client_name'),
        })),
      )
      .execute();
  };
}
