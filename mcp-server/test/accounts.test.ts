import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb } from '@pictor/platform/db';
import { createTestDatabase } from '@pictor/platform/testing';
import type { TeamRole } from '@pictor/migrations/schema';
import { actInTeam, addTeamMember, createTeam, ensureUser, listTeams, recentTeams, resolveAccountId, setTeamRole } from '../src/pictor/accounts.ts';
import type { Actor } from '../src/pictor/actor.ts';
import { ConflictError, InsufficientRoleError, NotFoundError } from '../src/pictor/errors.ts';
import { ACTIONS, roleAllows, TEAM_ROLES, type Action } from '../src/pictor/roles.ts';
test('accounts', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const a = await ensureUser(db, 'A@x.com');
  const a2 = await ensureUser(db, 'a@X.com');
  assert.equal(a.id, a2.id);
  const b = await ensureUser(db, 'b@x.com');
  const team = await createTeam(db, a.id, 'T');
  assert.equal(await resolveAccountId(db, { userId: a.id, teamId: team.id }, 'read'), team.accountId);
  await assert.rejects(resolveAccountId(db, { userId: b.id, teamId: team.id }, 'read'), /Team not found/);
  await addTeamMember(db, team.id, b.id);
  assert.equal(await resolveAccountId(db, { userId: b.id, teamId: team.id }, 'read'), team.accountId);
});

test('the role table: each role may do what the roles below it may, and nothing above', () => {
  const expected: Record<TeamRole, Array<'viewer' | 'member' | 'admin'>> = {
    viewer: ['viewer'],
    member: ['viewer', 'member'],
    admin: ['viewer', 'member', 'admin'],
    owner: ['viewer', 'member', 'admin'],
  };
  for (const role of TEAM_ROLES) {
    for (const [action, { needs }] of Object.entries(ACTIONS)) {
      assert.equal(roleAllows(role, action as Action), (expected[role] as string[]).includes(needs), `${role} ${action}`);
    }
  }
  // The kinds of action the README's roles table promises.
  const least = (prefix: string) =>
    new Set(
      Object.entries(ACTIONS)
        .filter(([a]) => a.startsWith(prefix))
        .map(([, v]) => v.needs),
    );
  assert.deepEqual([...least('read')], ['viewer']);
  assert.deepEqual([...least('instance:')], ['member']);
  assert.deepEqual([...least('ssh-key:')], ['admin']);
  assert.deepEqual([...least('billing:')], ['admin']);
});

test('the core checks the role for any caller; a membership it did not read itself is ignored', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const owner = await ensureUser(db, 'owner@x.test');
  const viewer = await ensureUser(db, 'viewer@x.test');
  const team = await createTeam(db, owner.id, 'Acme');
  await addTeamMember(db, team.id, viewer.id, 'viewer');
  const handBuilt: Actor = { userId: viewer.id, teamId: team.id }; // as the admin CLI or a test would build it
  assert.equal(await resolveAccountId(db, handBuilt, 'read'), team.accountId);
  await assert.rejects(resolveAccountId(db, handBuilt, 'instance:create'), (err: unknown) => {
    assert.ok(err instanceof InsufficientRoleError);
    assert.equal(err.message, 'your role in team Acme is viewer; creating instances needs member or above');
    return true;
  });
  // A forged membership claiming owner is not trusted: the role is read from the database.
  const forged: Actor = { ...handBuilt, membership: { userId: viewer.id, teamId: team.id, teamName: 'Acme', role: 'owner', accountId: team.accountId } };
  await assert.rejects(resolveAccountId(db, forged, 'billing:checkout'), InsufficientRoleError);
  // Nor is a real one used for another person or another team.
  const ownerIn = await actInTeam(db, { userId: owner.id }, team.id);
  assert.equal(ownerIn.membership?.role, 'owner');
  assert.equal(await resolveAccountId(db, ownerIn, 'billing:checkout'), team.accountId);
  await assert.rejects(resolveAccountId(db, { ...ownerIn, userId: viewer.id }, 'billing:checkout'), InsufficientRoleError);
  // Not a member, or no such team, or not a team id at all: the same "Team not found", whatever the action.
  const stranger = await ensureUser(db, 'stranger@x.test');
  for (const teamId of [team.id, '00000000-0000-4000-8000-000000000000', 'acme']) {
    for (const action of ['read', 'billing:checkout'] as const) {
      await assert.rejects(
        resolveAccountId(db, { userId: stranger.id, teamId }, action),
        (err: unknown) => err instanceof NotFoundError && err.message === 'Team not found',
      );
    }
  }
  // The database refuses an unknown role.
  await assert.rejects(
    db
      .updateTable('team_members')
      .set({ role: 'boss' as TeamRole })
      .where('user_id', '=', viewer.id)
      .execute(),
    /team_members_role_check/,
  );
});

test('setTeamRole: changes a role at once; a team always keeps an owner, even when two owners step down together', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const ada = await ensureUser(db, 'ada@x.test');
  const bo = await ensureUser(db, 'bo@x.test');
  const team = await createTeam(db, ada.id, 'Acme');
  await addTeamMember(db, team.id, bo.id, 'viewer');
  assert.deepEqual(await setTeamRole(db, team.id, bo.id, 'member'), { teamName: 'Acme', previous: 'viewer' });
  assert.equal((await listTeams(db, bo.id))[0]!.role, 'member');
  await assert.rejects(
    setTeamRole(db, team.id, ada.id, 'admin'),
    (err: unknown) =>
      err instanceof ConflictError &&
      err.message === 'this person is the only owner of team Acme, and a team always keeps an owner: make another member owner first',
  );
  assert.equal((await listTeams(db, ada.id))[0]!.role, 'owner');
  // Two owners, both stepping down at once: exactly one succeeds.
  await setTeamRole(db, team.id, bo.id, 'owner');
  const results = await Promise.allSettled([setTeamRole(db, team.id, ada.id, 'member'), setTeamRole(db, team.id, bo.id, 'member')]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const owners = await db.selectFrom('team_members').select('user_id').where('team_id', '=', team.id).where('role', '=', 'owner').execute();
  assert.equal(owners.length, 1);
  await assert.rejects(
    setTeamRole(db, team.id, (await ensureUser(db, 'new@x.test')).id, 'member'),
    (err: unknown) => err instanceof NotFoundError && /Team member/.test(err.message),
  );
  await assert.rejects(setTeamRole(db, '00000000-0000-4000-8000-000000000000', bo.id, 'member'), /Team not found/);
  await assert.rejects(setTeamRole(db, 'acme', bo.id, 'member'), /Team not found/);
});

test("the team copy (get-user-balance) shows this process's team changes at once; another pool's within a second", async (t) => {
  const { db, url, drop } = await createTestDatabase();
  t.after(drop);
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
