// Cross-cutting protections: secure cookies behind TLS, nothing secret in the logs, and the dev
// outbox only where it belongs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '@pictor/platform/local-postgres';
import { createTestDatabase } from '@pictor/platform/testing';
import { loadConfig } from '../src/config.ts';
import { createDevOutbox } from '../src/mail.ts';
import { startAuthServer } from '../src/server.ts';
import { Browser, csrf, formAction } from './support/browser.ts';
import { authorizeUrl, connect, exchangeCode, randomEmail, refresh, startHarness } from './support/harness.ts';

test('with an https issuer (behind a TLS proxy) every cookie is Secure', async (t) => {
  const h = await startHarness(t, { env: { AUTH_ISSUER: 'https://auth.pictor.test', TRUST_PROXY: 'true' } });
  const client = await h.register();
  const direct = new URL(authorizeUrl(h, { client }));
  const res = await fetch(`${h.server.url}${direct.pathname}${direct.search}`, {
    redirect: 'manual',
    headers: { 'x-forwarded-proto': 'https', host: 'auth.pictor.test' },
  });
  assert.equal(res.status, 303);
  assert.equal(new URL(res.headers.get('location') ?? '', 'https://auth.pictor.test').origin, 'https://auth.pictor.test');
  const cookies = res.headers.getSetCookie();
  assert.ok(cookies.length > 0);
  for (const cookie of cookies) assert.match(cookie, /;\s*secure/i, cookie);
  assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=/);
  const page = await fetch(`${h.server.url}/account`, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
  for (const cookie of page.headers.getSetCookie()) assert.match(cookie, /;\s*secure/i, cookie);
});

test('the logs of a whole connection hold no token, code, link or cookie value', async (t) => {
  const lines: string[] = [];
  const h = await startHarness(t, { logs: { write: (line) => void lines.push(line) } });
  const client = await h.register({ token_endpoint_auth_method: 'client_secret_post' });
  const { callback, pkce, browser } = await connect(h, { client, email: randomEmail() });
  const tokens = await exchangeCode(h, client, callback, pkce.verifier);
  await refresh(h, client, tokens.body.refresh_token ?? '');
  await browser.get('/account');
  const logs = lines.join('');
  assert.ok(lines.length > 10, 'requests are logged');
  const mail = h.sink.mails[0];
  assert.ok(mail);
  const secrets = {
    code: callback.searchParams.get('code'),
    accessToken: tokens.body.access_token,
    refreshToken: tokens.body.refresh_token,
    linkToken: new URL(mail.link).searchParams.get('token'),
    verifier: pkce.verifier,
    clientSecret: client.client_secret,
  };
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(secret, name);
    assert.equal(logs.includes(secret), false, `${name} appears in the logs`);
  }
  assert.doesNotMatch(logs, /pictor_(session|interaction|csrf)=/);
});

test('without SMTP_URL mail goes to the dev outbox, listed at /dev/outbox; never in production', async (t) => {
  const database = await createTestDatabase();
  t.after(database.drop);
  const port = await freePort();
  const printed: string[] = [];
  const config = loadConfig({
    DATABASE_URL: database.url,
    AUTH_ISSUER: `http://127.0.0.1:${port}`,
    AUTH_PORT: String(port),
    AUTH_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
  });
  const server = await startAuthServer(config, { db: database.db, mailer: createDevOutbox((line) => void printed.push(line)), maintenance: false });
  t.after(server.close);
  const reg = (await (
    await fetch(`${config.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'none' }),
    })
  ).json()) as { client_id: string; redirect_uris: string[] };
  const browser = new Browser(config.issuer);
  const login = await browser.get(
    `/auth?client_id=${reg.client_id}&response_type=code&redirect_uri=${encodeURIComponent('https://client.example/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
  );
  await browser.post(formAction(login, '/login'), { email: 'dev@example.test', _csrf: csrf(login) });
  assert.match(printed.join('\n'), /dev outbox.*dev@example\.test/);
  const outbox = await browser.get('/dev/outbox');
  assert.equal(outbox.status, 200);
  assert.match(outbox.body, /Your Pictor sign-in link/);
  assert.match(outbox.body, /Open this link/);

  assert.throws(() => loadConfig({ DATABASE_URL: database.url, NODE_ENV: 'production' }), /SMTP_URL must be set in production/);
});
