// Accounts: a person's own and each team's. Every resource belongs to one account; the actor
// reaches their own, or a team's when they are a member of it.
import { runPrepared, type Db, type Statement } from '@pictor/platform/db';
import type { TeamRole } from '@pictor/migrations/schema';
import type { Actor, Membership } from './actor.ts';
import { ownAccountId, teamsChanged, teamsCopy } from './caches.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { assertRoleAllows, type Action } from './roles.ts';

type Executor = Pick<Db, 'selectFrom' | 'insertInto'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The user's own account, created on first use. Its id is remembered for the life of the process
 * (caches.ts), so the common call needs no query. Team accounts are NOT cached — membership can end.
 */
export async function ensureUserAccount(db: Executor, userId: string): Promise<string> {
  return ownAccountId(db, userId, async () => {
    await db
      .insertInto('accounts')
      .values({ user_id: userId })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
    const row = await db.selectFrom('accounts').select('id').where('user_id', '=', userId).executeTakeFirstOrThrow();
    return row.id;
  });
}

// Memberships this process read from the database (resolveMembership). The core trusts an
// actor's membership only if it is one of these, so a hand-built actor is always checked again.
const readMemberships = new WeakSet<Membership>();

/** The user's membership of a team, read now; a team they are not in is reported exactly like a missing one. */
export async function resolveMembership(db: Executor, userId: string, teamId: string): Promise<Membership> {
  if (!UUID.test(teamId)) throw new NotFoundError('Team', teamId);
  const row = await db
    .selectFrom('team_members')
    .innerJoin('teams', 'teams.id', 'team_members.team_id')
    .innerJoin('accounts', 'accounts.team_id', 'team_members.team_id')
    .select(['accounts.id', 'teams.name', 'team_members.role'])
    .where('team_members.team_id', '=', teamId)
    .where('team_members.user_id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Team', teamId);
  const membership: Membership = Object.freeze({ userId, teamId, teamName: row.name, role: row.role, accountId: row.id });
  readMemberships.add(membership);
  return membership;
}

/** The actor acting in a team they belong to, with their role: what a workspace tool's handler gets. */
export async function actInTeam(db: Executor, actor: Actor, teamId: string): Promise<Actor> {
  const membership = await resolveMembership(db, actor.userId, teamId);
  return { ...actor, teamId, membership };
}

/**
 * The account the actor acts on, for `action`: their own (where they may do anything), or the
 * team's when `actor.teamId` is set, they are a member and their role allows the action
 * (roles.ts). A team they do not belong to is reported exactly like a missing one.
 */
export async function resolveAccountId(db: Executor, actor: Actor, action: Action): Promise<string> {
  if (actor.teamId === undefined) return ensureUserAccount(db, actor.userId);
  const given = actor.membership;
  const membership =
    given && readMemberships.has(given) && given.teamId === actor.teamId && given.userId === actor.userId
      ? given
      : await resolveMembership(db, actor.userId, actor.teamId);
  assertRoleAllows(membership, action);
  return membership.accountId;
}

// The person/account contract is shared with the authorization server.
export { ensureUser, listTeams } from '@pictor/platform/people';

export async function createTeam(db: Db, ownerUserId: string, name: string): Promise<{ id: string; accountId: string }> {
  const created = await db.transaction().execute(async (trx) => {
    const team = await trx.insertInto('teams').values({ name }).returning('id').executeTakeFirstOrThrow();
    await trx.insertInto('team_members').values({ team_id: team.id, user_id: ownerUserId, role: 'owner' }).execute();
    const account = await trx.insertInto('accounts').values({ team_id: team.id }).returning('id').executeTakeFirstOrThrow();
    return { id: team.id, accountId: account.id };
  });
  teamsChanged(db, ownerUserId);
  return created;
}

export async function addTeamMember(db: Db, teamId: string, userId: string, role: TeamRole = 'member'): Promise<void> {
  const result = await db
    .insertInto('team_members')
    .values({ team_id: teamId, user_id: userId, role })
    .onConflict((oc) => oc.columns(['team_id', 'user_id']).doNothing())
    .executeTakeFirst();
  if (result.numInsertedOrUpdatedRows === 0n) throw new ConflictError('that user is already a member of the team');
  teamsChanged(db, userId);
}

/**
 * Changes a member's role. A team always keeps an owner, so its last owner cannot become anything
 * else; the team row is locked so that two demotions at once cannot both pass that check.
 */
export async function setTeamRole(db: Db, teamId: string, userId: string, role: TeamRole): Promise<{ teamName: string; previous: TeamRole }> {
  if (!UUID.test(teamId)) throw new NotFoundError('Team', teamId);
  const changed = await db.transaction().execute(async (trx) => {
    const team = await trx.selectFrom('teams').select('name').where('id', '=', teamId).forUpdate().executeTakeFirst();
    if (!team) throw new NotFoundError('Team', teamId);
    const member = await trx.selectFrom('team_members').select('role').where('team_id', '=', teamId).where('user_id', '=', userId).executeTakeFirst();
    if (!member) throw new NotFoundError('Team member', userId);
    if (member.role === 'owner' && role !== 'owner') {
      const { owners } = await trx
        .selectFrom('team_members')
        .select((eb) => eb.fn.countAll<string>().as('owners'))
        .where('team_id', '=', teamId)
        .where('role', '=', 'owner')
        .executeTakeFirstOrThrow();
      if (Number(owners) <= 1) {
        throw new ConflictError(`this person is the only owner of team ${team.name}, and a team always keeps an owner: make another member owner first`, {
          team_id: teamId,
          role: member.role,
        });
      }
    }
    if (member.role !== role) {
      await trx.updateTable('team_members').set({ role }).where('team_id', '=', teamId).where('user_id', '=', userId).execute();
    }
    return { teamName: team.name, previous: member.role };
  });
  teamsChanged(db, userId);
  return changed;
}

/** The user with this email (case-insensitive), without creating one. */
export async function findUser(db: Db, email: string): Promise<{ id: string; email: string } | undefined> {
  return db
    .selectFrom('users')
    .select(['id', 'email'])
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
    .executeTakeFirst();
}

type TeamView = { id: string; name: string; role: TeamRole };

const USER_TEAMS: Statement = {
  name: 'pictor_user_teams',
  text: `SELECT t.id, t.name, m.role FROM team_members m JOIN teams t ON t.id = m.team_id
    WHERE m.user_id = $1 ORDER BY t.created_at, t.id`,
};

/**
 * The user's teams as of at most a second ago, for get-user-balance, which lists them only so the
 * person knows which team_id they may pass (caches.ts); listTeams reads them now.
 */
export function recentTeams(db: Db, userId: string): Promise<TeamView[]> {
  return teamsCopy(db, userId, () => runPrepared<TeamView>(db, USER_TEAMS, [userId]));
}

/** Teams the user belongs to, for showing which team ids they can pass. */
