// Races: many creates on one account or one region's capacity, two lifecycle workers (two
// separate connection pools, as two replicas would have) over the same due renewals, pauses and
// deletions, and starts of paused instances racing their deletion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createDb, type Db } from '@pictor/platform/db';
import { ManualClock } from '@pictor/platform/clock';
import { createInstance, startPausedInstance } from '../src/pictor/instances/index.ts';
import { CapacityUnavailableError, InsufficientBalanceError } from '../src/pictor/errors.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { rentalCost } from '../src/pictor/billing.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { assertLedgerMatchesCache, credits, freeGpus, fund, funds, h100, HOUR, newUser, setupCore } from './core-fixtures.ts';

// 1 × H100 with 100 GB for 1 h: 2.49 + ceil(100 × 0.10 / 730 credits) = 2.503699
const SMALL = { gpuCount: 1, storageGb: 100, rentalHours: 1 };
const SMALL_COST = 2_503_699n;

function outcomes(results: PromiseSettledResult<unknown>[]) {
  return {
    ok: results.filter((r) => r.status === 'fulfilled').length,
    reasons: results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown),
  };
}

test('50 concurrent creates on an account that covers exactly 5: 5 succeed, 45 insufficient balance, ledger = cache', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '10', credit: '2.518495' }); // 12.518495 = 5 × 2.503699
  const free = await freeGpus(db, 'us-east', 'h100-80gb');

  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => createInstance(db, user.actor, h100({ ...SMALL, name: `race-${i}` }), clock)));
  const { ok, reasons } = outcomes(results);
  assert.equal(ok, 5);
  assert.equal(reasons.length, 45);
  for (const reason of reasons) assert.ok(reason instanceof InsufficientBalanceError, String(reason));
  assert.deepEqual(await funds(db, user.accountId), { balance: 0n, credit: 0n });
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), free - 5);
  assert.equal((await db.selectFrom('instances').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n, 5);
  const charged = await db.selectFrom('ledger_entries').select(sql<bigint>`sum(amount)::bigint`.as('s')).where('kind', '=', 'charge').executeTakeFirstOrThrow();
  assert.equal(charged.s, -5n * SMALL_COST);
  await assertLedgerMatchesCache(db);
});

test('50 concurrent creates from different accounts for 3 free GPUs: 3 succeed, capacity never below zero', async (t) => {
  const { db, clock } = await setupCore(t);
  await db.updateTable('region_capacity').set({ free_gpus: 3 }).where('region_id', '=', 'eu-west').where('plan_id', '=', 'l40s-48gb').execute();
  const users = await Promise.all(Array.from({ length: 10 }, () => newUser(db)));
  for (const u of users) await fund(db, u.accountId, { balance: '1000' });
  const results = await Promise.allSettled(
    Array.from({ length: 50 }, (_, i) =>
      createInstance(
        db,
        users[i % users.length]!.actor,
        { plan: 'l40s-48gb', gpuCount: 1, region: 'eu-west', storageGb: 100, rentalHours: 2, name: `r${i}` },
        clock,
      ),
    ),
  );
  const { ok, reasons } = outcomes(results);
  assert.equal(ok, 3);
  for (const reason of reasons) {
    assert.ok(reason instanceof CapacityUnavailableError, String(reason));
    assert.match(reason.message, /1 GPUs requested, 0 free\. Available now in: us-east/);
  }
  assert.equal(await freeGpus(db, 'eu-west', 'l40s-48gb'), 0);
  // Refused creates charged nothing.
  const total = users.reduce(async (acc, u) => (await acc) + (await funds(db, u.accountId)).balance, Promise.resolve(0n));
  const oneCost = rentalCost({ gpuCount: 1, pricePerGpuHour: credits('0.99'), storageGb: 100, storagePricePerGbMonth: credits('0.10') }, 2).total;
  assert.equal(await total, credits('1000') * 10n - 3n * oneCost);
  await assertLedgerMatchesCache(db);
});

/** Running instances inserted directly (fast), all expiring at `expiresAt`, with their GPUs reserved. */
async function insertRunning(db: Db, accountId: string, n: number, expiresAt: Date, autoRenew: boolean): Promise<void> {
  await sql`
    INSERT INTO instances (account_id, name, plan_id, region_id, gpu_count, storage_gb, price_per_gpu_hour,
      storage_price_per_gb_month, rental_hours, auto_renew, state, ssh_host, ssh_port, expires_at, created_at, updated_at)
    SELECT ${accountId}, 'bulk-' || g, 'rtx4090-24gb', 'us-east', 1, 100, 490000, 100000, 1, ${autoRenew}, 'running',
      'us-east.gpu.pictor.dev', 20000 + g, ${expiresAt}, ${expiresAt}, ${expiresAt}
    FROM generate_series(1, ${n}) AS g`.execute(db);
  await sql`UPDATE region_capacity SET total_gpus = total_gpus + ${n}
    WHERE region_id = 'us-east' AND plan_id = 'rtx4090-24gb'`.execute(db);
}

test('two workers on separate pools over the same due renewals never double-charge or double-renew', async (t) => {
  const { db, url, clock } = await setupCore(t);
  const expiresAt = new Date(clock.now().getTime() + HOUR);
  // 1 × RTX 4090 with 100 GB for 1 h: 0.49 + ceil(10/730 credits) = 0.503699
  const renewal = 503_699n;
  const rich = await Promise.all(Array.from({ length: 6 }, () => newUser(db)));
  for (const u of rich) {
    await fund(db, u.accountId, { balance: '1000', credit: '1' });
    await insertRunning(db, u.accountId, 100, expiresAt, true);
  }
  // This account can pay 20 of its 50 renewals; the other 30 end. Plus 40 with auto-renew off.
  const poor = await newUser(db);
  await fund(db, poor.accountId, { balance: '10.07398' });
  await insertRunning(db, poor.accountId, 50, expiresAt, true);
  const idle = await newUser(db);
  await insertRunning(db, idle.accountId, 40, expiresAt, false);
  const capacityBefore = await freeGpus(db, 'us-east', 'rtx4090-24gb');

  const a = createDb(url, { max: 4, applicationName: 'worker-a' });
  const b = createDb(url, { max: 4, applicationName: 'worker-b' });
  t.after(() => Promise.all([a.destroy(), b.destroy()]).then(() => undefined));
  clock.set(expiresAt);
  const provisioner = new SimulatedProvisioner();
  const reports = await Promise.all([a, b, a, b].map((pool) => runLifecycleOnce({ db: pool, clock, provisioner, batchSize: 25 })));
  const renewed = reports.reduce((n, r) => n + r.renewed, 0);
  const paused = reports.reduce((n, r) => n + r.paused, 0);
  assert.equal(renewed, 620);
  assert.equal(paused, 70);
  assert.ok(reports.filter((r) => r.renewed > 0).length >= 2, `work was shared: ${JSON.stringify(reports)}`);

  const perInstance = await sql<{ charges: number; n: number }>`
    SELECT charges, count(*)::int AS n FROM (
      SELECT i.id, count(DISTINCT l.id) FILTER (WHERE l.kind = 'charge')::int AS charges
      FROM instances i LEFT JOIN ledger_entries l ON l.instance_id = i.id GROUP BY i.id) x
    GROUP BY charges ORDER BY charges`.execute(db);
  // Each renewal is one charge per bucket: the rich accounts' first renewals eat their 1 credit (so
  // one instance there has a credit and a balance entry), everything else exactly one entry.
  const byCharges = Object.fromEntries(perInstance.rows.map((r) => [r.charges, r.n]));
  assert.equal(byCharges[0], 70);
  assert.equal((byCharges[1] ?? 0) + (byCharges[2] ?? 0), 620);
  const renewedRows = await db
    .selectFrom('instances')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('expires_at', '=', new Date(expiresAt.getTime() + HOUR))
    .where('state', '=', 'running')
    .executeTakeFirstOrThrow();
  assert.equal(renewedRows.n, 620);
  for (const u of rich) {
    const f = await funds(db, u.accountId);
    assert.equal(f.balance + f.credit, credits('1001') - 100n * renewal);
  }
  assert.deepEqual(await funds(db, poor.accountId), { balance: 10_073_980n - 20n * renewal, credit: 0n });
  const logs = await db
    .selectFrom('instance_logs')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('message', 'like', 'Renewed for 1 h%')
    .executeTakeFirstOrThrow();
  assert.equal(logs.n, 620);
  assert.equal(await freeGpus(db, 'us-east', 'rtx4090-24gb'), capacityBefore + 70);
  await assertLedgerMatchesCache(db);

  // Running again at the same instant does nothing.
  const again = await Promise.all([a, b].map((pool) => runLifecycleOnce({ db: pool, clock, provisioner })));
  assert.deepEqual(
    again.map((r) => r.renewed + r.paused),
    [0, 0],
  );
  const pausedLogs = await db
    .selectFrom('instance_logs')
    .select(sql<number>`count(DISTINCT instance_id)::int`.as('instances'))
    .select(sql<number>`count(*)::int`.as('n'))
    .where('message', 'like', 'Paused:%')
    .executeTakeFirstOrThrow();
  assert.deepEqual(pausedLogs, { instances: 70, n: 70 }, 'each instance paused exactly once');

  // At the end of the grace period both workers delete the paused instances: each exactly once.
  await db
    .updateTable('instances')
    .set({ expires_at: new Date(expiresAt.getTime() + 1000 * HOUR) })
    .where('state', '=', 'running')
    .execute();
  clock.set(new Date(expiresAt.getTime() + 72 * HOUR));
  const deletions = await Promise.all([a, b, a, b].map((pool) => runLifecycleOnce({ db: pool, clock, provisioner, batchSize: 25 })));
  assert.equal(
    deletions.reduce((n, r) => n + r.deleted, 0),
    70,
  );
  const deletedLogs = await db
    .selectFrom('instance_logs')
    .select(sql<number>`count(DISTINCT instance_id)::int`.as('instances'))
    .select(sql<number>`count(*)::int`.as('n'))
    .where('message', 'like', 'Deleted: paused since%')
    .executeTakeFirstOrThrow();
  assert.deepEqual(deletedLogs, { instances: 70, n: 70 }, 'each paused instance deleted exactly once');
  const states = await db
    .selectFrom('instances')
    .select(['state', sql<number>`count(*)::int`.as('n')])
    .groupBy('state')
    .orderBy('state')
    .execute();
  assert.deepEqual(states, [
    { state: 'deleted', n: 70 },
    { state: 'running', n: 620 },
  ]);
  assert.equal(await freeGpus(db, 'us-east', 'rtx4090-24gb'), capacityBefore + 70, 'deleting a paused instance frees no GPUs twice');
});

test('start-instance on paused instances racing their deletion by a worker on another pool: each is either started and charged once, or deleted and not charged', async (t) => {
  const { db, url, clock } = await setupCore(t);
  const users = await Promise.all(Array.from({ length: 12 }, () => newUser(db)));
  const ids: string[] = [];
  for (const u of users) {
    await fund(db, u.accountId, { balance: '100' });
    ids.push((await createInstance(db, u.actor, h100({ ...SMALL, name: 'racer' }), clock)).id);
  }
  clock.advance(HOUR);
  const provisioner = new SimulatedProvisioner();
  assert.equal((await runLifecycleOnce({ db, clock, provisioner })).paused, 12);
  const free = await freeGpus(db, 'us-east', 'h100-80gb');
  const deleteAt = new Date(clock.now().getTime() + 72 * HOUR);

  // The person's replica still reads a time just before delete_after (clock skew); the worker's is past it.
  const personClock = new ManualClock(new Date(deleteAt.getTime() - 1));
  const workerClock = new ManualClock(deleteAt);
  const a = createDb(url, { max: 4, applicationName: 'worker' });
  const b = createDb(url, { max: 8, applicationName: 'person' });
  t.after(() => Promise.all([a.destroy(), b.destroy()]).then(() => undefined));
  const [starts] = await Promise.all([
    Promise.allSettled(users.map((u, i) => startPausedInstance(b, u.actor, ids[i]!, 1, personClock))),
    runLifecycleOnce({ db: a, clock: workerClock, provisioner, batchSize: 3 }),
  ]);
  await runLifecycleOnce({ db: a, clock: workerClock, provisioner }); // whatever was not started is deleted now

  let started = 0;
  for (const [i, id] of ids.entries()) {
    const row = await db.selectFrom('instances').select(['state', 'delete_after']).where('id', '=', id).executeTakeFirstOrThrow();
    const resumeCharges = await db
      .selectFrom('ledger_entries')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('instance_id', '=', id)
      .where('description', 'like', '%started from paused%')
      .executeTakeFirstOrThrow();
    const result = starts[i]!;
    if (row.state === 'running') {
      started++;
      assert.equal(result.status, 'fulfilled');
      assert.equal(resumeCharges.n, 1, `${id} started and charged once`);
      assert.equal(row.delete_after, null);
    } else {
      assert.equal(row.state, 'deleted', `${id}: ${row.state}`);
      assert.equal(result.status, 'rejected');
      assert.match(String((result as PromiseRejectedResult).reason), /Instance not found/);
      assert.equal(resumeCharges.n, 0, `${id} deleted and not charged`);
    }
  }
  t.diagnostic(`${started} of 12 started before their deletion`);
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), free - started);
  for (const u of users) {
    const f = await funds(db, u.accountId);
    assert.ok(f.balance === credits('100') - SMALL_COST || f.balance === credits('100') - 2n * SMALL_COST);
  }
  await assertLedgerMatchesCache(db);
});
