// The InFlow tools through MCP: the SDK's real Client over HTTP with real signed tokens, the real
// MCP server (its /webhooks/inflow route included), real Postgres, and the InFlow sandbox whose
// checkout page is paid in Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startInflowSandbox, type InflowSandbox } from '@pictor/inflow-sandbox/sandbox';
import { createTeam } from '../src/pictor/accounts.ts';
import { inflowClientFromConfig } from '../src/pictor/inflow/client.ts';
import { parseCredits } from '@pictor/platform/money';
import { inflowTools } from '../src/tools/inflow.ts';
import { tools as registry } from '../src/tools/index.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { API_KEY, WEBHOOK_SECRET, payOnCheckoutPage, paymentEntries } from './inflow-fixtures.ts';

const NAMES = ['create-inflow-checkout', 'verify-inflow-transaction', 'sync-pending-inflow-transactions'];

let sandbox: InflowSandbox;
let server: TestServer;
let alice: Client;
let aliceId: string;

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

function ok(result: unknown): Record<string, any> {
  const r = result as CallToolResult;
  assert.ok(!r.isError, `tool error: ${text(r)}`);
  assert.ok(r.structuredContent);
  return r.structuredContent as Record<string, any>;
}

function refused(result: unknown, pattern: RegExp): void {
  const r = result as CallToolResult;
  assert.equal(r.isError, true, `expected a tool error, got ${text(r)}`);
  assert.match(text(r), pattern);
}

const call = (client: Client, name: string, args: Record<string, unknown> = {}) => client.callTool({ name, arguments: args });
let keys = 0;
const key = () => `tool-key-${++keys}-${Date.now()}`;

before(async () => {
  sandbox = await startInflowSandbox({ apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET, retryScheduleMs: [0, 50, 100, 200, 400] });
  const registered = registry.some((tool) => tool.name === 'create-inflow-checkout');
  server = await startTestServer({
    now: new Date(), // webhook signatures carry real time
    testOnlyTools: registered ? [] : inflowTools,
    env: { INFLOW_API_URL: sandbox.url, INFLOW_API_KEY: API_KEY, INFLOW_WEBHOOK_SECRET: WEBHOOK_SECRET },
  });
  server.services.inflow ??= inflowClientFromConfig(server.config.inflow, server.log);
  sandbox.setWebhookUrl(`${server.origin}/webhooks/inflow`);
  const a = await server.signIn();
  aliceId = a.user.id;
  alice = await server.connect(a.token);
});
after(async () => {
  await sandbox.close();
  await server.close();
});

async function withoutWebhooks<T>(fn: () => Promise<T>): Promise<T> {
  sandbox.webhooks.setEnabled(false);
  try {
    return await fn();
  } finally {
    sandbox.webhooks.setEnabled(true);
  }
}

test('the three tools are listed with truthful annotations and descriptions that keep the model honest', async () => {
  const { tools } = await alice.listTools();
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  for (const name of NAMES) {
    const tool = byName.get(name);
    assert.ok(tool, name);
    assert.deepEqual(tool.annotations, { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true }, name);
    assert.match(tool.description!, /credited: true/, name);
  }
  const create = byName.get('create-inflow-checkout')!;
  assert.match(create.description!, /confirm the exact amount and currency with the person/);
  assert.match(create.description!, /purchase_url/);
  assert.match(create.description!, /never tell the person the credit has arrived/);
  assert.deepEqual((create.inputSchema.required ?? []).sort(), ['amount', 'idempotency_key']);
});

test('a full top-up through MCP: checkout, paid in Chromium, verify → get-user-balance rises by exactly the amount', async () => {
  await withoutWebhooks(async () => {
    const before = ok(await call(alice, 'get-user-balance'));
    const created = ok(await call(alice, 'create-inflow-checkout', { amount: '35', currency: 'USD', idempotency_key: key() }));
    assert.equal(created.created, true);
    assert.equal(created.amount, '35.00');
    assert.equal(created.credited, false);
    assert.equal(created.status, 'INITIATION');
    assert.equal(created.team_id, null);

    const { landed } = await payOnCheckoutPage(created.purchase_url, /^Pay 35\.00 USD$/);
    assert.match(landed, /Thanks, your payment was sent/); // our /inflow/return page, served by the MCP server

    const verified = ok(await call(alice, 'verify-inflow-transaction', { transaction_id: created.transaction_id }));
    assert.equal(verified.credited_now, true);
    assert.equal(verified.transaction.credited, true);
    assert.equal(verified.transaction.status, 'PAYMENT_SUCCESS');
    const after = ok(await call(alice, 'get-user-balance'));
    assert.equal(parseCredits(after.balance)! - parseCredits(before.balance)!, 35_000_000n);
    assert.equal(verified.balance, after.balance);
    const again = ok(await call(alice, 'verify-inflow-transaction', { transaction_id: created.payment_id }));
    assert.equal(again.credited_now, false);
    assert.equal((await paymentEntries(server.db, created.payment_id)).length, 1);
  });
});

test("the sandbox's webhooks reach the MCP server's /webhooks/inflow and credit without a verify call", async () => {
  const user = await server.signIn();
  const client = await server.connect(user.token);
  const created = ok(await call(client, 'create-inflow-checkout', { amount: 10, idempotency_key: key() }));
  sandbox.pay(created.payment_id);
  await sandbox.webhooks.idle();
  const mine = sandbox.webhooks.deliveries.filter((d) => d.paymentIds.includes(created.payment_id));
  assert.ok(mine.length > 0 && mine.every((d) => d.state === 'delivered' && d.attempts.at(-1)!.status === 200));
  const balance = ok(await call(client, 'get-user-balance'));
  assert.equal(balance.balance, '10.00');
  const sync = ok(await call(client, 'sync-pending-inflow-transactions'));
  assert.deepEqual([sync.checked, sync.credited_now, sync.unreachable], [0, 0, 0]);
  const forged = await fetch(`${server.origin}/webhooks/inflow`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'svix-id': 'msg_x',
      'svix-timestamp': String(Math.floor(Date.now() / 1000)),
      'svix-signature': 'v1,Zm9yZ2Vk',
    },
    body: '{"data":[]}',
  });
  assert.equal(forged.status, 401);
});

test('retrying create-inflow-checkout with the same idempotency_key returns the same checkout', async () => {
  await withoutWebhooks(async () => {
    const k = key();
    const first = ok(await call(alice, 'create-inflow-checkout', { amount: '10.50', currency: 'EUR', idempotency_key: k }));
    const second = ok(await call(alice, 'create-inflow-checkout', { amount: 10.5, currency: 'EUR', idempotency_key: k }));
    assert.equal(second.transaction_id, first.transaction_id);
    assert.equal(second.created, false);
    refused(await call(alice, 'create-inflow-checkout', { amount: '20', currency: 'EUR', idempotency_key: k }), /idempotency_key was already used/);
  });
});

test('a team top-up credits the team; someone outside the team can neither see nor verify it', async () => {
  await withoutWebhooks(async () => {
    const team = await createTeam(server.db, aliceId, 'Alice Lab');
    const created = ok(await call(alice, 'create-inflow-checkout', { team_id: team.id, amount: '50', idempotency_key: key() }));
    assert.equal(created.team_id, team.id);
    sandbox.pay(created.payment_id);

    const outsider = await server.connect((await server.signIn()).token);
    refused(await call(outsider, 'verify-inflow-transaction', { team_id: team.id, transaction_id: created.transaction_id }), /Team not found/);
    refused(await call(outsider, 'verify-inflow-transaction', { transaction_id: created.transaction_id }), /InFlow transaction not found/);
    refused(await call(outsider, 'verify-inflow-transaction', { transaction_id: created.payment_id }), /InFlow transaction not found/);
    refused(await call(outsider, 'sync-pending-inflow-transactions', { team_id: team.id }), /Team not found/);
    assert.equal((await paymentEntries(server.db, created.payment_id)).length, 0);

    const verified = ok(await call(alice, 'verify-inflow-transaction', { team_id: team.id, transaction_id: created.transaction_id }));
    assert.equal(verified.credited_now, true);
    assert.equal(ok(await call(alice, 'get-user-balance', { team_id: team.id })).balance, '50.00');
  });
});

test('InFlow unreachable: the tools say so clearly and nothing is lost; sync credits afterwards', async () => {
  await withoutWebhooks(async () => {
    const user = await server.signIn();
    const client = await server.connect(user.token);
    const created = ok(await call(client, 'create-inflow-checkout', { amount: '15', idempotency_key: key() }));
    sandbox.pay(created.payment_id);
    await sandbox.goOffline();
    try {
      refused(await call(client, 'verify-inflow-transaction', { transaction_id: created.transaction_id }), /Could not reach InFlow.*not lost/s);
      refused(await call(client, 'sync-pending-inflow-transactions'), /could not be reached.*nothing is lost/s);
      refused(await call(client, 'create-inflow-checkout', { amount: '15', idempotency_key: key() }), /InFlow, the payment network, could not be reached/);
    } finally {
      await sandbox.goOnline();
    }
    const sync = ok(await call(client, 'sync-pending-inflow-transactions'));
    assert.equal(sync.checked, 1);
    assert.equal(sync.credited_now, 1);
    assert.equal(sync.transactions[0].transaction.transaction_id, created.transaction_id);
    assert.equal(ok(await call(client, 'get-user-balance')).balance, '15.00');
  });
});

test('bad input names the field; the billing:write scope is required; an unconfigured server says so', async () => {
  refused(await call(alice, 'create-inflow-checkout', { amount: '5', idempotency_key: key() }), /amount: the smallest top-up is 10 credits/);
  refused(
    await call(alice, 'create-inflow-checkout', { amount: '12.345', idempotency_key: key() }),
    /amount: must be a number of credits with at most 2 decimals/,
  );
  refused(await call(alice, 'create-inflow-checkout', { amount: '12' }), /idempotency_key/);
  refused(await call(alice, 'create-inflow-checkout', { amount: '12', currency: 'GBP', idempotency_key: key() }), /currency/);

  const user = await server.createUser();
  const readOnly = await server.connect(await server.issueToken({ userId: user.id, scopes: ['pictor:read'] }));
  await assert.rejects(call(readOnly, 'create-inflow-checkout', { amount: '12', idempotency_key: key() }));
  assert.equal((await server.db.selectFrom('inflow_transactions').select('id').where('created_by', '=', user.id).execute()).length, 0);

  const saved = server.services.inflow;
  server.services.inflow = undefined;
  try {
    refused(await call(alice, 'verify-inflow-transaction', { transaction_id: 'pay_x' }), /not configured on this Pictor server/);
  } finally {
    server.services.inflow = saved;
  }
});
