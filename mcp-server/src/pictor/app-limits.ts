// What a person allowed an app (an OAuth client) at consent, enforced on every call: a spending
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
import { runPrepared, type Db, type Statement } from '@pictor/platform/db';
import type { Actor } from './actor.ts';
import { SpendingLimitError, WorkspaceNotAllowedError } from './errors.ts';
import type { Trx } from './ledger.ts';
import { PERSONAL, spentQuery } from '@pictor/platform/app-limits';

// The contract the auth server writes (saveAppLimits) is shared; what follows enforces it.
export {
  PERSONAL,
  DEFAULT_DAILY_LIMIT_MICRO,
  saveAppLimits,
  appLimitsOf,
  appLimitsOfUser,
  type AppLimits,
  type AppLimitsView,
} from '@pictor/platform/app-limits';

const APP_WORKSPACES: Statement = {
  name: 'pictor_app_workspaces',
  text: 'SELECT workspaces FROM app_limits WHERE user_id = $1 AND client_id = $2',
};

/**
 * Refuses a call in a workspace the person did not allow this app (WorkspaceNotAllowedError naming
 * it). One prepared read per call; run after membership is checked, so a team the person is not in
 * still answers "Team not found".
 */
export async function assertWorkspaceAllowed(db: Db, actor: Actor): Promise<void> {
  if (actor.clientId === undefined) return;
  const [row] = await runPrepared<{ workspaces: string[] | null }>(db, APP_WORKSPACES, [actor.userId, actor.clientId]);
  if (!row || row.workspaces === null) return;
  const workspace = actor.teamId ?? PERSONAL;
  if (row.workspaces.includes(workspace)) return;
  const name = actor.teamId === undefined ? 'your personal account' : `team ${actor.membership?.teamName ?? actor.teamId}`;
  const allowed = row.workspaces.includes(PERSONAL) ? 'your personal account' : null;
  throw new WorkspaceNotAllowedError(
    `workspace not allowed: you did not allow this app to act in ${name}${allowed && actor.teamId ? ` (it may act in ${allowed}; omit team_id)` : ''}. You can change which workspaces it may use under Connected apps`,
    { workspace, ...(actor.teamId ? { team_id: actor.teamId } : {}), allowed_workspaces: row.workspaces },
  );
}

export interface LimitState {
  limit: bigint;
  spent: bigint;
}

/** The app's limit and what it spent in the last 24 h, without locking (dry runs); null = no limit. */
export async function limitState(db: Db | Trx, userId: string, clientId: string | undefined, lock = false): Promise<LimitState | null> {
  if (clientId === undefined) return null;
  let query = db.selectFrom('app_limits').select('daily_spend_limit_micro').where('user_id', '=', userId).where('client_id', '=', clientId);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row || row.daily_spend_limit_micro === null) return null;
  const { rows } = await sql<{ spent: bigint }>`${spentQuery(userId, clientId)}`.execute(db);
  return { limit: row.daily_spend_limit_micro, spent: rows[0]!.spent };
}

/** The refusal `amount` more would meet under this limit, or null. */
export function limitRefusal(state: LimitState | null, amount: bigint): SpendingLimitError | null {
  return state && state.spent + amount > state.limit ? new SpendingLimitError(state.limit, state.spent, amount) : null;
}

/**
 * Inside a charge's transaction, after the account lock: locks the app's row and throws
 * SpendingLimitError when `amount` would take it past its limit. Concurrent charges by the same
 * app for the same person (in any workspace) wait here for each other, so together they never pass it.
 */
export async function enforceSpendingLimit(trx: Trx, actor: Actor, amount: bigint): Promise<void> {
  const refusal = limitRefusal(await limitState(trx, actor.userId, actor.clientId, true), amount);
  if (refusal) throw refusal;
}

/** Who a charge is attributed to: the acting person and, when the call came from an app, the app. */
export function chargedBy(actor: Actor): { createdBy: string; clientId: string | null } {
  return { createdBy: actor.userId, clientId: actor.clientId ?? null };
}

/** The key of one person's app in maps of limits (renewals). */
export const appKey = (userId: string, clientId: string): string => `${userId} ${clientId}`;

/**
 * For the renewal pass: locks the rows of these person+app pairs (in a fixed order, after the
 * accounts) and returns each one's state: null when it has no limit (no row: not connected any more).
 */
export async function lockLimits(trx: Trx, pairs: Array<{ userId: string; clientId: string }>): Promise<Map<string, LimitState | null>> {
  const unique = [...new Map(pairs.map((p) => [appKey(p.userId, p.clientId), p])).values()].sort(
    (a, b) => a.userId.localeCompare(b.userId) || a.clientId.localeCompare(b.clientId),
  );
  const states = new Map<string, LimitState | null>(unique.map((p) => [appKey(p.userId, p.clientId), null]));
  if (unique.length === 0) return states;
  const { rows } = await sql<{ user_id: string; client_id: string; daily_spend_limit_micro: bigint | null; spent: bigint }>`
    WITH locked AS (
      SELECT a.user_id, a.client_id, a.daily_spend_limit_micro FROM app_limits a
      JOIN unnest(${unique.map((p) => p.userId)}::uuid[], ${unique.map((p) => p.clientId)}::text[]) AS v(user_id, client_id)
        ON a.user_id = v.user_id AND a.client_id = v.client_id
      ORDER BY a.user_id, a.client_id FOR UPDATE OF a
    )
    SELECT l.user_id, l.client_id, l.daily_spend_limit_micro, coalesce(s.spent, 0)::bigint AS spent
    FROM locked l LEFT JOIN LATERAL (${spentQuery(sql`l.user_id`, sql`l.client_id`)}) s ON true`.execute(trx);
  for (const r of rows) {
    if (r.daily_spend_limit_micro !== null) states.set(appKey(r.user_id, r.client_id), { limit: r.daily_spend_limit_micro, spent: r.spent });
  }
  return states;
}
