// Every refusal of the authorization and token endpoints, each with the rule it enforces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@pictor/platform/local-postgres';
import { startAuthServer } from '../src/server.ts';
import { csrf, formAction } from './support/browser.ts';
import { authorizeUrl, connect, exchangeCode, pkce, randomEmail, refresh, startHarness, tokenRequest } from './support/harness.ts';

test('an unregistered redirect_uri gets a readable page, never a redirect (RFC 6749 §4.1.2.1)', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const page = await h.browser().get(authorizeUrl(h, { client, redirectUri: 'https://attacker.example/cb' }));
  assert.equal(page.status, 400);
  assert.equal(page.leftTo, undefined);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.body, /redirect_uri is not registered/);
  assert.doesNotMatch(page.body, /at .*\.js:\d+/); // no stack trace
});

test('an unknown client_id gets a readable page', async (t) => {
  const h = await startHarness(t);
  const page = await h.browser().get(authorizeUrl(h, { client: { client_id: 'nope', redirect_uris: ['https://client.example/callback'] } }));
  assert.equal(page.status, 400);
  assert.match(page.body, /Unknown app/);
});

test('PKCE is required for every client, and only S256 (RFC 7636, OAuth 2.1 §4.1.1)', async (t) => {
  const h = await startHarness(t);
  for (const method of ['none', 'client_secret_post', 'client_secret_basic']) {
    const client = await h.register({ token_endpoint_auth_method: method });
    // A self-registered client's early errors show Pictor's page (see attacker-links.test.ts).
    const missing = await h.browser().get(authorizeUrl(h, { client, pkce: null }));
    assert.equal(missing.status, 400, method);
    assert.match(missing.body, /<code>invalid_request<\/code> — [^<]*PKCE/, method);
  }
  const client = await h.register();
  const plain = await h.browser().get(
    authorizeUrl(h, {
      client,
      pkce: null,
      extra: { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' },
    }),
  );
  assert.equal(plain.status, 400);
  assert.match(plain.body, /<code>invalid_request<\/code> — [^<]*code_challenge_method/);
});

test('a wrong code_verifier is refused (RFC 7636 §4.6) and spends the code', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const res = await exchangeCode(h, client, callback, pkce().verifier);
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'invalid_grant');
  // The right verifier afterwards gets nothing: guessing is one try per code.
  const after = await exchangeCode(h, client, callback, p.verifier);
  assert.equal(after.status, 400);
  assert.equal(after.body.error, 'invalid_grant');
  assert.equal(after.body.access_token, undefined);

  // Another client presenting it cannot spend someone else's code.
  const other = await h.register();
  const second = await connect(h, { client, email: randomEmail() });
  assert.equal((await exchangeCode(h, other, second.callback, second.pkce.verifier)).body.error, 'invalid_grant');
  assert.equal((await exchangeCode(h, client, second.callback, second.pkce.verifier)).status, 200);
});

test('a refresh token works only for its own client: another or an unknown client is refused and spends nothing', async (t) => {
  // The refresh grant reads the client and the presented token in one statement: neither may
  // stand in for the other.
  const h = await startHarness(t);
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const token = (await exchangeCode(h, client, callback, p.verifier)).body.refresh_token ?? '';
  const other = await h.register();
  const stolen = await refresh(h, other, token);
  assert.equal(stolen.status, 400);
  assert.equal(stolen.body.error, 'invalid_grant');
  assert.equal(stolen.body.access_token, undefined);
  const unknown = await refresh(h, { ...client, client_id: 'no-such-client' }, token);
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error, 'invalid_client');
  const consumed = await h.db
    .selectFrom('auth_oidc_payloads')
    .select('consumed_at')
    .where('model', '=', 'RefreshToken')
    .where('id', '=', token)
    .executeTakeFirstOrThrow();
  assert.equal(consumed.consumed_at, null);
  // its own client still refreshes with it
  const own = await refresh(h, client, token);
  assert.equal(own.status, 200);
  assert.ok(own.body.access_token);
});

test('a replayed code is refused and revokes what the first use issued (RFC 6749 §4.1.2)', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const first = await exchangeCode(h, client, callback, p.verifier);
  assert.equal(first.status, 200);
  const replay = await exchangeCode(h, client, callback, p.verifier);
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  const refreshed = await refresh(h, client, first.body.refresh_token ?? '');
  assert.equal(refreshed.body.error, 'invalid_grant');
});

test('an unknown resource is invalid_target at both endpoints (RFC 8707 §2)', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const page = await h.browser().get(authorizeUrl(h, { client, resource: 'https://elsewhere.example/api' }));
  assert.equal(page.status, 400);
  assert.match(page.body, /Unknown resource/);

  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const res = await exchangeCode(h, client, callback, p.verifier, { resource: 'https://elsewhere.example/api' });
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'invalid_target');
});

test('parallel refreshes of one token continue one chain; reuse after the grace revokes the grant (RFC 9700 §4.14.2)', async (t) => {
  const h = await startHarness(t, {
    tweak: (c) => {
      c.ttl.refreshReuseGrace = 1;
    },
  });
  for (const method of ['none', 'client_secret_basic']) {
    // public and confidential clients rotate alike
    const client = await h.register({ token_endpoint_auth_method: method });
    const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
    const issued = await exchangeCode(h, client, callback, p.verifier);
    const original = issued.body.refresh_token ?? '';
    const grantId = (
      await h.db.selectFrom('auth_oidc_payloads').select('grant_id').where('model', '=', 'RefreshToken').where('id', '=', original).executeTakeFirstOrThrow()
    ).grant_id!;
    const liveRefreshTokens = async () =>
      (
        await h.db
          .selectFrom('auth_oidc_payloads')
          .select('id')
          .where('model', '=', 'RefreshToken')
          .where('grant_id', '=', grantId)
          .where('consumed_at', 'is', null)
          .execute()
      ).map((r) => r.id);

    // Three parallel refreshes with the same token (tabs, a retry): all succeed, with one successor.
    const parallel = await Promise.all([1, 2, 3].map(() => refresh(h, client, original)));
    for (const r of parallel) assert.equal(r.status, 200, `${method}: ${JSON.stringify(r.body)}`);
    const successor = parallel[0]!.body.refresh_token ?? '';
    assert.notEqual(successor, original, method);
    assert.deepEqual(
      parallel.map((r) => r.body.refresh_token),
      [successor, successor, successor],
      method,
    );
    assert.equal(new Set(parallel.map((r) => r.body.access_token)).size, 3, 'each gets a fresh access token');
    assert.deepEqual(await liveRefreshTokens(), [successor], `${method}: the grant has one live refresh token`);
    // Presented once more right after (a retry that lost its response): still the same successor.
    const retry = await refresh(h, client, original);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.body.refresh_token, successor);
    assert.deepEqual(await liveRefreshTokens(), [successor]);

    // The chain continues from the successor.
    const next = await refresh(h, client, successor);
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.notEqual(next.body.refresh_token, successor);
    assert.deepEqual(await liveRefreshTokens(), [next.body.refresh_token]);

    // After the grace, presenting a rotated token again is reuse ...
    await sleep(1500);
    const reused = await refresh(h, client, original);
    assert.equal(reused.status, 400);
    assert.equal(reused.body.error, 'invalid_grant');
    // ... and the whole grant is gone, including the legitimate newest token.
    assert.equal((await refresh(h, client, next.body.refresh_token ?? '')).body.error, 'invalid_grant');
    assert.deepEqual(await liveRefreshTokens(), []);
  }
});

test('two auth server replicas on one database still keep one chain per refresh token', async (t) => {
  const h = await startHarness(t);
  // a second replica: same configuration and database, another port (the issuer stays the same)
  const replica = await startAuthServer({ ...h.config, port: await freePort() }, { db: h.db, maintenance: false });
  t.after(replica.close);
  const client = await h.register();
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const original = (await exchangeCode(h, client, callback, p.verifier)).body.refresh_token ?? '';
  const viaReplica = async () => {
    const res = await fetch(`${replica.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: original, client_id: client.client_id }),
    });
    return { status: res.status, body: (await res.json()) as { refresh_token?: string } };
  };
  const answers = await Promise.all([refresh(h, client, original), viaReplica(), refresh(h, client, original), viaReplica()]);
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(new Set(answers.map((a) => a.body.refresh_token)).size, 1);
  assert.equal((await refresh(h, client, answers[1]!.body.refresh_token ?? '')).status, 200);
});

test('a form without its CSRF token is refused with a page, and nothing is sent', async (t) => {
  const h = await startHarness(t);
  const client = await h.register();
  const browser = h.browser();
  const login = await browser.get(authorizeUrl(h, { client }));
  const action = formAction(login, '/login');
  const email = randomEmail();
  for (const token of [undefined, 'forged-token-value']) {
    const refused = await browser.post(action, { email, _csrf: token });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /This form has expired/);
  }
  // A token from another browser does not work either (it is bound to this browser's cookie).
  const other = h.browser();
  const otherLogin = await other.get(authorizeUrl(h, { client }));
  const crossed = await browser.post(action, { email, _csrf: csrf(otherLogin) });
  assert.equal(crossed.status, 403);
  assert.equal(h.sink.mails.length, 0);
  // With its token it works.
  const ok = await browser.post(action, { email, _csrf: csrf(login) });
  assert.equal(ok.status, 200);
  assert.match(ok.body, /Check your email/);
});

test('a confidential client must authenticate at the token endpoint', async (t) => {
  const h = await startHarness(t);
  const client = await h.register({ token_endpoint_auth_method: 'client_secret_post' });
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  const wrong = await tokenRequest(
    h,
    { ...client, client_secret: 'wrong' },
    {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code') ?? '',
      redirect_uri: client.redirect_uris[0] ?? '',
      code_verifier: p.verifier,
    },
  );
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
});
