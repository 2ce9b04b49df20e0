// Creating instances (charge, capacity, refusals, dry run), listing, detail and logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import {
  createInstance,
  getInstanceDetail,
  getInstanceLogs,
  listInstances,
  quoteCreateInstance,
  deleteInstance,
  stopInstance,
} from '../src/pictor/instances/index.ts';
import { CapacityUnavailableError, InsufficientBalanceError, InvalidInputError, NotFoundError } from '../src/pictor/errors.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { addKey, assertLedgerMatchesCache, credits, fingerprint, freeGpus, fund, funds, h100, HOUR, newUser, setupCore, T0 } from './core-fixtures.ts';

test('create charges GPU + storage for the rental, credit first, reserves GPUs, logs, in one go', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '200', credit: '21.163836' });
  const key = await addKey(db, user.accountId, 'laptop');
  const before = await freeGpus(db, 'us-east', 'h100-80gb');

  const created = await createInstance(db, user.actor, h100({ name: '  trainer  ', sshKeyIds: [key], autoRenew: true }), clock);
  assert.equal(created.name, 'trainer');
  assert.equal(created.state, 'provisioning');
  assert.equal(created.autoRenew, true);
  assert.equal(created.expiresAt.toISOString(), '2026-03-02T00:00:00.000Z');
  assert.deepEqual(created.charged, { hours: 24, gpu: 119_520_000n, storage: 1_643_836n, total: 121_163_836n });
  // 21.163836 credit spent first, then 100 from balance
  assert.deepEqual(created.fundsAfter, { balance: credits('100'), credit: 0n });
  assert.deepEqual(await funds(db, user.accountId), { balance: credits('100'), credit: 0n });
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), before - 2);
  assert.deepEqual(
    created.sshKeys.map((k) => k.name),
    ['laptop'],
  );
  assert.equal(created.ssh, null);
  assert.match(created.sshHint ?? '', /provisioning/);
  assert.deepEqual(created.rates, { gpuPerHour: 4_980_000n, storagePerMonth: 50_000_000n, storagePerHour: 68_494n, totalPerHour: 5_048_494n });

  const entries = await db
    .selectFrom('ledger_entries')
    .select(['kind', 'bucket', 'amount', 'instance_id'])
    .where('kind', '=', 'charge')
    .orderBy('id')
    .execute();
  assert.deepEqual(
    entries.map((e) => [e.bucket, e.amount, e.instance_id]),
    [
      ['credit', -21_163_836n, created.id],
      ['balance', -100_000_000n, created.id],
    ],
  );
  await assertLedgerMatchesCache(db);

  const logs = await getInstanceLogs(db, user.actor, created.id);
  assert.deepEqual(
    logs.items.map((l) => l.source),
    ['lifecycle', 'billing', 'lifecycle', 'lifecycle', 'lifecycle'],
  );
  assert.match(logs.items[1]!.message, /Charged 121\.163836 credits for 24 h/);
  assert.equal(logs.items[3]!.message, 'Image ubuntu-24.04-cuda-12.8 (Ubuntu 24.04 + CUDA 12.8); no environment variables; no HTTP ports; no startup script');
  assert.ok(logs.items.every((l) => l.at.toISOString() === T0));
});

test('dry run gives the exact cost and balance after, using the same checks, and changes nothing', async (t) => {
  const { db } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '150' });
  const before = await fingerprint(db);

  const ok = await quoteCreateInstance(db, user.actor, h100());
  assert.equal(ok.wouldSucceed, true);
  assert.equal(ok.reason, null);
  assert.equal(ok.cost.total, 121_163_836n);
  assert.equal(ok.available, credits('150'));
  assert.equal(ok.balanceAfter, credits('150') - 121_163_836n);

  const short = await quoteCreateInstance(db, user.actor, h100({ rentalHours: 48 }));
  assert.equal(short.wouldSucceed, false);
  assert.equal(short.reasonCode, 'insufficient_balance');
  assert.match(short.reason ?? '', /short by 92\.327672/);
  assert.equal(short.balanceAfter, null);

  await assert.rejects(quoteCreateInstance(db, user.actor, h100({ gpuCount: 3 })), /gpu_count/);
  assert.equal(await fingerprint(db), before);

  await db.updateTable('region_capacity').set({ free_gpus: 1 }).where('region_id', '=', 'us-east').where('plan_id', '=', 'h100-80gb').execute();
  const capacityBefore = await fingerprint(db);
  const noRoom = await quoteCreateInstance(db, user.actor, h100());
  assert.equal(noRoom.wouldSucceed, false);
  assert.equal(noRoom.reasonCode, 'capacity_unavailable');
  assert.equal(noRoom.freeGpus, 1);
  assert.match(noRoom.reason ?? '', /2 GPUs requested, 1 free/);
  assert.equal(await fingerprint(db), capacityBefore);
});

test('insufficient balance is refused with the shortfall and changes nothing', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '100', credit: '20' });
  const before = await fingerprint(db);
  await assert.rejects(createInstance(db, user.actor, h100(), clock), (err: unknown) => {
    assert.ok(err instanceof InsufficientBalanceError);
    assert.match(err.message, /^insufficient balance: this needs 121\.163836 credits, the account has 120\.00, short by 1\.163836$/);
    return true;
  });
  assert.equal(await fingerprint(db), before);
});

test('no capacity is refused saying what is free and where, and changes nothing', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '10000' });
  await db.updateTable('region_capacity').set({ free_gpus: 1 }).where('region_id', '=', 'us-east').where('plan_id', '=', 'h100-80gb').execute();
  const before = await fingerprint(db);
  await assert.rejects(createInstance(db, user.actor, h100(), clock), (err: unknown) => {
    assert.ok(err instanceof CapacityUnavailableError);
    assert.match(err.message, /2 GPUs requested, 1 free/);
    assert.match(err.message, /eu-west \(Amsterdam, NL, 32 free\)/);
    assert.deepEqual(
      (err.details.alternatives as Array<{ region: string }>).map((a) => a.region),
      ['eu-west', 'ap-southeast'],
    );
    return true;
  });
  assert.equal(await fingerprint(db), before);
});

test('bad inputs are refused naming the field, and change nothing', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  const other = await newUser(db);
  await fund(db, user.accountId, { balance: '10000' });
  const foreignKey = await addKey(db, other.accountId);
  const before = await fingerprint(db);
  const cases: Array<[Partial<Parameters<typeof h100>[0]>, string | RegExp]> = [
    [{ plan: 'tpu-v5' }, 'plan'],
    [{ plan: 'rtx' }, /plan: "rtx" matches several plans/],
    [{ gpuCount: 3 }, /gpu_count: h100-80gb offers 1, 2, 4, 8 GPUs per instance, not 3/],
    [{ gpuCount: 0 }, 'gpu_count'],
    [{ storageGb: 10 }, /storage_gb: h100-80gb takes 100–8000 GB/],
    [{ storageGb: 9000 }, 'storage_gb'],
    [{ storageGb: 100.5 }, 'storage_gb'],
    [{ rentalHours: 0 }, /rental_hours: must be a whole number of hours from 1 to 720/],
    [{ rentalHours: 721 }, 'rental_hours'],
    [{ rentalHours: 1.5 }, 'rental_hours'],
    [{ name: '   ' }, 'name'],
    [{ name: 'x'.repeat(65) }, 'name'],
    [{ name: 'two\nlines' }, 'name'],
    [{ region: 'mars-1' }, /region: unknown region "mars-1"; choose one of ap-southeast \(Singapore\), eu-west/],
    [{ plan: 'h200-141gb', region: 'ap-southeast' }, /region: H200 141GB is not offered in ap-southeast/],
  ];
  for (const [override, expected] of cases) {
    for (const fn of [() => createInstance(db, user.actor, h100(override), clock), () => quoteCreateInstance(db, user.actor, h100(override))]) {
      await assert.rejects(fn(), (err: unknown) => {
        assert.ok(err instanceof InvalidInputError, `${JSON.stringify(override)}: ${String(err)}`);
        if (typeof expected === 'string') assert.equal(err.details.field, expected);
        else assert.match(err.message, expected);
        return true;
      });
    }
  }
  for (const ids of [[foreignKey], ['not-a-uuid'], ['00000000-0000-4000-8000-000000000000']]) {
    await assert.rejects(createInstance(db, user.actor, h100({ sshKeyIds: ids }), clock), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.message, 'SSH key not found');
      return true;
    });
  }
  assert.equal(await fingerprint(db), before);
  // Model names resolve to plans when unambiguous.
  const byModel = await quoteCreateInstance(db, user.actor, h100({ plan: 'H100' }));
  assert.equal(byModel.planId, 'h100-80gb');
});

test('list: newest first, stable cursor pages, state filter, deleted hidden by default', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '100000' });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await createInstance(db, user.actor, h100({ name: `n${i}`, gpuCount: 1, rentalHours: 1 }), clock)).id);
    if (i !== 2) clock.advance(1000); // two share a created_at: the id breaks the tie
  }
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listInstances(db, user.actor, { limit: 2, cursor });
    assert.ok(page.items.length <= 2);
    seen.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  assert.equal(seen.length, 5);
  assert.equal(new Set(seen).size, 5);
  assert.deepEqual(new Set(seen), new Set(ids));
  assert.equal(seen[0], ids[4]);
  assert.equal(seen[4], ids[0]);

  // Timestamps finer than a millisecond (rows written by SQL now()) page just as exactly.
  await sql`UPDATE instances SET created_at = '2026-03-01T00:00:09.000123Z' WHERE id = ${ids[1]!}`.execute(db);
  await sql`UPDATE instances SET created_at = '2026-03-01T00:00:09.000456Z' WHERE id = ${ids[3]!}`.execute(db);
  const fine: string[] = [];
  cursor = undefined;
  do {
    const page = await listInstances(db, user.actor, { limit: 1, cursor });
    fine.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  assert.deepEqual(fine.slice(0, 2), [ids[3], ids[1]]);
  assert.equal(new Set(fine).size, 5);

  await deleteInstance(db, user.actor, ids[0]!, clock);
  assert.equal((await listInstances(db, user.actor)).items.length, 4);
  assert.deepEqual(
    (await listInstances(db, user.actor, { state: 'deleted' })).items.map((i) => i.id),
    [ids[0]],
  );
  assert.equal((await listInstances(db, user.actor, { state: 'running' })).items.length, 0);
  await assert.rejects(listInstances(db, user.actor, { cursor: 'garbage' }), /cursor: is not a cursor/);
  await assert.rejects(listInstances(db, user.actor, { limit: 0 }), /limit/);
  // Another user's list is their own.
  const other = await newUser(db);
  assert.equal((await listInstances(db, other.actor)).items.length, 0);
});

test('detail: SSH hint without a key, SSH command once running, boot logs paged newest last', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '1000' });
  const created = await createInstance(db, user.actor, h100(), clock);
  assert.match(created.sshHint ?? '', /No SSH key is attached.*create-ssh-key.*add-ssh-keys-to-instance/);

  clock.advance(5000);
  await runLifecycleOnce({ db, clock, provisioner: new SimulatedProvisioner() });
  const running = await getInstanceDetail(db, user.actor, created.id);
  assert.equal(running.state, 'running');
  assert.equal(running.ssh?.host, 'us-east.gpu.pictor.dev');
  assert.match(running.ssh?.command ?? '', /^ssh -p \d+ root@us-east\.gpu\.pictor\.dev$/);
  assert.match(running.sshHint ?? '', /No SSH key/);

  const all: string[] = [];
  let cursor: string | undefined;
  let last = 0;
  do {
    const page = await getInstanceLogs(db, user.actor, created.id, { limit: 7, cursor });
    all.push(...page.items.map((l) => l.message));
    cursor = page.nextCursor ?? undefined;
    last = page.items.length;
  } while (cursor);
  assert.ok(last > 0);
  assert.ok(all.some((m) => /NVIDIA-SMI 570/.test(m)));
  assert.equal(all.filter((m) => /GPU \d: NVIDIA H100 80GB HBM3/.test(m)).length, 2);
  assert.ok(all.some((m) => /sshd\[\d+\]: Server listening on 0\.0\.0\.0 port 22/.test(m)));
  assert.match(all.at(-1)!, /^Running: SSH at us-east\.gpu\.pictor\.dev port \d+$/);
  await assert.rejects(getInstanceLogs(db, user.actor, created.id, { cursor: 'nope' }), /cursor/);

  await stopInstance(db, user.actor, created.id, clock);
  assert.match((await getInstanceDetail(db, user.actor, created.id)).sshHint ?? '', /No SSH key/);
  clock.advance(HOUR);
});
