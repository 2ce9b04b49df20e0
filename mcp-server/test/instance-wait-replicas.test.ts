// Waiting across replicas, over real HTTP with the SDK client: the wait is served by one server
// (its worker off), the provisioning is done by another server's worker (startMcpServer, as
// deployed, WORKER_ENABLED on) on the same database, and the change wakes the first one through
// Postgres NOTIFY. Both share the ManualClock, so the simulated hardware finishes when the test says.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { resolveAccountId } from '../src/pictor/accounts.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { loadConfig } from '../src/config.ts';
import { startMcpServer, type RunningMcpServer } from '../src/server.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { addKey, fund } from './core-fixtures.ts';

type Structured = Record<string, any>;

let serving: TestServer; // replica A: answers the calls, no worker
let working: RunningMcpServer; // replica B: only its worker matters here
let client: Client;
let token: string;
let key: string;

before(async () => {
  serving = await startTestServer({ now: '2026-03-01T00:00:00Z', env: { WORKER_ENABLED: 'false' } });
  await seedCatalog(serving.db);
  const signedIn = await serving.signIn();
  token = signedIn.token;
  const account = await resolveAccountId(serving.db, { userId: signedIn.user.id }, 'read');
  await fund(serving.db, account, { balance: '5000' });
  key = await addKey(serving.db, account);
  client = await serving.connect(token);
  const config = loadConfig({
    DATABASE_URL: serving.config.databaseUrl,
    MCP_PORT: '0',
    AUTH_ISSUER: serving.issuer,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WORKER_ENABLED: 'true',
    WORKER_INTERVAL_MS: '50',
  });
  working = await startMcpServer(config, { clock: serving.clock, log: serving.log });
});
after(async () => {
  await working.close();
  await serving.close();
});

/** Until the instance's power action is `action` (null: none left) and, if any, the worker (replica B) has handed it to the hardware. */
async function settledOn(instanceId: string, action: 'provision' | 'start' | null): Promise<void> {
  for (;;) {
    const row = await serving.db
      .selectFrom('instances')
      .select(['pending_action', 'action_due_at', 'action_requested_at'])
      .where('id', '=', instanceId)
      .executeTakeFirstOrThrow();
    const taken = row.action_due_at && row.action_requested_at && row.action_due_at > row.action_requested_at;
    if (row.pending_action === action && (action === null || taken)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function instanceIdNamed(name: string): Promise<string> {
  for (;;) {
    const row = await serving.db.selectFrom('instances').select('id').where('name', '=', name).executeTakeFirst();
    if (row) return row.id;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('create-instance and start-instance with wait_seconds on one replica answer running once the other replica’s worker is done', async () => {
  const call = client.callTool({
    name: 'create-instance',
    arguments: {
      plan: 'h100-80gb',
      gpu_count: 1,
      region: 'us-east',
      storage_gb: 100,
      rental_hours: 2,
      name: 'replicated',
      ssh_key_ids: [key],
      wait_seconds: 60,
    },
  }) as Promise<CallToolResult>;
  const id = await instanceIdNamed('replicated');
  await settledOn(id, 'provision');
  assert.equal(serving.services.instanceChanges?.waiters, 1, 'the wait is served by replica A');
  assert.equal(working.instanceChanges.waiters, 0);
  serving.clock.advance(6000); // the simulated hardware is done; B's worker applies it
  const created = await call;
  assert.ok(!created.isError, JSON.stringify(created.content));
  const s = created.structuredContent as Structured;
  assert.equal(s.instance.id, id);
  assert.equal(s.instance.state, 'running');
  assert.match(s.instance.ssh.command, /^ssh -p \d+ root@us-east\.gpu\.pictor\.dev$/);
  assert.equal(s.wait.outcome, 'running');
  assert.equal(serving.services.instanceChanges?.waiters, 0);

  const stopped = await serving.callTool(client, 'stop-instance', { instance_id: id });
  assert.ok(!stopped.isError);
  serving.clock.advance(2000);
  await settledOn(id, null); // powered off
  const start = serving.callTool(client, 'start-instance', { instance_id: id, wait_seconds: 60 });
  await settledOn(id, 'start');
  serving.clock.advance(4000);
  const started = (await start).structuredContent as Structured;
  assert.equal(started.changed, true);
  assert.equal(started.instance.state, 'running');
  assert.equal(started.instance.pending_action, null);
  assert.equal(started.wait.outcome, 'running');
  assert.match(started.instance.ssh.command, /^ssh -p /);
});

test('with onprogress the SDK client hears queued → provisioning → running in order over HTTP, then the result', async () => {
  const updates: Array<{ progress: number; total?: number; message?: string }> = [];
  const call = client.callTool(
    {
      name: 'create-instance',
      arguments: {
        plan: 'h100-80gb',
        gpu_count: 1,
        region: 'us-east',
        storage_gb: 100,
        rental_hours: 2,
        name: 'watched',
        ssh_key_ids: [key],
        wait_seconds: 60,
      },
    },
    undefined,
    { onprogress: (p) => updates.push(p) },
  ) as Promise<CallToolResult>;
  const id = await instanceIdNamed('watched');
  await settledOn(id, 'provision');
  // replica B's worker may take the request before the wait's first look: queued is then skipped
  while (!updates.some((u) => u.progress === 2)) await new Promise((resolve) => setTimeout(resolve, 20));
  serving.clock.advance(6000);
  const created = await call;
  assert.ok(!created.isError, JSON.stringify(created.content));
  assert.equal((created.structuredContent as Structured).wait.outcome, 'running');
  const steps = updates.map((u) => u.progress);
  assert.deepEqual(steps, [...steps].sort(), 'in order');
  assert.deepEqual(steps.slice(-2), [2, 4], 'provisioning, then running');
  assert.ok(updates.every((u) => u.total === 4));
  if (steps[0] === 1) assert.match(updates[0]!.message!, /^Queued/);
  assert.match(updates.at(-2)!.message!, /^Provisioning/);
  assert.match(updates.at(-1)!.message!, /^Running: ssh -p \d+ root@us-east\.gpu\.pictor\.dev$/);
});

test('without a progress token the waiting call is one plain JSON answer', async () => {
  const response = await serving.post(
    {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: {
        name: 'create-instance',
        arguments: { plan: 'h100-80gb', gpu_count: 1, region: 'us-east', storage_gb: 100, rental_hours: 2, name: 'plain', wait_seconds: 1 },
      },
    },
    { token },
  );
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as { id: number; result: { structuredContent: Structured } };
  assert.equal(body.id, 7);
  // replica B's worker takes the request at once, but the hardware needs 5 s of the test's clock
  assert.equal(body.result.structuredContent.wait.outcome, 'timed_out');
  assert.equal(body.result.structuredContent.instance.state, 'provisioning');
  assert.match(body.result.structuredContent.wait.message, /^Still (queued|provisioning) after 1 s/);
});

test('a client that hangs up ends its wait at once: nothing keeps waiting for an answer no one will read', async () => {
  const gone = new AbortController();
  const call = fetch(serving.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 8,
      method: 'tools/call',
      params: {
        name: 'create-instance',
        arguments: { plan: 'h100-80gb', gpu_count: 1, region: 'us-east', storage_gb: 100, rental_hours: 2, name: 'hung-up', wait_seconds: 120 },
      },
    }),
    signal: gone.signal,
  });
  const changes = serving.services.instanceChanges!;
  while (changes.waiters === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  gone.abort();
  await assert.rejects(call, { name: 'AbortError' });
  const hungUp = Date.now();
  while (changes.waiters > 0 && Date.now() - hungUp < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(changes.waiters, 0, 'the wait still holds its subscription after the client left');
  assert.ok(Date.now() - hungUp < 2000, `${Date.now() - hungUp} ms`);
  // what the call did before waiting stands: the instance exists
  const created = await serving.db.selectFrom('instances').select('state').where('name', '=', 'hung-up').executeTakeFirstOrThrow();
  assert.notEqual(created.state, 'deleted');
});

test('stopping a server ends the waits it serves at once, each answering with the state so far', async () => {
  const config = loadConfig({
    DATABASE_URL: serving.config.databaseUrl,
    MCP_PORT: '0',
    AUTH_ISSUER: serving.issuer,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WORKER_ENABLED: 'false',
    // replicas behind a proxy share the public URL (the tokens' audience, the Host it forwards)
    MCP_URL: serving.url,
    TRUST_PROXY: 'true',
  });
  const replica = await startMcpServer(config, { clock: serving.clock, log: serving.log });
  // a call in flight over HTTP, as every call is: the stop lets it answer before the pool closes
  const waiting = fetch(`${replica.url}/mcp`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      Authorization: `Bearer ${token}`,
      'X-Forwarded-Host': new URL(serving.url).host,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: {
        name: 'create-instance',
        arguments: { plan: 'h100-80gb', gpu_count: 1, region: 'us-east', storage_gb: 100, rental_hours: 2, name: 'cut-short', wait_seconds: 120 },
      },
    }),
  }).then(async (response) => {
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return (JSON.parse(text) as { result: { structuredContent: Structured } }).result;
  });
  while (replica.instanceChanges.waiters === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const stopping = Date.now();
  const [result] = await Promise.all([waiting, replica.close()]);
  assert.ok(Date.now() - stopping < 5000, `${Date.now() - stopping} ms`);
  const s = result.structuredContent;
  assert.equal(s.wait.outcome, 'interrupted');
  assert.match(s.wait.message, /server is restarting/);
  assert.equal(s.instance.name, 'cut-short');
  assert.equal(replica.instanceChanges.waiters, 0);
});
