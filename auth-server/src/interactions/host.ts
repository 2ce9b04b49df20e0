// The OAuth interaction as a sign-in flow: the flow id is the interaction uid, the browser that
// runs it is the one holding oidc-provider's interaction cookie, and finishing hands the login
// back to oidc-provider, which continues the authorization request (to consent, or the client).
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction as InteractionDetails } from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { seeOther } from '../http.ts';
import { appIdentity, type AppIdentity } from '../oauth/clients.ts';
import type { FlowHost } from '../signin/flow.ts';

/** The interaction this browser is in, if it is `uid` (oidc-provider reads its cookie). */
export async function interactionOf(provider: Provider, ctx: Context, uid: string): Promise<InteractionDetails | undefined> {
  try {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    return details.uid === uid ? details : undefined;
  } catch {
    return undefined; // no cookie, expired, or finished
  }
}

async function appOf(provider: Provider, clientId: unknown): Promise<AppIdentity | undefined> {
  if (typeof clientId !== 'string') return undefined;
  const client = await provider.Client.find(clientId).catch(() => undefined);
  return client ? appIdentity(client) : undefined;
}

export function interactionHost(provider: Provider, db: Db, clock: Clock): FlowHost {
  return {
    kind: 'interaction',
    base: (uid) => `/interaction/${uid}`,
    async current(ctx, uid) {
      const details = await interactionOf(provider, ctx, uid);
      if (details?.prompt.name !== 'login') return undefined;
      return { id: uid, app: await appOf(provider, details.params.client_id) };
    },
    async finish(ctx, _uid, userId) {
      await db.updateTable('users').set({ last_login_at: clock.now() }).where('id', '=', userId).execute();
      const returnTo = await provider.interactionResult(
        ctx.req,
        ctx.res,
        {
          login: { accountId: userId, amr: ['email'], remember: true },
        },
        { mergeWithLastSubmission: false },
      );
      seeOther(ctx, returnTo);
    },
    async lookup(uid) {
      const interaction = await provider.Interaction.find(uid);
      return interaction ? { id: uid, app: await appOf(provider, interaction.params.client_id) } : undefined;
    },
  };
}
