// The bare baseline for the token endpoint: oidc-provider 9 itself (the package the auth server
// runs on) with its default in-memory adapter and none of our rules, configured like ours where
// the refresh grant is concerned — ES256 key made at start, PKCE, rotated refresh tokens for a
// public client (auth method none), the MCP URL as the only resource with JWT access tokens
// carrying the MCP scopes, useGrantedResource. No sign-in pages: POST /bench/refresh-tokens?n=40
// mints n refresh tokens for the bench to rotate, one grant each: the in-memory adapter walks all
// of a grant's tokens on every save, so one grant for all of them would halve its req/s by 8 s.
// Run as its own process: BASELINE_PORT=… node bench/oidc-baseline.ts
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';
import { SCOPES } from '@pictor/platform/scopes';

const port = Number(process.env.BASELINE_PORT ?? 3200);
const issuer = `http://127.0.0.1:${port}`;
const resource = `${issuer}/mcp`;
const scope = Object.keys(SCOPES).join(' ');
const CLIENT_ID = 'bench-public-client';
const kid = randomBytes(8).toString('hex');
const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const WEEK = 7 * 86_400;

const configuration: Configuration = {
  clients: [
    {
      client_id: CLIENT_ID,
      redirect_uris: ['https://client.example/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
  ],
  jwks: { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  scopes: ['openid', 'offline_access', ...Object.keys(SCOPES)],
  responseTypes: ['code'],
  pkce: { required: () => true },
  clientAuthMethods: ['none'],
  clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'ES256' },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope,
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256', kid } },
      }),
    },
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  rotateRefreshToken: true,
  // the auth server's defaults (auth-server/src/config.ts)
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 4 * WEEK, Grant: 26 * WEEK, Session: 14 * 86_400, Interaction: 3600 },
};

const provider = new Provider(issuer, configuration);

/** n refresh tokens for the public client, each in its own grant of every MCP scope on the resource. */
async function mint(n: number): Promise<string[]> {
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error('the bench client is missing');
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const accountId = `bench-${randomBytes(4).toString('hex')}`;
    const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
    grant.addResourceScope(resource, scope);
    const grantId = await grant.save();
    const token = new provider.RefreshToken({
      client,
      accountId,
      grantId,
      scope,
      resource,
      gty: 'authorization_code',
      rotations: 0,
      expiresWithSession: false,
    });
    tokens.push(await token.save());
  }
  return tokens;
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/healthz') {
    ctx.body = { ok: true, client_id: CLIENT_ID, resource };
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/bench/refresh-tokens') {
    const n = Math.min(Math.max(Number(ctx.query.n ?? 1) || 1, 1), 10_000);
    ctx.body = { client_id: CLIENT_ID, resource, refresh_tokens: await mint(n) };
    return;
  }
  await next();
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
