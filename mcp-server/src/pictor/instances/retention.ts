// The end of a paused instance's grace period: at delete_after the worker deletes it (state
// deleted, machine released with its disk). No money moves: a paused instance holds no prepaid
// time and its GPUs went back to the pool when it paused. Safe with many workers at once: the
// scheduler (worker/due.ts) locks the accounts FOR UPDATE SKIP LOCKED inside this transaction, and
// the instances are then locked and re-checked (still paused, still due). start-instance on a
// paused instance takes the same account lock first, so a start and a deletion never interleave:
// whichever commits first wins, and the other sees the result (running, or "Instance not found").
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { Trx } from '../ledger.ts';
import { writeLogs, writeWorkerActivity } from './records.ts';

/** Locks (inside the pass's transaction) some accounts with paused instances due for deletion. */
export type PickAccounts = (trx: Trx, now: Date, batchSize: number) => Promise<Array<{ id: string }>>;

export interface RetentionPass {
  deleted: number;
  /** Accounts this pass held; 0 means no unclaimed due work was found. */
  accounts: number;
}

/** Deletes one batch of paused instances whose delete_after has passed, of the accounts `pick` locks. */
export async function deletePausedDue(db: Db, now: Date, batchSize: number, pick: PickAccounts): Promise<RetentionPass> {
  return db.transaction().execute(async (trx): Promise<RetentionPass> => {
    const accounts = await pick(trx, now, batchSize);
    if (accounts.length === 0) return { deleted: 0, accounts: 0 };
    const due = await trx
      .selectFrom('instances')
      .select(['id', 'account_id', 'name', 'created_by', 'auto_renew_user_id', 'paused_at', 'delete_after'])
      .where(
        'account_id',
        'in',
        accounts.map((a) => a.id),
      )
      .where('state', '=', 'paused')
      .where('delete_after', '<=', now)
      .orderBy('id')
      .limit(batchSize)
      .forUpdate()
      .execute();
    if (due.length === 0) return { deleted: 0, accounts: accounts.length };
    await sql`
      UPDATE instances SET state = 'deleted', ended_at = ${now}, delete_after = NULL, updated_at = ${now},
        end_reason = 'paused past the retention period without being started',
        pending_action = 'release', action_seq = action_seq + 1, action_requested_at = ${now}, action_due_at = ${now}
      WHERE id = ANY(${due.map((d) => d.id)}::uuid[])`.execute(trx);
    await writeLogs(
      trx,
      due.map((d) => ({
        instanceId: d.id,
        at: now,
        source: 'lifecycle' as const,
        message: `Deleted: paused since ${d.paused_at?.toISOString()} and not started again before ${d.delete_after?.toISOString()}; its disk is wiped`,
      })),
    );
    await writeWorkerActivity(
      trx,
      due.map((d) => ({ instance: d, at: now, event: 'paused-instance-deleted' as const, detail: { paused_at: d.paused_at?.toISOString() ?? null } })),
    );
    return { deleted: due.length, accounts: accounts.length };
  });
}
