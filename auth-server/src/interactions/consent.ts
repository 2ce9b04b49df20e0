// The consent step: the person sees the app and each requested permission, and the grant holds
// exactly what they approved. Connecting again with a refused permission asks again (that is how
// a read-only connection is later widened).
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction as InteractionDetails } from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import type { Audit } from '../audit.ts';
import type { Csrf } from '../csrf.ts';
import { HttpError, readForm, sendHtml, seeOther } from '../http.ts';
import { userById } from '../oauth/accounts.ts';
import { appIdentity } from '../oauth/clients.ts';
import { CONNECTION_SCOPES, DEFAULT_SCOPE, describe, MCP_SCOPES, type McpScope } from '../oauth/scopes.ts';
import { consentPage } from '../views/consent.ts';

interface Request {
  clientId: string;
  accountId: string;
  /** Requested MCP scopes, in the order of SCOPES. */
  permissions: McpScope[];
  connectionScopes: string[];
  resources: string[];
}

function requestOf(details: InteractionDetails, mcpUrl: string): Request {
  const { params, session } = details;
  if (!session?.accountId || typeof params.client_id !== 'string') throw new HttpError(400, 'session_not_found');
  const requested = new Set(typeof params.scope === 'string' ? params.scope.split(' ') : []);
  const resource = params.resource;
  return {
    clientId: params.client_id,
    accountId: session.accountId,
    permissions: MCP_SCOPES.filter((s) => requested.has(s)),
    connectionScopes: CONNECTION_SCOPES.filter((s) => requested.has(s)),
    resources: Array.isArray(resource) ? resource : [resource ?? mcpUrl],
  };
}

export function consentHandlers(deps: { provider: Provider; db: Db; csrf: Csrf; audit: Audit; mcpUrl: string }) {
  const { provider, db, csrf, audit } = deps;

  return {
    async page(ctx: Context, details: InteractionDetails): Promise<void> {
      const request = requestOf(details, deps.mcpUrl);
      const [client, user] = await Promise.all([provider.Client.find(request.clientId), userById(db, request.accountId)]);
      if (!client || !user) throw new HttpError(400, 'session_not_found');
      const redirectUri = typeof details.params.redirect_uri === 'string' ? details.params.redirect_uri : client.redirectUris?.[0] ?? '';
      const app = appIdentity(client);
      sendHtml(ctx, consentPage({
        action: `/interaction/${details.uid}/consent`,
        csrf: csrf.token(ctx),
        appName: app.name,
        verified: app.verified,
        redirectHost: URL.parse(redirectUri)?.host ?? redirectUri,
        email: user.email,
        permissions: request.permissions.map((scope) => ({
          scope,
          description: describe(scope),
          fixed: scope === DEFAULT_SCOPE,
        })),
        staysConnected: client.grantTypeAllowed('refresh_token'),
      }));
    },

    async submit(ctx: Context, details: InteractionDetails): Promise<void> {
      const request = requestOf(details, deps.mcpUrl);
      const form = await readForm(ctx);
      csrf.verify(ctx, form);
      const ticked = new Set(form.getAll('scope'));
      const approved = request.permissions.filter((s) => s === DEFAULT_SCOPE || ticked.has(s));

      if (form.get('decision') !== 'allow' || approved.length === 0) {
        await audit.record({ type: 'consent.denied', userId: request.accountId, clientId: request.clientId, ip: ctx.ip });
        const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
          error: 'access_denied', error_description: 'The person did not allow this app to connect.',
        }, { mergeWithLastSubmission: false });
        seeOther(ctx, returnTo);
        return;
      }

      // A new grant per consent, holding only what was approved this time. The MCP scopes are
      // recorded both for the resource and as plain scopes, because oidc-provider treats every
      // advertised scope (scopes_supported) as one it checks at the authorization endpoint.
      // Unticked ones are recorded as refused, which settles this request (see provider.ts
      // reconsentOnRefused for how a later request asks for them again).
      const refused = request.permissions.filter((s) => !approved.includes(s));
      const grant = new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
      grant.addOIDCScope([...request.connectionScopes, ...approved].join(' '));
      if (refused.length > 0) grant.rejectOIDCScope(refused.join(' '));
      for (const resource of request.resources) {
        grant.addResourceScope(resource, approved.join(' '));
        if (refused.length > 0) grant.rejectResourceScope(resource, refused.join(' '));
      }
      const grantId = await grant.save();
      await audit.record({
        type: 'consent.granted', userId: request.accountId, clientId: request.clientId, ip: ctx.ip, detail: { scopes: approved },
      });
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } });
      seeOther(ctx, returnTo);
    },
  };
}
