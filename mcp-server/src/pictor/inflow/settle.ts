// The one path by which an InFlow payment snapshot changes Pictor's money. Verify, sync and the
// webhook all fetch the payment from InFlow and call applyPaymentSnapshot; it runs in one
// database transaction holding the transaction row's lock, so any number of them racing on one
// payment apply one after another and the payment credits once. The ledger's unique
// (kind, reference) index is the second guard: reference = the InFlow payment id.
import type { Logger } from 'pino';
import type { Db } from '@pictor/platform/db';
import type { Updateable } from 'kysely';
import type { InflowTransaction, InflowTransactionsTable } from '@pictor/migrations/schema';
import { lockAccount, postCredit, type Trx } from '../ledger.ts';
import { formatCredits } from '@pictor/platform/money';
import type { InflowPayment } from './client.ts';
import { MICRO_PER_MINOR, planSettlement } from './status.ts';

export interface ApplyResult {
  row: InflowTransaction;
  /** This call posted the payment's credit. */
  creditedNow: boolean;
  /** Refunded value this call took back from the balance, and what it could not (micro-credits). */
  reversedNowMicro: bigint;
  uncoveredNowMicro: bigint;
  /** The snapshot was older than what was already applied and changed nothing. */
  stale: boolean;
}

export async function applyPaymentSnapshot(db: Db, transactionId: string, payment: InflowPayment, now: Date, log?: Logger): Promise<ApplyResult> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('inflow_transactions').selectAll().where('id', '=', transactionId).forUpdate().executeTakeFirstOrThrow();
    if (row.payment_id !== payment.id) throw new Error(`InFlow payment ${payment.id} does not belong to transaction ${transactionId}`);

    const plan = planSettlement(
      {
        status: row.status,
        inflowUpdatedAt: row.inflow_updated_at,
        credited: row.credited_entry_id !== null,
        amountMinor: row.amount_minor,
        currency: row.currency,
        refundedMinor: row.refunded_minor,
        accountedMinor: (row.reversed_micro + row.uncovered_micro) / MICRO_PER_MINOR,
      },
      payment,
    );

    const changes: Updateable<InflowTransactionsTable> = { last_checked_at: now, updated_at: now };
    const result = { creditedNow: false, reversedNowMicro: 0n, uncoveredNowMicro: 0n, stale: !plan.apply };
    if (plan.apply) {
      changes.status = plan.status;
      changes.refunded_minor = plan.refundedMinor;
      if (payment.updatedAt) changes.inflow_updated_at = new Date(payment.updatedAt);
    }
    if (plan.review && plan.review !== row.review_reason) {
      changes.review_reason = plan.review;
      log?.error({ transactionId, paymentId: payment.id, review: plan.review }, 'inflow payment needs review');
    }

    if (plan.credit) {
      const amount = row.amount_minor * MICRO_PER_MINOR;
      const posted = await postCredit(trx, {
        accountId: row.account_id,
        kind: 'payment',
        bucket: 'balance',
        amount,
        reference: payment.id,
        description: `InFlow top-up ${formatCredits(amount)} ${row.currency} (${payment.id})`,
        createdBy: row.created_by,
      });
      // null: the entry exists already (only if this row lost track of it); link it, credit nothing.
      changes.credited_entry_id = posted?.entryId ?? (await paymentEntryId(trx, payment.id));
      changes.credited_at = now;
      result.creditedNow = posted !== null;
      if (posted) log?.info({ transactionId, paymentId: payment.id, amountMicro: amount.toString() }, 'inflow payment credited');
    }

    if (plan.reverseMinor > 0n) {
      const reversal = await reverseRefund(trx, {
        accountId: row.account_id,
        amount: plan.reverseMinor * MICRO_PER_MINOR,
        reference: `${payment.id}:refund:${plan.refundedMinor}`,
        description: `InFlow refund of ${payment.id}`,
        createdBy: row.created_by,
      });
      changes.reversed_micro = row.reversed_micro + reversal.taken;
      changes.uncovered_micro = row.uncovered_micro + reversal.uncovered;
      result.reversedNowMicro = reversal.taken;
      result.uncoveredNowMicro = reversal.uncovered;
      if (reversal.uncovered > 0n) {
        changes.review_reason = `refund exceeds the remaining balance by ${formatCredits(reversal.uncovered)} credits (already spent)`;
        log?.warn({ transactionId, paymentId: payment.id, uncoveredMicro: reversal.uncovered.toString() }, 'inflow refund not covered by the balance');
      }
    }

    const updated = await trx.updateTable('inflow_transactions').set(changes).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
    return { row: updated, ...result };
  });
}

async function paymentEntryId(trx: Trx, paymentId: string): Promise<string> {
  const entry = await trx.selectFrom('ledger_entries').select('id').where('kind', '=', 'payment').where('reference', '=', paymentId).executeTakeFirstOrThrow();
  return String(entry.id);
}

interface Reversal {
  accountId: string;
  /** Positive micro-credits to take back. */
  amount: bigint;
  reference: string;
  description: string;
  createdBy: string | null;
}

/**
 * Takes refunded money back out of the paid balance: one `refund` entry with a negative amount,
 * at most what the balance holds (it never goes below zero, and promotional credit is not
 * touched). The rest is returned as uncovered for the caller to record.
 */
export async function reverseRefund(trx: Trx, reversal: Reversal): Promise<{ taken: bigint; uncovered: bigint }> {
  if (reversal.amount <= 0n) throw new RangeError('a refund reversal must be positive');
  const funds = await lockAccount(trx, reversal.accountId);
  const taken = reversal.amount < funds.balance ? reversal.amount : funds.balance;
  if (taken === 0n) return { taken: 0n, uncovered: reversal.amount };
  const inserted = await trx
    .insertInto('ledger_entries')
    .values({
      account_id: reversal.accountId,
      kind: 'refund',
      bucket: 'balance',
      amount: -taken,
      reference: reversal.reference,
      description: reversal.description,
      created_by: reversal.createdBy,
    })
    .onConflict((oc) => oc.columns(['kind', 'reference']).where('reference', 'is not', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return { taken: 0n, uncovered: 0n }; // this exact reversal was already applied
  await trx
    .updateTable('accounts')
    .set((eb) => ({ balance: eb('balance', '-', taken) }))
    .where('id', '=', reversal.accountId)
    .execute();
  return { taken, uncovered: reversal.amount - taken };
}
