// InFlow top-ups: create a checkout, verify one payment, sync the pending ones. Every change to
// money goes through applyPaymentSnapshot (settle.ts), whoever asks: a person's verify, the
// sync job or a webhook.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '@pictor/platform/db';
import type { InflowCurrency, InflowTransaction } from '@pictor/migrations/schema';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import type { Clock } from '@pictor/platform/clock';
import { ConflictError, DomainError, InvalidInputError, NotFoundError, UnavailableError } from '../errors.ts';
import { getFunds } from '../ledger.ts';
import { formatCredits } from '@pictor/platform/money';
import type { InflowClient } from './client.ts';
import { applyPaymentSnapshot, type ApplyResult } from './settle.ts';
import { MICRO_PER_MINOR, PENDING_STATUSES, describeStatus } from './status.ts';

/** Pictor's smallest top-up, in credits (= currency units). */
export const MIN_TOP_UP_CREDITS = 10;
/** A guard against typos (an extra zero), not a business rule; larger top-ups go through support. */
export const MAX_TOP_UP_CREDITS = 100_000;
export const CURRENCIES = ['USD', 'EUR'] as const;

export interface InflowDeps {
  db: Db;
  inflow: InflowClient;
  clock: Clock;
  log?: Logger;
}

export interface InflowTransactionView {
  id: string;
  paymentId: string;
  accountId: string;
  teamId: string | null;
  status: string;
  /** The amount paid, as micro-credits (credits are 1:1 with the currency unit). */
  amountMicro: bigint;
  currency: InflowCurrency;
  purchaseUrl: string | null;
  credited: boolean;
  creditedAt: Date | null;
  refundedMicro: bigint;
  reversedMicro: bigint;
  uncoveredMicro: bigint;
  reviewReason: string | null;
  createdAt: Date;
  lastCheckedAt: Date | null;
}

export interface CheckoutInput {
  /** Credits as a decimal string with at most 2 decimals, e.g. "25" or "25.50". */
  amount: string;
  currency: InflowCurrency;
  /** Chosen by the caller; the same key on the same account returns the same checkout. */
  idempotencyKey: string;
}

export interface VerifyResult {
  transaction: InflowTransactionView;
  creditedNow: boolean;
  reversedNowMicro: bigint;
  uncoveredNowMicro: bigint;
  /** The account's paid balance after this check. */
  balanceMicro: bigint;
  summary: string;
}

/** "25.5" → 2550 (cents); refuses more than 2 decimals and anything outside the top-up limits. */
export function parseTopUpAmount(text: string): bigint {
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) throw new InvalidInputError('amount', 'must be a number of credits with at most 2 decimals, e.g. "25" or "25.50"');
  const minor = BigInt(match[1]!) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
  if (minor < BigInt(MIN_TOP_UP_CREDITS) * 100n)
    throw new InvalidInputError('amount', `the smallest top-up is ${MIN_TOP_UP_CREDITS} credits`, { minimum: String(MIN_TOP_UP_CREDITS) });
  if (minor > BigInt(MAX_TOP_UP_CREDITS) * 100n)
    throw new InvalidInputError('amount', `the largest top-up through Claude is ${MAX_TOP_UP_CREDITS} credits; contact Pictor support for more`, {
      maximum: String(MAX_TOP_UP_CREDITS),
    });
  return minor;
}

/**
 * Creates an InFlow checkout for the actor's account (or their team's), or returns the one
 * already created with this idempotency key. The row is inserted and InFlow is called inside
 * one database transaction: a concurrent call with the same key waits on the row's unique index
 * and then reads the finished checkout, so one key makes one InFlow payment. If InFlow fails,
 * the row is rolled back and nothing remains; the same key can simply be tried again.
 */
export async function createCheckout(deps: InflowDeps, actor: Actor, input: CheckoutInput): Promise<{ transaction: InflowTransactionView; created: boolean }> {
  const amountMinor = parseTopUpAmount(input.amount);
  if (!(CURRENCIES as readonly string[]).includes(input.currency)) throw new InvalidInputError('currency', 'must be USD or EUR');
  const key = input.idempotencyKey.trim();
  if (key.length === 0 || key.length > 200) throw new InvalidInputError('idempotency_key', 'must be 1–200 characters');
  if (key.includes('\u0000')) throw new InvalidInputError('idempotency_key', 'must not contain NUL characters');
  const accountId = await resolveAccountId(deps.db, actor, 'billing:checkout');
  const email = actor.email ?? (await deps.db.selectFrom('users').select('email').where('id', '=', actor.userId).executeTakeFirst())?.email;
  if (!email) throw new NotFoundError('User', actor.userId);
  const now = deps.clock.now();

  const outcome = await deps.db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('inflow_transactions')
      .values({
        id: randomUUID(),
        account_id: accountId,
        created_by: actor.userId,
        idempotency_key: key,
        amount_minor: amountMinor,
        currency: input.currency,
        status: 'INITIATION',
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return { id: null };

    const credits = formatCredits(amountMinor * MICRO_PER_MINOR);
    const payment = await deps.inflow.createPayment({
      products: [{ name: `Pictor credit top-up (${credits} credits)`, price: Number(amountMinor), quantity: 1 }],
      currency: input.currency,
      customerEmail: email,
      ...(deps.inflow.successUrl ? { successUrl: deps.inflow.successUrl } : {}),
      metadatas: { pictorTransactionId: inserted.id, pictorAccountId: accountId },
    });
    await trx
      .updateTable('inflow_transactions')
      .set({ payment_id: payment.paymentId, purchase_url: payment.purchaseUrl })
      .where('id', '=', inserted.id)
      .execute();
    return { id: inserted.id };
  });

  if (outcome.id) {
    deps.log?.info({ transactionId: outcome.id, accountId, amountMinor: amountMinor.toString(), currency: input.currency }, 'inflow checkout created');
    return { transaction: await loadView(deps.db, accountId, outcome.id), created: true };
  }
  const existing = await findRows(deps.db, accountId).where('t.idempotency_key', '=', key).executeTakeFirstOrThrow();
  if (existing.amount_minor !== amountMinor || existing.currency !== input.currency) {
    throw new ConflictError(
      `idempotency_key was already used for a checkout of ${formatCredits(existing.amount_minor * MICRO_PER_MINOR)} ${existing.currency}; use a new key for a different top-up`,
      {
        transaction_id: existing.id,
      },
    );
  }
  return { transaction: toView(existing), created: false };
}

/**
 * Checks one transaction with InFlow and applies what it says (crediting at PAYMENT_SUCCESS,
 * once). `id` is Pictor's transaction id or InFlow's payment id; a transaction of an account
 * the actor cannot reach is not found.
 */
export async function verifyTransaction(deps: InflowDeps, actor: Actor, id: string): Promise<VerifyResult> {
  return check(deps, await findTransaction(deps.db, actor, id));
}

/** The stored top-up verify-inflow-transaction would check, without asking InFlow (for its confirmation). */
export async function peekTransaction(db: Db, actor: Actor, id: string): Promise<InflowTransactionView> {
  return toView(await findTransaction(db, actor, id));
}

async function findTransaction(db: Db, actor: Actor, id: string): Promise<Row> {
  // No stored id holds a NUL, and Postgres cannot even compare text that does.
  if (id.includes('\u0000')) throw new NotFoundError('InFlow transaction', id.replace(/\u0000/g, ''));
  const accountId = await resolveAccountId(db, actor, 'billing:verify');
  const query = findRows(db, accountId);
  const row = await (UUID.test(id) ? query.where('t.id', '=', id) : query.where('t.payment_id', '=', id)).executeTakeFirst();
  if (!row) throw new NotFoundError('InFlow transaction', id);
  return row;
}

/** Re-checks the actor's account's pending transactions (newest first, at most `limit`). */
export async function syncPending(deps: InflowDeps, actor: Actor, limit = 50): Promise<{ results: VerifyResult[]; unreachable: number }> {
  const accountId = await resolveAccountId(deps.db, actor, 'billing:sync');
  const rows = await findRows(deps.db, accountId)
    .where((eb) =>
      eb.or([
        eb('t.status', 'in', PENDING_STATUSES),
        eb.and([eb('t.status', '=', 'PAYMENT_SUCCESS'), eb('t.credited_entry_id', 'is', null), eb('t.review_reason', 'is', null)]),
      ]),
    )
    .orderBy('t.created_at', 'desc')
    .limit(limit)
    .execute();
  const results: VerifyResult[] = [];
  let unreachable = 0;
  for (const row of rows) {
    try {
      results.push(await check(deps, row));
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      unreachable += 1;
    }
  }
  if (rows.length > 0 && unreachable === rows.length) {
    throw new UnavailableError(
      `InFlow, the payment network, could not be reached, so none of the ${rows.length} pending top-ups could be checked. Nothing was changed and nothing is lost; try again in a minute.`,
      { dependency: 'inflow' },
    );
  }
  return { results, unreachable };
}

export interface SyncAllOptions {
  /** Transactions claimed per pass. Default 100. */
  batchSize?: number;
  /** Do not re-check a transaction more often than this (ms). Default 30000. */
  minIntervalMs?: number;
  /** Stop checking checkouts older than this (ms); abandoned checkouts stay pending. Default 7 days. */
  maxAgeMs?: number;
  /** Checks in flight at once. Default 4. */
  concurrency?: number;
  /** Forget processed webhook ids older than this (ms); Svix stops retrying after about a day. Default 14 days. */
  deliveryRetentionMs?: number;
}

export interface SyncAllSummary {
  checked: number;
  credited: number;
  failed: number;
  /** Old webhook delivery ids forgotten in this pass. */
  pruned: number;
}

/**
 * One pass of the lifecycle worker's payment sync, for every account. Safe on every replica at
 * once: each pass claims its batch with FOR UPDATE SKIP LOCKED and stamps last_checked_at, so
 * replicas take different rows; and applying twice would credit once anyway.
 */
export async function syncAllPendingPayments(deps: InflowDeps, options: SyncAllOptions = {}): Promise<SyncAllSummary> {
  const now = deps.clock.now();
  const batchSize = options.batchSize ?? 100;
  const recheckBefore = new Date(now.getTime() - (options.minIntervalMs ?? 30_000));
  const createdAfter = new Date(now.getTime() - (options.maxAgeMs ?? 7 * 24 * 3600 * 1000));
  const claimed = await sql<{ id: string; payment_id: string }>`
    UPDATE inflow_transactions SET last_checked_at = ${now}
    WHERE id IN (
      SELECT id FROM inflow_transactions
      WHERE status IN (${sql.join(PENDING_STATUSES)})
        AND payment_id IS NOT NULL
        AND created_at > ${createdAfter}
        AND (last_checked_at IS NULL OR last_checked_at < ${recheckBefore})
      ORDER BY last_checked_at NULLS FIRST
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED)
    RETURNING id, payment_id`.execute(deps.db);

  const pruned = await deps.db
    .deleteFrom('inflow_webhook_deliveries')
    .where('received_at', '<', new Date(now.getTime() - (options.deliveryRetentionMs ?? 14 * 24 * 3600 * 1000)))
    .executeTakeFirst();
  const summary: SyncAllSummary = { checked: 0, credited: 0, failed: 0, pruned: Number(pruned.numDeletedRows) };
  const queue = [...claimed.rows];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      try {
        const payment = await deps.inflow.getPayment(next.payment_id);
        const applied = await applyPaymentSnapshot(deps.db, next.id, payment, deps.clock.now(), deps.log);
        summary.checked += 1;
        if (applied.creditedNow) summary.credited += 1;
      } catch (error) {
        summary.failed += 1;
        const level = error instanceof DomainError ? 'warn' : 'error';
        deps.log?.[level]({ err: error, transactionId: next.id }, 'inflow sync could not check a payment');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, worker));
  return summary;
}

/** The account's recent top-ups, newest first. */
export async function listTransactions(db: Db, actor: Actor, limit = 20): Promise<InflowTransactionView[]> {
  const accountId = await resolveAccountId(db, actor, 'read');
  const rows = await findRows(db, accountId).orderBy('t.created_at', 'desc').limit(limit).execute();
  return rows.map(toView);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Row = InflowTransaction & { team_id: string | null };

function findRows(db: Db, accountId: string) {
  return db
    .selectFrom('inflow_transactions as t')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .selectAll('t')
    .select('a.team_id')
    .where('t.account_id', '=', accountId)
    .where('t.payment_id', 'is not', null);
}

async function loadView(db: Db, accountId: string, id: string): Promise<InflowTransactionView> {
  return toView(await findRows(db, accountId).where('t.id', '=', id).executeTakeFirstOrThrow());
}

async function check(deps: InflowDeps, row: Row): Promise<VerifyResult> {
  const paymentId = row.payment_id!;
  let applied: ApplyResult;
  try {
    const payment = await deps.inflow.getPayment(paymentId);
    applied = await applyPaymentSnapshot(deps.db, row.id, payment, deps.clock.now(), deps.log);
  } catch (error) {
    if (error instanceof UnavailableError) {
      throw new UnavailableError(
        `Could not reach InFlow to check payment ${paymentId}: ${error.message} If the person has paid, the money is not lost: it is credited by a later check or by the background sync.`,
        error.details,
      );
    }
    throw error;
  }
  const transaction = toView({ ...applied.row, team_id: row.team_id });
  const funds = await getFunds(deps.db, row.account_id);
  return {
    transaction,
    creditedNow: applied.creditedNow,
    reversedNowMicro: applied.reversedNowMicro,
    uncoveredNowMicro: applied.uncoveredNowMicro,
    balanceMicro: funds.balance,
    summary: summarize(transaction, applied),
  };
}

function summarize(t: InflowTransactionView, applied: ApplyResult): string {
  const parts = [describeStatus(t.status, t.credited)];
  const amount = `${formatCredits(t.amountMicro)} credits`;
  if (applied.creditedNow) parts.unshift(`Credited ${amount} just now.`);
  else if (t.credited && t.status === 'PAYMENT_SUCCESS') parts.unshift(`Already credited (${amount}); nothing more to add.`);
  if (applied.reversedNowMicro > 0n) parts.push(`Took back ${formatCredits(applied.reversedNowMicro)} refunded credits from the balance.`);
  if (t.uncoveredMicro > 0n)
    parts.push(`${formatCredits(t.uncoveredMicro)} refunded credits had already been spent and could not be taken back; Pictor support will follow up.`);
  if (t.reviewReason && t.uncoveredMicro === 0n) parts.push('This payment is flagged for Pictor support to review.');
  return parts.join(' ');
}

function toView(row: Row): InflowTransactionView {
  return {
    id: row.id,
    paymentId: row.payment_id!,
    accountId: row.account_id,
    teamId: row.team_id,
    status: row.status,
    amountMicro: row.amount_minor * MICRO_PER_MINOR,
    currency: row.currency,
    purchaseUrl: row.purchase_url,
    credited: row.credited_entry_id !== null,
    creditedAt: row.credited_at,
    refundedMicro: row.refunded_minor * MICRO_PER_MINOR,
    reversedMicro: row.reversed_micro,
    uncoveredMicro: row.uncovered_micro,
    reviewReason: row.review_reason,
    createdAt: row.created_at,
    lastCheckedAt: row.last_checked_at,
  };
}
