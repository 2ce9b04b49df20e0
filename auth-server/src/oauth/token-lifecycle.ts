// Koa middleware around oidc-provider's token endpoints for how tokens end, where its own
// behaviour falls short of this server's rules. Each one says which rule it adds.
import type { Context, Next } from 'koa';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import { recordTokenRevocation } from '@pictor/platform/revocations';
import type { Clock } from '@pictor/platform/clock';
import { revokeGrants, rotationOf, successorInEffect } from '../adapter.ts';
import { publishedJwks, SIGNING_ALG } from '../keys.ts';

type Middleware = (ctx: Context, next: Next) => Promise<void>;

/**
 * One refresh token, one successor (RFC 9700 §4.14.2). oidc-provider rotates the refresh token on
 * every use, and a rotated token presented again after the reuse grace revokes the grant. Within
 * the grace (parallel refreshes from two tabs, a retry that lost its response) each request would
 * mint its own successor: several live chains from one token. The save of the successor records
 * it on the presented token's row only if none was recorded first (adapter.ts #saveSuccessor);
 * a request that lost answers with the winner's successor, with the fresh access token it issued.
 */
export function singleRefreshChain(db: Db): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200) return;
    const { RotatedRefreshToken: presented, RefreshToken: minted } = (ctx as unknown as KoaContextWithOIDC).oidc.entities;
    if (!presented || !minted || rotationOf(ctx)?.claimed) return;
    // Lost: its successor was not stored (the delete covers a save made some other way).
    await minted.destroy();
    const successor = await successorInEffect(db, presented.jti);
    if (successor === undefined) {
      // the grant was revoked while this request ran: nothing it issued may leave
      ctx.status = 400;
      ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
      return;
    }
    (ctx.body as { refresh_token?: string }).refresh_token = successor;
  };
}

/**
 * An authorization code is spent by any failed attempt to redeem it (RFC 9700 §2.1.1, RFC 7636
 * §4.6), not only by a successful one: oidc-provider checks the PKCE verifier before it consumes
 * the code, so whoever holds a stolen code could otherwise keep guessing verifiers, and the same
 * code would still work afterwards with the right one.
 */
export function spendCodeOnFailure(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 400) return;
    if ((ctx.body as { error?: string } | undefined)?.error !== 'invalid_grant') return;
    const { client, params, provider } = (ctx as unknown as KoaContextWithOIDC).oidc;
    if (!client || params?.grant_type !== 'authorization_code' || typeof params.code !== 'string') return;
    const code = await provider.AuthorizationCode.find(params.code, { ignoreExpiration: true });
    if (code?.clientId === client.clientId) await code.destroy();
  };
}

export interface AccessTokenRevocationDeps {
  db: Db;
  clock: Clock;
  issuer: string;
  accessTokenTtl: number;
}

/**
 * Access tokens can be revoked (RFC 7009 §2.1). Ours are JWTs, which oidc-provider refuses at
 * /token/revocation with unsupported_token_type after authenticating the client. Such a token,
 * when it verifies against this server's own keys and belongs to the authenticated client, ends
 * the grant it came from (grant_id claim), and is voided on every MCP replica like every token
 * of an ended grant (see revokeGrants). An invalid, expired or another client's token is answered
 * 200 and changes nothing (§2.2); a JWT that is not an access token (an ID token) stays unsupported.
 */
export function revocableAccessTokens(deps: AccessTokenRevocationDeps): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token/revocation' || ctx.status !== 400) return;
    if ((ctx.body as { error?: string } | undefined)?.error !== 'unsupported_token_type') return;
    const { client, params } = (ctx as unknown as KoaContextWithOIDC).oidc;
    const token = params?.token;
    if (!client || typeof token !== 'string' || !isAccessTokenJwt(token)) return;
    ctx.status = 200;
    ctx.body = '';
    const claims = await verifyOwnAccessToken(deps, token);
    if (!claims || claims.client_id !== client.clientId) return;
    await revokeGrants(deps.db, typeof claims.grant_id === 'string' ? [claims.grant_id] : []);
    await recordTokenRevocation(deps.db, claims.sub, claims.client_id); // also when its grant had already ended
  };
}

function isAccessTokenJwt(token: string): boolean {
  try {
    return (
      decodeProtectedHeader(token)
        .typ?.toLowerCase()
        .replace(/^application\//, '') === 'at+jwt'
    );
  } catch {
    return false;
  }
}

async function verifyOwnAccessToken(deps: AccessTokenRevocationDeps, token: string): Promise<(JWTPayload & { sub: string; client_id: string }) | undefined> {
  const keys = createLocalJWKSet(await publishedJwks(deps.db, deps.clock.now(), deps.accessTokenTtl));
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: deps.issuer,
      typ: 'at+jwt',
      algorithms: [SIGNING_ALG],
      requiredClaims: ['sub', 'client_id'],
    });
    return typeof payload.sub === 'string' && typeof payload.client_id === 'string' ? (payload as JWTPayload & { sub: string; client_id: string }) : undefined;
  } catch {
    return undefined;
  }
}
