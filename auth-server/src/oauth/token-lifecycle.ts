// Koa middleware around oidc-provider's token endpoints for how tokens end, where its own
// behaviour falls short of this server's rules. Each one says which rule it adds.
import type { Context, Next } from 'koa';
import type { ProviderContext } from 'oidc-provider';
import type { Db } from '@pictor/migrations/db';
import { recordSuccessor } from '../adapter.ts';

type Middleware = (ctx: Context, next: Next) => Promise<void>;

/**
 * One refresh token, one successor (RFC 9700 §4.14.2). oidc-provider rotates the refresh token on
 * every use, and a rotated token presented again after the reuse grace revokes the grant. Within
 * the grace (parallel refreshes from two tabs, a retry that lost its response) each request would
 * mint its own successor: several live chains from one token. Here the first successor recorded
 * on the presented token's row wins; every other request discards the one it minted and answers
 * with the winner's, with the fresh access token it issued.
 */
export function singleRefreshChain(db: Db): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200) return;
    const { RotatedRefreshToken: presented, RefreshToken: minted } = (ctx as ProviderContext).oidc.entities;
    if (!presented || !minted) return;
    const successor = await recordSuccessor(db, presented.jti, minted.jti);
    if (successor === minted.jti) return;
    await minted.destroy();
    if (successor === undefined) {
      // the grant was revoked while this request ran: nothing it issued may leave
      ctx.status = 400;
      ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
      return;
    }
    (ctx.body as { refresh_token?: string }).refresh_token = successor;
  };
}
