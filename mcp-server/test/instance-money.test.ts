// Money on instances: adding hours, delete refunds to the right buckets, expiry (a pause), renewal
// and the refused renewal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addInstanceHours,
  createInstance,
  deleteInstance,
  getInstanceDetail,
  getInstanceLogs,
  quoteAddInstanceHours,
  setAutoRenew,
  stopInstance,
} from '../src/pictor/instances/index.ts';
import { upsertPlan } from '../src/pictor/catalog-admin.ts';
import { InsufficientBalanceError } from '../src/pictor/errors.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { assertLedgerMatchesCache, credits, fingerprint, freeGpus, fund, funds, h100, HOUR, newUser, setupCore } from './core-fixtures.ts';

const provisioner = new SimulatedProvisioner();
// 2 × H100, 500 GB, 24 h = 119.52 + 1.643836 (storage rounded up)
const DAY_COST = 121_163_836n;

test('add hours charges GPU + storage at the prices fixed at creation and extends the expiry', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '200' });
  const { id } = await createInstance(db, user.actor, h100(), clock);
  // A later price change must not reprice this rental.
  await upsertPlan(db, 'h100-80gb', { price_per_gpu_hour: credits('9.99') });

  const before = await fingerprint(db);
  const quote = await quoteAddInstanceHours(db, user.actor, id, 10);
  // 2 × 2.49 × 10 = 49.80; 500 × 0.10 × 10 / 730 = 0.684931… → 0.684932
  assert.deepEqual(quote.cost, { hours: 10, gpu: 49_800_000n, storage: 684_932n, total: 50_484_932n });
  assert.equal(quote.expiresAfter.toISOString(), '2026-03-02T10:00:00.000Z');
  assert.equal(quote.balanceAfter, credits('200') - DAY_COST - 50_484_932n);
  assert.equal(await fingerprint(db), before);

  clock.advance(HOUR);
  const added = await addInstanceHours(db, user.actor, id, 10, clock);
  assert.deepEqual(added.charged, quote.cost);
  assert.equal(added.expiresAt.toISOString(), '2026-03-02T10:00:00.000Z');
  assert.equal((await funds(db, user.accountId)).balance, credits('200') - DAY_COST - 50_484_932n);
  const logs = (await getInstanceLogs(db, user.actor, id)).items;
  assert.match(logs.at(-1)!.message, /^Added 10 h, charged 50\.484932 credits \(GPU 49\.80, storage 0\.684932\); now expires at 2026-03-02T10:00:00\.000Z$/);
  assert.equal(logs.at(-1)!.at.toISOString(), '2026-03-01T01:00:00.000Z');

  // Short: refused with the shortfall, nothing changes; the dry run says the same without throwing.
  const snapshot = await fingerprint(db);
  await assert.rejects(addInstanceHours(db, user.actor, id, 100, clock), InsufficientBalanceError);
  const shortQuote = await quoteAddInstanceHours(db, user.actor, id, 100);
  assert.equal(shortQuote.wouldSucceed, false);
  assert.match(shortQuote.reason ?? '', /short by/);
  for (const bad of [0, 721, 2.5]) await assert.rejects(addInstanceHours(db, user.actor, id, bad, clock), { message: /^hours: / });
  assert.equal(await fingerprint(db), snapshot);
  await assertLedgerMatchesCache(db);
});

test('delete frees capacity at once and refunds unused whole hours: balance first up to what balance paid, rest to credit', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '50', credit: '100' });
  const free = await freeGpus(db, 'us-east', 'h100-80gb');
  const { id } = await createInstance(db, user.actor, h100(), clock);
  // paid: 100 from credit, 21.163836 from balance
  assert.deepEqual(await funds(db, user.accountId), { balance: credits('50') - 21_163_836n, credit: 0n });

  clock.advance(2.5 * HOUR);
  const deleted = await deleteInstance(db, user.actor, id, clock);
  // 21 unused whole hours: GPU 104.58 + storage floor(1.438356164…) = 106.018356
  assert.deepEqual(deleted.refund, { hours: 21, gpu: 104_580_000n, storage: 1_438_356n, total: 106_018_356n });
  assert.equal(deleted.refundedToBalance, 21_163_836n);
  assert.equal(deleted.refundedToCredit, 106_018_356n - 21_163_836n);
  assert.equal(deleted.gpusReleased, 2);
  assert.deepEqual(await funds(db, user.accountId), { balance: credits('50'), credit: 106_018_356n - 21_163_836n });
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), free);
  const refunds = await db.selectFrom('ledger_entries').select(['bucket', 'amount']).where('kind', '=', 'refund').orderBy('id').execute();
  assert.deepEqual(refunds, [
    { bucket: 'balance', amount: 21_163_836n },
    { bucket: 'credit', amount: 84_854_520n },
  ]);
  const row = await db.selectFrom('instances').select(['state', 'pending_action', 'ended_at']).where('id', '=', id).executeTakeFirstOrThrow();
  assert.deepEqual(row, { state: 'deleted', pending_action: 'release', ended_at: new Date('2026-03-01T02:30:00Z') });
  await assertLedgerMatchesCache(db);
});

test('refunds count every balance charge of the instance (creation and added hours); all-balance accounts get balance back', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '1000' });
  const { id } = await createInstance(db, user.actor, h100({ gpuCount: 1, storageGb: 100, rentalHours: 1 }), clock);
  await addInstanceHours(db, user.actor, id, 5, clock);
  clock.advance(30 * 60_000);
  const deleted = await deleteInstance(db, user.actor, id, clock);
  // 5.5 h left → 5 whole hours: 5 × 2.49 + floor(100 × 0.10 × 5 / 730 credits) = 12.45 + 0.068493
  assert.deepEqual(deleted.refund, { hours: 5, gpu: 12_450_000n, storage: 68_493n, total: 12_518_493n });
  assert.equal(deleted.refundedToBalance, 12_518_493n);
  assert.equal(deleted.refundedToCredit, 0n);
  await assertLedgerMatchesCache(db);
});

test('delete in the last hour refunds nothing; deleting a paused instance refunds nothing, frees no GPUs twice and wipes its disk', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '1000' });
  const free = await freeGpus(db, 'us-east', 'h100-80gb');
  const a = await createInstance(db, user.actor, h100({ rentalHours: 1 }), clock);
  const b = await createInstance(db, user.actor, h100({ rentalHours: 1 }), clock);
  clock.advance(HOUR - 1);
  const da = await deleteInstance(db, user.actor, a.id, clock);
  assert.equal(da.refund.total, 0n);
  assert.equal(await db.selectFrom('ledger_entries').select('id').where('kind', '=', 'refund').executeTakeFirst(), undefined);

  clock.advance(1);
  await runLifecycleOnce({ db, clock, provisioner });
  assert.equal((await getInstanceDetail(db, user.actor, b.id)).state, 'paused');
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), free);
  const db2 = await deleteInstance(db, user.actor, b.id, clock);
  assert.equal(db2.refund.total, 0n);
  assert.equal(db2.gpusReleased, 0);
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), free);
  // the kept disk goes with it: the worker releases the machine
  const row = await db.selectFrom('instances').select(['state', 'pending_action', 'delete_after']).where('id', '=', b.id).executeTakeFirstOrThrow();
  assert.deepEqual(row, { state: 'deleted', pending_action: 'release', delete_after: null });
});

test('expiry without auto-renew: paused, GPUs freed, disk kept, no charge, the log says why and when it is deleted', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '1000' });
  const free = await freeGpus(db, 'us-east', 'h100-80gb');
  const { id } = await createInstance(db, user.actor, h100(), clock);
  clock.advance(5000);
  await runLifecycleOnce({ db, clock, provisioner });
  await stopInstance(db, user.actor, id, clock); // stopped instances expire the same way

  clock.set('2026-03-01T23:59:59.999Z');
  assert.deepEqual(await runLifecycleOnce({ db, clock, provisioner }), { renewed: 0, paused: 0, deleted: 0, actions: 1 });
  assert.equal((await getInstanceDetail(db, user.actor, id)).state, 'stopped');

  const before = await funds(db, user.accountId);
  clock.set('2026-03-02T00:00:00Z');
  const report = await runLifecycleOnce({ db, clock, provisioner });
  assert.equal(report.paused, 1);
  const detail = await getInstanceDetail(db, user.actor, id);
  assert.equal(detail.state, 'paused');
  assert.equal(detail.endReason, 'auto-renew off');
  assert.equal(detail.endedAt, null);
  assert.equal(detail.pausedAt?.toISOString(), '2026-03-02T00:00:00.000Z');
  assert.equal(detail.deleteAt?.toISOString(), '2026-03-05T00:00:00.000Z'); // PAUSED_RETENTION_HOURS default 72
  assert.equal(detail.ssh, null);
  assert.match(detail.sshHint!, /paused.*kept until 2026-03-05T00:00:00\.000Z/);
  assert.deepEqual(await funds(db, user.accountId), before);
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), free);
  clock.advance(1500); // the simulated power-off
  await runLifecycleOnce({ db, clock, provisioner });
  const messages = (await getInstanceLogs(db, user.actor, id, { limit: 100 })).items.map((l) => l.message);
  assert.ok(
    messages.includes(
      'Paused: the prepaid period ended and auto-renew is off; 2 GPUs released, disk kept. Nothing is charged while paused. It will be deleted at 2026-03-05T00:00:00.000Z unless started again with start-instance and rental_hours',
    ),
  );
  assert.ok(messages.includes('Powered off; GPUs returned, disk kept'));
  assert.ok(!messages.some((m) => m.startsWith('Machine released')), 'the disk is not wiped');
  assert.equal((await getInstanceDetail(db, user.actor, id)).pendingAction, null);
  assert.deepEqual(await funds(db, user.accountId), before);
  await assertLedgerMatchesCache(db);
});

test('auto-renew charges once per period and extends; a short balance pauses the instance with the shortfall in the log', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '250' });
  const free = await freeGpus(db, 'us-east', 'h100-80gb');
  const { id } = await createInstance(db, user.actor, h100({ autoRenew: true }), clock);

  clock.set('2026-03-02T00:00:00Z');
  assert.equal((await runLifecycleOnce({ db, clock, provisioner })).renewed, 1);
  // Running again at the same instant finds nothing due: one charge, one renewal.
  assert.equal((await runLifecycleOnce({ db, clock, provisioner })).renewed, 0);
  const renewed = await getInstanceDetail(db, user.actor, id);
  assert.equal(renewed.state, 'running');
  assert.equal(renewed.expiresAt.toISOString(), '2026-03-03T00:00:00.000Z');
  assert.equal((await funds(db, user.accountId)).balance, credits('250') - 2n * DAY_COST);
  const renewLog = (await getInstanceLogs(db, user.actor, id, { limit: 100 })).items.filter((l) => l.source === 'billing').at(-1)!;
  assert.equal(renewLog.message, 'Renewed for 24 h, charged 121.163836 credits (GPU 119.52, storage 1.643836); now expires at 2026-03-03T00:00:00.000Z');
  assert.equal(renewLog.at.toISOString(), '2026-03-02T00:00:00.000Z');
  const charges = await db.selectFrom('ledger_entries').select('amount').where('instance_id', '=', id).where('kind', '=', 'charge').execute();
  assert.equal(charges.length, 2);

  // 250 − 2 × 121.163836 = 7.672328 left: the next renewal is refused.
  clock.set('2026-03-03T00:00:00Z');
  const report = await runLifecycleOnce({ db, clock, provisioner });
  assert.equal(report.renewed, 0);
  assert.equal(report.paused, 1);
  const ended = await getInstanceDetail(db, user.actor, id);
  assert.equal(ended.state, 'paused');
  assert.equal(ended.endReason, 'insufficient balance for renewal (short by 113.491508 credits)');
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), free);
  const messages = (await getInstanceLogs(db, user.actor, id, { limit: 100 })).items.map((l) => l.message);
  assert.ok(
    messages.includes(
      'Paused: auto-renew for 24 h needs 121.163836 credits but the account has 7.672328 (short by 113.491508); 2 GPUs released, disk kept. Nothing is charged while paused. It will be deleted at 2026-03-06T00:00:00.000Z unless started again with start-instance and rental_hours',
    ),
  );
  assert.equal((await funds(db, user.accountId)).balance, credits('250') - 2n * DAY_COST);
  await assertLedgerMatchesCache(db);
});

test('renewals within one account are decided in expiry order against the funds left', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  const small = { gpuCount: 1, storageGb: 100, rentalHours: 1, autoRenew: true };
  // one hour of 1 × H100 + 100 GB = 2.49 + ceil(10/730 credits) = 2.503699
  await fund(db, user.accountId, { balance: '5.007398', credit: '2.503699' });
  const first = await createInstance(db, user.actor, h100({ ...small, name: 'first' }), clock);
  clock.advance(1000);
  const second = await createInstance(db, user.actor, h100({ ...small, name: 'second' }), clock);
  await setAutoRenew(db, user.actor, second.id, true, clock);
  assert.deepEqual(await funds(db, user.accountId), { balance: 2_503_699n, credit: 0n });

  clock.advance(HOUR);
  const report = await runLifecycleOnce({ db, clock, provisioner });
  assert.equal(report.renewed, 1);
  assert.equal(report.paused, 1);
  assert.equal((await getInstanceDetail(db, user.actor, first.id)).state, 'running');
  assert.equal((await getInstanceDetail(db, user.actor, second.id)).state, 'paused');
  assert.deepEqual(await funds(db, user.accountId), { balance: 0n, credit: 0n });
  await assertLedgerMatchesCache(db);
});
