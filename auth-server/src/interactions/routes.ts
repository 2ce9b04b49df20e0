// /interaction/:uid — where oidc-provider sends the browser when the authorization request needs
// the person (interactions.url): sign in (magic link), then consent.
import Router, { type RouterContext } from '@koa/router';
import type Provider from 'oidc-provider';
import { HttpError } from '../http.ts';
import type { SigninDeps } from '../signin/flow.ts';
import { signinHandlers } from '../signin/flow.ts';
import { consentHandlers } from './consent.ts';
import { interactionHost, interactionOf } from './host.ts';

export function interactionRoutes(provider: Provider, deps: SigninDeps): Router {
  const signin = signinHandlers(interactionHost(provider, deps.db, deps.clock), deps);
  const consent = consentHandlers({ provider, db: deps.db, csrf: deps.csrf, audit: deps.audit, mcpUrl: deps.config.mcpUrl });
  const router = new Router({ prefix: '/interaction/:uid' });

  async function details(ctx: RouterContext, prompt?: string) {
    const found = await interactionOf(provider, ctx, ctx.params.uid ?? '');
    if (!found || (prompt && found.prompt.name !== prompt)) throw new HttpError(400, 'session_not_found');
    return found;
  }

  router.get('/', async (ctx) => {
    const found = await details(ctx);
    if (found.prompt.name === 'login') await signin.page(ctx, found.uid);
    else if (found.prompt.name === 'consent') await consent.page(ctx, found);
    else throw new HttpError(400, 'invalid_request', `unsupported prompt ${found.prompt.name}`);
  });
  router.post('/login', (ctx) => signin.requestLink(ctx, ctx.params.uid ?? ''));
  router.get('/status', (ctx) => signin.status(ctx, ctx.params.uid ?? ''));
  router.post('/complete', (ctx) => signin.complete(ctx, ctx.params.uid ?? ''));
  router.get('/link', (ctx) => signin.showLink(ctx, ctx.params.uid ?? ''));
  router.post('/link', (ctx) => signin.confirmLink(ctx, ctx.params.uid ?? ''));
  router.post('/consent', async (ctx) => consent.submit(ctx, await details(ctx, 'consent')));
  return router;
}
