// Picking due work, the worker's only part in the instance lifecycle: which accounts' expiries, which
// accounts' paused instances past their grace period, and which power actions this replica takes next. Row locks with SKIP LOCKED let every replica pick at
// once without two ever taking the same work; the rules for what then happens live in the core
// (pictor/instances: expiry.ts, retention.ts, power.ts).
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { Trx } from '../pictor/ledger.ts';
import { selectRecord, type DueAccount, type InstanceRecord } from '../pictor/instances/index.ts';

/**
 * Locks accounts with due instances for one batch: about batchSize due instances' worth, taken in
 * a random order so that concurrent workers mostly pick different accounts, skipping any account
 * another worker (or a user's request) holds. Returns no accounts only when none is free.
 */
export async function lockDueAccounts(trx: Trx, now: Date, batchSize: number): Promise<DueAccount[]> {
  return lockAccountsWith(trx, sql`state IN ('provisioning', 'running', 'stopped') AND expires_at <= ${now}`, batchSize);
}

/** The same for accounts with paused instances whose grace period is over (to be deleted). */
export async function lockAccountsWithPausesDue(trx: Trx, now: Date, batchSize: number): Promise<DueAccount[]> {
  return lockAccountsWith(trx, sql`state = 'paused' AND delete_after <= ${now}`, batchSize);
}

async function lockAccountsWith(trx: Trx, due: RawBuilder<unknown>, batchSize: number): Promise<DueAccount[]> {
  const counts = await sql<{ account_id: string; n: number }>`
    SELECT account_id, count(*)::int AS n FROM instances WHERE ${due} GROUP BY account_id`.execute(trx);
  const order = counts.rows.map((r) => ({ ...r, key: Math.random() })).sort((a, b) => a.key - b.key);
  for (let start = 0; start < order.length; ) {
    const chunk: string[] = [];
    for (let sum = 0; start < order.length && sum < batchSize; start++) {
      chunk.push(order[start]!.account_id);
      sum += order[start]!.n;
    }
    const locked = await sql<DueAccount>`
      SELECT id, balance, credit FROM accounts WHERE id = ANY(${chunk}::uuid[])
      ORDER BY id FOR UPDATE SKIP LOCKED`.execute(trx);
    if (locked.rows.length > 0) return locked.rows;
  }
  return [];
}

/**
 * Claims up to batchSize due power actions, skipping rows another worker holds, and leases them for
 * leaseMs (action_due_at moved out) so no other worker retries them meanwhile.
 */
export async function claimPowerActions(db: Db, now: Date, batchSize: number, leaseMs: number): Promise<InstanceRecord[]> {
  return db.transaction().execute(async (trx) => {
    const rows = await selectRecord(trx)
      .where('instances.pending_action', 'is not', null)
      .where('instances.action_due_at', '<=', now)
      .orderBy('instances.action_due_at')
      .limit(batchSize)
      .forUpdate('instances')
      .skipLocked()
      .execute();
    if (rows.length > 0) {
      await trx
        .updateTable('instances')
        .set({ action_due_at: new Date(now.getTime() + leaseMs) })
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
    }
    return rows;
  });
}
