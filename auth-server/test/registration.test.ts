// Dynamic client registration (RFC 7591) with this server's policy, and its housekeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { isPublicHost } from '../src/oauth/clients.ts';
import { authorizeUrl, connect, exchangeCode, randomEmail, startHarness, type Harness } from './support/harness.ts';

async function post(h: Harness, metadata: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(metadata),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

test('Claude-style registration: client_secret_post, both grants, every scope; the response names registration_client_uri', async (t) => {
  const h = await startHarness(t);
  const res = await post(h, {
    client_name: 'Claude',
    redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'openid offline_access pictor:read instances:write ssh_keys:write billing:write',
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.ok(res.body.client_id);
  assert.ok(typeof res.body.client_secret === 'string' && res.body.client_secret.length >= 32);
  assert.equal(res.body.registration_client_uri, `${h.issuer}/reg/${String(res.body.client_id)}`);
  assert.ok(res.body.registration_access_token);
  // RFC 7592 read with the registration access token.
  const read = await fetch(String(res.body.registration_client_uri), { headers: { authorization: `Bearer ${String(res.body.registration_access_token)}` } });
  assert.equal(read.status, 200);
  assert.equal(((await read.json()) as { client_name: string }).client_name, 'Claude');
});

test('every token endpoint auth method a client may bring: none, client_secret_post, client_secret_basic', async (t) => {
  const h = await startHarness(t);
  for (const method of ['none', 'client_secret_post', 'client_secret_basic']) {
    const client = await h.register({ token_endpoint_auth_method: method });
    assert.equal(client.token_endpoint_auth_method, method);
    assert.equal(client.client_secret === undefined, method === 'none');
    const { callback, pkce } = await connect(h, { client, email: randomEmail() });
    const tokens = await exchangeCode(h, client, callback, pkce.verifier);
    assert.equal(tokens.status, 200, `${method}: ${JSON.stringify(tokens.body)}`);
  }
  // Library default (RFC 7591 §2): no method given means client_secret_basic.
  const defaulted = await post(h, { redirect_uris: ['https://client.example/cb'] });
  assert.equal(defaulted.body.token_endpoint_auth_method, 'client_secret_basic');
});

test('redirect URI policy: https, or http on loopback; never plain http elsewhere or other schemes', async (t) => {
  const h = await startHarness(t);
  for (const uri of ['https://app.example/cb', 'http://127.0.0.1:8123/cb', 'http://localhost:3000/callback', 'http://[::1]:9000/cb']) {
    assert.equal((await post(h, { redirect_uris: [uri], token_endpoint_auth_method: 'none' })).status, 201, uri);
  }
  for (const uri of ['http://app.example/cb', 'myapp://callback', 'javascript:alert(1)', 'not a url']) {
    const res = await post(h, { redirect_uris: [uri], token_endpoint_auth_method: 'none' });
    assert.equal(res.status, 400, uri);
    assert.equal(res.body.error, 'invalid_redirect_uri', uri);
  }
});

test('loopback clients are native: any port at authorization (RFC 8252 §7.3); web clients match exactly', async (t) => {
  const h = await startHarness(t);
  const native = await h.register({ redirect_uris: ['http://127.0.0.1:5000/callback'] });
  assert.equal(native.application_type, 'native');
  const otherPort = await h.browser().get(authorizeUrl(h, { client: native, redirectUri: 'http://127.0.0.1:61234/callback' }));
  assert.equal(otherPort.status, 200); // the sign-in page, not an error
  assert.match(otherPort.body, /name="email"/);
  const otherPath = await h.browser().get(authorizeUrl(h, { client: native, redirectUri: 'http://127.0.0.1:61234/other' }));
  assert.match(otherPath.body, /redirect_uri is not registered/);

  const web = await h.register({ redirect_uris: ['https://client.example/callback'] });
  assert.equal(web.application_type, 'web');
  const near = await h.browser().get(authorizeUrl(h, { client: web, redirectUri: 'https://client.example/callback/' }));
  assert.match(near.body, /redirect_uri is not registered/);
});

test('unknown scopes in a registration are dropped, not fatal', async (t) => {
  const h = await startHarness(t);
  const res = await post(h, {
    redirect_uris: ['https://client.example/cb'],
    token_endpoint_auth_method: 'none',
    scope: 'pictor:read profile email weird:scope instances:write',
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.scope, 'pictor:read instances:write');
  const none = await post(h, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'none', scope: 'profile' });
  assert.equal(none.status, 201);
  assert.equal(none.body.scope, undefined);
});

test('CORS on /reg for browser-based clients', async (t) => {
  const h = await startHarness(t);
  const preflight = await fetch(`${h.issuer}/reg`, {
    method: 'OPTIONS',
    headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Content-Type/i);
  const res = await post(h, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'none' }, { origin: 'https://inspector.example' });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
});

test('registrations are rate limited per IP', async (t) => {
  const h = await startHarness(t, {
    tweak: (c) => {
      c.limits.registrationPerIp = { limit: 3, windowSeconds: 3600 };
    },
  });
  const metadata = { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'none' };
  for (let i = 0; i < 3; i++) assert.equal((await post(h, metadata)).status, 201);
  const limited = await post(h, metadata);
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error, 'temporarily_unavailable');
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
});

test('clients that never completed a grant are purged after a while; used ones stay', async (t) => {
  const h = await startHarness(t);
  const unused = await h.register();
  const used = await h.register();
  const { callback, pkce } = await connect(h, { client: used, email: randomEmail() });
  assert.equal((await exchangeCode(h, used, callback, pkce.verifier)).status, 200);
  // Age both registrations past the limit.
  await sql`UPDATE auth_oidc_payloads SET created_at = now() - interval '8 days' WHERE model = 'Client'`.execute(h.db);
  await h.server.maintain();
  const ids = (await h.db.selectFrom('auth_oidc_payloads').select('id').where('model', '=', 'Client').execute()).map((r) => r.id);
  assert.deepEqual(ids, [used.client_id]);
  const page = await h.browser().get(authorizeUrl(h, { client: unused }));
  assert.match(page.body, /Unknown app/);
  const audit = await h.db.selectFrom('auth_audit_events').select(['type', 'client_id']).where('type', '=', 'client.purged').execute();
  assert.deepEqual(audit, [{ type: 'client.purged', client_id: unused.client_id }]);
});

test('CIMD: a metadata document inside the network is never fetched (SSRF)', async (t) => {
  const h = await startHarness(t);
  for (const clientId of ['https://127.0.0.1/client.json', 'https://localhost/client.json', 'https://10.0.0.5/c', 'https://metadata.internal/c']) {
    const page = await h.browser().get(authorizeUrl(h, { client: { client_id: clientId, redirect_uris: ['https://client.example/cb'] } }));
    assert.equal(page.status, 400, clientId);
    assert.match(page.body, /Unknown app/, clientId);
  }
  for (const host of ['claude.ai', 'example.com', '93.184.216.34', '[2606:4700::1111]']) assert.equal(isPublicHost(host), true, host);
  for (const host of ['127.0.0.1', '192.168.1.2', '172.20.0.1', '169.254.169.254', '[::1]', '[fd00::1]', 'localhost', 'intranet']) {
    assert.equal(isPublicHost(host), false, host);
  }
});
