import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb } from '@pictor/migrations/db';
import { createTestDatabase } from '@pictor/migrations/testing';
import { ensureUser, createTeam, resolveAccountId, addTeamMember, recentTeams } from '../src/pictor/accounts.ts';
test('accounts', async (t) => {
  const { db, drop } = await createTestDatabase(); t.after(drop);
  const a = await ensureUser(db, 'A@x.com'); const a2 = await ensureUser(db, 'a@X.com');
  assert.equal(a.id, a2.id);
  const b = await ensureUser(db, 'b@x.com');
  const team = await createTeam(db, a.id, 'T');
  assert.equal(await resolveAccountId(db, { userId: a.id, teamId: team.id }), team.accountId);
  await assert.rejects(resolveAccountId(db, { userId: b.id, teamId: team.id }), /Team not found/);
  await addTeamMember(db, team.id, b.id);
  assert.equal(await resolveAccountId(db, { userId: b.id, teamId: team.id }), team.accountId);
});

test('the team copy (get-user-balance) shows this process\'s team changes at once; another pool\'s within a second', async (t) => {
  const { db, url, drop } = await createTestDatabase(); t.after(drop);
  const other = createDb(url, { max: 1 });
  t.after(() => other.destroy());
  const a = await ensureUser(db, 'a@x.com');
  const b = await ensureUser(db, 'b@x.com');
  assert.deepEqual(await recentTeams(db, a.id), []);
  assert.deepEqual(await recentTeams(db, b.id), []);
  assert.deepEqual(await recentTeams(other, b.id), []);
  // Each read below comes well within the copy's second, so only a dropped copy can show the change.
  const team = await createTeam(db, a.id, 'T');
  assert.deepEqual(await recentTeams(db, a.id), [{ id: team.id, name: 'T', role: 'owner' }]);
  await addTeamMember(db, team.id, b.id);
  assert.deepEqual(await recentTeams(db, b.id), [{ id: team.id, name: 'T', role: 'member' }]);
  await sleep(1100);
  assert.deepEqual(await recentTeams(other, b.id), [{ id: team.id, name: 'T', role: 'member' }]);
});
