// /account — the connected-apps page. A person signs in here with the same magic link as when
// connecting an app (or is already signed in from connecting one), sees each connected app with
// its permissions and last use, and can disconnect it.
import Router, { type RouterContext } from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { HttpError, readForm, sendHtml, seeOther } from '../http.ts';
import { randomToken } from '../secrets.ts';
import type { FlowHost, SigninDeps } from '../signin/flow.ts';
import { ownCookie } from '../cookies.ts';
import { signinHandlers } from '../signin/flow.ts';
import { appsPage } from '../views/account.ts';
import { activityPage, recentPerApp } from './activity.ts';
import { connectedAppName, connectedApps, disconnectApp } from './apps.ts';
import { accountSession, type AccountSession } from './session.ts';

/** Which connected-apps sign-in attempt this browser runs (the flow id of its magic link). */
const attemptCookie = (secure: boolean) => ownCookie('pictor_signin', { secure, path: '/account', signed: true });

function accountHost(session: AccountSession, secure: boolean): FlowHost {
  const cookie = attemptCookie(secure);
  return {
    kind: 'account',
    base: (attempt) => `/account/signin/${attempt}`,
    async current(ctx, attempt) {
      return ctx.cookies.get(cookie.name, { signed: true }) === attempt ? { id: attempt } : undefined;
    },
    async finish(ctx: Context, _attempt, userId) {
      ctx.cookies.set(cookie.name, '', { ...cookie.options, maxAge: 0 });
      session.signIn(ctx, userId);
      seeOther(ctx, '/account');
    },
    lookup: async (attempt) => ({ id: attempt }), // the link's own expiry bounds this flow
  };
}

export function accountRoutes(provider: Provider, deps: SigninDeps): Router {
  const secure = deps.config.issuer.startsWith('https:');
  const session = accountSession({ provider, db: deps.db, clock: deps.clock, secure, ttl: deps.config.ttl.session });
  const signin = signinHandlers(accountHost(session, secure), deps);
  const router = new Router({ prefix: '/account' });
  const attempt = (ctx: RouterContext) => ctx.params.attempt ?? '';

  router.get('/', async (ctx) => {
    const user = await session.who(ctx);
    if (!user) {
      const id = randomToken(16);
      const cookie = attemptCookie(secure);
      ctx.cookies.set(cookie.name, id, { ...cookie.options, maxAge: deps.config.ttl.interaction * 1000 });
      seeOther(ctx, `/account/signin/${id}`);
      return;
    }
    const apps = await connectedApps(deps.db, user.id, deps.config.mcpUrl);
    const revokedId = typeof ctx.query.revoked === 'string' ? ctx.query.revoked : undefined;
    const query = (name: string) => (typeof ctx.query[name] === 'string' ? ctx.query[name] as string : undefined);
    // ?app=<client id> shows one app's activity; ?before=<cursor> the page of older entries
    const app = query('app');
    const [recent, page] = await Promise.all([
      recentPerApp(deps.db, user.id, apps.map((a) => a.clientId)),
      activityPage(deps.db, user.id, { clientId: app, cursor: query('before') }),
    ]);
    const appHref = (clientId: string) => `/account?app=${encodeURIComponent(clientId)}#activity`;
    sendHtml(ctx, appsPage({
      email: user.email,
      apps: apps.map((a) => ({ ...a, recent: recent.get(a.clientId) ?? [] })),
      appActivityHref: appHref,
      activity: {
        entries: page.items,
        // the name from the database (the connected app, or its entries), never the URL's text
        appName: app === undefined ? undefined : apps.find((a) => a.clientId === app)?.name ?? page.items[0]?.appName ?? 'this app',
        olderHref: page.nextCursor
          ? `/account?${new URLSearchParams({ ...(app === undefined ? {} : { app }), before: page.nextCursor })}#activity`
          : undefined,
        allHref: '/account#activity',
      },
      csrf: deps.csrf.token(ctx),
      revokeAction: '/account/revoke',
      signOutAction: '/account/signout',
      revoked: revokedId ? await connectedAppName(deps.db, user.id, revokedId) : undefined,
    }));
  });

  router.post('/revoke', async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.verify(ctx, form);
    const user = await session.who(ctx);
    if (!user) throw new HttpError(401, 'session_not_found');
    const clientId = form.get('client_id') ?? '';
    if (await disconnectApp(deps.db, user.id, clientId)) {
      await deps.audit.record({ type: 'app.revoked', userId: user.id, clientId, ip: ctx.ip });
    }
    seeOther(ctx, `/account?revoked=${encodeURIComponent(clientId)}`);
  });

  router.post('/signout', async (ctx) => {
    deps.csrf.verify(ctx, await readForm(ctx));
    await session.signOut(ctx);
    seeOther(ctx, '/account');
  });

  router.get('/signin/:attempt', (ctx) => signin.page(ctx, attempt(ctx)));
  router.post('/signin/:attempt/login', (ctx) => signin.requestLink(ctx, attempt(ctx)));
  router.get('/signin/:attempt/status', (ctx) => signin.status(ctx, attempt(ctx)));
  router.post('/signin/:attempt/complete', (ctx) => signin.complete(ctx, attempt(ctx)));
  router.get('/signin/:attempt/link', (ctx) => signin.showLink(ctx, attempt(ctx)));
  router.post('/signin/:attempt/link', (ctx) => signin.confirmLink(ctx, attempt(ctx)));
  return router;
}
