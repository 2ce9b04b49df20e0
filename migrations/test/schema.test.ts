import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
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
