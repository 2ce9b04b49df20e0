// Starting a paused instance: it needs its GPUs back and new prepaid time, so it is charged like a
// creation — rental_hours of GPU and storage at the instance's own prices (the ones every renewal
// and added hour uses), credit first then balance, within the app's daily spending limit — and it
// needs free GPUs of its plan in its own region (its disk is there). One transaction, locks in the
// usual order: account, region_capacity, instance, then the app's limit. The worker's deletion of a paused
// instance locks the account first too (retention.ts), so a start and a deletion never interleave.
// A retried call that already went through finds the instance running and changes nothing.
import type { Db } from '@pictor/platform/db';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import { chargedBy, enforceSpendingLimit, limitRefusal, limitState, type LimitState } from '../app-limits.ts';
import { addHours, hourlyRates, rentalCost, type CostBreakdown, type HourlyRates } from '../billing.ts';
import { capacityChanged } from '../caches.ts';
import type { Clock } from '@pictor/platform/clock';
import { InsufficientBalanceError, InvalidInputError, InvalidStateError, type DomainError } from '../errors.ts';
import { getFunds, lockAccount, postCharge, type Funds, type Trx } from '../ledger.ts';
import { formatCredits } from '@pictor/platform/money';
import { capacityError, freeGpus } from './capacity.ts';
import { validateRentalHours } from './input.ts';
import { detailFor, type InstanceDetail } from './read.ts';
import { findInstance, limitQuote, lockInstance, rateCard, writeLogs, type InstanceRecord, type LimitQuote } from './records.ts';
import { assertAllowed, powerAction } from './state.ts';

type Reader = Db | Trx;

export interface StartPausedQuote {
  instanceId: string;
  name: string;
  hours: number;
  cost: CostBreakdown;
  rates: HourlyRates;
  regionId: string;
  gpusNeeded: number;
  freeGpus: number;
  /** balance + credit now. */
  available: bigint;
  /** balance + credit after the charge; null when it would be refused. */
  balanceAfter: bigint | null;
  /** Prepaid-until time if started now. */
  expiresAfter: Date;
  /** When the paused instance is deleted unless started. */
  deleteAt: Date;
  wouldSucceed: boolean;
  reason: string | null;
  reasonCode: DomainError['code'] | null;
  limit: LimitQuote | null;
}

/** The states rental_hours does not apply to get a refusal that says what to do instead. */
function assertStartable(row: InstanceRecord, now: Date): void {
  if (row.state === 'stopped') {
    throw new InvalidInputError(
      'rental_hours',
      `is only for starting a paused instance; this one is stopped and prepaid until ${row.expires_at.toISOString()}: call start-instance without rental_hours (add-instance-hours extends it)`,
    );
  }
  assertAllowed('resume', row.state);
  if (row.state === 'paused' && row.delete_after !== null && row.delete_after <= now) {
    throw new InvalidStateError(`the instance is paused and its retention ended at ${row.delete_after.toISOString()}; it is being deleted`, {
      state: row.state,
      delete_at: row.delete_after.toISOString(),
    });
  }
}

/** The refusal a start would meet now, or null: the app's limit, then GPUs in its region, then funds. */
async function evaluate(
  db: Reader,
  row: InstanceRecord,
  cost: CostBreakdown,
  funds: Funds,
  free: number,
  limit: LimitState | null,
): Promise<DomainError | null> {
  const overLimit = limitRefusal(limit, cost.total);
  if (overLimit) return overLimit;
  if (free < row.gpu_count) {
    return capacityError(db, { planId: row.plan_id, gpuModel: row.gpu_model, regionId: row.region_id, gpuCount: row.gpu_count }, free, {
      purpose: ' to start this paused instance',
      later: 'GPUs free up here as other rentals end',
      note: ` Nothing was charged. A paused instance starts only in its own region, where its disk is kept until ${row.delete_after?.toISOString()}; try again later.`,
    });
  }
  const available = funds.balance + funds.credit;
  return available < cost.total ? new InsufficientBalanceError(cost.total, available) : null;
}

/**
 * start-instance with rental_hours and dry_run on a paused instance: the exact cost, whether it would
 * start now and why not; changes nothing. The quote of "start paused instance X for N h".
 */
export async function quoteStartPaused(db: Db, actor: Actor, instanceId: string, hours: number, clock: Clock): Promise<StartPausedQuote> {
  validateRentalHours(hours);
  const accountId = await resolveAccountId(db, actor, 'instance:start');
  const row = await findInstance(db, accountId, instanceId);
  const now = clock.now();
  assertStartable(row, now);
  if (row.state !== 'paused')
    throw new InvalidStateError(`the instance is ${row.state}; only a paused instance is started with rental_hours`, { state: row.state });
  const cost = rentalCost(rateCard(row), hours);
  const [funds, free, limit] = await Promise.all([
    getFunds(db, accountId),
    freeGpus(db, { planId: row.plan_id, regionId: row.region_id }, false),
    limitState(db, actor.userId, actor.clientId),
  ]);
  const refusal = await evaluate(db, row, cost, funds, free ?? 0, limit);
  const available = funds.balance + funds.credit;
  return {
    instanceId: row.id,
    name: row.name,
    hours,
    cost,
    rates: hourlyRates(rateCard(row)),
    regionId: row.region_id,
    gpusNeeded: row.gpu_count,
    freeGpus: free ?? 0,
    available,
    balanceAfter: refusal ? null : available - cost.total,
    expiresAfter: addHours(now, hours),
    deleteAt: row.delete_after!,
    wouldSucceed: refusal === null,
    reason: refusal?.message ?? null,
    reasonCode: refusal?.code ?? null,
    limit: limitQuote(limit, cost.total),
  };
}

export interface Resumed extends InstanceDetail {
  /** False when the instance was already running (a retried call): nothing was charged. */
  changed: boolean;
  /** What was charged; null when nothing changed. */
  charged: CostBreakdown | null;
  fundsAfter: Funds;
  /** GPUs of its plan left free in its region after this start. */
  freeGpusAfter: number;
}

/** Starts a paused instance for `hours` of new prepaid time, charged now. */
export async function startPausedInstance(db: Db, actor: Actor, instanceId: string, hours: number, clock: Clock): Promise<Resumed> {
  validateRentalHours(hours);
  const accountId = await resolveAccountId(db, actor, 'instance:start');
  // Plan, region, GPU count and prices never change, so they can be read before taking the locks in order.
  const peek = await findInstance(db, accountId, instanceId);
  const cost = rentalCost(rateCard(peek), hours);
  const resumed = await db.transaction().execute(async (trx): Promise<Resumed> => {
    const funds = await lockAccount(trx, accountId);
    const free = (await freeGpus(trx, { planId: peek.plan_id, regionId: peek.region_id }, true)) ?? 0;
    const row = await lockInstance(trx, accountId, instanceId);
    const now = clock.now();
    assertStartable(row, now);
    if (row.state === 'running') return { ...(await detailFor(trx, row)), changed: false, charged: null, fundsAfter: { ...funds }, freeGpusAfter: free };
    // The limit row is taken after the instance, as add-instance-hours does: only a real charge takes it.
    await enforceSpendingLimit(trx, actor, cost.total);
    const refusal = await evaluate(trx, row, cost, funds, free, null);
    if (refusal) throw refusal;
    const expiresAt = addHours(now, hours);
    const updated = await trx
      .updateTable('instances')
      .set({
        state: 'running',
        expires_at: expiresAt,
        rental_hours: hours,
        paused_at: null,
        delete_after: null,
        end_reason: null,
        updated_at: now,
        ...powerAction('resume', row, now),
      })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('region_capacity')
      .set((eb) => ({ free_gpus: eb('free_gpus', '-', row.gpu_count) }))
      .where('region_id', '=', row.region_id)
      .where('plan_id', '=', row.plan_id)
      .execute();
    await postCharge(trx, funds, cost.total, {
      accountId,
      instanceId: row.id,
      ...chargedBy(actor),
      description: `Instance "${row.name}": started from paused for ${hours} h`,
    });
    await writeLogs(trx, [
      {
        instanceId: row.id,
        at: now,
        source: 'billing',
        message: `Charged ${formatCredits(cost.total)} credits for ${hours} h (GPU ${formatCredits(cost.gpu)}, storage ${formatCredits(cost.storage)}); prepaid until ${expiresAt.toISOString()}`,
      },
      {
        instanceId: row.id,
        at: now,
        source: 'lifecycle',
        message: `Start requested from paused: ${row.gpu_count} GPUs reserved in ${row.region_id}, booting the kept disk`,
      },
    ]);
    return { ...(await detailFor(trx, { ...row, ...updated })), changed: true, charged: cost, fundsAfter: { ...funds }, freeGpusAfter: free - row.gpu_count };
  });
  if (resumed.changed) capacityChanged(db); // GPUs were reserved
  return resumed;
}
