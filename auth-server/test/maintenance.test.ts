// Housekeeping and storage: expired artifacts are swept, consumption is visible after the grace,
// and a grant's codes and tokens go with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { createTestDatabase } from '@pictor/platform/testing';
import { ensureUser } from '@pictor/platform/people';
import { saveAppLimits } from '@pictor/platform/app-limits';
import { createAdapterFactory, forgetLimitsOfEndedGrants, revokeGrants, sweepExpired } from '../src/adapter.ts';

async function setup(t: import('node:test').TestContext) {
  const database = await createTestDatabase();
  t.after(database.drop);
  return database.db;
}

test('the adapter stores, finds (also by uid), expires and destroys artifacts', async (t) => {
  const db = await setup(t);
  const sessions = createAdapterFactory(db)('Session');
  await sessions.upsert('s1', { uid: 'u1', accountId: 'a' }, 60);
  assert.deepEqual(await sessions.find('s1'), { uid: 'u1', accountId: 'a' });
  assert.deepEqual(await sessions.findByUid('u1'), { uid: 'u1', accountId: 'a' });
  await sessions.upsert('s1', { uid: 'u1', accountId: 'b' }, 60);
  assert.equal((await sessions.find('s1'))?.accountId, 'b');
  await sessions.destroy('s1');
  assert.equal(await sessions.find('s1'), undefined);

  await sessions.upsert('gone', { uid: 'u2' }, 1);
  await sleep(1100);
  assert.equal(await sessions.find('gone'), undefined, 'an expired artifact is not found');
  assert.equal(await sweepExpired(db), 1);
  assert.equal((await sql<{ n: string }>`SELECT count(*)::text AS n FROM auth_oidc_payloads`.execute(db)).rows[0]?.n, '0');
});

test('consumption is visible at once, or after the grace for models that have one', async (t) => {
  const db = await setup(t);
  const factory = createAdapterFactory(db, { consumeGraceSeconds: { RefreshToken: 1 } });
  const codes = factory('AuthorizationCode');
  const refreshTokens = factory('RefreshToken');
  await codes.upsert('c', { grantId: 'g' }, 60);
  await codes.consume('c');
  assert.ok((await codes.find('c'))?.consumed);
  await refreshTokens.upsert('r', { grantId: 'g' }, 60);
  await refreshTokens.consume('r');
  assert.equal((await refreshTokens.find('r'))?.consumed, undefined, 'within the grace');
  await sleep(1200);
  await refreshTokens.consume('r'); // a late second consume does not restart the grace
  assert.ok((await refreshTokens.find('r'))?.consumed, 'after the grace');
});

test('revoking grants removes them with every code and token issued under them', async (t) => {
  const db = await setup(t);
  const factory = createAdapterFactory(db);
  await factory('Grant').upsert('g1', { accountId: 'a', clientId: 'c' }, 60);
  await factory('Grant').upsert('g2', { accountId: 'a', clientId: 'c' }, 60);
  await factory('RefreshToken').upsert('r1', { grantId: 'g1' }, 60);
  await factory('AuthorizationCode').upsert('c1', { grantId: 'g1' }, 60);
  await factory('RefreshToken').upsert('r2', { grantId: 'g2' }, 60);
  await revokeGrants(db, ['g1']);
  const left = await db.selectFrom('auth_oidc_payloads').select(['model', 'id']).orderBy('id').execute();
  assert.deepEqual(left, [
    { model: 'Grant', id: 'g2' },
    { model: 'RefreshToken', id: 'r2' },
  ]);
  await factory('RefreshToken').revokeByGrantId('g2');
  assert.equal(await factory('RefreshToken').find('r2'), undefined);
});

test("an ended grant records the cut-off of its person's app, whichever way it ends", async (t) => {
  const db = await setup(t);
  const user = await db.insertInto('users').values({ email: 'grants@example.test' }).returning('id').executeTakeFirstOrThrow();
  const factory = createAdapterFactory(db);
  await factory('Grant').upsert('g1', { accountId: user.id, clientId: 'app-1' }, 60);
  await factory('Grant').upsert('g2', { accountId: user.id, clientId: 'app-2' }, 60);
  await factory('Grant').upsert('g3', { accountId: 'not-a-user', clientId: 'app-3' }, 60);
  await factory('RefreshToken').upsert('r2', { grantId: 'g2' }, 60);
  const cutOffs = () => db.selectFrom('token_revocations').select(['user_id', 'client_id']).orderBy('client_id').execute();

  await revokeGrants(db, ['g1', 'g3']); // a person who does not exist is skipped, the rest still ends
  assert.deepEqual(await cutOffs(), [{ user_id: user.id, client_id: 'app-1' }]);
  // oidc-provider's own revocation destroys the grant through the adapter (it removes the tokens itself)
  await factory('Grant').destroy('g2');
  assert.deepEqual(await cutOffs(), [
    { user_id: user.id, client_id: 'app-1' },
    { user_id: user.id, client_id: 'app-2' },
  ]);
  const left = await db.selectFrom('auth_oidc_payloads').select(['model', 'id']).execute();
  assert.deepEqual(left, [{ model: 'RefreshToken', id: 'r2' }]);
});

test("an app's limits go with its last grant: at once on revocation, by housekeeping after expiry", async (t) => {
  const db = await setup(t);
  const grants = createAdapterFactory(db)('Grant');
  const user = await ensureUser(db, 'limits@example.test');
  const limits = { dailyLimit: 10_000_000n, workspaces: null };
  for (const app of ['revoked', 'two-grants', 'expired', 'fresh', 'live']) await saveAppLimits(db, user.id, app, limits);
  await grants.upsert('g-revoked', { accountId: user.id, clientId: 'revoked' }, 60);
  await grants.upsert('g-two-1', { accountId: user.id, clientId: 'two-grants' }, 60);
  await grants.upsert('g-two-2', { accountId: user.id, clientId: 'two-grants' }, 60);
  await grants.upsert('g-expired', { accountId: user.id, clientId: 'expired' }, 1);
  await grants.upsert('g-live', { accountId: user.id, clientId: 'live' }, 60);
  const apps = async () => (await db.selectFrom('app_limits').select('client_id').orderBy('client_id').execute()).map((r) => r.client_id);

  await revokeGrants(db, ['g-revoked', 'g-two-1']);
  assert.deepEqual(await apps(), ['expired', 'fresh', 'live', 'two-grants'], 'another grant of two-grants lives');

  await sleep(1100);
  await db
    .updateTable('app_limits')
    .set({ updated_at: new Date(Date.now() - 2 * 3600_000) })
    .where('client_id', '!=', 'fresh')
    .execute();
  assert.equal(await forgetLimitsOfEndedGrants(db), 1);
  // 'fresh' has no grant yet but was just written (consent saves the limits before the grant).
  assert.deepEqual(await apps(), ['fresh', 'live', 'two-grants']);
});
