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
import { listTeams } from '@pictor/platform/people';
import { saveAppLimits } from '@pictor/platform/app-limits';
import { appsPage } from '../views/account.ts';
import { activityPage, recentPerApp } from './activity.ts';
import { connectedAppName, connectedApps, disconnectApp } from './apps.ts';
import { asksLimit, limitsForm, readLimitsForm, type LimitsForm } from './limits.ts';
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

  /** The page for a signed-in person; `refused` re-shows one app's limits form as submitted, with its error. */
  async function showApps(ctx: Context, user: { id: string; email: string }, refused?: { clientId: string; form: LimitsForm }) {
    const [apps, teams] = await Promise.all([connectedApps(deps.db, user.id, deps.config.mcpUrl), listTeams(deps.db, user.id)]);
    const query = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined);
    const named = async (key: string) => {
      const id = query(key);
      return id ? connectedAppName(deps.db, user.id, id) : undefined;
    };
    // ?app=<client id> shows one app's activity; ?before=<cursor> the page of older entries
    const app = query('app');
    const [recent, page] = await Promise.all([
      recentPerApp(
        deps.db,
        user.id,
        apps.map((a) => a.clientId),
      ),
      activityPage(deps.db, user.id, { clientId: app, cursor: query('before') }),
    ]);
    sendHtml(
      ctx,
      appsPage({
        email: user.email,
        apps: apps.map((a) => ({
          ...a,
          dailyLimit: a.limits ? a.limits.dailyLimit : null,
          limitsForm: refused?.clientId === a.clientId ? refused.form : limitsForm(a.limits, null, teams, asksLimit(a.scopes)),
          recent: recent.get(a.clientId) ?? [],
        })),
        appActivityHref: (clientId: string) => `/account?app=${encodeURIComponent(clientId)}#activity`,
        activity: {
          entries: page.items,
          // the name from the database (the connected app, or its entries), never the URL's text
          appName: app === undefined ? undefined : (apps.find((a) => a.clientId === app)?.name ?? page.items[0]?.appName ?? 'this app'),
          olderHref: page.nextCursor
            ? `/account?${new URLSearchParams({ ...(app === undefined ? {} : { app }), before: page.nextCursor })}#activity`
            : undefined,
          allHref: '/account#activity',
        },
        csrf: deps.csrf.token(ctx),
        revokeAction: '/account/revoke',
        limitsAction: '/account/limits',
        signOutAction: '/account/signout',
        revoked: refused ? undefined : await named('revoked'),
        saved: refused ? undefined : await named('saved'),
      }),
      refused ? 400 : 200,
    );
  }

  router.get('/', async (ctx) => {
    const user = await session.who(ctx);
    if (!user) {
      const id = randomToken(16);
      const cookie = attemptCookie(secure);
      ctx.cookies.set(cookie.name, id, { ...cookie.options, maxAge: deps.config.ttl.interaction * 1000 });
      seeOther(ctx, `/account/signin/${id}`);
      return;
    }
    await showApps(ctx, user);
  });

  // Changes an app's spending limit and workspaces; the MCP server reads them on every call, so
  // they hold from the app's next call with the token it already has.
  router.post('/limits', async (ctx) => {
    const form = await readForm(ctx);
    deps.csrf.verify(ctx, form);
    const user = await session.who(ctx);
    if (!user) throw new HttpError(401, 'session_not_found');
    const clientId = form.get('client_id') ?? '';
    const app = (await connectedApps(deps.db, user.id, deps.config.mcpUrl)).find((a) => a.clientId === clientId);
    if (!app) throw new HttpError(404, 'invalid_request', 'that app is not connected to your account');
    const teams = await listTeams(deps.db, user.id);
    const chosen = readLimitsForm(form, teams, asksLimit(app.scopes), app.limits?.dailyLimit ?? null);
    if (!chosen.ok) {
      await showApps(ctx, user, { clientId, form: chosen.form });
      return;
    }
    await saveAppLimits(deps.db, user.id, clientId, chosen.limits);
    await deps.audit.record({
      type: 'app.limits_changed',
      userId: user.id,
      clientId,
      ip: ctx.ip,
      detail: { daily_spend_limit_micro: chosen.limits.dailyLimit?.toString() ?? null, workspaces: chosen.limits.workspaces },
    });
    seeOther(ctx, `/account?saved=${encodeURIComponent(clientId)}`);
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
