// The person/account contract both services share: a person is a user row, found by email
// case-insensitively, with an account of their own that every personal resource belongs to. The
// authorization server creates both at first sign-in; the MCP server resolves them on each call.
import { sql } from 'kysely';
import type { TeamRole } from '@pictor/migrations/schema';
import type { Db } from './db.ts';

/** Finds or creates the user for an email (case-insensitive), with their own account. */
export async function ensureUser(db: Db, email: string): Promise<{ id: string; email: string }> {
  const normalized = email.trim();
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('users')
      .values({ email: normalized })
      .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
      .execute();
    const user = await trx
      .selectFrom('users')
      .select(['id', 'email'])
      .where((eb) => eb(eb.fn('lower', ['email']), '=', normalized.toLowerCase()))
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('accounts')
      .values({ user_id: user.id })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
    return user;
  });
}

/** The teams a person belongs to, with their role in each, oldest first. */
export async function listTeams(db: Db, userId: string): Promise<Array<{ id: string; name: string; role: TeamRole }>> {
  return db
    .selectFrom('team_members')
    .innerJoin('teams', 'teams.id', 'team_members.team_id')
    .select(['teams.id', 'teams.name', 'team_members.role'])
    .where('team_members.user_id', '=', userId)
    .orderBy('teams.created_at')
    .execute();
}
