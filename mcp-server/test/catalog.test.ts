// The catalog: the default seed, plan listing with filters, availability with alternatives, and
// the per-process copy the catalog tools answer from (pictor/caches.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb, type Db } from '@pictor/platform/db';
import { createTestDatabase } from '@pictor/platform/testing';
import { checkAvailability, listPlans, resolvePlan } from '../src/pictor/catalog.ts';
import { SEED_CAPACITY, SEED_PLANS, seedCatalog } from '../src/pictor/catalog-seed.ts';
import { setCapacity, upsertPlan } from '../src/pictor/catalog-admin.ts';
import { InvalidInputError } from '../src/pictor/errors.ts';
import { createInstance, deleteInstance } from '../src/pictor/instances/index.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { fund, h100, HOUR, newUser, setupCore } from './core-fixtures.ts';

test('seeding fills an empty catalog once, even when replicas seed at the same time', async (t) => {
  const { db, url, drop } = await createTestDatabase();
  t.after(drop);
  const others = [createDb(url, { max: 1 }), createDb(url, { max: 1 }), createDb(url, { max: 1 })];
  t.after(() => Promise.all(others.map((o) => o.destroy())).then(() => undefined));
  const results = await Promise.all([db, ...others].map((d) => seedCatalog(d)));
  assert.deepEqual(results.filter(Boolean).length, 1);
  assert.equal((await db.selectFrom('gpu_plans').select('id').execute()).length, SEED_PLANS.length);
  assert.equal((await db.selectFrom('region_capacity').select('plan_id').execute()).length, SEED_CAPACITY.length);
  // An operator's change (a retired plan) survives a later seed.
  await upsertPlan(db, 'rtx4090-24gb', { active: false });
  assert.equal(await seedCatalog(db), false);
  assert.equal((await db.selectFrom('gpu_plans').select('active').where('id', '=', 'rtx4090-24gb').executeTakeFirstOrThrow()).active, false);
});

test('list plans: cheapest first, with free GPUs per region; filter by region and model; retired plans hidden', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  await seedCatalog(db);
  const all = await listPlans(db);
  assert.deepEqual(
    all.map((p) => p.id),
    ['rtx4090-24gb', 'rtx5090-32gb', 'l40s-48gb', 'a100-80gb', 'h100-80gb', 'h200-141gb'],
  );
  const h100 = all.find((p) => p.id === 'h100-80gb')!;
  assert.equal(h100.pricePerGpuHour, 2_490_000n);
  assert.equal(h100.storagePricePerGbMonth, 100_000n);
  assert.deepEqual(h100.allowedGpuCounts, [1, 2, 4, 8]);
  assert.deepEqual(
    h100.regions.map((r) => [r.id, r.location, r.freeGpus]),
    [
      ['ap-southeast', 'Singapore', 16],
      ['eu-west', 'Amsterdam, NL', 32],
      ['us-east', 'Ashburn, US', 64],
    ],
  );

  const singapore = await listPlans(db, { region: 'ap-southeast' });
  assert.ok(!singapore.some((p) => p.id === 'h200-141gb'));
  assert.ok(singapore.every((p) => p.regions.length === 1 && p.regions[0]!.id === 'ap-southeast'));
  assert.deepEqual(
    (await listPlans(db, { model: 'rtx 4090' })).map((p) => p.id),
    ['rtx4090-24gb'],
  );
  assert.deepEqual(
    (await listPlans(db, { model: 'RTX' })).map((p) => p.id),
    ['rtx4090-24gb', 'rtx5090-32gb'],
  );
  assert.deepEqual(await listPlans(db, { model: 'tpu' }), []);
  await assert.rejects(listPlans(db, { region: 'atlantis' }), (err: unknown) => err instanceof InvalidInputError && err.details.field === 'region');

  await upsertPlan(db, 'rtx5090-32gb', { active: false });
  assert.ok(!(await listPlans(db)).some((p) => p.id === 'rtx5090-32gb'));
  await assert.rejects(resolvePlan(db, 'rtx5090-32gb'), InvalidInputError);
});

test('availability: yes/no, free count, alternatives elsewhere, hourly price', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  await seedCatalog(db);
  await db.updateTable('region_capacity').set({ free_gpus: 2 }).where('region_id', '=', 'us-east').where('plan_id', '=', 'h200-141gb').execute();

  const short = await checkAvailability(db, { gpu: 'H200', gpuCount: 4, region: 'us-east' });
  assert.equal(short.planId, 'h200-141gb');
  assert.equal(short.available, false);
  assert.equal(short.freeGpus, 2);
  assert.deepEqual(
    short.alternatives.map((r) => [r.id, r.freeGpus]),
    [['eu-west', 16]],
  );
  assert.equal(short.gpuPricePerHour, 13_960_000n); // 4 × 3.49

  const anywhere = await checkAvailability(db, { gpu: 'h200-141gb', gpuCount: 8 });
  assert.equal(anywhere.region, null);
  assert.equal(anywhere.available, true);
  assert.equal(anywhere.freeGpus, 16);
  assert.deepEqual(
    anywhere.alternatives.map((r) => r.id),
    ['eu-west'],
  );

  const ok = await checkAvailability(db, { gpu: 'a100', gpuCount: 1, region: 'EU-WEST' });
  assert.equal(ok.available, true);
  assert.equal(ok.region, 'eu-west');

  await assert.rejects(checkAvailability(db, { gpu: 'h100', gpuCount: 3 }), { message: /^gpu_count: h100-80gb offers 1, 2, 4, 8 GPUs/ });
  await assert.rejects(checkAvailability(db, { gpu: 'quantum', gpuCount: 1 }), { message: /^gpu: unknown GPU plan "quantum"; choose one of / });
  await assert.rejects(checkAvailability(db, { gpu: 'h100', gpuCount: 1, region: 'nowhere' }), { message: /^region: unknown region/ });
});

test("the catalog copy shows this process's reservations, releases, expiries and operator changes at once; another pool's within a second", async (t) => {
  const { db, url, clock } = await setupCore(t);
  const other = createDb(url, { max: 1 });
  t.after(() => other.destroy());
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '10000' });
  const free = async (d: Db): Promise<number> => (await checkAvailability(d, { gpu: 'h100', gpuCount: 1, region: 'us-east' })).freeGpus;
  const start = await free(db);
  assert.equal(await free(other), start);

  // Each read below comes well within the copy's second, so only a dropped copy can show the change.
  const kept = await createInstance(db, user.actor, h100({ gpuCount: 2 }), clock);
  assert.equal(await free(db), start - 2, 'create-instance reserved GPUs');
  const ending = await createInstance(db, user.actor, h100({ gpuCount: 4, rentalHours: 1 }), clock);
  assert.equal(await free(db), start - 6);
  await deleteInstance(db, user.actor, kept.id, clock);
  assert.equal(await free(db), start - 4, 'delete-instance freed GPUs');
  clock.advance(HOUR);
  const report = await runLifecycleOnce({ db, clock, provisioner: new SimulatedProvisioner() });
  assert.equal(report.paused, 1);
  assert.equal(await free(db), start, `the expiry of ${ending.id} freed GPUs`);
  await setCapacity(db, 'us-east', 'h100-80gb', start + 10); // nothing in use any more: free = total
  assert.equal(await free(db), start + 10, 'an operator changed the capacity');

  // Another replica (a pool of its own) sees all of it once its copy is a second old.
  await sleep(1100);
  assert.equal(await free(other), start + 10);
});
