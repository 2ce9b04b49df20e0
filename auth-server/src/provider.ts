// The oidc-provider configuration: every OAuth rule of this server in one place. OAuth mechanics
// (codes, PKCE, token issuance, rotation, reuse detection, registration) stay oidc-provider's.
import Provider, { type Client, type Configuration, type Grant, type KoaContextWithOIDC } from 'oidc-provider';
import type { Context } from 'koa';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { createAdapterFactory } from './adapter.ts';
import type { AuthConfig } from './config.ts';
import { providerCookieNames } from './cookies.ts';
import type { SigningKeys } from './keys.ts';
import { SIGNING_ALG } from './keys.ts';
import { accountHooks } from './oauth/accounts.ts';
import { isPublicHost, isVerifiedClient, STATIC_CLIENTS } from './oauth/clients.ts';
import { POLICY_PROPERTY, registrationPolicy } from './oauth/registration-policy.ts';
import { resourceIndicators } from './oauth/resource.ts';
import { MCP_SCOPES, SUPPORTED_SCOPES } from './oauth/scopes.ts';
import { hit } from './rate-limit.ts';
import { errorPage } from './views/errors.ts';

export interface ProviderDeps {
  config: AuthConfig;
  db: Db;
  clock: Clock;
  keys: SigningKeys;
}

export function createProvider({ config, db, clock, keys }: ProviderDeps): Provider {
  const secure = config.issuer.startsWith('https:');
  const cookie = { httpOnly: true, sameSite: 'lax' as const, secure };
  const accounts = accountHooks(db);

  const configuration: Configuration = {
    adapter: createAdapterFactory(db, { consumeGraceSeconds: { RefreshToken: config.ttl.refreshReuseGrace }, clock }),
    clients: STATIC_CLIENTS,
    jwks: keys.jwks,
    findAccount: accounts.findAccount,
    extraTokenClaims: accounts.extraTokenClaims,
    claims: { openid: ['sub'] },
    scopes: SUPPORTED_SCOPES,
    responseTypes: ['code'],
    // OAuth 2.1 §4.1.1 / RFC 9700 §2.1.1: PKCE for every client, and only S256 exists in v9.
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic', // RFC 7591 §2 default
      id_token_signed_response_alg: SIGNING_ALG,
    },
    enabledJWA: { idTokenSigningAlgValues: [SIGNING_ALG] },
    extraClientMetadata: {
      properties: [POLICY_PROPERTY],
      validator: registrationPolicy(new Set(SUPPORTED_SCOPES)),
    },
    cookies: {
      keys: config.cookieKeys,
      names: providerCookieNames(secure),
      long: cookie,
      short: cookie,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: true },
      clientIdMetadataDocument: {
        enabled: true,
        ack: 'draft-02',
        async allowFetch(ctx: { ip: string }, clientId: string) {
          const url = new URL(clientId);
          if (!isPublicHost(url.hostname)) return false;
          return (await hit(db, clock, `cimd:ip:${ctx.ip}`, config.limits.metadataFetchPerIp)).allowed;
        },
      },
      resourceIndicators: resourceIndicators({ mcpUrl: config.mcpUrl, scopes: MCP_SCOPES, accessTokenTtl: config.ttl.accessToken, keys }),
      revocation: { enabled: true, allowedPolicy: async (_ctx: unknown, client: Client, token: { clientId?: string }) => token.clientId === client.clientId },
      // Tokens are Bearer JWTs for the MCP server; no userinfo, logout, PAR or DPoP surface.
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
    },
    // Refresh tokens for every client registered for them, with or without offline_access, and
    // not tied to the browser session: the connection lives until the grant ends or is revoked.
    issueRefreshToken: async (_ctx: unknown, client: Client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    // RFC 9700 §4.14.2: every refresh rotates, for public and confidential clients alike; a
    // rotated token presented again after the reuse grace revokes the grant. Within the grace,
    // oauth/token-lifecycle.ts singleRefreshChain keeps one successor per token.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: config.ttl.accessToken,
      AuthorizationCode: 60,
      IdToken: config.ttl.accessToken,
      RefreshToken: config.ttl.refreshToken,
      Grant: config.ttl.grant,
      Session: config.ttl.session,
      Interaction: config.ttl.interaction,
    },
    loadExistingGrant: reconsentOnRefused,
    interactions: { url: async (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    clientBasedCORS: (_ctx: unknown, origin: string, client: Client) =>
      origin !== 'null' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    async renderError(ctx: Context, out: { error: string; error_description?: string }) {
      // prompt=none errors carry a 303 meant for the redirect; shown here, they are a bad request.
      if (ctx.status < 400) ctx.status = 400;
      ctx.type = 'html';
      ctx.body = errorPage(out.error, out.error_description);
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  provider.on('authorization.error', keepEarlyErrorsOnPictor);
  return provider;
}

/**
 * RFC 9700 §4.11.2: an error at the authorization endpoint itself redirects to the client before
 * anyone has signed in, which would make Pictor an open redirector for whoever registers a
 * client. So for a self-registered client such errors (bad scope, missing PKCE, unknown resource)
 * show Pictor's error page. Errors after the person took part (the `resume` route: consent
 * denied) still go back to the app, which needs them, and Claude's are redirected as always.
 * oidc-provider emits this event just before it chooses between redirecting and renderError.
 */
function keepEarlyErrorsOnPictor(ctx: Pick<KoaContextWithOIDC, 'oidc'>, error: unknown): void {
  const client = ctx.oidc?.client;
  if (ctx.oidc?.route !== 'authorization' || !client || isVerifiedClient(client.clientId)) return;
  if (error instanceof Error) (error as Error & { allow_redirect?: boolean }).allow_redirect = false;
}

/**
 * The grant an authorization request builds on. Refusals settle only the request they were made
 * in: a new request that asks again for a permission the person unticked gets a fresh grant, so
 * the consent page asks again, and reconnecting can widen a read-only connection.
 */
async function reconsentOnRefused(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  if (!oidc.client || !oidc.session) return undefined; // oidc-provider calls this with both set
  const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
  const grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!grant || oidc.result?.consent) return grant;
  const refused = new Set([
    ...(grant.rejected?.openid?.scope?.split(' ') ?? []),
    ...Object.values(grant.rejected?.resources ?? {}).flatMap((scope) => scope.split(' ')),
  ]);
  return [...oidc.requestParamScopes].some((scope) => refused.has(scope)) ? undefined : grant;
}
