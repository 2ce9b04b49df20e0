// Another person's or team's instance, a malformed id and a missing id are indistinguishable:
// every id-taking function answers "Instance not found" and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Actor } from '../src/pictor/actor.ts';
import {
  addInstanceHours,
  attachSshKeys,
  createInstance,
  deleteInstance,
  getInstanceDetail,
  getInstanceLogs,
  listInstances,
  quoteAddInstanceHours,
  renameInstance,
  setAutoRenew,
  startInstance,
  stopInstance,
} from '../src/pictor/instances/index.ts';
import { addTeamMember } from '../src/pictor/accounts.ts';
import { getBalance } from '../src/pictor/balance.ts';
import { NotFoundError } from '../src/pictor/errors.ts';
import type { ManualClock } from '@pictor/platform/clock';
import type { Db } from '@pictor/platform/db';
import { addKey, fingerprint, fund, h100, newTeam, newUser, setupCore } from './core-fixtures.ts';

function everyIdCall(db: Db, clock: ManualClock, actor: Actor, id: string, keyId: string): Array<[string, () => Promise<unknown>]> {
  return [
    ['detail', () => getInstanceDetail(db, actor, id)],
    ['logs', () => getInstanceLogs(db, actor, id)],
    ['start', () => startInstance(db, actor, id, clock)],
    ['stop', () => stopInstance(db, actor, id, clock)],
    ['enable auto-renew', () => setAutoRenew(db, actor, id, true, clock)],
    ['disable auto-renew', () => setAutoRenew(db, actor, id, false, clock)],
    ['rename', () => renameInstance(db, actor, id, 'mine now', clock)],
    ['add hours', () => addInstanceHours(db, actor, id, 1, clock)],
    ['add hours dry run', () => quoteAddInstanceHours(db, actor, id, 1)],
    ['attach keys', () => attachSshKeys(db, actor, id, [keyId], clock)],
    ['delete', () => deleteInstance(db, actor, id, clock)],
  ];
}

async function assertNotFound(name: string, call: () => Promise<unknown>, message = 'Instance not found'): Promise<void> {
  await assert.rejects(call(), (err: unknown) => {
    assert.ok(err instanceof NotFoundError, `${name}: ${String(err)}`);
    assert.equal(err.message, message, name);
    return true;
  });
}

test('cross-user, cross-team, malformed and missing ids are all "Instance not found" and change nothing', async (t) => {
  const { db, clock } = await setupCore(t);
  const alice = await newUser(db);
  const bob = await newUser(db);
  const team = await newTeam(db, alice, 'Alice Co');
  for (const account of [alice.accountId, bob.accountId, team.accountId]) await fund(db, account, { balance: '10000' });
  const alicePersonal = (await createInstance(db, alice.actor, h100({ name: 'alice-own' }), clock)).id;
  const teamInstance = (await createInstance(db, team.actor, h100({ name: 'team-box' }), clock)).id;
  const bobKey = await addKey(db, bob.accountId);
  const aliceKey = await addKey(db, alice.accountId);
  const before = await fingerprint(db);

  // Bob on his own account: neither of Alice's instances exists for him.
  for (const id of [alicePersonal, teamInstance]) {
    for (const [name, call] of everyIdCall(db, clock, bob.actor, id, bobKey)) await assertNotFound(`bob ${name}`, call);
  }
  // Bob naming Alice's team (not a member): the team itself is not found.
  const bobInTeam: Actor = { userId: bob.id, teamId: team.id };
  for (const [name, call] of everyIdCall(db, clock, bobInTeam, teamInstance, bobKey)) await assertNotFound(`bob-in-team ${name}`, call, 'Team not found');
  await assertNotFound('bob lists the team', () => listInstances(db, bobInTeam), 'Team not found');
  await assertNotFound('bob reads the team balance', () => getBalance(db, bobInTeam), 'Team not found');
  // Alice's personal context does not reach the team's instance, nor the team context her own.
  for (const [name, call] of everyIdCall(db, clock, alice.actor, teamInstance, aliceKey)) await assertNotFound(`alice personal ${name}`, call);
  for (const [name, call] of everyIdCall(db, clock, team.actor, alicePersonal, aliceKey)) await assertNotFound(`alice team ${name}`, call);
  // Malformed and missing ids.
  for (const id of ['', 'abc', "1' OR '1'='1", '00000000-0000-4000-8000-000000000000', alicePersonal.toUpperCase().replace(/-/g, '')]) {
    for (const [name, call] of everyIdCall(db, clock, alice.actor, id, aliceKey)) await assertNotFound(`${JSON.stringify(id)} ${name}`, call);
  }
  assert.equal(await fingerprint(db), before);

  // A key of another account cannot be attached: "SSH key not found".
  await assertNotFound('foreign key', () => attachSshKeys(db, alice.actor, alicePersonal, [bobKey], clock), 'SSH key not found');
  await assertNotFound('team key on personal', () => attachSshKeys(db, team.actor, teamInstance, [aliceKey], clock), 'SSH key not found');
  assert.equal(await fingerprint(db), before);
});

test("team members act on the team's instances; membership is checked on every call", async (t) => {
  const { db, clock } = await setupCore(t);
  const owner = await newUser(db);
  const member = await newUser(db);
  const team = await newTeam(db, owner);
  await fund(db, team.accountId, { balance: '1000' });
  const { id } = await createInstance(db, team.actor, h100(), clock);
  const asMember: Actor = { userId: member.id, teamId: team.id };
  await assertNotFound('before joining', () => getInstanceDetail(db, asMember, id), 'Team not found');
  await addTeamMember(db, team.id, member.id);
  assert.equal((await renameInstance(db, asMember, id, 'shared', clock)).name, 'shared');
  assert.deepEqual(
    (await listInstances(db, asMember)).items.map((i) => i.id),
    [id],
  );
  assert.equal((await listInstances(db, member.actor)).items.length, 0);
  const balance = await getBalance(db, asMember);
  assert.equal(balance.teamId, team.id);
  assert.equal(balance.total, balance.balance + balance.credit);
  await db.deleteFrom('team_members').where('team_id', '=', team.id).where('user_id', '=', member.id).execute();
  await assertNotFound('after leaving', () => deleteInstance(db, asMember, id, clock), 'Team not found');
});
