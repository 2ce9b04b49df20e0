// Replicas proven: two authorization servers and two MCP servers, each its own process (run as the
// Dockerfiles run them), on one Postgres, behind round-robin balancers (support/round-robin.ts):
// every request goes to the other replica than the one before. Through them: Claude's whole
// connection in Chromium (registration, magic link, consent, token, refresh), tool calls, the two
// MCP processes' lifecycle workers sharing provisioning and renewals, a disconnect that voids the
// token on both MCP replicas at once, and one replica of each killed mid-run while the other
// keeps serving — with the ledger checked for lost or doubled charges.
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test as base, expect } from '@playwright/test';
import { sql } from 'kysely';
import { freePort } from '@pictor/platform/local-postgres';
import { createTestDatabase, type TestDatabase } from '@pictor/platform/testing';
import { seedCatalog } from '@pictor/mcp-server/pictor/catalog-seed';
import { grantPromotionCredit } from '../mcp-server/src/pictor/balance.ts';
import { startService, type Service } from '../bench/lib/services.ts';
import { startSmtpSink, type SmtpSink } from '../auth-server/test/support/smtp-sink.ts';
import { ClaudeConnector } from './support/claude.ts';
import { authorize } from './support/person.ts';
import { startRoundRobin, type RoundRobin } from './support/round-robin.ts';

interface Replicas {
  issuer: string;
  mcpUrl: string;
  database: TestDatabase;
  sink: SmtpSink;
  auth: Service[];
  mcp: Service[];
  mcpPorts: number[];
  authLb: RoundRobin;
  mcpLb: RoundRobin;
}

const test = base.extend<{ replicas: Replicas }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern
  replicas: async ({}, use) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pictor-replicas-'));
    const database = await createTestDatabase();
    await seedCatalog(database.db);
    const sink = await startSmtpSink();
    const authPorts = [await freePort(), await freePort()];
    const mcpPorts = [await freePort(), await freePort()];
    const authLb = await startRoundRobin(authPorts);
    const mcpLb = await startRoundRobin(mcpPorts);
    const issuer = authLb.url;
    const mcpUrl = `${mcpLb.url}/mcp`;
    const common = { DATABASE_URL: database.url, AUTH_ISSUER: issuer, MCP_URL: mcpUrl, LOG_LEVEL: 'info', NODE_ENV: 'development' };
    const auth = authPorts.map((port, i) =>
      startService(`auth-${i}`, 'auth-server/src/main.ts', {
        logDir: dir,
        env: { ...common, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1', SMTP_URL: sink.url, MAIL_FROM: 'Pictor <auth@pictor.test>' },
      }),
    );
    // one at a time: the first creates the signing key, the second finds it
    for (const [i, a] of auth.entries()) await a.ready(`http://127.0.0.1:${authPorts[i]}/readyz`, 90_000);
    const mcp = mcpPorts.map((port, i) =>
      startService(`mcp-${i}`, 'mcp-server/src/main.ts', {
        logDir: dir,
        env: { ...common, MCP_PORT: String(port), MCP_HOST: '127.0.0.1', WORKER_ENABLED: 'true', WORKER_INTERVAL_MS: '200' },
      }),
    );
    for (const [i, m] of mcp.entries()) await m.ready(`http://127.0.0.1:${mcpPorts[i]}/readyz`, 90_000);
    await use({ issuer, mcpUrl, database, sink, auth, mcp, mcpPorts, authLb, mcpLb });
    await Promise.all([...auth, ...mcp].map((s) => s.stop()));
    await Promise.all([authLb.close(), mcpLb.close(), sink.close()]);
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  },
});

/** A tools/call straight to one MCP replica, addressed as the public URL (its Host), bypassing the balancer. */
function callReplica(port: number, publicUrl: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/mcp',
        headers: {
          host: new URL(publicUrl).host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list-gpus', arguments: {} } }));
  });
}

test('two auth and two MCP replicas behind round-robin: the whole connection, tools, shared workers, a disconnect on both, a replica killed mid-run', async ({
  replicas: r,
  context,
}) => {
  test.setTimeout(360_000);
  const db = r.database.db;
  const email = `replicas-${Date.now()}@example.test`;

  // ---- Claude connects: registration, magic link, consent, token — every request alternating ----
  let connector = await ClaudeConnector.add(r.mcpUrl);
  let request1 = connector.authorizationRequest();
  let [, connection] = await Promise.all([authorize(context, request1.url, { email, sink: r.sink }), connector.complete(request1)]);
  expect(
    r.authLb.served.every((n) => n >= 3),
    `both auth replicas served the flow: ${r.authLb.served}`,
  ).toBe(true);

  // ---- tools through both MCP replicas ----
  await grantPromotionCredit(db, email, 500_000_000n, 'replica test credit');
  expect((await connection.call<{ account: string }>('get-user-balance')).account).toBe('personal');
  await connection.call('list-gpus');
  const created: string[] = [];
  for (let i = 0; i < 6; i++) {
    const c = await connection.call<{ instance: { id: string } }>('create-instance', {
      plan: 'rtx4090-24gb',
      gpu_count: 1,
      region: 'us-east',
      storage_gb: 100,
      rental_hours: 1,
      name: `replica-${i}`,
      auto_renew: true,
    });
    created.push(c.instance.id);
  }
  expect(
    r.mcpLb.served.every((n) => n >= 3),
    `both MCP replicas served tool calls: ${r.mcpLb.served}`,
  ).toBe(true);

  // ---- the two workers share provisioning: each instance provisioned once ----
  const state = async () =>
    (await db.selectFrom('instances').select(['id', 'state', 'pending_action']).where('id', 'in', created).execute()).filter(
      (i) => i.state === 'running' && i.pending_action === null,
    ).length;
  await expect.poll(state, { timeout: 60_000 }).toBe(created.length);
  const runningLines = await sql<{ instance_id: string; n: number }>`
    SELECT instance_id, count(*)::int AS n FROM instance_logs WHERE instance_id = ANY(${created}::uuid[]) AND message LIKE 'Running:%'
    GROUP BY instance_id`.execute(db);
  expect(runningLines.rows.map((x) => x.n)).toEqual(created.map(() => 1));

  // ---- and renewals: the prepaid hour is over (moved back in the database), both workers race ----
  await sql`UPDATE instances SET expires_at = now() - interval '1 second' WHERE id = ANY(${created}::uuid[])`.execute(db);
  const charges = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ledger_entries WHERE kind = 'charge' AND instance_id = ANY(${created}::uuid[])`.execute(db))
      .rows[0]!.n;
  await expect.poll(charges, { timeout: 60_000 }).toBe(created.length * 2);
  const renewedOnce = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM instances WHERE id = ANY(${created}::uuid[]) AND expires_at > now() + interval '50 minutes' AND state = 'running'`.execute(
    db,
  );
  expect(renewedOnce.rows[0]!.n).toBe(created.length);

  // ---- refresh through the balancer ----
  await connection.refresh();
  expect(connection.refreshes).toBeGreaterThanOrEqual(1);
  await connection.call('list-gpus');

  // ---- disconnect: the token is refused by both MCP replicas at once ----
  const token = connection.tokens.access_token;
  expect(await Promise.all(r.mcpPorts.map((p) => callReplica(p, r.mcpUrl, token)))).toEqual([200, 200]);
  const page = await context.newPage();
  await page.goto(new URL('/account', r.issuer).href);
  await page
    .getByRole('row', { name: /Claude/ })
    .getByRole('button', { name: 'Disconnect' })
    .click();
  await expect(page.getByText('No apps are connected to your Pictor account.')).toBeVisible();
  await expect.poll(() => Promise.all(r.mcpPorts.map((p) => callReplica(p, r.mcpUrl, token))), { timeout: 15_000 }).toEqual([401, 401]);
  await connection.close();
  await connector.close();

  // ---- connect again (the browser is still signed in), then lose one replica of each mid-run ----
  connector = await ClaudeConnector.add(r.mcpUrl);
  request1 = connector.authorizationRequest();
  [, connection] = await Promise.all([authorize(context, request1.url, { email, sink: r.sink, signIn: false }), connector.complete(request1)]);
  const target = created[0]!;
  const before = await db.selectFrom('instances').select('expires_at').where('id', '=', target).executeTakeFirstOrThrow();
  const addHour = async (): Promise<'ok' | 'failed'> => {
    const res = await connection.rawToolCall('add-instance-hours', { instance_id: target, hours: 1 });
    const json = res.status === 200 ? ((await res.json()) as { result?: { isError?: boolean } }) : null;
    return json && !json.result?.isError ? 'ok' : 'failed';
  };
  const outcomes: Array<'ok' | 'failed'> = [];
  for (let i = 0; i < 6; i++) outcomes.push(await addHour());
  expect(outcomes).toEqual(outcomes.map(() => 'ok'));
  // a burst in flight on both replicas, and one replica of each SIGKILLed under it (no graceful stop)
  const burst = Array.from({ length: 8 }, () => addHour());
  r.mcp[1]!.child.kill('SIGKILL');
  r.auth[1]!.child.kill('SIGKILL');
  outcomes.push(...(await Promise.all(burst)));
  // the survivor answers everything after that
  const afterKill: Array<'ok' | 'failed'> = [];
  for (let i = 0; i < 8; i++) afterKill.push(await addHour());
  expect(afterKill).toEqual(afterKill.map(() => 'ok'));
  outcomes.push(...afterKill);
  const ok = outcomes.filter((o) => o === 'ok').length;
  const after = await db.selectFrom('instances').select('expires_at').where('id', '=', target).executeTakeFirstOrThrow();
  const hoursAdded = (after.expires_at.getTime() - before.expires_at.getTime()) / 3_600_000;
  const added = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM ledger_entries WHERE instance_id = ${target}::uuid AND kind = 'charge' AND description LIKE '% h added'`.execute(db);
  // every charge moved the expiry by its hour and every hour was charged: none lost, none doubled
  expect(added.rows[0]!.n).toBe(hoursAdded);
  expect(added.rows[0]!.n).toBeGreaterThanOrEqual(ok);
  expect(added.rows[0]!.n).toBeLessThanOrEqual(outcomes.length);
  const drift = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM accounts a
    WHERE a.balance <> coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'balance'), 0)
       OR a.credit <> coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'credit'), 0)`.execute(db);
  expect(drift.rows[0]!.n).toBe(0);

  // the survivors keep serving sign-in pages, tokens and tools
  await connection.refresh();
  expect((await connection.call<{ account: string }>('get-user-balance')).account).toBe('personal');
  const account = await context.newPage();
  await account.goto(new URL('/account', r.issuer).href);
  await expect(account.getByRole('row', { name: /Claude/ }).getByRole('button', { name: 'Disconnect' })).toHaveCount(1);
  await connection.close();
  await connector.close();
});
