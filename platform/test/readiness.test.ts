// Readiness as both services report it (/readyz): the database answers, every migration this
// code knows is applied, and the service's own checks say "ok"; otherwise not ready, naming why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createDb } from '../src/db.ts';
import { pendingMigrations } from '@pictor/migrations/migrator';
import { readinessCheck } from '../src/readiness.ts';
import { createTestDatabase } from '../src/testing.ts';

test('ready on a migrated database; a missing migration is reported as pending, and then applied is ready again', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  assert.deepEqual(await readinessCheck(db, { keys: () => 'ok' })(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', keys: 'ok' } });

  const [newest] = (await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1`.execute(db)).rows;
  await sql`DELETE FROM kysely_migration WHERE name = ${newest!.name}`.execute(db);
  assert.deepEqual(await pendingMigrations(db), [newest!.name]);
  const check = readinessCheck(db, {});
  assert.deepEqual(await check(), { status: 'not_ready', checks: { database: 'ok', migrations: 'pending' } });
  await sql`INSERT INTO kysely_migration (name, timestamp) VALUES (${newest!.name}, now()::text)`.execute(db);
  assert.deepEqual(await check(), { status: 'ready', checks: { database: 'ok', migrations: 'ok' } });

  // A database no migration has touched: everything is pending (the table does not exist yet).
  await sql`DROP TABLE kysely_migration`.execute(db);
  assert.ok((await pendingMigrations(db)).length > 1);
});

test('not ready when the database does not answer, or a service check fails or hangs', async (t) => {
  const nowhere = createDb('postgres://nobody:nothing@127.0.0.1:1/none'); // nothing listens on port 1
  t.after(() => nowhere.destroy());
  assert.deepEqual(await readinessCheck(nowhere, { keys: () => 'ok' })(), {
    status: 'not_ready',
    checks: { database: 'unreachable', migrations: 'unknown', keys: 'ok' },
  });

  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const started = Date.now();
  const result = await readinessCheck(db, {
    thrown: () => {
      throw new Error('secret detail');
    },
    hung: () => new Promise<string>(() => undefined),
    said: async () => 'not_loaded',
  })();
  assert.deepEqual(result, { status: 'not_ready', checks: { database: 'ok', migrations: 'ok', thrown: 'error', hung: 'timeout', said: 'not_loaded' } });
  assert.ok(Date.now() - started < 3_000, 'a hung check does not hold the probe past its timeout');
});
