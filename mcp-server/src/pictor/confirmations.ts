// One-time use of a confirmation (tools/confirm.ts): the nonce of a signed requestState is
// recorded before the confirmed call does its work. The primary key decides between concurrent
// retries of the same state: exactly one records it and goes on.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';

/** Rows are kept this long past their state's expiry, so a replica whose clock lags still finds them. */
const PURGE_AFTER_MS = 60 * 60 * 1000;
/** Expired rows deleted per recorded confirmation: the table stays about as big as the live states. */
const PURGE_BATCH = 20;

export interface ConfirmationUse {
  nonce: string;
  userId: string;
  tool: string;
  expiresAt: Date;
}

/** Records the nonce; false when it was already recorded (a replay). Purges a few long-expired rows. */
export async function useConfirmation(db: Db, use: ConfirmationUse, now: Date): Promise<boolean> {
  const purgeBefore = new Date(now.getTime() - PURGE_AFTER_MS);
  const { rows } = await sql<{ nonce: string }>`
    WITH purged AS (
      DELETE FROM used_confirmations WHERE nonce IN (
        SELECT nonce FROM used_confirmations WHERE expires_at < ${purgeBefore}
        LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED))
    INSERT INTO used_confirmations (nonce, user_id, tool, used_at, expires_at)
    VALUES (${use.nonce}, ${use.userId}, ${use.tool}, ${now}, ${use.expiresAt})
    ON CONFLICT (nonce) DO NOTHING
    RETURNING nonce`.execute(db);
  return rows.length === 1;
}
