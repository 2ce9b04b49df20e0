// What an operator reads: GET /metrics on AUTH_METRICS_PORT (Prometheus text, scraped here over
// real HTTP after a real sign-in, consent, token exchange and disconnect) and /livez, /readyz.
// Readiness during a real database outage is in hostile-outage.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrf } from './support/browser.ts';
import { connect, exchangeCode, randomEmail, startHarness } from './support/harness.ts';

/** The value of one sample line, e.g. sample(text, 'pictor_auth_events_total{event="app.revoked"}'). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

test('metrics: sign-ins, consents, revocations, HTTP statuses by route class and the pool, on a port of their own, with no personal data', async (t) => {
  const h = await startHarness(t, { env: { AUTH_METRICS_PORT: '0' } });
  const metricsUrl = h.server.metricsUrl!;
  assert.ok(metricsUrl, 'AUTH_METRICS_PORT set: a metrics listener');
  assert.notEqual(new URL(metricsUrl).port, new URL(h.issuer).port, 'not on the public port');
  assert.equal((await fetch(`${h.issuer}/metrics`)).status, 404, 'never on the public port');

  const before = await (await fetch(metricsUrl)).text();
  assert.equal(sample(before, 'pictor_auth_events_total{event="signin.completed"}'), 0, 'present as 0 before the first');

  const email = randomEmail();
  const client = await h.register({ client_name: 'Metrics App' });
  const { callback, pkce, browser } = await connect(h, { client, email, scope: 'pictor:read' });
  assert.equal((await exchangeCode(h, client, callback, pkce.verifier)).status, 200);
  const page = await browser.get('/account');
  assert.equal((await browser.post('/account/revoke', { client_id: client.client_id, _csrf: csrf(page) })).status, 200);

  const response = await fetch(metricsUrl);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  for (const [series, expected] of [
    ['pictor_auth_events_total{event="signin.link_sent"}', 1],
    ['pictor_auth_events_total{event="signin.completed"}', 1],
    ['pictor_auth_events_total{event="consent.granted"}', 1],
    ['pictor_auth_events_total{event="app.revoked"}', 1],
    ['pictor_auth_events_total{event="client.registered"}', 1],
    ['pictor_auth_http_responses_total{route="token",status="200"}', 1],
    ['pictor_auth_http_responses_total{route="registration",status="201"}', 1],
    ['pictor_auth_http_responses_total{route="other",status="404"}', 1],
  ] as const) {
    assert.equal(sample(text, series), expected, series);
  }
  assert.ok(sample(text, 'pictor_auth_db_pool_connections{state="idle"}') >= 1, 'pool gauges read at scrape time');
  assert.ok(sample(text, 'pictor_auth_db_pool_connections{state="in_use"}') >= 0);
  assert.equal(sample(text, 'pictor_auth_db_pool_waiting_requests'), 0);
  assert.match(text, /^# TYPE process_cpu_user_seconds_total counter$/m, 'Node process metrics');
  assert.match(text, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
  // Labels carry route classes, statuses and event types only.
  const [user] = await h.db.selectFrom('users').select('id').where('email', '=', email).execute();
  for (const personal of [email, user!.id, client.client_id]) assert.ok(!text.includes(personal), `no ${personal} in the metrics`);

  assert.equal((await fetch(new URL('/other', metricsUrl))).status, 404);
});

test('livez and readyz: the shared JSON shape; /healthz is gone', async (t) => {
  const h = await startHarness(t);
  const live = await fetch(`${h.issuer}/livez`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: 'ok' });
  const ready = await fetch(`${h.issuer}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(ready.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', signing_keys: 'ok' } });
  assert.equal((await fetch(`${h.issuer}/healthz`)).status, 404);
});

test('no metrics listener unless AUTH_METRICS_PORT is set', async (t) => {
  const h = await startHarness(t);
  assert.equal(h.server.metricsUrl, undefined);
});
