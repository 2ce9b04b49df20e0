// The whole connection the way an MCP client makes it, with the MCP SDK's own OAuth client code
// (auth() + an OAuthClientProvider) against this authorization server and the real MCP server:
// 401 → resource metadata (RFC 9728) → AS metadata (RFC 8414) → DCR (RFC 7591) → authorize with
// PKCE (RFC 7636) and resource (RFC 8707) → email → link → confirm → consent → token → tools/call;
// then refresh, which rotates.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { auth, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { freePort } from '@pictor/platform/local-postgres';
import { consent, randomEmail, signIn, startHarness, type Harness } from './support/harness.ts';
import { startMcpServer, TestOAuthProvider } from './support/mcp.ts';
import type { Browser } from './support/browser.ts';

async function setup(t: TestContext) {
  const mcpPort = await freePort();
  const h = await startHarness(t, { mcpUrl: `http://127.0.0.1:${mcpPort}/mcp` });
  const mcp = await startMcpServer(h);
  t.after(mcp.close);
  const callbackPort = await freePort();
  const provider = new TestOAuthProvider(`http://127.0.0.1:${callbackPort}/callback`);
  return { h, mcp, provider };
}

/** Runs the browser part for an authorization URL the SDK produced; returns the code. */
async function authorizeInBrowser(h: Harness, browser: Browser, url: URL, email: string, approve?: string[]): Promise<string> {
  let page = await browser.get(url.href);
  if (page.body.includes('name="email"')) page = await signIn(h, browser, page, email);
  const callback = page.leftTo ? new URL(page.leftTo) : await consent(browser, page, { scopes: approve });
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code in ${callback.href}`);
  assert.equal(callback.searchParams.get('iss'), h.issuer); // RFC 9207
  return code;
}

async function callTool(mcpUrl: string, provider: TestOAuthProvider, name: string, args: Record<string, unknown> = {}) {
  const client = new Client({ name: 'pictor-auth-test', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  try {
    return (await client.callTool({ name, arguments: args })) as CallToolResult;
  } finally {
    await client.close();
  }
}

test('MCP SDK client: discovery from the 401, DCR, magic link, consent, token, tools/call, refresh with rotation', async (t) => {
  const { h, mcp, provider } = await setup(t);
  const email = randomEmail();

  // (1) the MCP server refuses and points at its resource metadata
  const unauthorized = await fetch(mcp.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(unauthorized.status, 401);
  const { resourceMetadataUrl } = extractWWWAuthenticateParams(unauthorized);
  assert.ok(resourceMetadataUrl);

  // (2-5) the SDK discovers, registers and builds the authorization URL
  assert.equal(await auth(provider, { serverUrl: mcp.url, resourceMetadataUrl }), 'REDIRECT');
  const info = provider.clientInformation();
  assert.ok(info?.client_id);
  const authorizationUrl = provider.authorizationUrl;
  assert.ok(authorizationUrl);
  assert.equal(authorizationUrl.origin, h.issuer);
  assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(authorizationUrl.searchParams.get('resource'), mcp.url);

  // (5) the person: email → link → confirm → consent (everything approved)
  const code = await authorizeInBrowser(h, h.browser(), authorizationUrl, email);

  // (6) the SDK exchanges the code
  assert.equal(await auth(provider, { serverUrl: mcp.url, resourceMetadataUrl, authorizationCode: code }), 'AUTHORIZED');
  const tokens = provider.tokens();
  assert.ok(tokens?.access_token && tokens.refresh_token);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok((tokens.expires_in ?? 0) <= 3600);

  // the token is what the MCP server expects (RFC 9068)
  const jwks = createRemoteJWKSet(new URL(`${h.issuer}/jwks`));
  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
    issuer: h.issuer,
    audience: mcp.url,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.alg, 'ES256');
  const user = await h.db.selectFrom('users').select(['id', 'email']).where('email', '=', email).executeTakeFirstOrThrow();
  assert.equal(payload.sub, user.id);
  assert.equal(payload.email, email);
  assert.equal(payload.client_id, info.client_id);
  // Everything the resource metadata listed (the SDK asks for exactly that) was approved.
  const requested = authorizationUrl.searchParams.get('scope')?.split(' ') ?? [];
  assert.ok(requested.includes('pictor:read') && requested.includes('instances:write'));
  assert.deepEqual(new Set(String(payload.scope).split(' ')), new Set(requested));

  // (7) tools/call works with it
  const listed = await callTool(mcp.url, provider, 'list-gpus');
  assert.notEqual(listed.isError, true, JSON.stringify(listed.content));

  // refresh works and rotates (a public client)
  const before = tokens.refresh_token;
  assert.equal(await auth(provider, { serverUrl: mcp.url, resourceMetadataUrl }), 'AUTHORIZED');
  const after = provider.tokens();
  assert.ok(after?.access_token && after.refresh_token);
  assert.notEqual(after.refresh_token, before);
  assert.notEqual(after.access_token, tokens.access_token);
  assert.equal(decodeProtectedHeader(after.access_token).typ, 'at+jwt');
  const again = await callTool(mcp.url, provider, 'list-ssh-keys');
  assert.notEqual(again.isError, true, JSON.stringify(again.content));
});

test('read-only consent: a write tool gets 403 insufficient_scope; reconnecting with it approved fixes it, without a new email', async (t) => {
  const { h, mcp, provider } = await setup(t);
  const email = randomEmail();
  const browser = h.browser();

  assert.equal(await auth(provider, { serverUrl: mcp.url }), 'REDIRECT');
  const code = await authorizeInBrowser(h, browser, provider.authorizationUrl!, email, ['pictor:read']);
  assert.equal(await auth(provider, { serverUrl: mcp.url, authorizationCode: code }), 'AUTHORIZED');
  assert.equal(provider.tokens()?.scope, 'pictor:read');

  const forbidden = await fetch(mcp.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${provider.tokens()?.access_token}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'create-ssh-key', arguments: { name: 'laptop', public_key: 'ssh-ed25519 AAAA' } },
    }),
  });
  assert.equal(forbidden.status, 403);
  const challenge = extractWWWAuthenticateParams(forbidden);
  assert.equal(challenge.error, 'insufficient_scope');
  assert.match(challenge.scope ?? '', /ssh_keys:write/);

  // Reconnect asking for what the challenge named: the session skips the email, consent asks again.
  provider.invalidateCredentials('tokens');
  assert.equal(await auth(provider, { serverUrl: mcp.url, scope: challenge.scope }), 'REDIRECT');
  const mailsBefore = h.sink.mails.length;
  const code2 = await authorizeInBrowser(h, browser, provider.authorizationUrl!, email);
  assert.equal(h.sink.mails.length, mailsBefore, 'no second sign-in mail while the session lasts');
  assert.equal(await auth(provider, { serverUrl: mcp.url, authorizationCode: code2 }), 'AUTHORIZED');
  assert.match(provider.tokens()?.scope ?? '', /ssh_keys:write/);
  const listed = await callTool(mcp.url, provider, 'list-ssh-keys');
  assert.notEqual(listed.isError, true);
});
