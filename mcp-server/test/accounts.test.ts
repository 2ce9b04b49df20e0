import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '@pictor/migrations/testing';
import { ensureUser, createTeam, resolveAccountId, addTeamMember } from '../src/pictor/accounts.ts';
test('accounts', async (t) => {
  const { db, drop } = await createTestDatabase(); t.after(drop);
  const a = await ensureUser(db, 'A@x.com'); const a2 = await ensureUser(db, 'a@X.com');
  assert.equal(a.id, a2.id);
  const b = await ensureUser(db, 'b@x.com');
  const team = await createTeam(db, a.id, 'T');
  assert.equal(await resolveAccountId(db, { userId: a.id, teamId: team.id }, 'read'), team.accountId);
  await assert.rejects(resolveAccountId(db, { userId: b.id, teamId: team.id }, 'read'), /Team not found/);
  await addTeamMember(db, team.id, b.id);
  assert.equal(await resolveAccountId(db, { userId: b.id, teamId: team.id }, 'read'), team.accountId);
});
