// Pause instead of wipe, and restart-instance (issue 13 §3), end to end: the SDK's real Client over
// HTTP, real Postgres, the server's ManualClock and the lifecycle worker run by hand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { resolveAccountId } from '../src/pictor/accounts.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { ERROR_META_KEY } from '../src/tools/errors.ts';
import { formatCredits } from '@pictor/platform/money';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { addKey, fingerprint, freeGpus, fund, funds } from './core-fixtures.ts';

type Structured = Record<string, any>;

let server: TestServer;
let alice: Client;
let aliceAccount: string;
let aliceKey: string;

const HOUR = 3_600_000;
const provisioner = new SimulatedProvisioner();
const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const worker = () => runLifecycleOnce({ db: server.db, clock: server.clock, provisioner });

async function ok(name: string, args: Record<string, unknown> = {}): Promise<Structured> {
  const r = (await alice.callTool({ name, arguments: args })) as CallToolResult;
  assert.ok(!r.isError, `${name} failed: ${text(r)}`);
  return r.structuredContent as Structured;
}

async function refused(name: string, args: Record<string, unknown>, pattern: RegExp): Promise<CallToolResult> {
  const r = (await alice.callTool({ name, arguments: args })) as CallToolResult;
  assert.equal(r.isError, true, `${name} should be refused, got ${text(r)}`);
  assert.match(text(r), pattern, name);
  return r;
}

/** Charges of one instance in the ledger, oldest first: [bucket, amount]. */
async function charges(instanceId: string): Promise<Array<[string, bigint]>> {
  const rows = await server.db
    .selectFrom('ledger_entries')
    .select(['bucket', 'amount'])
    .where('instance_id', '=', instanceId)
    .where('kind', '=', 'charge')
    .orderBy('id')
    .execute();
  return rows.map((r) => [r.bucket, r.amount]);
}

/** A running instance of 2 × H100, 500 GB, auto-renew off, `hours` prepaid. */
async function running(name: string, hours = 2, key = aliceKey): Promise<Structured> {
  const created = await ok('create-instance', {
    plan: 'h100-80gb',
    gpu_count: 2,
    region: 'us-east',
    storage_gb: 500,
    rental_hours: hours,
    name,
    ssh_key_ids: [key],
  });
  server.clock.advance(5000);
  await worker();
  return created.instance;
}

/** Runs the clock to the instance's expiry and the worker: it pauses. */
async function pausedOne(name: string): Promise<Structured> {
  const made = await running(name);
  server.clock.set(made.expires_at);
  const report = await worker();
  assert.equal(report.paused, 1);
  return ok('get-instance-detail', { instance_id: made.id });
}

before(async () => {
  server = await startTestServer({ now: '2026-03-01T00:00:00Z' });
  await seedCatalog(server.db);
  const a = await server.signIn();
  alice = await server.connect(a.token);
  aliceAccount = await resolveAccountId(server.db, { userId: a.user.id }, 'read');
  aliceKey = await addKey(server.db, aliceAccount, 'alice-laptop');
  await fund(server.db, aliceAccount, { balance: '10000' });
});
after(async () => server.close());

test('prepaid time ends with auto-renew off: paused, GPUs freed, disk kept, nothing charged; the log, the activity log and the spending report say when it is deleted', async () => {
  const free = await freeGpus(server.db, 'us-east', 'h100-80gb');
  const made = await running('to-pause');
  assert.equal(await freeGpus(server.db, 'us-east', 'h100-80gb'), free - 2);
  const ledgerBefore = (await charges(made.id)).length;
  const fundsBefore = await funds(server.db, aliceAccount);

  server.clock.set(made.expires_at);
  assert.deepEqual(await worker(), { renewed: 0, paused: 1, deleted: 0, actions: 1 });
  const deleteAt = new Date(new Date(made.expires_at).getTime() + 72 * HOUR).toISOString();

  const detail = await ok('get-instance-detail', { instance_id: made.id });
  assert.equal(detail.state, 'paused');
  assert.equal(detail.paused_at, made.expires_at);
  assert.equal(detail.delete_at, deleteAt);
  assert.equal(detail.end_reason, 'auto-renew off');
  assert.equal(detail.ended_at, null);
  assert.equal(detail.ssh, null);
  assert.match(detail.ssh_hint, /start-instance and rental_hours/);
  assert.equal(await freeGpus(server.db, 'us-east', 'h100-80gb'), free, 'GPUs back in the pool');
  assert.deepEqual(await funds(server.db, aliceAccount), fundsBefore, 'nothing charged');
  assert.equal((await charges(made.id)).length, ledgerBefore);

  // The power-off keeps the disk; the machine is not released.
  server.clock.advance(1500);
  await worker();
  const logs = (await ok('get-instance-logs', { instance_id: made.id, limit: 100 })).lines.map((l: Structured) => l.message);
  assert.ok(
    logs.some((m: string) => m.startsWith('Paused: the prepaid period ended and auto-renew is off') && m.includes(`It will be deleted at ${deleteAt}`)),
  );
  assert.ok(logs.includes('Powered off; GPUs returned, disk kept'));
  assert.ok(!logs.some((m: string) => m.startsWith('Machine released')));

  const listed = await ok('list-my-instances', { state: 'paused' });
  assert.ok(listed.instances.some((i: Structured) => i.id === made.id));
  assert.ok(listed.instances.every((i: Structured) => i.state === 'paused'));
  assert.ok(!(await ok('list-my-instances', { state: 'running' })).instances.some((i: Structured) => i.id === made.id));

  const activity = (await ok('get-account-activity', {})).entries.find((e: Structured) => e.tool === 'instance-paused' && e.target_id === made.id);
  assert.ok(activity, 'the pause is in the activity log');
  assert.equal(activity.amount, '0.00');
  assert.equal(activity.app, null);
  assert.deepEqual(activity.arguments, { reason: 'auto-renew off', gpus_released: 2, delete_at: deleteAt });

  const report = await ok('get-spending-report', {});
  const entry = report.paused.find((p: Structured) => p.instance_id === made.id);
  assert.ok(entry, 'the spending report lists the paused instance');
  assert.equal(entry.delete_at, deleteAt);
  assert.equal(entry.rental_hours, 2);
  assert.equal(entry.restart_cost, '10.096987'); // 2 × 2.49 × 2 + ceil(500 × 0.10 × 2 / 730)
  assert.match(entry.message, new RegExp(`will be deleted with its disk at ${deleteAt}`));
  // paused instances are not rented: no burn from them, and they are no app's money
  assert.ok(!report.per_app_24h.some((a: Structured) => a.app === null && a.calls > 0));
});

test('start a paused instance with rental_hours: the dry run quotes exactly and changes nothing; the real call charges that (credit first), runs it, and a retry charges nothing', async () => {
  const paused = await pausedOne('to-resume');
  await fund(server.db, aliceAccount, { credit: '20' });

  await refused('start-instance', { instance_id: paused.id }, /the instance is paused; start is allowed when the instance is stopped \(.*rental_hours/);
  await refused('start-instance', { instance_id: paused.id, dry_run: true }, /^dry_run: prices starting a paused instance and needs rental_hours/);

  const before = await fingerprint(server.db);
  const available = await funds(server.db, aliceAccount);
  const quote = await ok('start-instance', { instance_id: paused.id, rental_hours: 10, dry_run: true });
  assert.equal(await fingerprint(server.db), before, 'a dry run changes nothing');
  assert.deepEqual(quote.charge, {
    would_succeed: true,
    reason: null,
    // 2 × 2.49 × 10 = 49.80 + ceil(500 × 0.10 × 10 / 730) = 0.684932: the same rule as create-instance
    cost: { hours: 10, gpu: '49.80', storage: '0.684932', total: '50.484932' },
    available: formatCredits(available.balance + available.credit),
    balance_after: formatCredits(available.balance + available.credit - 50_484_932n),
    spending_limit: null,
    expires_after: new Date(server.clock.now().getTime() + 10 * HOUR).toISOString(),
    free_gpus: await freeGpus(server.db, 'us-east', 'h100-80gb'),
    gpus_needed: 2,
  });
  assert.equal(quote.changed, false);
  assert.equal(quote.instance, null);

  const free = await freeGpus(server.db, 'us-east', 'h100-80gb');
  const started = await ok('start-instance', { instance_id: paused.id, rental_hours: 10 });
  assert.equal(started.changed, true);
  assert.equal(started.charge.cost.total, '50.484932');
  assert.equal(started.instance.state, 'running');
  assert.equal(started.instance.pending_action, 'resume');
  assert.equal(started.instance.delete_at, null);
  assert.equal(started.instance.expires_at, new Date(server.clock.now().getTime() + 10 * HOUR).toISOString());
  assert.equal(started.instance.rental_hours, 10);
  assert.equal(await freeGpus(server.db, 'us-east', 'h100-80gb'), free - 2, 'its GPUs are reserved again');
  // promotional credit first, then balance: exactly the quoted amount
  assert.deepEqual((await charges(paused.id)).slice(-2), [
    ['credit', -20_000_000n],
    ['balance', -30_484_932n],
  ]);
  const after = await funds(server.db, aliceAccount);
  assert.equal(available.balance + available.credit - (after.balance + after.credit), 50_484_932n);
  const activity = (await ok('get-account-activity', {})).entries.find((e: Structured) => e.tool === 'start-instance' && e.target_id === paused.id);
  assert.equal(activity.amount, '-50.484932');
  assert.deepEqual(activity.arguments, { rental_hours: 10, dry_run: false });

  // a retried call (the first went through) finds it running: nothing more is charged
  const retry = await ok('start-instance', { instance_id: paused.id, rental_hours: 10 });
  assert.equal(retry.changed, false);
  assert.equal(retry.charge, null);
  assert.equal((await charges(paused.id)).length, 3);

  // the worker boots the kept disk; SSH answers again
  server.clock.advance(5000);
  await worker();
  const detail = await ok('get-instance-detail', { instance_id: paused.id });
  assert.equal(detail.pending_action, null);
  assert.ok(detail.ssh?.command);
  const logs = (await ok('get-instance-logs', { instance_id: paused.id, limit: 100 })).lines.map((l: Structured) => l.message);
  assert.ok(logs.includes(`Charged 50.484932 credits for 10 h (GPU 49.80, storage 0.684932); prepaid until ${detail.expires_at}`));
  assert.ok(logs.some((m: string) => m.includes('volume attached to 2 × H100')));
});

test('capacity taken meanwhile: a clear "no capacity, try later" with what is free, nothing charged', async () => {
  const paused = await pausedOne('no-room');
  const free = await freeGpus(server.db, 'us-east', 'h100-80gb');
  // someone else's rentals took all but one of the region's H100s
  await server.db.updateTable('region_capacity').set({ free_gpus: 1 }).where('region_id', '=', 'us-east').where('plan_id', '=', 'h100-80gb').execute();
  try {
    const before = await fingerprint(server.db);
    const quote = await ok('start-instance', { instance_id: paused.id, rental_hours: 5, dry_run: true });
    assert.equal(quote.charge.would_succeed, false);
    assert.equal(quote.charge.free_gpus, 1);
    assert.match(quote.charge.reason, /^not enough H100 80GB capacity in us-east to start this paused instance: 2 GPUs requested, 1 free\./);
    const r = await refused(
      'start-instance',
      { instance_id: paused.id, rental_hours: 5 },
      /^not enough H100 80GB capacity in us-east to start this paused instance: 2 GPUs requested, 1 free\..* Nothing was charged\. A paused instance starts only in its own region, where its disk is kept until \S+; try again later\.$/,
    );
    assert.equal((r._meta?.[ERROR_META_KEY] as Structured | undefined)?.code, 'capacity_unavailable');
    assert.equal(await fingerprint(server.db), before, 'nothing charged or changed');
    assert.equal((await ok('get-instance-detail', { instance_id: paused.id })).state, 'paused');
  } finally {
    await server.db.updateTable('region_capacity').set({ free_gpus: free }).where('region_id', '=', 'us-east').where('plan_id', '=', 'h100-80gb').execute();
  }
});

test('the grace period passes: the worker deletes the paused instance and its disk; a start then finds nothing', async () => {
  const paused = await pausedOne('forgotten');

  // (the other tests' instances share the server: the figures are taken once they have settled)
  server.clock.set(new Date(new Date(paused.delete_at).getTime() - 1));
  await worker();
  assert.equal((await ok('get-instance-detail', { instance_id: paused.id })).state, 'paused');
  const free = await freeGpus(server.db, 'us-east', 'h100-80gb');
  const fundsBefore = await funds(server.db, aliceAccount);

  // at delete_at, before the worker: a start is refused, the deletion is under way
  server.clock.set(paused.delete_at);
  await refused('start-instance', { instance_id: paused.id, rental_hours: 1 }, /^the instance is paused and its retention ended at \S+; it is being deleted$/);
  assert.ok((await worker()).deleted >= 1);
  await refused('get-instance-detail', { instance_id: paused.id }, /Instance not found/);
  await refused('start-instance', { instance_id: paused.id, rental_hours: 1 }, /Instance not found/);
  const row = await server.db.selectFrom('instances').select(['state', 'pending_action', 'end_reason']).where('id', '=', paused.id).executeTakeFirstOrThrow();
  // the same worker run carried out the release: the kept disk is wiped
  assert.deepEqual(row, { state: 'deleted', pending_action: null, end_reason: 'paused past the retention period without being started' });
  const lines = (await server.db.selectFrom('instance_logs').select('message').where('instance_id', '=', paused.id).orderBy('id').execute()).map(
    (l) => l.message,
  );
  const deletedAt = lines.findIndex((m) => /^Deleted: paused since \S+ and not started again before \S+; its disk is wiped$/.test(m));
  assert.ok(deletedAt >= 0, 'the deletion is logged');
  assert.match(lines[deletedAt + 1]!, /^Machine released: powered off, 500 GB volume wiped/);
  assert.equal(lines[deletedAt + 2], 'Machine released');
  assert.equal(await freeGpus(server.db, 'us-east', 'h100-80gb'), free, 'no GPUs freed twice');
  assert.deepEqual(await funds(server.db, aliceAccount), fundsBefore, 'no money moves');
  const activity = (await ok('get-account-activity', {})).entries.find((e: Structured) => e.tool === 'paused-instance-deleted' && e.target_id === paused.id);
  assert.ok(activity, 'the deletion is in the activity log');
  assert.ok(!(await ok('get-spending-report', {})).paused.some((p: Structured) => p.instance_id === paused.id));
});

test('restart-instance: a running instance reboots and stays running, logged, nothing charged; refused on a stopped or paused instance with the state named', async () => {
  const made = await running('to-restart', 24);
  const ledger = await server.db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  const restarted = await ok('restart-instance', { instance_id: made.id });
  assert.equal(restarted.changed, true);
  assert.equal(restarted.instance.state, 'running');
  assert.equal(restarted.instance.pending_action, 'restart');
  assert.equal(restarted.instance.expires_at, made.expires_at, 'the prepaid period is unchanged');
  assert.match(restarted.instance.ssh_hint, /restarting/);
  server.clock.advance(4500);
  await worker();
  const detail = await ok('get-instance-detail', { instance_id: made.id });
  assert.equal(detail.state, 'running');
  assert.equal(detail.pending_action, null);
  assert.equal(detail.ssh.command, made.ssh?.command ?? detail.ssh.command);
  const logs = (await ok('get-instance-logs', { instance_id: made.id, limit: 100 })).lines.map((l: Structured) => l.message);
  assert.ok(logs.includes('Restart requested: rebooting; running processes end, the disk is kept'));
  assert.ok(logs.includes('reboot: Restarting system'));
  assert.ok(logs.includes('Restarted; SSH is answering'));
  const after = await server.db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  assert.equal(Number(after.n), Number(ledger.n), 'no ledger entry');
  const activity = (await ok('get-account-activity', {})).entries.find((e: Structured) => e.tool === 'restart-instance' && e.target_id === made.id);
  assert.equal(activity.amount, '0.00');

  await ok('stop-instance', { instance_id: made.id });
  const before = await fingerprint(server.db);
  await refused(
    'restart-instance',
    { instance_id: made.id },
    /^the instance is stopped; restart is allowed when the instance is running \(start it with start-instance first\)$/,
  );
  assert.equal(await fingerprint(server.db), before);
  await refused('start-instance', { instance_id: made.id, rental_hours: 3 }, /^rental_hours: is only for starting a paused instance; this one is stopped/);
  const paused = await pausedOne('paused-no-restart');
  await refused('restart-instance', { instance_id: paused.id }, /^the instance is paused; restart is allowed when the instance is running/);
});

test("the retention period is the worker's PAUSED_RETENTION_HOURS; deleting a key detaches it from a paused instance, logged there", async () => {
  const key = await addKey(server.db, aliceAccount, 'paused-key');
  const made = await running('short-retention', 2, key);
  server.clock.set(made.expires_at);
  assert.equal((await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner, pausedRetentionHours: 5 })).paused, 1);
  const detail = await ok('get-instance-detail', { instance_id: made.id });
  assert.equal(detail.delete_at, new Date(new Date(made.expires_at).getTime() + 5 * HOUR).toISOString());
  // its disk is kept, so the key is installed there: deleting the key says so on the paused instance
  assert.equal((await ok('delete-ssh-key', { ssh_key_id: key })).detached_instances, 1);
  const logs = (await ok('get-instance-logs', { instance_id: made.id, limit: 100 })).lines.map((l: Structured) => l.message);
  assert.ok(logs.some((m: string) => /^SSH key "paused-key" \(.+\) detached: the key was deleted from the account$/.test(m)));
});
