// The per-process caches (pictor/caches.ts): reuse within the max age, drop on the named change,
// per database handle, and a failed load is not kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '@pictor/platform/db';
import { capacityChanged, catalogChanged, catalogCopy, ownAccountId, teamsChanged, teamsCopy } from '../src/pictor/caches.ts';

/** A load that counts its calls and returns the count. */
function counter(): { load: () => Promise<number>; calls: () => number } {
  let n = 0;
  return { load: async () => ++n, calls: () => n };
}

const handle = (): Db => ({}) as Db;

test('the catalog copy is reused within a second, per handle, and dropped by capacityChanged and catalogChanged', async () => {
  const db = handle();
  const c = counter();
  assert.equal(await catalogCopy(db, c.load), 1);
  assert.equal(await catalogCopy(db, c.load), 1);
  assert.equal(await catalogCopy(handle(), c.load), 2, 'another handle has its own copy');
  capacityChanged(db);
  assert.equal(await catalogCopy(db, c.load), 3);
  catalogChanged(db);
  assert.equal(await catalogCopy(db, c.load), 4);
  await sleep(1050);
  assert.equal(await catalogCopy(db, c.load), 5, 'a copy older than a second is reloaded');
});

test("team copies are per user; teamsChanged drops only that user's", async () => {
  const db = handle();
  const c = counter();
  assert.equal(await teamsCopy(db, 'u1', c.load), 1);
  assert.equal(await teamsCopy(db, 'u2', c.load), 2);
  teamsChanged(db, 'u1');
  assert.equal(await teamsCopy(db, 'u1', c.load), 3);
  assert.equal(await teamsCopy(db, 'u2', c.load), 2);
});

test('own account ids are kept past any max age; a failed load is not kept', async () => {
  const db = handle();
  let fail = true;
  const load = async (): Promise<string> => {
    if (fail) throw new Error('database down');
    return 'account-1';
  };
  await assert.rejects(ownAccountId(db, 'u1', load), /database down/);
  fail = false;
  assert.equal(await ownAccountId(db, 'u1', load), 'account-1', 'the failure was not remembered');
  fail = true;
  await sleep(1050);
  assert.equal(await ownAccountId(db, 'u1', load), 'account-1', 'still remembered, no load');
  const c = counter();
  await assert.rejects(
    catalogCopy(db, async () => {
      throw new Error('down');
    }),
  );
  assert.equal(await catalogCopy(db, c.load), 1, 'a failed catalog read is retried by the next call');
});
