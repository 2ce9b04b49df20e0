// The contract between the two services for disconnected apps: the auth server records a
// revocation and notifies; every MCP replica listens and refuses older tokens of that app.
import { sql } from 'kysely';
import type { Db } from './db.ts';

export const REVOCATION_CHANNEL = 'pictor_token_revocations';

/** Records that `clientId`'s tokens for `userId` issued until now are void, and tells the listeners. */
export async function recordTokenRevocation(db: Db, userId: string, clientId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('token_revocations').values({ user_id: userId, client_id: clientId, revoked_at: sql<Date>`now()` })
      .onConflict((oc) => oc.columns(['user_id', 'client_id']).doUpdateSet({ revoked_at: sql<Date>`now()` })).execute();
    // delivered at commit; the payload is only a hint, listeners re-read the table
    await sql`SELECT pg_notify(${REVOCATION_CHANNEL}, ${userId})`.execute(trx);
  });
}
