// Authorization server metadata (RFC 8414) and the key set the MCP server verifies tokens with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from './support/harness.ts';

test('metadata: both well-known paths, S256 only, registration, CIMD, and only grantable scopes', async (t) => {
  const h = await startHarness(t);
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const res = await fetch(`${h.issuer}${path}`);
    assert.equal(res.status, 200, path);
    const m = (await res.json()) as Record<string, unknown>;
    assert.equal(m.issuer, h.issuer);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.equal(m.registration_endpoint, `${h.issuer}/reg`);
    assert.equal(m.authorization_endpoint, `${h.issuer}/auth`);
    assert.equal(m.token_endpoint, `${h.issuer}/token`);
    assert.equal(m.jwks_uri, `${h.issuer}/jwks`);
    assert.equal(m.client_id_metadata_document_supported, true);
    assert.deepEqual(m.response_types_supported, ['code']);
    assert.deepEqual(new Set(m.token_endpoint_auth_methods_supported as string[]), new Set(['client_secret_basic', 'client_secret_post', 'none']));
    assert.deepEqual(
      new Set(m.scopes_supported as string[]),
      new Set(['openid', 'offline_access', 'pictor:read', 'instances:write', 'ssh_keys:write', 'billing:write']),
    );
    assert.ok((m.grant_types_supported as string[]).includes('refresh_token'));
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  }
});

test('the JWKS publishes an ES256 public key and no private parts', async (t) => {
  const h = await startHarness(t);
  const res = await fetch(`${h.issuer}/jwks`);
  assert.equal(res.status, 200);
  const { keys } = (await res.json()) as { keys: Array<Record<string, string>> };
  assert.equal(keys.length, 1);
  const [key] = keys;
  assert.equal(key?.kty, 'EC');
  assert.equal(key?.crv, 'P-256');
  assert.equal(key?.alg, 'ES256');
  assert.equal(key?.use, 'sig');
  assert.ok(key?.kid);
  assert.equal(key?.d, undefined);
});

test('pages carry the security headers and unknown paths a readable 404', async (t) => {
  const h = await startHarness(t);
  const res = await fetch(`${h.issuer}/nope`);
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.match(await res.text(), /Page not found/);
  const css = await fetch(`${h.issuer}/assets/style.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type') ?? '', /text\/css/);
});
