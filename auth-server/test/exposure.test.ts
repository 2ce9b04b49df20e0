// What the authorization server shows to the network: the dev outbox only to this machine's own
// browser, and every URL it writes on AUTH_ISSUER whatever Host, X-Forwarded-* or the request
// target say.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { freePort } from '@pictor/platform/local-postgres';
import { createTestDatabase, rawRequest } from '@pictor/platform/testing';
import { loadConfig } from '../src/config.ts';
import { mayShowOutbox } from '../src/dev-outbox.ts';
import { createDevOutbox, type Mailer } from '../src/mail.ts';
import { startAuthServer } from '../src/server.ts';
import { authorizeUrl, startHarness } from './support/harness.ts';

/** The server on `host` with the dev outbox as its mailer, one mail in it, and this environment. */
async function outboxServer(t: TestContext, env: Record<string, string>, host = '127.0.0.1') {
  const database = await createTestDatabase();
  t.after(database.drop);
  const port = await freePort();
  const config = loadConfig({
    DATABASE_URL: database.url,
    AUTH_ISSUER: `http://127.0.0.1:${port}`,
    AUTH_PORT: String(port),
    AUTH_HOST: host,
    LOG_LEVEL: 'silent',
    ...env,
  });
  // NODE_ENV=production refuses a missing SMTP_URL at load: take it away afterwards, so only the
  // outbox's own rule stands between the request and the mails.
  if (env.NODE_ENV === 'production') config.smtpUrl = undefined;
  const mailer: Mailer = createDevOutbox(() => undefined);
  await mailer.send({ to: 'victim@example.test', subject: 'Your Pictor sign-in link', text: 'https://pictor.test/link?token=secret-token', html: '' });
  const server = await startAuthServer(config, { db: database.db, mailer, maintenance: false });
  t.after(server.close);
  return { port, outbox: (origin = `http://127.0.0.1:${port}`, headers: Record<string, string> = {}) => rawRequest(`${origin}/dev/outbox`, { headers }) };
}

test('the outbox decision: development mail, asked from loopback, not through a proxy', () => {
  const dev = { nodeEnv: 'development' as const, smtpUrl: undefined };
  const direct = (remoteAddress: string, headers: Record<string, string> = {}) => ({ remoteAddress, headers });
  for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(mayShowOutbox(dev, direct(address)), true, address);
  for (const address of ['192.0.2.2', '10.0.0.1', '::ffff:192.0.2.2', 'fd00::2', '0.0.0.0', '127.0.0.1.evil', '']) {
    assert.equal(mayShowOutbox(dev, direct(address)), false, address);
  }
  // A proxy or tunnel on this machine connects from loopback on behalf of anyone.
  for (const header of ['x-forwarded-for', 'forwarded', 'x-forwarded-host', 'x-real-ip', 'cf-connecting-ip']) {
    assert.equal(mayShowOutbox(dev, direct('127.0.0.1', { [header]: '127.0.0.1' })), false, header);
  }
  assert.equal(mayShowOutbox({ nodeEnv: 'development', smtpUrl: 'smtp://mail.test:25' }, direct('127.0.0.1')), false);
  assert.equal(mayShowOutbox({ nodeEnv: 'production', smtpUrl: undefined }, direct('127.0.0.1')), false);
  assert.equal(mayShowOutbox({ nodeEnv: 'test', smtpUrl: undefined }, direct('127.0.0.1')), true);
});

test("the outbox answers this machine's browser, and is a plain 404 through a proxy", async (t) => {
  const { outbox } = await outboxServer(t, {});
  const page = await outbox();
  assert.equal(page.status, 200);
  assert.match(page.body, /victim@example\.test/);
  const proxies: Array<Record<string, string>> = [{ 'x-forwarded-for': '203.0.113.7' }, { forwarded: 'for=203.0.113.7' }, { 'x-real-ip': '203.0.113.7' }];
  for (const headers of proxies) {
    const proxied = await outbox(undefined, headers);
    assert.equal(proxied.status, 404, JSON.stringify(headers));
    assert.match(proxied.body, /Page not found/);
    assert.doesNotMatch(proxied.body, /secret-token|victim/);
  }
});

test('from another address the outbox is 404, even with X-Forwarded-For: 127.0.0.1 and trusted proxies', async (t) => {
  const lan = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  if (!lan) return t.skip('this machine has no non-loopback IPv4 address');
  const { port, outbox } = await outboxServer(t, { TRUST_PROXY: 'true' }, '0.0.0.0');
  const spoofs: Array<Record<string, string>> = [{}, { 'x-forwarded-for': '127.0.0.1' }];
  for (const headers of spoofs) {
    const remote = await outbox(`http://${lan}:${port}`, headers);
    assert.equal(remote.status, 404, JSON.stringify(headers));
    assert.doesNotMatch(remote.body, /secret-token/);
  }
  assert.equal((await outbox()).status, 200); // the same server, from loopback
});

test('with SMTP_URL set, or NODE_ENV=production, there is no outbox at all', async (t) => {
  const smtp = await outboxServer(t, { SMTP_URL: 'smtp://127.0.0.1:2525' });
  assert.equal((await smtp.outbox()).status, 404);
  const production = await outboxServer(t, {
    NODE_ENV: 'production',
    AUTH_ISSUER: 'https://auth.pictor.test',
    TRUST_PROXY: 'true',
    MCP_URL: 'https://mcp.pictor.test/mcp',
    SMTP_URL: 'smtp://127.0.0.1:2525',
    MAIL_FROM: 'Pictor <a@pictor.test>',
    COOKIE_KEYS: 'k'.repeat(40),
    KEY_ENCRYPTION_SECRET: 's'.repeat(40),
  });
  const page = await production.outbox();
  assert.equal(page.status, 404);
  assert.doesNotMatch(page.body, /secret-token/);
});

test('by default the server listens on 127.0.0.1 only', () => {
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1/db' }).host, '127.0.0.1');
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1/db', AUTH_HOST: '0.0.0.0' }).host, '0.0.0.0');
});

/** Every absolute URL anywhere in a JSON document. */
function urlsIn(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z]+:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urlsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(urlsIn);
  return [];
}

const FORGED: Array<{ name: string; headers?: Record<string, string>; absolute?: boolean }> = [
  { name: 'Host', headers: { host: 'evil.test' } },
  { name: 'X-Forwarded-Host and -Proto', headers: { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' } },
  { name: 'Forwarded', headers: { forwarded: 'host=evil.test;proto=https' } },
  { name: 'an absolute request target', absolute: true },
];

test('metadata, registration and redirects use AUTH_ISSUER, whatever Host or X-Forwarded-Host say', async (t) => {
  // TRUST_PROXY on: X-Forwarded-* are read, as behind a real proxy, and still cannot move the URLs.
  const h = await startHarness(t, { env: { TRUST_PROXY: 'true' } });
  const send = (path: string, forged: (typeof FORGED)[number], o: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    rawRequest(`${h.issuer}${path}`, { ...o, path: forged.absolute ? `http://evil.test${path}` : path, headers: { ...o.headers, ...forged.headers } });

  for (const forged of FORGED) {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await send(path, forged);
      assert.equal(res.status, 200, `${forged.name} ${path}`);
      const metadata = JSON.parse(res.body) as Record<string, unknown>;
      const urls = urlsIn(metadata);
      assert.ok(urls.length >= 5, `${forged.name}: ${urls.join(' ')}`);
      for (const url of urls) assert.equal(new URL(url).origin, h.issuer, `${forged.name} ${path}: ${url}`);
      assert.equal(metadata.jwks_uri, `${h.issuer}/jwks`);
    }

    const registered = await send('/reg', forged, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Forged', redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'none' }),
    });
    assert.equal(registered.status, 201, registered.body);
    const client = JSON.parse(registered.body) as { client_id: string; redirect_uris: string[]; registration_client_uri: string };
    assert.equal(new URL(client.registration_client_uri).origin, h.issuer, forged.name);

    // The authorization request goes on to the sign-in page on this server, and the URL it will
    // resume at (kept with the interaction) is the issuer's too.
    const auth = new URL(authorizeUrl(h, { client }));
    const started = await send(`${auth.pathname}${auth.search}`, forged);
    assert.equal(started.status, 303, started.body);
    const location = String(started.headers.location);
    assert.equal(new URL(location, h.issuer).origin, h.issuer, `${forged.name}: ${location}`);
    const uid = /\/interaction\/([\w-]+)/.exec(location)?.[1] ?? '';
    const interaction = (await h.server.provider.Interaction.find(uid)) as { returnTo?: string } | undefined;
    assert.ok(interaction?.returnTo, forged.name);
    assert.equal(new URL(interaction.returnTo).origin, h.issuer, `${forged.name}: ${interaction.returnTo}`);
  }
});

test('the internal name the MCP server fetches /jwks by keeps working', async (t) => {
  const h = await startHarness(t);
  const internal = await rawRequest(`${h.issuer}/jwks`, { headers: { host: 'auth-server:4000' } });
  assert.equal(internal.status, 200);
  const { keys } = JSON.parse(internal.body) as { keys: Array<{ kid?: string }> };
  assert.equal(keys.length, 1);
  const direct = (await (await fetch(`${h.issuer}/jwks`)).json()) as { keys: Array<{ kid?: string }> };
  assert.equal(keys[0]?.kid, direct.keys[0]?.kid);
});
