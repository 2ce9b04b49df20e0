// Authorization on /mcp: MCP authorization spec (2025-11-25) §Access Token Usage and §Scope
// Challenge Handling, RFC 6750 §3 (challenges), RFC 9068 (JWT access tokens), RFC 8707 (audience).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createTokenVerifier } from '../src/http/token.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { testTools } from './fixtures/test-tools.ts';

const TOOLS_CALL = (name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args } });
const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

/** A POST with exactly these raw header lines (fetch would merge repeated headers into one). */
function rawPost(url: string, headers: string[]): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        // as raw lines, Node adds no Host of its own
        headers: ['host', new URL(url).host, 'content-type', 'application/json', 'accept', 'application/json, text/event-stream', ...headers],
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(TOOLS_CALL('test-whoami')));
  });
}

function challenge(response: Response): Record<string, string> {
  const header = response.headers.get('www-authenticate') ?? '';
  assert.match(header, /^Bearer /, `expected a Bearer challenge, got ${JSON.stringify(header)}`);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('bearer tokens on /mcp', () => {
  let server: TestServer;
  let userId: string;
  let metadataUrl: string;
  before(async () => {
    server = await startTestServer({ testOnlyTools: testTools });
    userId = (await server.createUser('auth@example.test')).id;
    metadataUrl = `${server.origin}/.well-known/oauth-protected-resource/mcp`;
  });
  after(() => server.close());

  async function refused(token: string | undefined, init: { path?: string } = {}) {
    const response = init.path
      ? await fetch(`${server.origin}${init.path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(TOOLS_LIST),
        })
      : await server.post(TOOLS_LIST, { token });
    assert.equal(response.status, 401);
    const params = challenge(response);
    assert.equal(params.resource_metadata, metadataUrl);
    assert.ok(params.scope?.split(' ').includes('pictor:read'), 'the challenge names the scopes to request');
    const body = (await response.json()) as { error: { message: string } };
    assert.ok(body.error.message.length > 0);
    return params;
  }

  test('a valid token works through the SDK client', async () => {
    const client = await server.connect(await server.issueToken({ userId, email: 'auth@example.test' }));
    const result = await server.callTool(client, 'test-whoami', {});
    assert.deepEqual(result.structuredContent, {
      user_id: userId,
      email: 'auth@example.test',
      team_id: null,
      role: null,
      input_keys: [],
      request_id: (result.structuredContent as { request_id: string }).request_id,
    });
  });

  test('no token: 401 with resource_metadata and scope, and no error code (RFC 6750 §3.1)', async () => {
    const params = await refused(undefined);
    assert.equal(params.error, undefined);
    const scopes = params.scope!.split(' ');
    assert.ok(scopes.includes('pictor:read') && scopes.includes('instances:write'), params.scope);
  });

  test('expired token: 401 invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const params = await refused(await server.issueToken({ userId, iat: now - 7200, exp: now - 120 }));
    assert.equal(params.error, 'invalid_token');
    assert.match(params.error_description!, /expired/);
  });

  test('token for another resource (audience): 401', async () => {
    for (const aud of [`${server.origin}/mcp/`, `${server.origin}/other`, 'https://apiv2.pictor.network/mcp']) {
      const params = await refused(await server.issueToken({ userId, aud }));
      assert.equal(params.error, 'invalid_token');
      assert.match(params.error_description!, /another resource/);
    }
  });

  test('token from another issuer: 401', async () => {
    const params = await refused(await server.issueToken({ userId, iss: 'http://127.0.0.1:1' }));
    assert.equal(params.error, 'invalid_token');
    assert.match(params.error_description!, /authorization server/);
  });

  test('bad signature (another key, same kid): 401', async () => {
    const params = await refused(await server.issueToken({ userId, forgeSignature: true }));
    assert.equal(params.error, 'invalid_token');
    assert.match(params.error_description!, /signature/);
  });

  test('alg none and HS256: 401', async () => {
    for (const alg of ['none', 'HS256'] as const) {
      const params = await refused(await server.issueToken({ userId, alg }));
      assert.equal(params.error, 'invalid_token', alg);
      assert.match(params.error_description!, /algorithm/, alg);
    }
  });

  test('unknown kid: 401', async () => {
    const params = await refused(await server.issueToken({ userId, kid: 'not-a-known-key' }));
    assert.equal(params.error, 'invalid_token');
    assert.match(params.error_description!, /unknown key/);
  });

  test('not an access token (typ missing or JWT), not yet valid, foreign subject, malformed: 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const token of [
      await server.issueToken({ userId, typ: null }),
      await server.issueToken({ userId, typ: 'JWT' }),
      await server.issueToken({ userId, nbf: now + 3600 }),
      await server.issueToken({ userId: 'not-a-uuid' }),
      await server.issueToken({ userId, claims: { sub: undefined } }),
      'not.a-jwt',
      'garbage',
    ]) {
      const params = await refused(token);
      assert.equal(params.error, 'invalid_token', token);
    }
  });

  test('every claim RFC 9068 §2.2 requires, a bounded lifetime, scope only as a string: otherwise 401 invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, Parameters<TestServer['issueToken']>[0], RegExp]> = [
      ['no exp', { userId, claims: { exp: undefined } }, /no exp claim/],
      ['no iat', { userId, claims: { iat: undefined } }, /no iat claim/],
      ['no jti', { userId, claims: { jti: undefined } }, /no jti claim/],
      ['no client_id', { userId, claims: { client_id: undefined } }, /no client_id claim/],
      ['azp in place of client_id', { userId, claims: { client_id: undefined, azp: 'test-client' } }, /no client_id claim/],
      ['an empty client_id', { userId, claims: { client_id: '' } }, /client_id/],
      ['a client_id that is not a string', { userId, claims: { client_id: 42 } }, /client_id/],
      ['a jti that is not a string', { userId, claims: { jti: 7 } }, /jti/],
      ['a lifetime over the maximum (1 h + skew)', { userId, iat: now, exp: now + 3600 + 60 }, /lives longer/],
      ['a long-lived token in the middle of its life', { userId, iat: now - 3000, exp: now + 1000 }, /lives longer/],
      ['issued in the future', { userId, iat: now + 600, exp: now + 1200 }, /future/],
      ['scope as an array', { userId, claims: { scope: ['pictor:read'] } }, /scope/],
    ];
    for (const [name, options, description] of cases) {
      const params = await refused(await server.issueToken(options));
      assert.equal(params.error, 'invalid_token', name);
      assert.match(params.error_description!, description, name);
    }
    // At the maximum, with the skew, still fine.
    const longest = await server.issueToken({ userId, iat: now, exp: now + 3600 + 30 });
    assert.equal((await server.post(TOOLS_CALL('test-whoami'), { token: longest })).status, 200);
  });

  test('scp is not read as scope: a token with only scp has no scopes (403 on a tool)', async () => {
    const token = await server.issueToken({ userId, claims: { scope: undefined, scp: 'pictor:read instances:write' } });
    const response = await server.post(TOOLS_CALL('test-whoami'), { token });
    assert.equal(response.status, 403);
    assert.equal(challenge(response).error, 'insufficient_scope');
  });

  test('two Authorization headers: 400 invalid_request, whichever of them is valid', async () => {
    const token = await server.issueToken({ userId });
    for (const pair of [
      [token, 'not-a-token'],
      ['not-a-token', token],
      [token, token],
    ]) {
      const response = await rawPost(server.url, ['authorization', `Bearer ${pair[0]}`, 'authorization', `Bearer ${pair[1]}`]);
      assert.equal(response.status, 400);
      assert.match(response.headers['www-authenticate'] ?? '', /^Bearer error="invalid_request"/);
    }
    // one header with the same token works
    assert.equal((await rawPost(server.url, ['authorization', `Bearer ${token}`])).status, 200);
  });

  test('a token in the query string is never used', async () => {
    const token = await server.issueToken({ userId });
    // alone: as if no token was sent, plus a reason
    const params = await refused(undefined, { path: `/mcp?access_token=${token}` });
    assert.equal(params.error, 'invalid_request');
    // even next to a valid header
    const both = await fetch(`${server.url}?access_token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(TOOLS_LIST),
    });
    assert.equal(both.status, 401);
  });

  test('an Authorization header that is not Bearer: 401', async () => {
    const response = await server.post(TOOLS_LIST, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(response.status, 401);
    assert.equal(challenge(response).resource_metadata, metadataUrl);
  });

  test('missing scope: 403 insufficient_scope on that tools/call, everything else keeps working', async () => {
    const token = await server.issueToken({ userId, scopes: ['pictor:read'] });
    const denied = await server.post(TOOLS_CALL('test-spend', { amount: 1 }), { token });
    assert.equal(denied.status, 403);
    const params = challenge(denied);
    assert.equal(params.error, 'insufficient_scope');
    assert.ok(params.scope!.split(' ').includes('instances:write'));
    assert.equal(params.resource_metadata, metadataUrl);
    const body = (await denied.json()) as { id: unknown; error: { message: string } };
    assert.equal(body.id, 7);
    assert.match(body.error.message, /instances:write/);

    // the same token: tools/list (which shows every tool) and a read tool still work
    const list = await server.post(TOOLS_LIST, { token });
    assert.equal(list.status, 200);
    const names = ((await list.json()) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
    assert.ok(names.includes('test-spend'), 'write tools are listed even without their scope, so a client can step up');
    const read = await server.post(TOOLS_CALL('test-whoami'), { token });
    assert.equal(read.status, 200);

    // and through the SDK client the call fails with the HTTP 403
    const client = await server.connect(token);
    await assert.rejects(
      client.callTool({ name: 'test-spend', arguments: { amount: 1 } }),
      (error: unknown) => error instanceof StreamableHTTPError && error.code === 403,
    );
    assert.equal((await server.callTool(client, 'test-whoami')).isError, undefined);
  });

  test('a token with the scope may call the write tool', async () => {
    const token = await server.issueToken({ userId, scopes: ['pictor:read', 'instances:write'] });
    const result = await server.callTool(token, 'test-spend', { amount: 2 });
    assert.deepEqual(result.structuredContent, { spent: 2 });
  });
});

describe('the JWKS is fetched once and cached', () => {
  test('many requests and tokens, one fetch', async (t) => {
    const server = await startTestServer({ testOnlyTools: testTools });
    t.after(server.close);
    const users = await Promise.all([1, 2, 3].map(() => server.createUser()));
    const tokens = await Promise.all(users.map((u) => server.issueToken({ userId: u.id })));
    // a burst of first requests in parallel shares a single fetch
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => server.post(TOOLS_CALL('test-whoami'), { token: tokens[i % 3] })));
    assert.deepEqual([...new Set(responses.map((r) => r.status))], [200]);
    for (let i = 0; i < 20; i++) assert.equal((await server.post(TOOLS_LIST, { token: tokens[i % 3] })).status, 200);
    const client = await server.connect(tokens[0]!);
    for (let i = 0; i < 5; i++) await server.callTool(client, 'test-whoami');
    assert.equal(server.jwksFetches(), 1);
  });
});

/** A complete access token for the unit tests' issuer and audience, ready to sign. */
function unitToken({ kid, alg = 'ES256' }: { kid: string; alg?: string }): SignJWT {
  return new SignJWT({ scope: 'pictor:read', client_id: 'unit-client' })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer('https://as.test')
    .setAudience('https://rs.test/mcp')
    .setSubject('0b8e5a4e-8f5e-4a57-9a59-0b5f5d1e2c3a')
    .setJti('unit-jti')
    .setIssuedAt()
    .setExpirationTime('1h');
}

describe('token verifier (unit)', () => {
  test('refetches the JWKS for a new kid after the cooldown, and not before', async (t) => {
    const first = await generateKeyPair('ES256', { extractable: true });
    const second = await generateKeyPair('ES256', { extractable: true });
    const keys = [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'ES256' }];
    let fetches = 0;
    const jwksServer = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    t.after(() => jwksServer.close());
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    const sign = (key: typeof first.privateKey, kid: string) => unitToken({ kid }).sign(key);

    const cooldownMs = 300;
    const verifier = createTokenVerifier({ issuer: 'https://as.test', audience: 'https://rs.test/mcp', jwksUrl, cooldownMs });
    assert.equal((await verifier.verifyAccessToken(await sign(first.privateKey, 'k1'))).ok, true);
    assert.equal(fetches, 1);

    // the authorization server rotates in a new key
    keys.push({ ...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'ES256' });
    const rotated = await sign(second.privateKey, 'k2');
    const early = await verifier.verifyAccessToken(rotated);
    assert.deepEqual(early.ok ? 'ok' : early.error, 'invalid_token', 'within the cooldown an unknown kid does not refetch');
    assert.equal(fetches, 1);
    await new Promise((resolve) => setTimeout(resolve, cooldownMs + 50));
    assert.equal((await verifier.verifyAccessToken(rotated)).ok, true);
    assert.equal(fetches, 2);
  });

  test('only ES256: a token signed with another asymmetric algorithm by a published key is refused', async (t) => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES384', { extractable: true });
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'r1' },
      { ...(await exportJWK(ec.publicKey)), kid: 'e384' },
    ];
    const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    t.after(() => jwksServer.close());
    const verifier = createTokenVerifier({
      issuer: 'https://as.test',
      audience: 'https://rs.test/mcp',
      jwksUrl: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
    });
    for (const [alg, kid, key] of [
      ['RS256', 'r1', rsa.privateKey],
      ['ES384', 'e384', ec.privateKey],
    ] as const) {
      const result = await verifier.verifyAccessToken(await unitToken({ kid, alg }).sign(key));
      assert.equal(result.ok ? 'ok' : result.description, 'the access token is signed with an algorithm this server does not accept', alg);
    }
  });

  test('a remembered token still expires', async (t) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    t.after(() => jwksServer.close());
    let now = Date.now();
    const verifier = createTokenVerifier({
      issuer: 'https://as.test',
      audience: 'https://rs.test/mcp',
      clockToleranceSeconds: 0,
      now: () => new Date(now),
      jwksUrl: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
    });
    const token = await unitToken({ kid: 'k1' })
      .setExpirationTime(Math.floor(now / 1000) + 60)
      .sign(privateKey);
    assert.equal((await verifier.verifyAccessToken(token)).ok, true);
    assert.equal((await verifier.verifyAccessToken(token)).ok, true);
    now += 61_000;
    const later = await verifier.verifyAccessToken(token);
    assert.equal(later.ok ? 'ok' : later.description, 'the access token has expired');
  });

  test('an unreachable JWKS is "unavailable", not the client\'s fault', async () => {
    const verifier = createTokenVerifier({ issuer: 'https://as.test', audience: 'https://rs.test/mcp', jwksUrl: 'http://127.0.0.1:1/jwks' });
    const { privateKey } = await generateKeyPair('ES256');
    const token = await unitToken({ kid: 'x' }).sign(privateKey);
    const result = await verifier.verifyAccessToken(token);
    assert.equal(result.ok ? 'ok' : result.error, 'unavailable');
  });
});
