// The consent step: the person sees the app and each requested permission, and the grant holds
// exactly what they approved. Connecting again with a refused permission asks again (that is how
// a read-only connection is later widened).
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction as InteractionDetails } from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import { listTeams } from '@pictor/platform/people';
import { appLimitsOf, DEFAULT_DAILY_LIMIT_MICRO, saveAppLimits } from '@pictor/platform/app-limits';
import { asksLimit, limitsForm, readLimitsForm, type LimitsForm } from '../account/limits.ts';
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

  /** The page; `limits` keeps what was just submitted, with the error, when it was refused. */
  async function show(ctx: Context, details: InteractionDetails, limits?: LimitsForm): Promise<void> {
    const request = requestOf(details, deps.mcpUrl);
    const [client, user, teams] = await Promise.all([
      provider.Client.find(request.clientId),
      userById(db, request.accountId),
      listTeams(db, request.accountId),
    ]);
    if (!client || !user) throw new HttpError(400, 'session_not_found');
    const redirectUri = typeof details.params.redirect_uri === 'string' ? details.params.redirect_uri : (client.redirectUris?.[0] ?? '');
    const app = appIdentity(client);
    sendHtml(
      ctx,
      consentPage({
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
        limits: limits ?? limitsForm(undefined, DEFAULT_DAILY_LIMIT_MICRO, teams, asksLimit(request.permissions)),
      }),
      limits?.error ? 400 : 200,
    );
  }

  return {
    page: (ctx: Context, details: InteractionDetails) => show(ctx, details),

    async submit(ctx: Context, details: InteractionDetails): Promise<void> {
      const request = requestOf(details, deps.mcpUrl);
      const form = await readForm(ctx);
      csrf.verify(ctx, form);
      const ticked = new Set(form.getAll('scope'));
      const approved = request.permissions.filter((s) => s === DEFAULT_SCOPE || ticked.has(s));

      if (form.get('decision') !== 'allow' || approved.length === 0) {
        await audit.record({ type: 'consent.denied', userId: request.accountId, clientId: request.clientId, ip: ctx.ip });
        const returnTo = await provider.interactionResult(
          ctx.req,
          ctx.res,
          {
            error: 'access_denied',
            error_description: 'The person did not allow this app to connect.',
          },
          { mergeWithLastSubmission: false },
        );
        seeOther(ctx, returnTo);
        return;
      }

      // The spending limit and workspaces are checked before anything is stored; a refusal shows
      // the page again with what was typed and says what is wrong.
      // Not asked (no spending permission requested): a limit set before stays, for the app's older grants.
      const [teams, before] = await Promise.all([listTeams(db, request.accountId), appLimitsOf(db, request.accountId, request.clientId)]);
      const chosen = readLimitsForm(form, teams, asksLimit(request.permissions), before?.dailyLimit ?? null);
      if (!chosen.ok) {
        await show(ctx, details, chosen.form);
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
      // Limits first: a grant must never exist without the limits chosen with it.
      await saveAppLimits(db, request.accountId, request.clientId, chosen.limits);
      const grantId = await grant.save();
      await audit.record({
        type: 'consent.granted',
        userId: request.accountId,
        clientId: request.clientId,
        ip: ctx.ip,
        detail: { scopes: approved, daily_spend_limit_micro: chosen.limits.dailyLimit?.toString() ?? null, workspaces: chosen.limits.workspaces },
      });
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } });
      seeOther(ctx, returnTo);
    },
  };
}
