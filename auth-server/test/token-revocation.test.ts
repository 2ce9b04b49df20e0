// Every way a grant or token ends voids its access tokens on the MCP server at once, through the
// same recorded revocation as disconnecting the app: the revocation endpoint (RFC 7009) with a
// refresh or an access token, refresh token reuse (RFC 9700 §4.14.2), a replayed code
// (RFC 6749 §4.1.2), and the connected-apps page. Real HTTP to both servers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair, SignJWT } from 'jose';
import { freePort } from '@pictor/platform/local-postgres';
import { csrf } from './support/browser.ts';
import { connect, exchangeCode, randomEmail, refresh, startHarness, type Harness, type HarnessOptions, type Registered } from './support/harness.ts';
import { startMcpServer, type McpServer } from './support/mcp.ts';

async function setup(t: TestContext, options: HarnessOptions = {}) {
  const h = await startHarness(t, { ...options, mcpUrl: `http://127.0.0.1:${await freePort()}/mcp` });
  const mcp = await startMcpServer(h);
  t.after(mcp.close);
  return { h, mcp };
}

/** Registers an app, connects it for `email`, exchanges the code. */
async function connectApp(h: Harness, email: string, metadata: Record<string, unknown> = {}) {
  const client = await h.register(metadata);
  const { callback, pkce, browser } = await connect(h, { client, email });
  const tokens = await exchangeCode(h, client, callback, pkce.verifier);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return { client, callback, verifier: pkce.verifier, browser, accessToken: tokens.body.access_token ?? '', refreshToken: tokens.body.refresh_token ?? '' };
}

async function mcpCall(mcp: McpServer, token: string): Promise<Response> {
  return fetch(mcp.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

/** The token is refused with invalid_token: at once, give or take the NOTIFY's trip (well under the 10 s poll). */
async function assertVoided(mcp: McpServer, token: string): Promise<void> {
  const deadline = Date.now() + 2000;
  let response = await mcpCall(mcp, token);
  while (response.status === 200 && Date.now() < deadline) {
    await sleep(20);
    response = await mcpCall(mcp, token);
  }
  assert.equal(response.status, 401);
  assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
}

function revoke(h: Harness, client: Registered, token: string, hint?: string) {
  return fetch(`${h.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: client.client_id, ...(hint ? { token_type_hint: hint } : {}) }),
  });
}

test('revoking the refresh token at /token/revocation voids its access token on the MCP server', async (t) => {
  const { h, mcp } = await setup(t);
  const email = randomEmail();
  const app = await connectApp(h, email);
  const other = await connectApp(h, email, { client_name: 'Other App' });
  assert.equal((await mcpCall(mcp, app.accessToken)).status, 200);

  assert.equal((await revoke(h, app.client, app.refreshToken)).status, 200);
  await assertVoided(mcp, app.accessToken);
  assert.equal((await refresh(h, app.client, app.refreshToken)).body.error, 'invalid_grant');
  assert.equal((await mcpCall(mcp, other.accessToken)).status, 200, 'another app of the same person is untouched');
});

test('an access token can be revoked (RFC 7009): it is refused at once and its grant ends', async (t) => {
  const { h, mcp } = await setup(t);
  const email = randomEmail();
  const app = await connectApp(h, email);
  const other = await connectApp(h, email, { client_name: 'Other App' });

  // Another client cannot revoke it: answered 200, nothing changes (RFC 7009 §2.1, §2.2).
  assert.equal((await revoke(h, other.client, app.accessToken)).status, 200);
  // Nor does a forged one (same claims, another key).
  const [header, payload] = app.accessToken.split('.');
  assert.equal((await revoke(h, app.client, `${header}.${payload}.${'A'.repeat(86)}`)).status, 200);
  await sleep(300);
  assert.equal((await mcpCall(mcp, app.accessToken)).status, 200);

  // A JWT that is not an access token stays unsupported.
  const { privateKey } = await generateKeyPair('ES256');
  const idToken = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).sign(privateKey);
  const unsupported = await revoke(h, app.client, idToken);
  assert.equal(unsupported.status, 400);
  assert.equal(((await unsupported.json()) as { error: string }).error, 'unsupported_token_type');

  const revoked = await revoke(h, app.client, app.accessToken, 'access_token');
  assert.equal(revoked.status, 200, await revoked.clone().text());
  await assertVoided(mcp, app.accessToken);
  assert.equal((await refresh(h, app.client, app.refreshToken)).body.error, 'invalid_grant', 'the grant it came from ended');
  assert.equal((await mcpCall(mcp, other.accessToken)).status, 200, 'another app of the same person is untouched');
  // Revoking it again (a retry) is fine.
  assert.equal((await revoke(h, app.client, app.accessToken)).status, 200);
});

test('refresh token reuse after the grace voids every access token of the grant', async (t) => {
  const { h, mcp } = await setup(t, {
    tweak: (c) => {
      c.ttl.refreshReuseGrace = 1;
    },
  });
  const app = await connectApp(h, randomEmail());
  const parallel = await Promise.all([1, 2, 3].map(() => refresh(h, app.client, app.refreshToken)));
  const accessTokens = [app.accessToken, ...parallel.map((r) => r.body.access_token ?? '')];
  for (const token of accessTokens) assert.equal((await mcpCall(mcp, token)).status, 200);

  await sleep(1500);
  assert.equal((await refresh(h, app.client, app.refreshToken)).body.error, 'invalid_grant');
  for (const token of accessTokens) await assertVoided(mcp, token);
  assert.equal((await refresh(h, app.client, parallel[0]!.body.refresh_token ?? '')).body.error, 'invalid_grant');
});

test('a replayed authorization code voids the access token its first use issued', async (t) => {
  const { h, mcp } = await setup(t);
  const app = await connectApp(h, randomEmail());
  assert.equal((await mcpCall(mcp, app.accessToken)).status, 200);
  const replay = await exchangeCode(h, app.client, app.callback, app.verifier);
  assert.equal(replay.body.error, 'invalid_grant');
  await assertVoided(mcp, app.accessToken);
});

test('disconnecting the app on the connected-apps page (withdrawing consent) voids its access token', async (t) => {
  const { h, mcp } = await setup(t);
  const app = await connectApp(h, randomEmail());
  assert.equal((await mcpCall(mcp, app.accessToken)).status, 200);
  const page = await app.browser.get('/account');
  const after = await app.browser.post('/account/revoke', { client_id: app.client.client_id, _csrf: csrf(page) });
  assert.equal(after.status, 200);
  await assertVoided(mcp, app.accessToken);
});
