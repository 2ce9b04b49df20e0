import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { createTestDatabase } from '@pictor/platform/testing';

test('the migrated schema has the core tables and refuses to edit the ledger', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const tables = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`.execute(db);
  const names = new Set(tables.rows.map((r) => r.table_name));
  for (const table of ['users', 'accounts', 'instances', 'ledger_entries', 'region_capacity']) {
    assert.ok(names.has(table), `missing table ${table}`);
  }
  const user = await db.insertInto('users').values({ email: 'a@example.com' }).returning('id').executeTakeFirstOrThrow();
  const account = await db.insertInto('accounts').values({ user_id: user.id }).returning('id').executeTakeFirstOrThrow();
  const entry = await db
    .insertInto('ledger_entries')
    .values({ account_id: account.id, kind: 'promotion', bucket: 'credit', amount: 5n, description: 'test' })
    .returning(['id', 'amount'])
    .executeTakeFirstOrThrow();
  assert.equal(entry.amount, 5n);
  await assert.rejects(db.updateTable('ledger_entries').set({ amount: 6n }).where('id', '=', entry.id).execute(), /immutable/);
});

test('0012_paused: a paused instance always has its deletion time, no other state has one; old expired rows stay valid', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const user = await db.insertInto('users').values({ email: 'p@example.com' }).returning('id').executeTakeFirstOrThrow();
  const account = await db.insertInto('accounts').values({ user_id: user.id }).returning('id').executeTakeFirstOrThrow();
  await sql`INSERT INTO regions (id, name, location) VALUES ('r1', 'R1', 'Here')`.execute(db);
  await sql`INSERT INTO gpu_plans (id, gpu_model, vram_gb, vcpu_per_gpu, ram_gb_per_gpu, price_per_gpu_hour, allowed_gpu_counts, min_storage_gb, max_storage_gb, storage_price_per_gb_month)
    VALUES ('p1', 'G', 80, 8, 64, 1000000, '{1}', 10, 100, 100000)`.execute(db);
  const row = (state: 'running' | 'paused' | 'expired', deleteAfter: Date | null) =>
    db
      .insertInto('instances')
      .values({
        account_id: account.id,
        name: state,
        plan_id: 'p1',
        region_id: 'r1',
        gpu_count: 1,
        storage_gb: 10,
        price_per_gpu_hour: 1_000_000n,
        storage_price_per_gb_month: 100_000n,
        rental_hours: 1,
        state,
        expires_at: new Date(),
        delete_after: deleteAfter,
      })
      .execute();
  await row('paused', new Date());
  await row('expired', null);
  await assert.rejects(row('paused', null), /instances_paused_times/);
  await assert.rejects(row('running', new Date()), /instances_paused_times/);
  await assert.rejects(
    db
      .updateTable('instances')
      .set({ state: 'asleep' as never })
      .where('name', '=', 'expired')
      .execute(),
    /instances_state_check/,
  );
});

test('0015_refresh_rotation: a successor recorded in the payload moves to rotated_to and back', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const rotation = await import('../src/migrations/0015_refresh_rotation.ts');
  const token = (id: string, rotatedTo: string | null) =>
    db
      .insertInto('auth_oidc_payloads')
      .values({ model: 'RefreshToken', id, payload: JSON.stringify({ jti: id }), rotated_to: rotatedTo })
      .execute();
  await token('a', 'b');
  await token('b', null);

  await rotation.down(db as unknown as Kysely<unknown>);
  const before = await sql<{ id: string; payload: Record<string, unknown> }>`SELECT id, payload FROM auth_oidc_payloads ORDER BY id`.execute(db);
  assert.deepEqual(
    before.rows.map((r) => [r.id, r.payload]),
    [
      ['a', { jti: 'a', rotatedTo: 'b' }],
      ['b', { jti: 'b' }],
    ],
  );

  await rotation.up(db as unknown as Kysely<unknown>);
  const after = await db.selectFrom('auth_oidc_payloads').select(['id', 'payload', 'rotated_to']).orderBy('id').execute();
  assert.deepEqual(
    after.map((r) => [r.id, r.payload, r.rotated_to]),
    [
      ['a', { jti: 'a' }, 'b'],
      ['b', { jti: 'b' }, null],
    ],
  );
  const options = await sql<{ reloptions: string[] | null }>`SELECT reloptions FROM pg_class WHERE relname = 'auth_oidc_payloads'`.execute(db);
  assert.deepEqual(options.rows[0]?.reloptions, ['fillfactor=80']);
});
