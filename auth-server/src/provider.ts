// The oidc-provider configuration: every OAuth rule of this server in one place. OAuth mechanics
// (codes, PKCE, token issuance, rotation, reuse detection, registration) stay oidc-provider's.
import Provider, { type Client, type Configuration, type Grant, type OIDCContext, type RefreshToken } from 'oidc-provider';
import type { Context } from 'koa';
import type { Db } from '@pictor/migrations/db';
import type { Clock } from '@pictor/mcp-server/pictor/clock';
import { createAdapterFactory } from './adapter.ts';
import type { AuthConfig } from './config.ts';
import { providerCookieNames } from './cookies.ts';
import type { SigningKeys } from './keys.ts';
import { SIGNING_ALG } from './keys.ts';
import { accountHooks } from './oauth/accounts.ts';
import { isPublicHost, STATIC_CLIENTS } from './oauth/clients.ts';
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
  const cookie = { httpOnly: true, sameSite: 'lax', secure };
  const accounts = accountHooks(db);

  const configuration: Configuration = {
    adapter: createAdapterFactory(db, { consumeGraceSeconds: { RefreshToken: config.ttl.refreshReuseGrace } }),
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
      revocation: { enabled: true, allowedPolicy: async (_ctx: unknown, client: Client, token: { clientId: string }) => token.clientId === client.clientId },
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
    // RFC 9700 §4.14.2: public clients get rotated refresh tokens (reuse revokes the grant);
    // confidential ones authenticate each refresh and rotate only near expiry.
    rotateRefreshToken(ctx: { oidc: { entities: { RefreshToken: RefreshToken; Client: Client } } }) {
      const { RefreshToken: token, Client: client } = ctx.oidc.entities;
      if (client.clientAuthMethod === 'none') return true;
      return token.ttlPercentagePassed() >= 70;
    },
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
      origin !== 'null' && client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
    async renderError(ctx: Context, out: { error: string; error_description?: string }) {
      ctx.type = 'html';
      ctx.body = errorPage(out.error, out.error_description);
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  return provider;
}

/**
 * The grant an authorization request builds on. Refusals settle only the request they were made
 * in: a new request that asks again for a permission the person unticked gets a fresh grant, so
 * the consent page asks again, and reconnecting can widen a read-only connection.
 */
async function reconsentOnRefused(ctx: { oidc: OIDCContext & { client: Client; session: NonNullable<OIDCContext['session']> } }): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
  const grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!grant || oidc.result?.consent) return grant;
  const refused = new Set([
    ...(grant.rejected?.openid?.scope?.split(' ') ?? []),
    ...Object.values(grant.rejected?.resources ?? {}).flatMap((scope) => scope.split(' ')),
  ]);
  return [...oidc.requestParamScopes].some((scope) => refused.has(scope)) ? undefined : grant;
}
