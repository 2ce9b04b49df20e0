// The catalog, instance and account tools end to end: the SDK's real Client over HTTP, real
// signed tokens, real Postgres, the server's ManualClock and the lifecycle worker run by hand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createTeam, resolveAccountId } from '../src/pictor/accounts.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { addKey, fingerprint, fund } from './core-fixtures.ts';

// Structured content arrives as JSON the server already validated against each tool's output schema;
// the tests read it field by field, so a loose JSON type keeps them short.
type Structured = Record<string, any>;

let server: TestServer;
let alice: Client;
let bob: Client;
let aliceAccount: string;
let bobAccount: string;
let teamId: string;
let teamAccount: string;
let aliceKey: string;

const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

async function ok(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Structured> {
  const r = await call(client, name, args);
  assert.ok(!r.isError, `${name} failed: ${text(r)}`);
  assert.ok(r.structuredContent, `${name} has structured content`);
  return r.structuredContent as Structured;
}

async function refused(client: Client, name: string, args: Record<string, unknown>, pattern: RegExp): Promise<string> {
  const r = await call(client, name, args);
  assert.equal(r.isError, true, `${name} should be refused, got ${text(r)}`);
  assert.match(text(r), pattern, name);
  return text(r);
}

const CREATE = { plan: 'h100-80gb', gpu_count: 2, region: 'us-east', storage_gb: 500, rental_hours: 24, name: 'trainer' };

before(async () => {
  server = await startTestServer({ now: '2026-03-01T00:00:00Z' });
  await seedCatalog(server.db);
  const a = await server.signIn();
  const b = await server.signIn();
  alice = await server.connect(a.token);
  bob = await server.connect(b.token);
  aliceAccount = await resolveAccountId(server.db, { userId: a.user.id }, 'read');
  bobAccount = await resolveAccountId(server.db, { userId: b.user.id }, 'read');
  const team = await createTeam(server.db, a.user.id, 'Alice Lab');
  teamId = team.id;
  teamAccount = team.accountId;
  aliceKey = await addKey(server.db, aliceAccount, 'alice-laptop');
});
after(async () => server.close());

test('the tools are listed with the decided annotations and scopes', async () => {
  const { tools } = await alice.listTools();
  const byName = new Map(tools.map((t) => [t.name, t]));
  const expect: Record<string, [readOnly: boolean, destructive: boolean, idempotent: boolean]> = {
    'list-gpus': [true, false, true],
    'check-gpu-availability': [true, false, true],
    'list-my-instances': [true, false, true],
    'get-instance-detail': [true, false, true],
    'get-instance-logs': [true, false, true],
    'get-user-balance': [true, false, true],
    'create-instance': [false, true, false],
    'add-instance-hours': [false, true, false],
    'enable-instance-auto-renew': [false, true, true],
    'stop-instance': [false, true, true],
    'delete-instance': [false, true, true],
    'start-instance': [false, true, true],
    'restart-instance': [false, true, false],
    'disable-instance-auto-renew': [false, false, true],
    'rename-instance': [false, false, true],
    'add-ssh-keys-to-instance': [false, false, true],
  };
  for (const [name, [readOnly, destructive, idempotent]] of Object.entries(expect)) {
    const tool = byName.get(name);
    assert.ok(tool, name);
    assert.deepEqual(tool.annotations, { readOnlyHint: readOnly, destructiveHint: destructive, idempotentHint: idempotent, openWorldHint: false }, name);
    assert.ok(tool.outputSchema, name);
  }
  assert.match(byName.get('create-instance')!.description!, /dry_run: true.*confirm/s);
  assert.match(byName.get('delete-instance')!.description!, /confirmation/);
});

test('catalog tools: plans with prices and free GPUs; availability with alternatives; bad input names the field', async () => {
  const { plans } = await ok(alice, 'list-gpus', {});
  assert.equal(plans.length, 6);
  const h100 = plans.find((p: Structured) => p.id === 'h100-80gb');
  assert.equal(h100.price_per_gpu_hour, '2.49');
  assert.equal(h100.storage.price_per_gb_month, '0.10');
  assert.deepEqual(h100.allowed_gpu_counts, [1, 2, 4, 8]);
  assert.deepEqual(
    (await ok(alice, 'list-gpus', { gpu: '4090', region: 'eu-west' })).plans.map((p: Structured) => p.id),
    ['rtx4090-24gb'],
  );

  const avail = await ok(alice, 'check-gpu-availability', { gpu: 'H100', gpu_count: 8, region: 'ap-southeast' });
  assert.equal(avail.available, true);
  assert.equal(avail.price_per_hour, '19.92');
  await refused(alice, 'check-gpu-availability', { gpu: 'H100', gpu_count: 3 }, /gpu_count: h100-80gb offers 1, 2, 4, 8/);
  await refused(alice, 'check-gpu-availability', { gpu: 'H100', gpu_count: 'two' }, /gpu_count/);
  await refused(alice, 'list-gpus', { region: 'narnia' }, /region: unknown region/);
});

test('create-instance: dry run first changes nothing, then the real call charges and reserves; refusals say why', async () => {
  await fund(server.db, aliceAccount, { balance: '150' });
  const before = await fingerprint(server.db);
  const quote = await ok(alice, 'create-instance', { ...CREATE, dry_run: true });
  assert.deepEqual(quote, {
    dry_run: true,
    would_succeed: true,
    reason: null,
    cost: { hours: 24, gpu: '119.52', storage: '1.643836', total: '121.163836' },
    available: '150.00',
    balance_after: '28.836164',
    spending_limit: null,
    launch: { image: { id: 'ubuntu-24.04-cuda-12.8', name: 'Ubuntu 24.04 + CUDA 12.8' }, ports: [], env_names: [], startup_script: false },
    instance: null,
    wait: null,
  });
  const short = await ok(alice, 'create-instance', { ...CREATE, rental_hours: 48, dry_run: true });
  assert.equal(short.would_succeed, false);
  assert.match(short.reason, /short by 92\.327672/);
  assert.equal(await fingerprint(server.db), before);

  await refused(alice, 'create-instance', { ...CREATE, rental_hours: 48 }, /^insufficient balance: .*short by 92\.327672$/);
  await refused(alice, 'create-instance', { ...CREATE, gpu_count: 3 }, /gpu_count/);
  await refused(alice, 'create-instance', { ...CREATE, storage_gb: 5 }, /storage_gb: h100-80gb takes 100–8000 GB/);
  await refused(alice, 'create-instance', { ...CREATE, name: '  ' }, /name/);
  await refused(alice, 'create-instance', { ...CREATE, rental_hours: 0 }, /rental_hours/);
  await refused(alice, 'create-instance', { ...CREATE, region: 'mars' }, /region: unknown region/);
  await refused(alice, 'create-instance', { ...CREATE, colour: 'red' }, /colour: unknown field/);
  const bobKey = await addKey(server.db, bobAccount);
  await refused(alice, 'create-instance', { ...CREATE, ssh_key_ids: [bobKey] }, /^SSH key not found$/);
  assert.equal(await fingerprint(server.db), before);

  const created = await ok(alice, 'create-instance', { ...CREATE, ssh_key_ids: [aliceKey] });
  assert.equal(created.dry_run, false);
  assert.equal(created.balance_after, '28.836164');
  assert.equal(created.instance.state, 'provisioning');
  assert.equal(created.instance.expires_at, '2026-03-02T00:00:00.000Z');
  assert.deepEqual(created.instance.cost_per_hour, { gpu: '4.98', storage: '0.068494', total: '5.048494' });
  assert.deepEqual(
    created.instance.ssh_keys.map((k: Structured) => k.name),
    ['alice-laptop'],
  );
  assert.equal((await ok(alice, 'get-user-balance')).total, '28.836164');
});

test('the lifecycle through the tools: running with SSH, stop/start, auto-renew, rename, hours, keys, logs, delete', async () => {
  await fund(server.db, aliceAccount, { balance: '500' });
  const { instance } = await ok(alice, 'create-instance', { ...CREATE, name: 'lifecycle', gpu_count: 1, storage_gb: 100, rental_hours: 10 });
  const id: string = instance.id;
  assert.match(instance.ssh_hint, /No SSH key is attached/);
  await refused(alice, 'stop-instance', { instance_id: id }, /the instance is provisioning; stop is allowed when the instance is running/);

  server.clock.advance(5000);
  await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner: new SimulatedProvisioner() });
  const running = await ok(alice, 'get-instance-detail', { instance_id: id });
  assert.equal(running.state, 'running');
  assert.match(running.ssh.command, /^ssh -p \d+ root@us-east\.gpu\.pictor\.dev$/);

  const attached = await ok(alice, 'add-ssh-keys-to-instance', { instance_id: id, ssh_key_ids: [aliceKey] });
  assert.deepEqual(
    attached.attached.map((k: Structured) => k.name),
    ['alice-laptop'],
  );
  assert.equal(attached.instance.ssh_hint, null);
  assert.deepEqual((await ok(alice, 'add-ssh-keys-to-instance', { instance_id: id, ssh_key_ids: [aliceKey] })).attached, []);
  await refused(alice, 'add-ssh-keys-to-instance', { instance_id: id, ssh_key_ids: [] }, /ssh_key_ids/);

  assert.equal((await ok(alice, 'stop-instance', { instance_id: id })).instance.state, 'stopped');
  assert.equal((await ok(alice, 'stop-instance', { instance_id: id })).changed, false);
  assert.equal((await ok(alice, 'start-instance', { instance_id: id })).instance.state, 'running');
  const renew = await ok(alice, 'enable-instance-auto-renew', { instance_id: id });
  assert.equal(renew.instance.auto_renew, true);
  // 10 h of 1 × H100 + 100 GB: 24.90 + ceil(100 × 0.10 × 10 / 730 credits) = 24.90 + 0.136987
  assert.equal(renew.instance.renewal_cost, '25.036987');
  assert.equal((await ok(alice, 'disable-instance-auto-renew', { instance_id: id })).instance.auto_renew, false);
  assert.equal((await ok(alice, 'rename-instance', { instance_id: id, name: '  renamed ' })).instance.name, 'renamed');

  const hoursQuote = await ok(alice, 'add-instance-hours', { instance_id: id, hours: 5, dry_run: true });
  assert.deepEqual(hoursQuote.cost, { hours: 5, gpu: '12.45', storage: '0.068494', total: '12.518494' });
  assert.equal(hoursQuote.expires_after, '2026-03-01T15:00:00.000Z');
  const added = await ok(alice, 'add-instance-hours', { instance_id: id, hours: 5 });
  assert.equal(added.instance.expires_at, '2026-03-01T15:00:00.000Z');
  assert.equal(added.expires_at, '2026-03-01T10:00:00.000Z');

  const logs = await ok(alice, 'get-instance-logs', { instance_id: id, limit: 100 });
  const messages = logs.lines.map((l: Structured) => l.message);
  assert.ok(messages.some((m: string) => /NVIDIA-SMI/.test(m)));
  assert.ok(messages.includes('Renamed from "lifecycle" to "renamed"'));
  assert.equal(logs.next_cursor, null);

  server.clock.advance(2 * 3_600_000 + 60_000);
  const deleted = await ok(alice, 'delete-instance', { instance_id: id });
  // 15:00 − 02:01 → 12 whole hours: 12 × 2.49 + floor(100 × 0.10 × 12 / 730) = 29.88 + 0.164383
  assert.deepEqual(deleted.refund, { hours: 12, gpu: '29.88', storage: '0.164383', total: '30.044383' });
  assert.equal(deleted.refunded_to_balance, '30.044383');
  assert.equal(deleted.gpus_released, 1);
  await refused(alice, 'get-instance-detail', { instance_id: id }, /^Instance not found$/);
});

test('every id-taking tool answers another account\'s instance, a malformed and a missing id with "Instance not found"', async () => {
  await fund(server.db, aliceAccount, { balance: '200' });
  const { instance } = await ok(alice, 'create-instance', { ...CREATE, name: 'private', gpu_count: 1, storage_gb: 100, rental_hours: 2 });
  const bobKey = await addKey(server.db, bobAccount);
  const before = await fingerprint(server.db);
  const calls: Array<[string, Record<string, unknown>]> = [
    ['get-instance-detail', {}],
    ['get-instance-logs', {}],
    ['start-instance', {}],
    ['stop-instance', {}],
    ['enable-instance-auto-renew', {}],
    ['disable-instance-auto-renew', {}],
    ['add-instance-hours', { hours: 1 }],
    ['add-instance-hours', { hours: 1, dry_run: true }],
    ['rename-instance', { name: 'x' }],
    ['delete-instance', {}],
    ['add-ssh-keys-to-instance', { ssh_key_ids: [bobKey] }],
  ];
  for (const id of [instance.id, 'not-an-id', '00000000-0000-4000-8000-000000000000']) {
    for (const [name, extra] of calls) await refused(bob, name, { instance_id: id, ...extra }, /^Instance not found$/);
  }
  // Bob passing Alice's team id: the team is not found; Alice's own listing does not show team instances.
  for (const [name, extra] of calls) await refused(bob, name, { instance_id: instance.id, team_id: teamId, ...extra }, /^Team not found$/);
  await refused(bob, 'list-my-instances', { team_id: teamId }, /^Team not found$/);
  await refused(bob, 'get-user-balance', { team_id: teamId }, /^Team not found$/);
  for (const [name, extra] of calls)
    await refused(alice, name, { instance_id: instance.id, team_id: teamId, ...extra }, /Instance not found|SSH key not found/);
  await refused(bob, 'get-user-balance', { team_id: 'nope' }, /team_id/);
  assert.equal(await fingerprint(server.db), before);
  assert.equal((await ok(bob, 'list-my-instances')).instances.length, 0);
});

test("team context: team_id acts on the team account; balance lists the person's teams", async () => {
  await fund(server.db, teamAccount, { balance: '100', credit: '5' });
  const balance = await ok(alice, 'get-user-balance', { team_id: teamId });
  assert.deepEqual(balance, {
    account: 'team',
    team_id: teamId,
    balance: '100.00',
    credit: '5.00',
    total: '105.00',
    teams: [{ id: teamId, name: 'Alice Lab', role: 'owner' }],
  });
  const { instance } = await ok(alice, 'create-instance', { ...CREATE, team_id: teamId, plan: 'rtx4090-24gb', gpu_count: 1, storage_gb: 50, rental_hours: 2 });
  const listed = await ok(alice, 'list-my-instances', { team_id: teamId });
  assert.deepEqual(
    listed.instances.map((i: Structured) => i.id),
    [instance.id],
  );
  assert.ok(!(await ok(alice, 'list-my-instances')).instances.some((i: Structured) => i.id === instance.id));
  const personal = await ok(alice, 'get-user-balance');
  assert.equal(personal.account, 'personal');
  assert.equal(personal.team_id, null);
});
