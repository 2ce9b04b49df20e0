// The activity log as people read it: the one query behind get-account-activity (a workspace's
// entries) and the connected-apps page (a person's entries, all or one app's). The MCP server
// writes the rows (mcp-server/src/tools/activity-log.ts); the app's name is looked up here, at
// read time, from what the authorization server knows of it.
import { sql } from 'kysely';
import type { Db } from './db.ts';

/**
 * Entries the lifecycle worker writes (no app, no call): in the `tool` column, so every reader
 * shows them; left out of the per-app money (they move none and are not an app's calls).
 */
export const WORKER_EVENTS = ['instance-paused', 'paused-instance-deleted'] as const;
export type WorkerEvent = (typeof WORKER_EVENTS)[number];

export interface ActivityEntry {
  id: string;
  at: Date;
  userId: string;
  /** The person's email (in a team, who did it). */
  userEmail: string | null;
  clientId: string | null;
  /** The app's name as the person saw it when connecting; else its registered name; else its client id. */
  appName: string | null;
  accountId: string | null;
  /** The team whose account it was; null for a personal account. */
  teamId: string | null;
  teamName: string | null;
  tool: string;
  targetId: string | null;
  /** Signed micro-credits the ledger moved: negative out of the account, positive into it. */
  amountMicro: bigint;
  /** 'ok' or the refusal code. */
  outcome: string;
  detail: Record<string, unknown>;
}

export type ActivityFilter = { accountId: string } | { userId: string; clientId?: string };

export interface ActivityQuery {
  cursor?: string | undefined;
  limit: number;
  /** Entries at or after this time. */
  since?: Date | undefined;
  /** Entries before this time. */
  until?: Date | undefined;
}

export interface ActivityPage {
  items: ActivityEntry[];
  /** Pass back as cursor for older entries; null on the last page. */
  nextCursor: string | null;
}

/** A cursor that is not one of ours; the caller says so in its own words. */
export class BadActivityCursor extends Error {}

// Keyset cursor over (at, id), newest first. The time travels as Postgres's microsecond text.
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function encodeCursor(atKey: string, id: string): string {
  return Buffer.from(JSON.stringify([atKey, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadActivityCursor();
  }
  if (!Array.isArray(value) || value.length !== 2) throw new BadActivityCursor();
  const [time, id] = value as unknown[];
  if (typeof time !== 'string' || !CURSOR_TIME.test(time) || typeof id !== 'string' || !/^\d{1,18}$/.test(id)) throw new BadActivityCursor();
  return [time, id];
}

interface Row {
  id: bigint;
  at: Date;
  at_key: string;
  user_id: string;
  user_email: string | null;
  client_id: string | null;
  app_name: string | null;
  account_id: string | null;
  team_id: string | null;
  team_name: string | null;
  tool: string;
  target_id: string | null;
  amount_micro: bigint;
  outcome: string;
  detail: Record<string, unknown>;
}

/** One page of entries, newest first. Throws BadActivityCursor for a cursor that is not ours. */
export async function readActivity(db: Db, filter: ActivityFilter, q: ActivityQuery): Promise<ActivityPage> {
  const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
  const where = [
    'accountId' in filter ? sql`a.account_id = ${filter.accountId}::uuid` : sql`a.user_id = ${filter.userId}::uuid`,
    ...('userId' in filter && filter.clientId !== undefined ? [sql`a.client_id = ${filter.clientId}`] : []),
    ...(q.since ? [sql`a.at >= ${q.since}`] : []),
    ...(q.until ? [sql`a.at < ${q.until}`] : []),
    ...(after ? [sql`(a.at, a.id) < (${after[0]}::timestamptz, ${after[1]}::bigint)`] : []),
  ];
  const { rows } = await sql<Row>`
    SELECT a.id, a.at, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_key,
      a.user_id, u.email AS user_email, a.client_id,
      coalesce(c.client_name, p.payload->>'client_name', a.client_id) AS app_name,
      a.account_id, acc.team_id, t.name AS team_name, a.tool, a.target_id, a.amount_micro, a.outcome, a.detail
    FROM activity a
    LEFT JOIN users u ON u.id = a.user_id
    LEFT JOIN auth_connections c ON c.user_id = a.user_id AND c.client_id = a.client_id
    LEFT JOIN auth_oidc_payloads p ON p.model = 'Client' AND p.id = a.client_id
    LEFT JOIN accounts acc ON acc.id = a.account_id
    LEFT JOIN teams t ON t.id = acc.team_id
    WHERE ${sql.join(where, sql` AND `)}
    ORDER BY a.at DESC, a.id DESC
    LIMIT ${q.limit + 1}`.execute(db);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      id: String(r.id),
      at: r.at,
      userId: r.user_id,
      userEmail: r.user_email,
      clientId: r.client_id,
      appName: r.app_name,
      accountId: r.account_id,
      teamId: r.team_id,
      teamName: r.team_name,
      tool: r.tool,
      targetId: r.target_id,
      amountMicro: r.amount_micro,
      outcome: r.outcome,
      detail: r.detail,
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.at_key, String(last.id)) : null,
  };
}

export interface AppMoney {
  clientId: string | null;
  appName: string | null;
  /** Charged through the app's calls (positive micro-credits). */
  charged: bigint;
  /** Refunded or credited through its calls (positive micro-credits). */
  returned: bigint;
  calls: number;
}

/** Money moved by each app's calls on an account since a time, most charged first (get-spending-report). */
export async function activityMoneyByApp(db: Db, accountId: string, since: Date): Promise<AppMoney[]> {
  const { rows } = await sql<{ client_id: string | null; app_name: string | null; charged: bigint; returned: bigint; calls: bigint }>`
    SELECT a.client_id, min(coalesce(c.client_name, p.payload->>'client_name', a.client_id)) AS app_name,
      coalesce(sum(-a.amount_micro) FILTER (WHERE a.amount_micro < 0), 0)::bigint AS charged,
      coalesce(sum(a.amount_micro) FILTER (WHERE a.amount_micro > 0), 0)::bigint AS returned,
      count(*)::bigint AS calls
    FROM activity a
    LEFT JOIN auth_connections c ON c.user_id = a.user_id AND c.client_id = a.client_id
    LEFT JOIN auth_oidc_payloads p ON p.model = 'Client' AND p.id = a.client_id
    WHERE a.account_id = ${accountId}::uuid AND a.at >= ${since} AND a.outcome = 'ok' AND a.tool <> ALL(${[...WORKER_EVENTS]}::text[])
    GROUP BY a.client_id
    ORDER BY charged DESC, a.client_id`.execute(db);
  return rows.map((r) => ({ clientId: r.client_id, appName: r.app_name, charged: r.charged, returned: r.returned, calls: Number(r.calls) }));
}
