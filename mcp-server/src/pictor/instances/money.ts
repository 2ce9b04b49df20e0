// Instance changes that move money: adding hours (charge and extend) and deleting (free the
// GPUs at once and refund the unused whole hours to the buckets the money came from).
// Lock order: account row, then region_capacity, then instance; adding hours takes the app's limit
// row after the instance (it needs the instance's prices first), which cannot deadlock: a
// transaction holds one account, and everything else that takes that limit row takes its account first.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import { chargedBy, enforceSpendingLimit, limitRefusal, limitState, type LimitState } from '../app-limits.ts';
import { addHours, refundFor, rentalCost, splitRefund, unusedWholeHours, type CostBreakdown } from '../billing.ts';
import { capacityChanged } from '../caches.ts';
import type { Clock } from '@pictor/platform/clock';
import { InsufficientBalanceError, type DomainError } from '../errors.ts';
import { getFunds, lockAccount, postCharge, postCredit, type Funds, type Trx } from '../ledger.ts';
import { formatCredits } from '@pictor/platform/money';
import { validateRentalHours } from './input.ts';
import { detailFor, type InstanceDetail } from './read.ts';
import { findInstance, limitQuote, lockInstance, rateCard, writeLogs, type InstanceRecord, type LimitQuote } from './records.ts';
import { assertAllowed, isActive, powerAction } from './state.ts';

export interface AddHoursQuote {
  /** The instance's name. */
  name: string;
  hours: number;
  cost: CostBreakdown;
  available: bigint;
  balanceAfter: bigint | null;
  expiresAt: Date;
  expiresAfter: Date;
  wouldSucceed: boolean;
  reason: string | null;
  /** The error the real call would be refused with now; null when it would succeed. */
  refusal: DomainError | null;
  /** The app's daily spending limit and its headroom after this charge; null when it has none. */
  limit: LimitQuote | null;
}

function quoteFor(row: InstanceRecord, hours: number, funds: Funds, limit: LimitState | null): AddHoursQuote {
  // Added hours are billed at the prices copied onto the instance at creation.
  const cost = rentalCost(rateCard(row), hours);
  const available = funds.balance + funds.credit;
  const refusal = limitRefusal(limit, cost.total) ?? (available < cost.total ? new InsufficientBalanceError(cost.total, available) : null);
  return {
    name: row.name,
    hours,
    cost,
    available,
    balanceAfter: refusal ? null : available - cost.total,
    expiresAt: row.expires_at,
    expiresAfter: addHours(row.expires_at, hours),
    wouldSucceed: refusal === null,
    reason: refusal?.message ?? null,
    refusal,
    limit: limitQuote(limit, cost.total),
  };
}

/** add-instance-hours with dry_run: the exact cost and new expiry; changes nothing. */
export async function quoteAddInstanceHours(db: Db, actor: Actor, instanceId: string, hours: number): Promise<AddHoursQuote> {
  validateRentalHours(hours, 'hours');
  const accountId = await resolveAccountId(db, actor, 'instance:add-hours');
  const row = await findInstance(db, accountId, instanceId);
  assertAllowed('add_hours', row.state);
  return quoteFor(row, hours, await getFunds(db, accountId), await limitState(db, actor.userId, actor.clientId));
}

export interface HoursAdded extends InstanceDetail {
  charged: CostBreakdown;
  fundsAfter: Funds;
}

/** Charges for `hours` more and moves expires_at out by as much; provisioning, running or stopped. */
export async function addInstanceHours(db: Db, actor: Actor, instanceId: string, hours: number, clock: Clock): Promise<HoursAdded> {
  validateRentalHours(hours, 'hours');
  const accountId = await resolveAccountId(db, actor, 'instance:add-hours');
  return db.transaction().execute(async (trx) => {
    const funds = await lockAccount(trx, accountId);
    const row = await lockInstance(trx, accountId, instanceId);
    assertAllowed('add_hours', row.state);
    const quote = quoteFor(row, hours, funds, null);
    await enforceSpendingLimit(trx, actor, quote.cost.total);
    const now = clock.now();
    await postCharge(trx, funds, quote.cost.total, {
      accountId,
      instanceId: row.id,
      ...chargedBy(actor),
      description: `Instance "${row.name}": ${hours} h added`,
    });
    const updated = await trx
      .updateTable('instances')
      .set({ expires_at: quote.expiresAfter, updated_at: now })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeLogs(trx, [
      {
        instanceId: row.id,
        at: now,
        source: 'billing',
        message: `Added ${hours} h, charged ${formatCredits(quote.cost.total)} credits (GPU ${formatCredits(quote.cost.gpu)}, storage ${formatCredits(quote.cost.storage)}); now expires at ${quote.expiresAfter.toISOString()}`,
      },
    ]);
    return { ...(await detailFor(trx, { ...row, ...updated })), charged: quote.cost, fundsAfter: { ...funds } };
  });
}

export interface Deleted {
  id: string;
  name: string;
  /** Unused whole hours refunded (0 when already expired). */
  refund: CostBreakdown;
  refundedToBalance: bigint;
  refundedToCredit: bigint;
  gpusReleased: number;
}

/** What this instance paid from balance, net of refunds already made to balance. */
async function refundableToBalance(trx: Trx, instanceId: string): Promise<bigint> {
  const row = await trx
    .selectFrom('ledger_entries')
    .select(sql<bigint>`coalesce(sum(amount), 0)::bigint`.as('net'))
    .where('instance_id', '=', instanceId)
    .where('bucket', '=', 'balance')
    .where('kind', 'in', ['charge', 'refund'])
    .executeTakeFirstOrThrow();
  return -row.net;
}

/** What deleting `row` at `now` gives back: the unused whole hours of an active instance. */
function refundOnDelete(row: InstanceRecord, now: Date): CostBreakdown {
  return refundFor(rateCard(row), isActive(row.state) ? unusedWholeHours(row.expires_at, now) : 0);
}

export interface DeleteQuote {
  name: string;
  gpuCount: number;
  gpuModel: string;
  regionId: string;
  /** Whether it still holds GPUs and a disk (provisioning, running or stopped). */
  active: boolean;
  refund: CostBreakdown;
}

/** What delete-instance would do now, for the person to confirm; changes nothing. */
export async function quoteDeleteInstance(db: Db, actor: Actor, instanceId: string, clock: Clock): Promise<DeleteQuote> {
  const accountId = await resolveAccountId(db, actor, 'instance:delete');
  const row = await findInstance(db, accountId, instanceId);
  assertAllowed('delete', row.state);
  return {
    name: row.name,
    gpuCount: row.gpu_count,
    gpuModel: row.gpu_model,
    regionId: row.region_id,
    active: isActive(row.state),
    refund: refundOnDelete(row, clock.now()),
  };
}

/**
 * Deletes an instance: state deleted, GPUs freed at once, machine released by the worker, and a
 * refund of the unused WHOLE hours (see billing.ts for rounding): to balance first, up to what the
 * instance paid from balance net of earlier refunds, the rest to credit.
 */
export async function deleteInstance(db: Db, actor: Actor, instanceId: string, clock: Clock): Promise<Deleted> {
  const accountId = await resolveAccountId(db, actor, 'instance:delete');
  // Region and plan never change, so they can be read before taking the locks in order.
  const peek = await findInstance(db, accountId, instanceId);
  const deleted = await db.transaction().execute(async (trx) => {
    await lockAccount(trx, accountId);
    if (isActive(peek.state)) {
      await trx
        .selectFrom('region_capacity')
        .select('free_gpus')
        .where('region_id', '=', peek.region_id)
        .where('plan_id', '=', peek.plan_id)
        .forUpdate()
        .execute();
    }
    const row = await lockInstance(trx, accountId, instanceId);
    assertAllowed('delete', row.state);
    const now = clock.now();
    const active = isActive(row.state);
    const refund = refundOnDelete(row, now);
    const split = splitRefund(refund.total, refund.total > 0n ? await refundableToBalance(trx, row.id) : 0n);
    for (const [bucket, amount] of [
      ['balance', split.toBalance],
      ['credit', split.toCredit],
    ] as const) {
      if (amount === 0n) continue;
      await postCredit(trx, {
        accountId,
        kind: 'refund',
        bucket,
        amount,
        instanceId: row.id,
        createdBy: actor.userId,
        description: `Instance "${row.name}" deleted: ${refund.hours} unused h refunded`,
      });
    }
    if (active) {
      await trx
        .updateTable('region_capacity')
        .set((eb) => ({ free_gpus: eb('free_gpus', '+', row.gpu_count) }))
        .where('region_id', '=', row.region_id)
        .where('plan_id', '=', row.plan_id)
        .execute();
    }
    // a paused instance holds no GPUs but still has its disk: released (wiped) like an active one
    const hasMachine = active || row.state === 'paused';
    await trx
      .updateTable('instances')
      .set({
        state: 'deleted',
        ended_at: row.ended_at ?? now,
        end_reason: row.state === 'paused' ? 'deleted while paused' : (row.end_reason ?? 'deleted'),
        delete_after: null,
        updated_at: now,
        ...(hasMachine ? powerAction('release', row, now) : {}),
      })
      .where('id', '=', row.id)
      .execute();
    await writeLogs(trx, [
      {
        instanceId: row.id,
        at: now,
        source: 'lifecycle',
        message: active ? `Deleted: ${row.gpu_count} GPUs released` : row.state === 'paused' ? 'Deleted while paused: its kept disk is wiped' : 'Deleted',
      },
      ...(refund.total > 0n
        ? [
            {
              instanceId: row.id,
              at: now,
              source: 'billing' as const,
              message: `Refunded ${formatCredits(refund.total)} credits for ${refund.hours} unused whole hours (${formatCredits(split.toBalance)} to balance, ${formatCredits(split.toCredit)} to credit)`,
            },
          ]
        : []),
    ]);
    return {
      id: row.id,
      name: row.name,
      refund,
      refundedToBalance: split.toBalance,
      refundedToCredit: split.toCredit,
      gpusReleased: active ? row.gpu_count : 0,
    };
  });
  if (deleted.gpusReleased > 0) capacityChanged(db); // GPUs were freed
  return deleted;
}
