// The contract between the two services for ended grants: the auth server records a cut-off per
// person and app and notifies; every MCP replica listens and refuses that app's access tokens
// issued for that person at or before the cut-off.
import { sql } from 'kysely';
import type { Db } from './db.ts';

export const REVOCATION_CHANNEL = 'pictor_token_revocations';

export interface RevokedApp {
  userId: string;
  clientId: string;
}

/**
 * Records that each app's access tokens for the person issued until now are void, and tells the
 * listeners. Runs in the caller's transaction when given one (the notifications go out at its
 * commit), otherwise in its own. A person who no longer exists is skipped.
 */
export async function recordTokenRevocations(db: Db, revoked: readonly RevokedApp[]): Promise<void> {
  const unique = [...new Map(revoked.map((r) => [`${r.userId} ${r.clientId}`, r])).values()];
  if (unique.length === 0) return;
  const record = async (trx: Db) => {
    const { rows } = await sql<{ user_id: string }>`
      INSERT INTO token_revocations (user_id, client_id, revoked_at)
      SELECT u.id, r.client_id, now()
      FROM unnest(${unique.map((r) => r.userId)}::text[], ${unique.map((r) => r.clientId)}::text[]) AS r(user_id, client_id)
      JOIN users u ON u.id::text = r.user_id
      ON CONFLICT (user_id, client_id) DO UPDATE SET revoked_at = excluded.revoked_at
      RETURNING user_id`.execute(trx);
    // the payload is only a hint (whose cut-offs to re-read); listeners re-read the table
    for (const userId of new Set(rows.map((row) => row.user_id))) {
      await sql`SELECT pg_notify(${REVOCATION_CHANNEL}, ${userId})`.execute(trx);
    }
  };
  await (db.isTransaction ? record(db) : db.transaction().execute(record));
}

/** One app for one person: what disconnecting it records. */
export function recordTokenRevocation(db: Db, userId: string, clientId: string): Promise<void> {
  return recordTokenRevocations(db, [{ userId, clientId }]);
}
