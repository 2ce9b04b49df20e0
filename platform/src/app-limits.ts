// What a person allowed an app (an OAuth client) at consent, enforced by the MCP server's core on every call: a spending
// limit per rolling 24 hours and the workspaces (personal account, teams) it may act in. The auth
// server writes the choice (saveAppLimits); this module reads it from the database on every call,
// never from the token, so a change on the connected-apps page holds from the next call on.
//
// Rules:
// - No row (an app connected before limits existed, or a caller that is no app: admin CLI, tests,
//   the worker for an app since disconnected) = no limit and every workspace.
// - Workspaces null = every workspace: the person had no team when they chose, so there was
//   nothing to choose (a team they join later is then allowed too). Once they chose among teams,
//   only what they ticked is allowed, and a team joined later must be added on the page.
// - Spent = the app's charges for that person in the last 24 h by the ledger's clock, in any
//   workspace: creations, added hours, and renewals of instances whose auto-renew it turned on.
//   Charges only: a refund (deleting an instance) does not give headroom back, so deleting and
//   re-creating cannot spend more than the limit in a day.
// - A charge takes the app's row lock (SELECT … FOR UPDATE) before summing, inside the charge's
//   transaction, after the account lock: lock order account → app_limits → region_capacity → instance.
import { sql } from 'kysely';
import type { Db } from './db.ts';
import { MICRO_PER_CREDIT } from './money.ts';

/** The workspace value of a person's own account; teams are named by their id. */
export const PERSONAL = 'personal';

/**
 * Pre-filled at consent: 50 credits a day covers a working day on a single high-end GPU (an H100
 * hour is a few credits) or a small multi-GPU job, yet caps what a runaway or misled model can
 * spend before the person notices at about what one mistaken large rental would cost.
 */
export const DEFAULT_DAILY_LIMIT_MICRO = 50n * MICRO_PER_CREDIT;

export interface AppLimits {
  /** Micro-credits per rolling 24 h; null = no limit. */
  dailyLimit: bigint | null;
  /** PERSONAL and team ids; null = every workspace. */
  workspaces: string[] | null;
}

/** Records what the person chose for the app (consent, connected-apps page); effective on the next call. */
export async function saveAppLimits(db: Db, userId: string, clientId: string, limits: AppLimits): Promise<void> {
  const workspaces = limits.workspaces === null ? null : [...new Set(limits.workspaces)];
  const values = { daily_spend_limit_micro: limits.dailyLimit, workspaces, updated_at: sql<Date>`now()` };
  await db
    .insertInto('app_limits')
    .values({ user_id: userId, client_id: clientId, ...values })
    .onConflict((oc) => oc.columns(['user_id', 'client_id']).doUpdateSet(values))
    .execute();
}

/** What the person chose for the app, if anything. */
export async function appLimitsOf(db: Db, userId: string, clientId: string): Promise<AppLimits | undefined> {
  const row = await db
    .selectFrom('app_limits')
    .select(['daily_spend_limit_micro', 'workspaces'])
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return row && { dailyLimit: row.daily_spend_limit_micro, workspaces: row.workspaces };
}

export interface AppLimitsView extends AppLimits {
  clientId: string;
  spentLast24h: bigint;
}

/** Every app's limits for the person and what each spent in the last 24 h (connected-apps page). */
export async function appLimitsOfUser(db: Db, userId: string): Promise<AppLimitsView[]> {
  const { rows } = await sql<{ client_id: string; daily_spend_limit_micro: bigint | null; workspaces: string[] | null; spent: bigint }>`
    SELECT a.client_id, a.daily_spend_limit_micro, a.workspaces, coalesce(s.spent, 0)::bigint AS spent
    FROM app_limits a
    LEFT JOIN LATERAL (${spentQuery(sql`a.user_id`, sql`a.client_id`)}) s ON true
    WHERE a.user_id = ${userId}`.execute(db);
  return rows.map((r) => ({ clientId: r.client_id, dailyLimit: r.daily_spend_limit_micro, workspaces: r.workspaces, spentLast24h: r.spent }));
}

/** SQL for what an app spent for a person in the last 24 h: its charges only (refunds give no headroom back). */
export function spentQuery(userId: unknown, clientId: unknown) {
  return sql`SELECT coalesce(-sum(amount), 0)::bigint AS spent FROM ledger_entries
    WHERE kind = 'charge' AND created_by = ${userId} AND client_id = ${clientId} AND created_at > now() - interval '24 hours'`;
}
