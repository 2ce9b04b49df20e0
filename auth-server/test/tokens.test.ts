// What a token holds: the resource (RFC 8707) and audience, the approved scopes only, the
// defaults (no scope → pictor:read, no resource → the MCP server), refresh policy, and Claude's
// pre-stored client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { csrf, formAction } from './support/browser.ts';
import { authorizeUrl, connect, consent, exchangeCode, pkce, randomEmail, refresh, signIn, startHarness } from './support/harness.ts';

test('a request with no scope gets pictor:read; one without resource gets the MCP server', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail(), resource: null });
  const tokens = await exchangeCode(h, client, callback, p.verifier, { resource: '' }); // '' = left out
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal(tokens.body.scope, 'pictor:read');
  const claims = decodeJwt(tokens.body.access_token ?? '');
  assert.equal(claims.aud, h.config.mcpUrl);
  assert.equal(claims.scope, 'pictor:read');
  assert.ok((claims.exp ?? 0) - (claims.iat ?? 0) <= 3600);
});

test('the MCP URL with a trailing slash is the same resource; the audience is the canonical URL', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const slashed = `${h.config.mcpUrl}/`;
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail(), resource: slashed, scope: 'pictor:read' });
  const tokens = await exchangeCode(h, client, callback, p.verifier, { resource: slashed });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal(decodeJwt(tokens.body.access_token ?? '').aud, h.config.mcpUrl);
});

test('the grant holds only what was approved', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, {
    client,
    email: randomEmail(),
    scope: 'pictor:read instances:write ssh_keys:write',
    approve: ['pictor:read', 'ssh_keys:write'],
  });
  const tokens = await exchangeCode(h, client, callback, p.verifier);
  assert.equal(tokens.body.scope, 'pictor:read ssh_keys:write');
  // Asking the token endpoint for more than the grant holds gives no more.
  const widened = await refresh(h, client, tokens.body.refresh_token ?? '', { scope: 'pictor:read instances:write' });
  assert.equal(widened.body.error, 'invalid_scope');
});

test('deny sends access_denied back to the client, with its state', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const browser = h.browser();
  const login = await browser.get(authorizeUrl(h, { client, scope: 'pictor:read', state: 'xyz' }));
  const consentPage = await signIn(h, browser, login, randomEmail());
  const callback = await consent(browser, consentPage, { deny: true });
  assert.equal(callback.origin + callback.pathname, client.redirect_uris[0]);
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  assert.equal(callback.searchParams.get('state'), 'xyz');
  assert.equal(callback.searchParams.get('code'), null);
});

test('the consent page names the app, its redirect host and each permission in plain words', async (t) => {
  const h = await startHarness(t);
  const client = await h.register({ client_name: '<b>Evil & Co</b>', redirect_uris: ['https://evil.example/cb'] });
  const browser = h.browser();
  const login = await browser.get(authorizeUrl(h, { client, scope: 'pictor:read instances:write billing:write' }));
  assert.match(login.body, /&lt;b&gt;Evil &amp; Co&lt;\/b&gt; wants to connect/); // escaped
  const page = await signIn(h, browser, login, randomEmail());
  assert.match(page.body, /Sends you back to <strong>evil\.example<\/strong>/);
  assert.match(page.body, /unverified: this app named itself/);
  assert.match(page.body, /value="pictor:read" checked disabled/);
  assert.match(page.body, /value="instances:write" checked>/);
  assert.match(page.body, /value="billing:write" checked>/);
  assert.match(page.body, /Create, start, stop, extend, rename and delete GPU instances/);
  assert.doesNotMatch(page.body, /ssh_keys:write/); // not requested, not shown
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
});

test("Claude's client is pre-stored: connecting never fetches its metadata document", async (t) => {
  const h = await startHarness(t);
  const claude = {
    client_id: 'https://claude.ai/oauth/mcp-oauth-client-metadata',
    redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
    token_endpoint_auth_method: 'none',
  };
  const browser = h.browser();
  const p = pkce();
  const login = await browser.get(authorizeUrl(h, { client: claude, pkce: p, scope: 'openid offline_access pictor:read instances:write' }));
  assert.match(login.body, /Claude wants to connect to your Pictor account/);
  const consentPage = await signIn(h, browser, login, randomEmail());
  assert.doesNotMatch(consentPage.body, /unverified/);
  assert.match(consentPage.body, /Sends you back to <strong>claude\.ai<\/strong>/);
  const callback = await consent(browser, consentPage);
  assert.equal(callback.origin + callback.pathname, 'https://claude.ai/api/mcp/auth_callback');
  const tokens = await exchangeCode(h, claude, callback, p.verifier);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.ok(tokens.body.refresh_token);
  assert.ok(tokens.body.id_token, 'openid is grantable');
  assert.equal(decodeJwt(tokens.body.access_token ?? '').client_id, claude.client_id);

  // Its other redirect URI works too; an unregistered one does not.
  const com = await h.browser().get(authorizeUrl(h, { client: claude, redirectUri: 'https://claude.com/api/mcp/auth_callback' }));
  assert.match(com.body, /name="email"/);
  const bad = await h.browser().get(authorizeUrl(h, { client: claude, redirectUri: 'https://claude.ai/elsewhere' }));
  assert.match(bad.body, /redirect_uri is not registered/);
});

test('refresh tokens: issued without offline_access, outliving the sign-in session; confidential ones rotate too', async (t) => {
  const h = await startHarness(t);
  const client = await h.register({ token_endpoint_auth_method: 'client_secret_basic' });
  const { callback, pkce: p, browser } = await connect(h, { client, email: randomEmail(), scope: 'pictor:read' });
  const tokens = await exchangeCode(h, client, callback, p.verifier);
  assert.ok(tokens.body.refresh_token);

  // Signing out of Pictor in the browser does not disconnect the app.
  const account = await browser.get('/account');
  await browser.post(formAction(account, '/signout'), { _csrf: csrf(account) });
  assert.match((await browser.get('/account')).body, /name="email"/);

  const first = await refresh(h, client, tokens.body.refresh_token ?? '');
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.ok(first.body.refresh_token);
  assert.notEqual(first.body.refresh_token, tokens.body.refresh_token); // rotated, though the client authenticates
  const second = await refresh(h, client, first.body.refresh_token ?? '');
  assert.equal(second.status, 200);
  assert.notEqual(second.body.refresh_token, first.body.refresh_token);
});

test('ACCESS_TOKEN_TTL sets the access token lifetime', async (t) => {
  const h = await startHarness(t, { env: { ACCESS_TOKEN_TTL: '600' } });
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const tokens = await exchangeCode(h, client, callback, p.verifier);
  assert.equal(tokens.body.expires_in, 600);
  const claims = decodeJwt(tokens.body.access_token ?? '');
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 600);
});

test('revocation (RFC 7009): a client can end its own refresh token', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const tokens = await exchangeCode(h, client, callback, p.verifier);
  const res = await fetch(`${h.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tokens.body.refresh_token ?? '', client_id: client.client_id }),
  });
  assert.equal(res.status, 200);
  assert.equal((await refresh(h, client, tokens.body.refresh_token ?? '')).body.error, 'invalid_grant');
});
