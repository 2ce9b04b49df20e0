// Expiry and auto-renewal. At expires_at an instance either renews for rental_hours (auto-renew on
// and the account covers it: one charge, expiry moved out) or pauses (state paused, GPUs freed, disk
// kept until delete_after, nothing charged; a log line and an activity entry say why and when it is
// deleted — retention.ts deletes it then). Safe with many workers at once:
//   1. the scheduler (worker/due.ts) locks a batch of accounts that have due instances, FOR UPDATE
//      SKIP LOCKED, inside this pass's transaction (another worker's accounts are skipped);
//   2. lock the region_capacity rows pauses will need, then the due instances, and re-check
//      "still due" under those locks — lock order account → region_capacity → instance, as everywhere;
//   3. write every charge, expiry, capacity change and log line of the batch in a few statements.
// A renewal moves expires_at past now, so a second worker re-checking under the lock finds nothing.
// A renewal is charged to the app (and person) that turned auto-renew on and counts against that
// app's daily spending limit (app-limits.ts); its limit rows are locked after the accounts.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { appKey, lockLimits, type LimitState } from '../app-limits.ts';
import { addHours, rentalCost, type CostBreakdown } from '../billing.ts';
import { capacityChanged } from '../caches.ts';
import { postChargesBatch, splitCharge, type Funds, type Spent, type Trx } from '../ledger.ts';
import { formatCredits } from '@pictor/platform/money';
import { rateCard, writeLogs, writeWorkerActivity, type LogLine } from './records.ts';
import { ACTIVE_STATES } from './state.ts';

export interface DueInstance {
  id: string;
  account_id: string;
  name: string;
  region_id: string;
  plan_id: string;
  gpu_count: number;
  storage_gb: number;
  price_per_gpu_hour: bigint;
  storage_price_per_gb_month: bigint;
  rental_hours: number;
  auto_renew: boolean;
  expires_at: Date;
  auto_renew_client_id: string | null;
  auto_renew_user_id: string | null;
  created_by: string | null;
}

/** The limit key of the app a renewal is charged to, or null when no app turned auto-renew on. */
const renewalApp = (i: DueInstance): string | null =>
  i.auto_renew_client_id !== null && i.auto_renew_user_id !== null ? appKey(i.auto_renew_user_id, i.auto_renew_client_id) : null;

export type Decision =
  | { kind: 'renew'; instance: DueInstance; cost: CostBreakdown; spent: Spent; expiresAt: Date }
  /** `why` opens the log line; what happens to the GPUs and disk is added when applied. */
  | { kind: 'pause'; instance: DueInstance; reason: string; why: string };

/**
 * Decides each due instance in order (earliest expiry first per account), walking each account's
 * funds and each app's limit as if the renewals before it had been charged. Pure: the caller holds
 * the locks. `limits` has every app key of `due` (null: no limit).
 */
export function planDue(funds: Map<string, Funds>, due: DueInstance[], limits: Map<string, LimitState | null> = new Map()): Decision[] {
  const left = new Map([...funds].map(([id, f]) => [id, { ...f }]));
  const spent = new Map<string, LimitState>([...limits].flatMap(([key, l]): Array<[string, LimitState]> => (l ? [[key, { ...l }]] : [])));
  return due.map((instance): Decision => {
    if (!instance.auto_renew) {
      return { kind: 'pause', instance, reason: 'auto-renew off', why: 'Paused: the prepaid period ended and auto-renew is off' };
    }
    const cost = rentalCost(rateCard(instance), instance.rental_hours);
    const account = left.get(instance.account_id) ?? { balance: 0n, credit: 0n };
    const available = account.balance + account.credit;
    if (available < cost.total) {
      const short = formatCredits(cost.total - available);
      return {
        kind: 'pause',
        instance,
        reason: `insufficient balance for renewal (short by ${short} credits)`,
        why: `Paused: auto-renew for ${instance.rental_hours} h needs ${formatCredits(cost.total)} credits but the account has ${formatCredits(available)} (short by ${short})`,
      };
    }
    const key = renewalApp(instance);
    const limit = key === null ? undefined : spent.get(key);
    if (limit && limit.spent + cost.total > limit.limit) {
      const room = limit.limit > limit.spent ? limit.limit - limit.spent : 0n;
      return {
        kind: 'pause',
        instance,
        reason: `the spending limit of the app that turned auto-renew on (${formatCredits(limit.spent)} of ${formatCredits(limit.limit)} credits spent in the last 24 h)`,
        why: `Paused: auto-renew for ${instance.rental_hours} h needs ${formatCredits(cost.total)} credits but the app that turned auto-renew on may spend only ${formatCredits(room)} more (its limit is ${formatCredits(limit.limit)} credits per 24 h, ${formatCredits(limit.spent)} spent); the limit can be raised under Connected apps`,
      };
    }
    const paid = splitCharge(account, cost.total);
    account.credit -= paid.fromCredit;
    account.balance -= paid.fromBalance;
    if (limit) limit.spent += cost.total;
    return { kind: 'renew', instance, cost, spent: paid, expiresAt: addHours(instance.expires_at, instance.rental_hours) };
  });
}

const DUE_COLUMNS = [
  'id',
  'account_id',
  'name',
  'region_id',
  'plan_id',
  'gpu_count',
  'storage_gb',
  'price_per_gpu_hour',
  'storage_price_per_gb_month',
  'rental_hours',
  'auto_renew',
  'expires_at',
  'auto_renew_client_id',
  'auto_renew_user_id',
  'created_by',
] as const;

const pairKey = (i: Pick<DueInstance, 'region_id' | 'plan_id'>): string => `${i.region_id}\u0000${i.plan_id}`;

async function lockCapacity(trx: Trx, decisions: Decision[]): Promise<Set<string>> {
  const pairs = [...new Map(decisions.filter((d) => d.kind === 'pause').map((d) => [pairKey(d.instance), d.instance])).values()].sort(
    (a, b) => a.region_id.localeCompare(b.region_id) || a.plan_id.localeCompare(b.plan_id),
  );
  if (pairs.length === 0) return new Set();
  const regions = pairs.map((p) => p.region_id);
  const plans = pairs.map((p) => p.plan_id);
  await sql`
    SELECT 1 FROM region_capacity rc
    JOIN unnest(${regions}::text[], ${plans}::text[]) AS v(region_id, plan_id)
      ON rc.region_id = v.region_id AND rc.plan_id = v.plan_id
    ORDER BY rc.region_id, rc.plan_id FOR UPDATE OF rc`.execute(trx);
  return new Set(pairs.map(pairKey));
}

export interface ExpiryPass {
  renewed: number;
  paused: number;
  /** Accounts this pass held; 0 means no unclaimed due work was found. */
  accounts: number;
}

export interface DueAccount {
  id: string;
  balance: bigint;
  credit: bigint;
}

/**
 * Locks (FOR UPDATE, inside the pass's transaction) some accounts that have due instances and
 * returns them with their funds; none when there is no unclaimed work. Which accounts is the
 * scheduler's choice (worker/due.ts).
 */
export type PickDueAccounts = (trx: Trx, now: Date, batchSize: number) => Promise<DueAccount[]>;

/**
 * Renews or pauses one batch of due instances of the accounts `pick` locks, in one transaction. A
 * paused instance keeps its disk for `retentionHours` (PAUSED_RETENTION_HOURS).
 */
export async function renewOrPauseDue(db: Db, now: Date, batchSize: number, pick: PickDueAccounts, retentionHours: number): Promise<ExpiryPass> {
  const pass = await db.transaction().execute(async (trx): Promise<ExpiryPass> => {
    const accounts = await pick(trx, now, batchSize);
    if (accounts.length === 0) return { renewed: 0, paused: 0, accounts: 0 };
    const funds = new Map(accounts.map((a) => [a.id, { balance: a.balance, credit: a.credit }]));
    const dueQuery = (ids: string[]) =>
      trx.selectFrom('instances').select(DUE_COLUMNS).where('id', 'in', ids).where('state', 'in', ACTIVE_STATES).where('expires_at', '<=', now);

    const candidates = await trx
      .selectFrom('instances')
      .select(DUE_COLUMNS)
      .where('account_id', 'in', [...funds.keys()])
      .where('state', 'in', ACTIVE_STATES)
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .orderBy('id')
      .limit(batchSize)
      .execute();
    if (candidates.length === 0) return { renewed: 0, paused: 0, accounts: accounts.length };
    const limits = await lockLimits(
      trx,
      candidates.flatMap((c) => (c.auto_renew && renewalApp(c) !== null ? [{ userId: c.auto_renew_user_id!, clientId: c.auto_renew_client_id! }] : [])),
    );
    const held = await lockCapacity(trx, planDue(funds, candidates, limits));
    const locked = (
      await dueQuery(candidates.map((c) => c.id))
        .orderBy('id')
        .forUpdate()
        .execute()
    )
      // auto-renew turned on by another app meanwhile: its limit is not held, so next pass
      .filter((i) => !i.auto_renew || renewalApp(i) === null || limits.has(renewalApp(i)!));
    locked.sort((a, b) => a.expires_at.getTime() - b.expires_at.getTime() || a.id.localeCompare(b.id));
    // A pause whose capacity row this pass does not hold (auto-renew was switched off meanwhile)
    // waits for the next pass; pauses spend nothing, so the other decisions stay valid.
    const decisions = planDue(funds, locked, limits).filter((d) => d.kind === 'renew' || held.has(pairKey(d.instance)));
    await apply(trx, decisions, now, addHours(now, retentionHours));
    return {
      renewed: decisions.filter((d) => d.kind === 'renew').length,
      paused: decisions.filter((d) => d.kind === 'pause').length,
      accounts: accounts.length,
    };
  });
  if (pass.paused > 0) capacityChanged(db); // GPUs were freed
  return pass;
}

async function apply(trx: Trx, decisions: Decision[], now: Date, deleteAt: Date): Promise<void> {
  const renewals = decisions.filter((d): d is Extract<Decision, { kind: 'renew' }> => d.kind === 'renew');
  const pauses = decisions.filter((d): d is Extract<Decision, { kind: 'pause' }> => d.kind === 'pause');
  const logs: LogLine[] = [];

  if (renewals.length > 0) {
    await postChargesBatch(
      trx,
      renewals.map((r) => ({
        accountId: r.instance.account_id,
        instanceId: r.instance.id,
        ...r.spent,
        createdBy: r.instance.auto_renew_user_id,
        clientId: r.instance.auto_renew_client_id,
        description: `Instance "${r.instance.name}": auto-renewed for ${r.instance.rental_hours} h`,
      })),
    );
    await sql`
      UPDATE instances i SET expires_at = v.expires_at, updated_at = ${now}
      FROM unnest(${renewals.map((r) => r.instance.id)}::uuid[], ${renewals.map((r) => r.expiresAt.toISOString())}::timestamptz[])
        AS v(id, expires_at)
      WHERE i.id = v.id`.execute(trx);
    for (const r of renewals) {
      logs.push({
        instanceId: r.instance.id,
        at: now,
        source: 'billing',
        message: `Renewed for ${r.instance.rental_hours} h, charged ${formatCredits(r.cost.total)} credits (GPU ${formatCredits(r.cost.gpu)}, storage ${formatCredits(r.cost.storage)}); now expires at ${r.expiresAt.toISOString()}`,
      });
    }
  }

  if (pauses.length > 0) {
    await sql`
      UPDATE instances i SET state = 'paused', paused_at = ${now}, delete_after = ${deleteAt}, end_reason = v.reason, updated_at = ${now},
        pending_action = 'pause', action_seq = i.action_seq + 1, action_requested_at = ${now}, action_due_at = ${now}
      FROM unnest(${pauses.map((e) => e.instance.id)}::uuid[], ${pauses.map((e) => e.reason)}::text[]) AS v(id, reason)
      WHERE i.id = v.id`.execute(trx);
    const freed = new Map<string, { region: string; plan: string; gpus: number }>();
    for (const e of pauses) {
      const entry = freed.get(pairKey(e.instance)) ?? { region: e.instance.region_id, plan: e.instance.plan_id, gpus: 0 };
      entry.gpus += e.instance.gpu_count;
      freed.set(pairKey(e.instance), entry);
      logs.push({
        instanceId: e.instance.id,
        at: now,
        source: 'lifecycle',
        message: `${e.why}; ${e.instance.gpu_count} GPUs released, disk kept. Nothing is charged while paused. It will be deleted at ${deleteAt.toISOString()} unless started again with start-instance and rental_hours`,
      });
    }
    await writeWorkerActivity(
      trx,
      pauses.map((e) => ({
        instance: e.instance,
        at: now,
        event: 'instance-paused',
        detail: { reason: e.reason, gpus_released: e.instance.gpu_count, delete_at: deleteAt.toISOString() },
      })),
    );
    const rows = [...freed.values()];
    await sql`
      UPDATE region_capacity rc SET free_gpus = rc.free_gpus + v.gpus
      FROM unnest(${rows.map((r) => r.region)}::text[], ${rows.map((r) => r.plan)}::text[], ${rows.map((r) => r.gpus)}::int[])
        AS v(region_id, plan_id, gpus)
      WHERE rc.region_id = v.region_id AND rc.plan_id = v.plan_id`.execute(trx);
  }
  await writeLogs(trx, logs);
}
