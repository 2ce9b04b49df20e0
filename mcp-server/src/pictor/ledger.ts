// The one ledger. Every balance change is an immutable entry, written in the same transaction
// as the account's cached balance/credit and as the work it pays for. The account row lock
// (SELECT … FOR UPDATE) serializes spending, so concurrent charges can never overdraw.
import { sql, type Transaction } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { Database, LedgerBucket, LedgerKind } from '@pictor/migrations/schema';
import { InsufficientBalanceError, NotFoundError } from './errors.ts';

export type Trx = Transaction<Database>;

export interface Funds {
  /** Paid money (top-ups, refunds of paid charges). */
  balance: bigint;
  /** Promotional credit, spent before balance. */
  credit: bigint;
}

export async function lockAccount(trx: Trx, accountId: string): Promise<Funds> {
  const row = await trx.selectFrom('accounts').select(['balance', 'credit']).where('id', '=', accountId).forUpdate().executeTakeFirst();
  if (!row) throw new NotFoundError('Account', accountId);
  return row;
}

export async function getFunds(db: Db | Trx, accountId: string): Promise<Funds> {
  const row = await db.selectFrom('accounts').select(['balance', 'credit']).where('id', '=', accountId).executeTakeFirst();
  if (!row) throw new NotFoundError('Account', accountId);
  return row;
}

interface EntryCommon {
  accountId: string;
  description: string;
  instanceId?: string | null;
  createdBy?: string | null;
  /** The app whose call caused it (app-limits.ts counts its charges). */
  clientId?: string | null;
}

export interface CreditEntry extends EntryCommon {
  kind: Exclude<LedgerKind, 'charge'>;
  bucket: LedgerBucket;
  /** Positive micro-credits. */
  amount: bigint;
  /** An external id applied at most once per kind (e.g. an InFlow payment id). */
  reference?: string;
}

/**
 * Adds money to an account. With a reference, applying the same reference twice is a no-op and
 * returns null — the unique index makes this hold across processes, not just this call.
 */
export async function postCredit(trx: Trx, entry: CreditEntry): Promise<{ entryId: string } | null> {
  if (entry.amount <= 0n) throw new RangeError('a credit entry must be positive');
  const inserted = await trx
    .insertInto('ledger_entries')
    .values({
      account_id: entry.accountId,
      kind: entry.kind,
      bucket: entry.bucket,
      amount: entry.amount,
      reference: entry.reference ?? null,
      description: entry.description,
      instance_id: entry.instanceId ?? null,
      created_by: entry.createdBy ?? null,
    })
    .onConflict((oc) => oc.columns(['kind', 'reference']).where('reference', 'is not', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return null;
  await trx
    .updateTable('accounts')
    .set((eb) => ({ [entry.bucket]: eb(entry.bucket, '+', entry.amount) }))
    .where('id', '=', entry.accountId)
    .execute();
  return { entryId: inserted.id };
}

export interface Spent {
  fromCredit: bigint;
  fromBalance: bigint;
}

/**
 * Charges an account: promotional credit first, then balance, one charge entry per bucket used.
 * Throws InsufficientBalanceError (with the shortfall) and writes nothing when funds fall short.
 * The caller must hold the account lock (lockAccount) in this transaction.
 */
export async function postCharge(trx: Trx, funds: Funds, amount: bigint, entry: EntryCommon): Promise<Spent> {
  if (amount <= 0n) throw new RangeError('a charge must be positive');
  const { fromCredit, fromBalance } = splitCharge(funds, amount);
  for (const [bucket, part] of [
    ['credit', fromCredit],
    ['balance', fromBalance],
  ] as const) {
    if (part === 0n) continue;
    await trx
      .insertInto('ledger_entries')
      .values({
        account_id: entry.accountId,
        kind: 'charge',
        bucket,
        amount: -part,
        description: entry.description,
        instance_id: entry.instanceId ?? null,
        created_by: entry.createdBy ?? null,
        client_id: entry.clientId ?? null,
      })
      .execute();
  }
  await trx
    .updateTable('accounts')
    .set((eb) => ({ credit: eb('credit', '-', fromCredit), balance: eb('balance', '-', fromBalance) }))
    .where('id', '=', entry.accountId)
    .execute();
  funds.credit -= fromCredit;
  funds.balance -= fromBalance;
  return { fromCredit, fromBalance };
}

/** How a charge is paid: credit first, then balance. Throws InsufficientBalanceError when funds fall short. */
export function splitCharge(funds: Funds, amount: bigint): Spent {
  const available = funds.balance + funds.credit;
  if (available < amount) throw new InsufficientBalanceError(amount, available);
  const fromCredit = amount < funds.credit ? amount : funds.credit;
  return { fromCredit, fromBalance: amount - fromCredit };
}

export interface BatchCharge extends EntryCommon, Spent {}

/**
 * Writes many already-split charges (see splitCharge) in two statements: one insert of every
 * entry, one update of every account's cached funds. For batch jobs (auto-renewal) whose caller
 * holds the account locks and has walked each account's funds in order.
 */
export async function postChargesBatch(trx: Trx, charges: BatchCharge[]): Promise<void> {
  const rows = charges.flatMap((c) =>
    (
      [
        ['credit', c.fromCredit],
        ['balance', c.fromBalance],
      ] as const
    )
      .filter(([, part]) => part > 0n)
      .map(([bucket, part]) => ({
        account_id: c.accountId,
        kind: 'charge' as const,
        bucket,
        amount: -part,
        description: c.description,
        instance_id: c.instanceId ?? null,
        created_by: c.createdBy ?? null,
        client_id: c.clientId ?? null,
      })),
  );
  if (rows.length === 0) return;
  await trx.insertInto('ledger_entries').values(rows).execute();
  const perAccount = new Map<string, Spent>();
  for (const c of charges) {
    const sum = perAccount.get(c.accountId) ?? { fromCredit: 0n, fromBalance: 0n };
    sum.fromCredit += c.fromCredit;
    sum.fromBalance += c.fromBalance;
    perAccount.set(c.accountId, sum);
  }
  const ids = [...perAccount.keys()];
  const credit = ids.map((id) => perAccount.get(id)!.fromCredit.toString());
  const balance = ids.map((id) => perAccount.get(id)!.fromBalance.toString());
  await sql`
    UPDATE accounts a SET credit = a.credit - v.credit, balance = a.balance - v.balance
    FROM unnest(${ids}::uuid[], ${credit}::bigint[], ${balance}::bigint[]) AS v(id, credit, balance)
    WHERE a.id = v.id`.execute(trx);
}
