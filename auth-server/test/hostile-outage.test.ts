// Hostile conditions, faults: the authorization server while its Postgres is stopped and then
// restarted, on a cluster of its own (never the test run's shared one). Meanwhile every endpoint
// that needs the database answers 503 with Retry-After — JSON `temporarily_unavailable` for OAuth
// clients, a page saying so for a browser — never a 500, and /readyz says why (/livez stays 200);
// a refresh token presented during the outage is not used up; and sign-in and refresh work again
// by themselves once Postgres is back.
// (SMTP down is tested in magic-link.test.ts: "mail service down: the page says so, nothing is
// used up, and a retry works".)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb } from '@pictor/platform/db';
import { freePort, startLocalPostgres, type LocalPostgres } from '@pictor/platform/local-postgres';
import { migrateToLatest } from '@pictor/migrations/migrator';
import { loadConfig } from '../src/config.ts';
import { startAuthServer } from '../src/server.ts';
import { Browser } from './support/browser.ts';
import { connect, exchangeCode, randomEmail, refresh, type Harness, type Registered } from './support/harness.ts';
import { startSmtpSink } from './support/smtp-sink.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('Postgres stopped and restarted: 503 temporarily_unavailable meanwhile, nothing used up, back by itself', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pictor-auth-outage-'));
  let cluster: LocalPostgres = await startLocalPostgres({ dataDir: path.join(dir, 'pg'), port: 0, ephemeral: true });
  const pgPort = cluster.port;
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE pictor');
  await admin.end();
  const db = createDb(cluster.url('pictor'), { max: 4 });
  await migrateToLatest(db);
  const sink = await startSmtpSink();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: cluster.url('pictor'),
    AUTH_ISSUER: issuer,
    AUTH_PORT: String(port),
    AUTH_HOST: '127.0.0.1',
    MCP_URL: 'http://127.0.0.1:3999/mcp',
    SMTP_URL: sink.url,
    MAIL_FROM: 'Pictor <auth@pictor.test>',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  });
  const server = await startAuthServer(config, { db, maintenance: false });
  t.after(async () => {
    await server.close();
    await sink.close();
    await db.destroy();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const register = async (metadata: Record<string, unknown> = {}): Promise<Registered> => {
    const res = await fetch(`${issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['https://client.example/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'none',
        ...metadata,
      }),
    });
    assert.equal(res.status, 201);
    return (await res.json()) as Registered;
  };
  const h: Harness = { issuer, config, server, db, sink, browser: () => new Browser(issuer), register };

  const client = await h.register();
  const { callback, pkce: p, browser } = await connect(h, { client, email: randomEmail(), scope: 'pictor:read' });
  const tokens = await exchangeCode(h, client, callback, p.verifier);
  assert.equal(tokens.status, 200);
  const refreshToken = tokens.body.refresh_token!;

  await cluster.stop();
  const answers: Array<{ what: string; status: number; body: string; retryAfter: string | null }> = [];
  const ask = async (what: string, url: string, init: RequestInit = {}) => {
    const res = await fetch(url, init);
    answers.push({ what, status: res.status, body: await res.text(), retryAfter: res.headers.get('retry-after') });
  };
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    await Promise.all([
      ask('refresh', `${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id }),
      }),
      ask('jwks', `${issuer}/jwks`),
      ask('register', `${issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://client.example/callback'], token_endpoint_auth_method: 'none' }),
      }),
      ask(
        'authorize page',
        `${issuer}/auth?client_id=${client.client_id}&response_type=code&scope=pictor:read&redirect_uri=${encodeURIComponent('https://client.example/callback')}&code_challenge=${p.challenge}&code_challenge_method=S256`,
        { headers: { accept: 'text/html' }, redirect: 'manual' },
      ),
      ask('readyz', `${issuer}/readyz`),
      ask('livez', `${issuer}/livez`),
    ]);
  }
  for (const a of answers) {
    if (a.what === 'livez') {
      assert.equal(a.status, 200, 'the process is alive: nothing would be gained by restarting it');
      continue;
    }
    assert.equal(a.status, 503, `${a.what}: ${a.status} ${a.body.slice(0, 200)}`);
    if (a.what === 'readyz') {
      assert.equal(JSON.parse(a.body).checks.database, 'unreachable');
      continue;
    }
    assert.ok(Number(a.retryAfter) > 0, `${a.what}: Retry-After`);
    if (a.what === 'authorize page') assert.match(a.body, /Pictor is temporarily unavailable/);
    else assert.equal(JSON.parse(a.body).error, 'temporarily_unavailable', a.what);
  }

  cluster = await startLocalPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort, ephemeral: true });
  const upAt = Date.now();
  let refreshed: Awaited<ReturnType<typeof refresh>> | undefined;
  while (Date.now() - upAt < 10_000) {
    refreshed = await refresh(h, client, refreshToken);
    if (refreshed.status !== 503) break;
    await sleep(50);
  }
  const recoveryMs = Date.now() - upAt;
  // The token presented during the outage was not used up: it still refreshes, once.
  assert.equal(refreshed?.status, 200, JSON.stringify(refreshed?.body));
  assert.ok(recoveryMs <= 5000, `recovered in ${recoveryMs} ms`);
  const ready = await fetch(`${issuer}/readyz`);
  assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', signing_keys: 'ok' } });
  t.diagnostic(`auth outage: ${answers.length} answers while down, all 503; refresh works ${recoveryMs} ms after Postgres is back`);
  // And a new connection goes through the whole flow again, in the same browser session.
  const again = await connect(h, { client, email: randomEmail(), scope: 'pictor:read', browser });
  assert.equal((await exchangeCode(h, client, again.callback, again.pkce.verifier)).status, 200);
});
