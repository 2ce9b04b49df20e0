// What an operator reads from the MCP server, wired as deployed (startMcpServer): GET /metrics on
// MCP_METRICS_PORT, scraped over real HTTP after real tool calls, refusals and a webhook; and
// /livez, /readyz. Readiness during a real Postgres outage is in hostile-faults.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createTestDatabase } from '@pictor/platform/testing';
import { freePort } from '@pictor/platform/local-postgres';
import { DEV_INFLOW_WEBHOOK_SECRET, loadConfig } from '../src/config.ts';
import { ensureUser, resolveAccountId } from '../src/pictor/accounts.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { ManualClock } from '@pictor/platform/clock';
import { startMcpServer } from '../src/server.ts';
import { fund, HOUR, T0 } from './core-fixtures.ts';
import { call, post, startIssuer } from './hostile-support.ts';

/** The value of one sample line, e.g. sample(text, 'pictor_mcp_worker_lag_seconds'). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

const calls = (tool: string, outcome: string) => `pictor_mcp_tool_calls_total{tool="${tool}",outcome="${outcome}"}`;

test('metrics: tool calls by outcome with latency, HTTP statuses, token refusals, webhooks, pool and worker lag; no personal data', async (t) => {
  const database = await createTestDatabase();
  const issuer = await startIssuer();
  const port = await freePort();
  const mcpUrl = `http://127.0.0.1:${port}/mcp`;
  const config = loadConfig({
    DATABASE_URL: database.url,
    MCP_PORT: String(port),
    MCP_HOST: '127.0.0.1',
    MCP_URL: mcpUrl,
    MCP_METRICS_PORT: '0',
    AUTH_ISSUER: issuer.issuer,
    AUTH_JWKS_URL: issuer.jwksUrl,
    WORKER_ENABLED: 'false',
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    // webhooks are checked here; nothing in this test reaches InFlow itself
    INFLOW_API_URL: 'http://127.0.0.1:1',
    INFLOW_API_KEY: 'k',
    INFLOW_WEBHOOK_SECRET: DEV_INFLOW_WEBHOOK_SECRET,
  });
  const clock = new ManualClock(T0);
  const server = await startMcpServer(config, { db: database.db, clock });
  t.after(async () => {
    await server.close();
    await issuer.close();
    await database.drop();
  });
  const metricsUrl = server.metricsUrl!;
  assert.ok(metricsUrl, 'MCP_METRICS_PORT set: a metrics listener');
  assert.notEqual(new URL(metricsUrl).port, String(port), 'not on the public port');
  const scrape = async () => {
    const response = await fetch(metricsUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  await seedCatalog(database.db);
  const user = await ensureUser(database.db, 'metrics@example.test');
  await fund(database.db, await resolveAccountId(database.db, { userId: user.id }, 'read'), { balance: '500' });
  const token = await issuer.token({ userId: user.id, aud: mcpUrl });

  const before = await scrape();
  assert.equal(sample(before, calls('get-user-balance', 'ok')), 0, 'every tool present as 0 before its first call');
  assert.equal(sample(before, 'pictor_mcp_worker_lag_seconds'), 0, 'nothing due');

  assert.equal((await post(mcpUrl, token, call('get-user-balance', {}))).status, 200);
  assert.equal((await post(mcpUrl, token, call('get-user-balance', {}))).status, 200);
  const created = await post(
    mcpUrl,
    token,
    call('create-instance', { plan: 'rtx4090-24gb', gpu_count: 1, region: 'us-east', storage_gb: 50, rental_hours: 1, name: 'metered' }),
  );
  assert.equal(created.result?.isError, undefined, created.text);
  assert.equal((await post(mcpUrl, token, call('get-instance-detail', { instance_id: '00000000-0000-4000-8000-000000000000' }))).code, 'not_found');
  assert.equal((await post(mcpUrl, token, call('list-gpus', { bogus: 1 }))).code, 'invalid_arguments');
  // refused by the bearer check: no token, not a JWT, another audience
  assert.equal((await fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401);
  assert.equal((await post(mcpUrl, 'not-a-jwt', call('list-gpus', {}))).status, 401);
  assert.equal((await post(mcpUrl, await issuer.token({ userId: user.id, aud: 'https://elsewhere.example/mcp' }), call('list-gpus', {}))).status, 401);
  // webhook deliveries: unsigned, stale, forged, then a signed one (for a payment that is not ours) twice
  const now = Math.floor(clock.now().getTime() / 1000);
  const body = JSON.stringify({ data: [{ eventType: 'PAYMENT_SUCCESS', payload: { id: 'pay_not_ours' } }] });
  const deliver = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${port}/webhooks/inflow`, { method: 'POST', headers, body });
  const signed = (id: string, at: number, key = Buffer.from(DEV_INFLOW_WEBHOOK_SECRET.slice('whsec_'.length), 'base64')) => ({
    'svix-id': id,
    'svix-timestamp': String(at),
    'svix-signature': `v1,${createHmac('sha256', key).update(`${id}.${at}.${body}`).digest('base64')}`,
  });
  assert.equal((await deliver({})).status, 400);
  assert.equal((await deliver(signed('msg_1', now - 3600))).status, 400);
  assert.equal((await deliver(signed('msg_1', now, Buffer.alloc(32)))).status, 401);
  assert.equal((await deliver(signed('msg_1', now))).status, 200);
  assert.equal((await deliver(signed('msg_1', now))).status, 200);
  // two hours on: the new instance's provisioning (due at creation) has waited that long
  clock.advance(2 * HOUR);

  const text = await scrape();
  for (const [series, expected] of [
    [calls('get-user-balance', 'ok'), 2],
    [calls('create-instance', 'ok'), 1],
    [calls('get-instance-detail', 'refused'), 1],
    [calls('list-gpus', 'invalid_arguments'), 1],
    [calls('list-gpus', 'ok'), 0],
    ['pictor_mcp_tool_call_duration_seconds_count{tool="get-user-balance"}', 2],
    ['pictor_mcp_token_refusals_total{reason="missing"}', 1],
    ['pictor_mcp_token_refusals_total{reason="not_jwt"}', 1],
    ['pictor_mcp_token_refusals_total{reason="wrong_audience"}', 1],
    ['pictor_mcp_token_refusals_total{reason="expired"}', 0],
    ['pictor_mcp_http_responses_total{route="mcp",status="200"}', 5],
    ['pictor_mcp_http_responses_total{route="mcp",status="401"}', 3],
    ['pictor_mcp_http_responses_total{route="webhook",status="200"}', 2],
    ['pictor_mcp_http_responses_total{route="webhook",status="400"}', 2],
    ['pictor_mcp_inflow_webhooks_total{outcome="invalid_headers"}', 1],
    ['pictor_mcp_inflow_webhooks_total{outcome="stale_timestamp"}', 1],
    ['pictor_mcp_inflow_webhooks_total{outcome="invalid_signature"}', 1],
    ['pictor_mcp_inflow_webhooks_total{outcome="processed"}', 1],
    ['pictor_mcp_inflow_webhooks_total{outcome="duplicate"}', 1],
    ['pictor_mcp_inflow_webhooks_total{outcome="inflow_unavailable"}', 0],
    ['pictor_mcp_worker_lag_seconds', 2 * 3600],
  ] as const) {
    assert.equal(sample(text, series), expected, series);
  }
  assert.ok(sample(text, 'pictor_mcp_tool_call_duration_seconds_sum{tool="get-user-balance"}') > 0);
  assert.equal(sample(text, 'pictor_mcp_tool_call_duration_seconds_bucket{le="+Inf",tool="get-user-balance"}'), 2);
  assert.ok(sample(text, 'pictor_mcp_db_pool_connections{state="idle"}') >= 1, 'pool gauges read at scrape time');
  assert.ok(sample(text, 'pictor_mcp_db_pool_connections{state="in_use"}') >= 0);
  assert.equal(sample(text, 'pictor_mcp_db_pool_waiting_requests'), 0);
  assert.match(text, /^# TYPE process_resident_memory_bytes gauge$/m, 'Node process metrics');
  for (const personal of [user.id, user.email, 'hostile-test', created.result!.structuredContent!.instance.id]) {
    assert.ok(!text.includes(personal), `no ${personal} in the metrics`);
  }
});

test('livez and readyz on the MCP server: the shared JSON shape, JWKS fetched for readiness', async (t) => {
  const database = await createTestDatabase();
  const issuer = await startIssuer();
  const port = await freePort();
  const config = loadConfig({
    DATABASE_URL: database.url,
    MCP_PORT: String(port),
    MCP_HOST: '127.0.0.1',
    MCP_URL: `http://127.0.0.1:${port}/mcp`,
    AUTH_ISSUER: issuer.issuer,
    AUTH_JWKS_URL: issuer.jwksUrl,
    WORKER_ENABLED: 'false',
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
  });
  const server = await startMcpServer(config, { db: database.db });
  t.after(async () => {
    await server.close();
    await database.drop();
  });
  assert.equal(server.metricsUrl, undefined, 'no metrics listener unless MCP_METRICS_PORT is set');
  const ready = await fetch(`${server.url}/readyz`);
  assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', jwks: 'ok' } });
  assert.equal(ready.status, 200);
  // Once loaded, the key set stays usable when the issuer is away: still ready.
  await issuer.close();
  assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  const live = await fetch(`${server.url}/livez`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: 'ok' });
});
