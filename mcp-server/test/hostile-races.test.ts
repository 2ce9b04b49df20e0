// Hostile conditions, races: many clients at once on one account or one instance, through the
// real MCP endpoint (HTTP, bearer token, Postgres). Whatever the interleaving, money is exact: the
// ledger sums to the cached balance, every success is charged once and every refusal not at all,
// and capacity never goes below zero.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { resolveAccountId } from '../src/pictor/accounts.ts';
import { refundFor, rentalCost, unusedWholeHours } from '../src/pictor/billing.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { assertLedgerMatchesCache, freeGpus, fund, funds } from './core-fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { assertNotInternal, call, post, sum, type CallOutcome } from './hostile-support.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({ now: '2026-03-01T00:00:00Z' });
  await seedCatalog(server.db);
});
after(() => server.close());

// 1 × RTX 4090 (0.49/h) with 50 GB (0.10/GB-month) for 1 h, at the catalog's prices
const SMALL = { plan: 'rtx4090-24gb', gpu_count: 1, region: 'us-east', storage_gb: 50, rental_hours: 1 };
const RATE = { gpuCount: 1, pricePerGpuHour: 490_000n, storageGb: 50, storagePricePerGbMonth: 100_000n };
const SMALL_COST = rentalCost(RATE, 1).total;

async function person(balanceMicro: bigint) {
  const { user, token } = await server.signIn();
  const accountId = await resolveAccountId(server.db, { userId: user.id }, 'read');
  if (balanceMicro > 0n) await fund(server.db, accountId, { balance: (Number(balanceMicro) / 1e6).toFixed(6) });
  return { user, token, accountId };
}

const charges = async (accountId: string) =>
  (await server.db.selectFrom('ledger_entries').select('amount').where('account_id', '=', accountId).where('kind', '=', 'charge').execute()).map(
    (r) => r.amount,
  );

function tally(outcomes: CallOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.result && !o.result.isError ? 'ok' : (o.code ?? `http ${o.status}`);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

test('100 parallel create-instance on an account that covers exactly 10: 10 created, 90 refused for balance, ledger = balance', async () => {
  const { token, accountId } = await person(10n * SMALL_COST);
  const free = await freeGpus(server.db, 'us-east', 'rtx4090-24gb');
  const outcomes = await Promise.all(
    Array.from({ length: 100 }, (_, i) => post(server.url, token, call('create-instance', { ...SMALL, name: `race-${i}` }, i))),
  );
  for (const o of outcomes) assertNotInternal(o, 'create-instance');
  assert.deepEqual(tally(outcomes), { ok: 10, insufficient_balance: 90 });
  for (const o of outcomes.filter((x) => x.code === 'insufficient_balance')) assert.match(o.text, /short by \d+\.\d{2}/);

  assert.deepEqual(await funds(server.db, accountId), { balance: 0n, credit: 0n });
  assert.equal(sum(await charges(accountId)), -10n * SMALL_COST);
  const instances = await server.db.selectFrom('instances').select(['id', 'gpu_count']).where('account_id', '=', accountId).execute();
  assert.equal(instances.length, 10);
  assert.equal(await freeGpus(server.db, 'us-east', 'rtx4090-24gb'), free - 10);
  await assertLedgerMatchesCache(server.db);
});

test('100 parallel create-instance for 7 free GPUs: 7 created, capacity exactly 0 and never below, refusals charge nothing', async () => {
  await server.db
    .updateTable('region_capacity')
    .set({ free_gpus: 7, total_gpus: 7 })
    .where('region_id', '=', 'eu-west')
    .where('plan_id', '=', 'l40s-48gb')
    .execute();
  const people = await Promise.all(Array.from({ length: 5 }, () => person(1000n * 1_000_000n)));
  // Watch the row while the race runs: it must never be seen below zero.
  const seen: number[] = [];
  let racing = true;
  const watcher = (async () => {
    while (racing) seen.push(await freeGpus(server.db, 'eu-west', 'l40s-48gb'));
  })();
  const outcomes = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      post(server.url, people[i % 5]!.token, call('create-instance', { ...SMALL, plan: 'l40s-48gb', region: 'eu-west', storage_gb: 100, name: `cap-${i}` }, i)),
    ),
  );
  racing = false;
  await watcher;
  assert.ok(seen.length > 0 && Math.min(...seen) >= 0, `free GPUs seen during the race: ${seen.join(',')}`);
  for (const o of outcomes) assertNotInternal(o, 'create-instance');
  assert.deepEqual(tally(outcomes), { ok: 7, capacity_unavailable: 93 });
  assert.equal(await freeGpus(server.db, 'eu-west', 'l40s-48gb'), 0);
  const oneCost = rentalCost({ gpuCount: 1, pricePerGpuHour: 990_000n, storageGb: 100, storagePricePerGbMonth: 100_000n }, 1).total;
  const spent = sum(await Promise.all(people.map(async (p) => sum(await charges(p.accountId)))));
  assert.equal(spent, -7n * oneCost);
  await assertLedgerMatchesCache(server.db);
});

test('parallel add-instance-hours, auto-renew toggles and deletes on one instance: consistent, charged exactly for what succeeded', async () => {
  const { token, accountId } = await person(100n * 1_000_000n);
  const created = await post(server.url, token, call('create-instance', { ...SMALL, name: 'contested' }));
  assert.ok(created.result && !created.result.isError, created.text);
  const id = created.result.structuredContent!.instance.id as string;
  const { expires_at: createdExpiry } = await server.db.selectFrom('instances').select('expires_at').where('id', '=', id).executeTakeFirstOrThrow();
  const free = await freeGpus(server.db, 'us-east', 'rtx4090-24gb');
  const balanceBefore = (await funds(server.db, accountId)).balance;

  const requests = [
    ...Array.from({ length: 30 }, () => ['add-instance-hours', { instance_id: id, hours: 2 }] as const),
    ...Array.from({ length: 15 }, () => ['enable-instance-auto-renew', { instance_id: id }] as const),
    ...Array.from({ length: 15 }, () => ['disable-instance-auto-renew', { instance_id: id }] as const),
    ...Array.from({ length: 3 }, () => ['delete-instance', { instance_id: id }] as const),
  ].sort(() => Math.random() - 0.5);
  const outcomes = await Promise.all(requests.map(([name, args], i) => post(server.url, token, call(name, args, i)).then((o) => ({ name, o }))));
  for (const { name, o } of outcomes) assertNotInternal(o, name);

  const succeeded = (name: string) => outcomes.filter((x) => x.name === name && x.o.result && !x.o.result.isError).length;
  const refusedWith = (name: string) => tally(outcomes.filter((x) => x.name === name && x.o.result?.isError).map((x) => x.o));
  const adds = succeeded('add-instance-hours');
  assert.equal(succeeded('delete-instance'), 1, 'exactly one delete wins');
  // Whatever lost to the delete was refused as not found (a deleted instance is gone), nothing else.
  for (const name of ['add-instance-hours', 'enable-instance-auto-renew', 'disable-instance-auto-renew', 'delete-instance']) {
    assert.deepEqual(
      Object.keys(refusedWith(name)).filter((code) => code !== 'not_found'),
      [],
      `${name}: ${JSON.stringify(refusedWith(name))}`,
    );
  }

  const row = await server.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.state, 'deleted');
  // Every successful add moved the expiry by 2 h before the delete froze it.
  const expiresAt = new Date(createdExpiry.getTime() + adds * 2 * 3_600_000);
  assert.equal(row.expires_at.toISOString(), expiresAt.toISOString());
  const entries = await server.db.selectFrom('ledger_entries').select(['kind', 'amount', 'description']).where('instance_id', '=', id).orderBy('id').execute();
  const addCharges = entries.filter((e) => e.kind === 'charge' && /h added/.test(e.description));
  assert.equal(addCharges.length, adds);
  assert.equal(sum(addCharges.map((e) => e.amount)), -BigInt(adds) * rentalCost(RATE, 2).total);
  // The refund is for the unused whole hours at the moment of the delete, from that expiry.
  const refund = refundFor(RATE, unusedWholeHours(expiresAt, server.clock.now()));
  assert.equal(sum(entries.filter((e) => e.kind === 'refund').map((e) => e.amount)), refund.total);
  assert.equal((await funds(server.db, accountId)).balance, balanceBefore - BigInt(adds) * rentalCost(RATE, 2).total + refund.total);
  assert.equal(await freeGpus(server.db, 'us-east', 'rtx4090-24gb'), free + 1);
  const logs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM instance_logs WHERE instance_id = ${id} AND message LIKE 'Added 2 h%'`.execute(
    server.db,
  );
  assert.equal(logs.rows[0]!.n, adds);
  await assertLedgerMatchesCache(server.db);
});
