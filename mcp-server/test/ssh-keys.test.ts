// The SSH keys core on real Postgres: create/list/get/update/delete through the account the
// actor may act on, duplicates, private keys never stored, other accounts' keys = not found.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@pictor/platform/testing';
import type { Db } from '@pictor/platform/db';
import { createTeam, ensureUser, resolveAccountId } from '../src/pictor/accounts.ts';
import type { Actor } from '../src/pictor/actor.ts';
import { ManualClock } from '@pictor/platform/clock';
import { ConflictError, type DomainError, InvalidInputError, NotFoundError } from '../src/pictor/errors.ts';
import { createSshKey, deleteSshKey, getSshKey, listSshKeys, updateSshKey } from '../src/pictor/ssh-keys.ts';
import { cryptoKey, keygen, SSH_KEYGEN, sshBlob, sshLine } from './ssh-keys-fixtures.ts';

function edLine(comment = 'dev@laptop'): string {
  return sshLine('ssh-ed25519', sshBlob(cryptoKey('ed25519').publicKey), comment);
}

async function rejectsWith<T extends DomainError>(promise: Promise<unknown>, type: new (...args: never[]) => T, message?: RegExp): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** Everything stored about SSH keys, to show a refused call changed nothing. */
async function snapshot(db: Db): Promise<unknown> {
  return {
    keys: await db.selectFrom('ssh_keys').selectAll().orderBy('id').execute(),
    attached: await db.selectFrom('instance_ssh_keys').selectAll().orderBy('instance_id').orderBy('ssh_key_id').execute(),
  };
}

let t: TestDatabase;
let db: Db;
let alice: Actor;
let bob: Actor;
let aliceTeam: Actor;
let bobInAliceTeam: Actor;

before(async () => {
  t = await createTestDatabase();
  db = t.db;
  const a = await ensureUser(db, 'alice@example.com');
  const b = await ensureUser(db, 'bob@example.com');
  const team = await createTeam(db, a.id, 'Alice Lab');
  alice = { userId: a.id };
  bob = { userId: b.id };
  aliceTeam = { userId: a.id, teamId: team.id };
  bobInAliceTeam = { userId: b.id, teamId: team.id };
});
after(async () => t.drop());

describe('create', () => {
  test('stores the normalised public key with its ssh-keygen fingerprint', { skip: SSH_KEYGEN ? false : 'no ssh-keygen' }, async () => {
    const key = keygen(['-t', 'ed25519'], 'alice@laptop');
    const created = await createSshKey(db, alice, { name: '  Laptop  ', publicKey: `\n${key.pub}\n` });
    assert.equal(created.name, 'Laptop');
    assert.equal(created.type, 'ssh-ed25519');
    assert.equal(created.fingerprint, key.fingerprint);
    assert.ok(created.createdAt instanceof Date);
    assert.deepEqual(Object.keys(created).sort(), ['createdAt', 'fingerprint', 'id', 'name', 'type', 'updatedAt']);
    const row = await db.selectFrom('ssh_keys').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    assert.equal(row.public_key, key.pub.trim());
    assert.equal(row.account_id, await resolveAccountId(db, alice, 'read'));
    assert.equal(row.created_by, alice.userId);
  });

  test('every supported type is accepted', async () => {
    for (const kind of ['P-256', 'P-384', 'P-521', 'rsa2048'] as const) {
      const blob = sshBlob(cryptoKey(kind).publicKey);
      const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
      const created = await createSshKey(db, bob, { name: `bob ${kind}`, publicKey: sshLine(type, blob) });
      assert.equal(created.type, type);
    }
  });

  test('the same key twice in one account is refused naming the key that has it', async () => {
    const line = edLine();
    const first = await createSshKey(db, alice, { name: 'desktop', publicKey: line });
    const before = await snapshot(db);
    const error = await rejectsWith(
      createSshKey(db, alice, { name: 'desktop again', publicKey: line.replace('dev@laptop', 'other comment') }),
      ConflictError,
      /already saved as the SSH key "desktop"/,
    );
    assert.match(error.message, new RegExp(first.id));
    assert.equal(error.details.existing_key_id, first.id);
    assert.equal(error.details.field, 'public_key');
    assert.deepEqual(await snapshot(db), before);
  });

  test('the same name twice in one account is refused naming the existing key', async () => {
    const first = await createSshKey(db, alice, { name: 'workstation', publicKey: edLine() });
    const error = await rejectsWith(
      createSshKey(db, alice, { name: ' workstation ', publicKey: edLine() }),
      ConflictError,
      /an SSH key named "workstation" already exists/,
    );
    assert.equal(error.details.existing_key_id, first.id);
    assert.equal(error.details.field, 'name');
  });

  test('the same key and name may live in different accounts', async () => {
    const line = edLine();
    const mine = await createSshKey(db, alice, { name: 'shared', publicKey: line });
    const team = await createSshKey(db, aliceTeam, { name: 'shared', publicKey: line });
    const theirs = await createSshKey(db, bob, { name: 'shared', publicKey: line });
    assert.equal(new Set([mine.id, team.id, theirs.id]).size, 3);
    assert.equal(mine.fingerprint, theirs.fingerprint);
  });

  test('concurrent creates of one key: exactly one wins, the rest get a conflict', async () => {
    const line = edLine();
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => createSshKey(db, alice, { name: `race ${i}`, publicKey: line })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError, String(r.reason));
  });

  test('a private key is refused and nothing of it is stored', async () => {
    const privateKeys = [cryptoKey('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()];
    if (SSH_KEYGEN) privateKeys.push(keygen(['-t', 'ed25519']).priv, keygen(['-t', 'rsa', '-b', '2048', '-m', 'PEM']).priv);
    const before = await snapshot(db);
    for (const priv of privateKeys) {
      const error = await rejectsWith(createSshKey(db, alice, { name: 'oops', publicKey: priv }), InvalidInputError, /PRIVATE key/);
      assert.equal(error.details.field, 'public_key');
      const body = priv.split('\n')[1]!;
      assert.ok(!error.message.includes(body.slice(0, 16)));
      assert.ok(!JSON.stringify(error.details).includes(body.slice(0, 16)));
    }
    assert.deepEqual(await snapshot(db), before);
    const stored = await db.selectFrom('ssh_keys').select('public_key').execute();
    assert.ok(stored.every((row) => !/PRIVATE|b3BlbnNzaC1rZXktdjE/.test(row.public_key)));
  });

  test('bad names and keys name the field and change nothing', async () => {
    const before = await snapshot(db);
    for (const name of ['', '   ', 'x'.repeat(65), 'two\nlines', 'tab\there', 'lap\u202etop']) {
      const error = await rejectsWith(createSshKey(db, alice, { name, publicKey: edLine() }), InvalidInputError, /^name: /);
      assert.equal(error.details.field, 'name');
    }
    assert.equal((await createSshKey(db, bob, { name: 'é'.repeat(64), publicKey: edLine() })).name, 'é'.repeat(64));
    assert.equal((await createSshKey(db, bob, { name: '👩\u200d💻 laptop', publicKey: edLine() })).name, '👩\u200d💻 laptop');
    const afterBob = await snapshot(db);
    for (const publicKey of ['', 'not a key', 'ssh-ed25519 AAAA', sshLine('ssh-rsa', sshBlob(cryptoKey('rsa1024').publicKey))]) {
      const error = await rejectsWith(createSshKey(db, alice, { name: 'fine', publicKey }), InvalidInputError, /^public_key: /);
      assert.equal(error.details.field, 'public_key');
    }
    assert.deepEqual(await snapshot(db), afterBob);
    assert.notDeepEqual(afterBob, before);
  });

  test('a team the actor is not a member of is not found', async () => {
    await rejectsWith(
      createSshKey(db, { userId: bob.userId, teamId: aliceTeam.teamId! }, { name: 'x', publicKey: edLine() }),
      NotFoundError,
      /^Team not found$/,
    );
  });
});

describe('list', () => {
  test('pages through every key once, oldest first, ties broken by id', async () => {
    const owner = await ensureUser(db, `pager-${randomUUID()}@example.com`);
    const actor = { userId: owner.id };
    const accountId = await resolveAccountId(db, actor, 'read');
    const sameInstant = new Date('2026-03-01T12:00:00.123Z');
    for (let i = 0; i < 4; i++) {
      const blob = sshBlob(cryptoKey('ed25519').publicKey);
      await db
        .insertInto('ssh_keys')
        .values({
          account_id: accountId,
          name: `tied ${i}`,
          key_type: 'ssh-ed25519',
          public_key: sshLine('ssh-ed25519', blob),
          fingerprint: `SHA256:tied-${i}-${randomUUID()}`,
          created_at: sameInstant,
        })
        .execute();
    }
    for (let i = 0; i < 3; i++) await createSshKey(db, actor, { name: `later ${i}`, publicKey: edLine() });

    const all = await listSshKeys(db, actor, { limit: 100 });
    assert.equal(all.items.length, 7);
    assert.equal(all.nextCursor, null);
    const tied = all.items.slice(0, 4).map((k) => k.id);
    assert.deepEqual(tied, [...tied].sort());
    assert.deepEqual(
      all.items.slice(4).map((k) => k.name),
      ['later 0', 'later 1', 'later 2'],
    );

    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listSshKeys(db, actor, { limit, cursor });
        assert.ok(page.items.length <= limit);
        seen.push(...page.items.map((k) => k.id));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor !== undefined && pages < 20);
      assert.deepEqual(
        seen,
        all.items.map((k) => k.id),
        `limit ${limit}`,
      );
    }
  });

  test('shows only the acting account: personal and team keys are separate', async () => {
    const personal = (await listSshKeys(db, alice, { limit: 100 })).items.map((k) => k.name);
    const team = (await listSshKeys(db, aliceTeam, { limit: 100 })).items.map((k) => k.name);
    const bobs = (await listSshKeys(db, bob, { limit: 100 })).items.map((k) => k.name);
    assert.ok(personal.includes('desktop'));
    assert.deepEqual(team, ['shared']);
    assert.ok(!bobs.includes('desktop'));
    await rejectsWith(listSshKeys(db, bobInAliceTeam), NotFoundError, /^Team not found$/);
  });

  test('a bad cursor or limit names the field', async () => {
    for (const cursor of ['nonsense', Buffer.from('["x","y"]').toString('base64url'), Buffer.from('{}').toString('base64url')]) {
      const error = await rejectsWith(listSshKeys(db, alice, { cursor }), InvalidInputError, /^cursor: /);
      assert.equal(error.details.field, 'cursor');
    }
    for (const limit of [0, 101, 1.5]) await rejectsWith(listSshKeys(db, alice, { limit }), InvalidInputError, /^limit: /);
  });
});

describe('get, update and delete across accounts', () => {
  let aliceKey: string;
  let teamKey: string;

  before(async () => {
    aliceKey = (await createSshKey(db, alice, { name: 'private to alice', publicKey: edLine() })).id;
    teamKey = (await createSshKey(db, aliceTeam, { name: 'team key', publicKey: edLine() })).id;
  });

  test('another account\'s key, a missing id and a malformed id are all the same "SSH key not found"', async () => {
    const outsiders: Array<[Actor, string]> = [
      [bob, aliceKey],
      [bob, teamKey],
      [alice, teamKey],
      [aliceTeam, aliceKey],
      [alice, randomUUID()],
      [alice, 'not-a-uuid'],
      [alice, ''],
      [alice, `${aliceKey}x`],
    ];
    const before = await snapshot(db);
    const messages = new Set<string>();
    for (const [actor, id] of outsiders) {
      for (const call of [
        () => getSshKey(db, actor, id),
        () => updateSshKey(db, actor, id, { name: 'stolen' }),
        () => updateSshKey(db, actor, id, { publicKey: edLine() }),
        () => deleteSshKey(db, actor, id),
      ]) {
        const error = await rejectsWith(call(), NotFoundError);
        messages.add(JSON.stringify([error.message, error.details]));
      }
    }
    assert.deepEqual([...messages], [JSON.stringify(['SSH key not found', { resource: 'SSH key' }])]);
    assert.deepEqual(await snapshot(db), before);
  });

  test("a team member reaches the team's keys only through team_id", async () => {
    assert.equal((await getSshKey(db, aliceTeam, teamKey)).name, 'team key');
    await rejectsWith(getSshKey(db, bobInAliceTeam, teamKey), NotFoundError, /^Team not found$/);
  });

  test('update renames, replaces the key, and keeps the id', async () => {
    const original = await getSshKey(db, alice, aliceKey);
    const renamed = await updateSshKey(db, alice, aliceKey, { name: '  renamed  ' });
    assert.equal(renamed.name, 'renamed');
    assert.equal(renamed.fingerprint, original.fingerprint);
    const rsaBlob = sshBlob(cryptoKey('rsa2048').publicKey);
    const rekeyed = await updateSshKey(db, alice, aliceKey, { publicKey: sshLine('ssh-rsa', rsaBlob, 'new') });
    assert.equal(rekeyed.id, aliceKey);
    assert.equal(rekeyed.type, 'ssh-rsa');
    assert.notEqual(rekeyed.fingerprint, original.fingerprint);
    assert.ok(rekeyed.updatedAt.getTime() >= original.updatedAt.getTime());
    const both = await updateSshKey(db, alice, aliceKey, { name: 'both', publicKey: edLine() });
    assert.equal(both.name, 'both');
    assert.equal(both.type, 'ssh-ed25519');
    // Keeping its own name or its own key is not a conflict with itself.
    const row = await db.selectFrom('ssh_keys').select('public_key').where('id', '=', aliceKey).executeTakeFirstOrThrow();
    assert.equal((await updateSshKey(db, alice, aliceKey, { name: 'both', publicKey: row.public_key })).name, 'both');
  });

  test('update refuses conflicts, bad input and private keys, changing nothing', async () => {
    const other = await createSshKey(db, alice, { name: 'other one', publicKey: edLine() });
    const otherRow = await db.selectFrom('ssh_keys').select('public_key').where('id', '=', other.id).executeTakeFirstOrThrow();
    const before = await snapshot(db);
    let error: DomainError = await rejectsWith(updateSshKey(db, alice, aliceKey, { name: 'other one' }), ConflictError, /"other one" already exists/);
    assert.equal(error.details.existing_key_id, other.id);
    error = await rejectsWith(updateSshKey(db, alice, aliceKey, { publicKey: otherRow.public_key }), ConflictError, /already saved as the SSH key "other one"/);
    assert.equal(error.details.existing_key_id, other.id);
    await rejectsWith(updateSshKey(db, alice, aliceKey, {}), InvalidInputError, /nothing to change/);
    await rejectsWith(updateSshKey(db, alice, aliceKey, { name: ' ' }), InvalidInputError, /^name: /);
    await rejectsWith(updateSshKey(db, alice, aliceKey, { publicKey: 'ssh-rsa AAAA' }), InvalidInputError, /^public_key: /);
    const priv = cryptoKey('P-256').privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    error = await rejectsWith(updateSshKey(db, alice, aliceKey, { name: 'fine', publicKey: priv }), InvalidInputError, /PRIVATE key/);
    assert.ok(!error.message.includes(priv.split('\n')[1]!.slice(0, 16)));
    assert.deepEqual(await snapshot(db), before);
  });

  test('delete detaches the key from instances and reports the live ones', async () => {
    const accountId = await resolveAccountId(db, alice, 'read');
    await db.insertInto('regions').values({ id: 'test-ssh-region', name: 'Test', location: 'Nowhere' }).execute();
    await db
      .insertInto('gpu_plans')
      .values({
        id: 'test-ssh-plan',
        gpu_model: 'Test GPU',
        vram_gb: 24,
        vcpu_per_gpu: 8,
        ram_gb_per_gpu: 32,
        price_per_gpu_hour: 1_000_000n,
        allowed_gpu_counts: [1],
        min_storage_gb: 10,
        max_storage_gb: 100,
        storage_price_per_gb_month: 1n,
      })
      .execute();
    const instance = (state: 'running' | 'stopped' | 'deleted') =>
      db
        .insertInto('instances')
        .values({
          account_id: accountId,
          name: `i-${state}`,
          plan_id: 'test-ssh-plan',
          region_id: 'test-ssh-region',
          gpu_count: 1,
          storage_gb: 10,
          price_per_gpu_hour: 1_000_000n,
          storage_price_per_gb_month: 1n,
          rental_hours: 1,
          state,
          expires_at: new Date(Date.now() + 3_600_000),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    const running = await instance('running');
    const stopped = await instance('stopped');
    const gone = await instance('deleted');
    const keep = await createSshKey(db, alice, { name: 'kept', publicKey: edLine() });
    await db
      .insertInto('instance_ssh_keys')
      .values([
        { instance_id: running.id, ssh_key_id: aliceKey },
        { instance_id: stopped.id, ssh_key_id: aliceKey },
        { instance_id: gone.id, ssh_key_id: aliceKey },
        { instance_id: running.id, ssh_key_id: keep.id },
      ])
      .execute();

    const clock = new ManualClock('2026-05-01T09:00:00Z');
    const replaced = await updateSshKey(db, alice, keep.id, { publicKey: edLine() }, clock);
    const renamedOnly = await updateSshKey(db, alice, keep.id, { name: 'kept too' }, clock);
    assert.equal(renamedOnly.fingerprint, replaced.fingerprint);
    const replacedLogs = await db.selectFrom('instance_logs').select(['instance_id', 'at', 'message']).execute();
    assert.deepEqual(replacedLogs, [
      {
        instance_id: running.id,
        at: new Date('2026-05-01T09:00:00Z'),
        message: `SSH key "kept" replaced: ${keep.fingerprint} → ${replaced.fingerprint}`,
      },
    ]);
    await db.deleteFrom('instance_logs').execute();

    clock.set('2026-05-01T10:00:00Z');
    const deleted = await deleteSshKey(db, alice, aliceKey, clock);
    assert.equal(deleted.key.id, aliceKey);
    assert.equal(deleted.detachedInstances, 2);
    const attached = await db.selectFrom('instance_ssh_keys').select(['instance_id', 'ssh_key_id']).execute();
    assert.deepEqual(attached, [{ instance_id: running.id, ssh_key_id: keep.id }]);
    const logs = await db.selectFrom('instance_logs').select(['instance_id', 'at', 'source', 'message']).orderBy('instance_id').execute();
    assert.deepEqual(logs.map((l) => l.instance_id).sort(), [running.id, stopped.id].sort());
    for (const log of logs) {
      assert.equal(log.at.toISOString(), '2026-05-01T10:00:00.000Z');
      assert.equal(log.source, 'lifecycle');
      assert.equal(log.message, `SSH key "${deleted.key.name}" (${deleted.key.fingerprint}) detached: the key was deleted from the account`);
    }
    await rejectsWith(getSshKey(db, alice, aliceKey), NotFoundError, /^SSH key not found$/);
    await rejectsWith(deleteSshKey(db, alice, aliceKey), NotFoundError, /^SSH key not found$/);
    assert.equal((await deleteSshKey(db, alice, keep.id)).detachedInstances, 1);
  });

  test("a team member can delete the team's key", async () => {
    const deleted = await deleteSshKey(db, aliceTeam, teamKey);
    assert.equal(deleted.key.name, 'team key');
    assert.equal(deleted.detachedInstances, 0);
  });
});
