// The spending report: where an account's money went (from the ledger), what it costs per hour to
// keep what is rented now, how long the funds last at that rate, and what is leaking. Read-only;
// exact integers throughout (formatted once, by the tool).
//
// Definitions:
// - spend: instance charges (creation, added hours, renewals) and instance refunds in the ledger,
//   by UTC day over the last `days` calendar days (today included) and by instance;
// - per app: money moved by each app's calls in the last 24 h, from the activity log (renewals
//   are the worker's, not an app's call, and are not in it);
// - burn: what the instances rented now (provisioning, running or stopped: all hold their GPUs
//   and storage) cost per hour, at their own prices, storage per hour rounded up as charged.
//   Prepaid rentals are charged up front, so this is the rate of renting, not a meter;
// - runway: whole hours that balance + credit would pay at that burn (null when nothing is rented);
// - paused: instances whose prepaid time ended without renewal, each with when it is deleted and
//   what starting it again for its rental_hours costs (they hold no GPUs and cost nothing meanwhile).
import { sql } from 'kysely';
import type { Instance } from '@pictor/migrations/schema';
import { activityMoneyByApp, type AppMoney } from '@pictor/platform/activity';
import { appLimitsOfUser } from '@pictor/platform/app-limits';
import type { Db } from '@pictor/platform/db';
import { resolveAccountId } from './accounts.ts';
import type { Actor } from './actor.ts';
import { addHours, hourlyRates, refundFor, rentalCost, unusedWholeHours, type RateCard } from './billing.ts';
import type { Clock } from '@pictor/platform/clock';
import { InvalidInputError } from './errors.ts';
import { MIN_TOP_UP_CREDITS } from './inflow/payments.ts';
import { getFunds } from './ledger.ts';
import { formatCredits } from '@pictor/platform/money';
import { ACTIVE_STATES } from './instances/index.ts';

export const MAX_REPORT_DAYS = 90;
/** The report names at most this many instances (most spent first) and leaks, with the totals: a large account's report stays readable. */
export const MAX_REPORT_INSTANCES = 50;
const DAY_MS = 86_400_000;

export const LEAK_KINDS = ['stopped_holding_gpus', 'renewal_underfunded', 'running_without_ssh_key', 'expiring_within_hour'] as const;
export type LeakKind = (typeof LEAK_KINDS)[number];

export interface Leak {
  kind: LeakKind;
  instanceId: string;
  name: string;
  /** What it costs: per hour held (stopped, no key), the renewal (underfunded), an hour more (expiring). */
  cost: bigint;
  /** For an underfunded renewal: what the funds lack; for a stopped instance: the refund if deleted now. */
  amount: bigint | null;
  at: Date | null;
  message: string;
  fix: { tool: string; arguments: Record<string, unknown>; note: string };
}

export interface PausedInstance {
  instanceId: string;
  name: string;
  reason: string | null;
  pausedAt: Date;
  deleteAt: Date;
  rentalHours: number;
  /** What start-instance with its rental_hours would charge, at its prices. */
  restartCost: bigint;
  message: string;
}

export interface SpendingReport {
  teamId: string | null;
  from: Date;
  now: Date;
  perDay: Array<{ day: string; charged: bigint; refunded: bigint }>;
  /** The instances with charges or refunds in the window, most spent (net) first; at most MAX_REPORT_INSTANCES. */
  perInstance: Array<{ instanceId: string; name: string; state: string; charged: bigint; refunded: bigint }>;
  /** How many instances had charges or refunds in the window (perInstance shows the first ones). */
  instancesInWindow: number;
  /** Each app's money on this account, with the person's limit for it: spent counts every workspace. */
  perApp: Array<AppMoney & { limit: { daily: bigint | null; spent: bigint } | null }>;
  balance: bigint;
  credit: bigint;
  burnPerHour: bigint;
  runwayHours: number | null;
  leaks: Leak[];
  /** Paused instances, the one to be deleted first first. */
  paused: PausedInstance[];
}

type Rented = Pick<
  Instance,
  'id' | 'name' | 'state' | 'gpu_count' | 'storage_gb' | 'price_per_gpu_hour' | 'storage_price_per_gb_month' | 'rental_hours' | 'auto_renew' | 'expires_at'
> & { has_key: boolean };

const rate = (r: Pick<Instance, 'gpu_count' | 'price_per_gpu_hour' | 'storage_gb' | 'storage_price_per_gb_month'>): RateCard => ({
  gpuCount: r.gpu_count,
  pricePerGpuHour: r.price_per_gpu_hour,
  storageGb: r.storage_gb,
  storagePricePerGbMonth: r.storage_price_per_gb_month,
});

export async function spendingReport(db: Db, actor: Actor, days: number, clock: Clock): Promise<SpendingReport> {
  if (!Number.isInteger(days) || days < 1 || days > MAX_REPORT_DAYS) throw new InvalidInputError('days', `must be a whole number from 1 to ${MAX_REPORT_DAYS}`);
  const accountId = await resolveAccountId(db, actor, 'read');
  const now = clock.now();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const end = new Date(today + DAY_MS); // the window is whole UTC days, today's included

  // Both ledger reads walk only the window's entries of this account (ledger_account_time); names
  // are looked up for the instances shown, so the cost follows the window, not the history.
  const window = sql`l.account_id = ${accountId}::uuid AND l.created_at >= ${from} AND l.created_at < ${end}
    AND l.kind IN ('charge', 'refund') AND l.instance_id IS NOT NULL`;
  const sums = sql`coalesce(sum(-l.amount) FILTER (WHERE l.kind = 'charge'), 0)::bigint AS charged,
    coalesce(sum(l.amount) FILTER (WHERE l.kind = 'refund'), 0)::bigint AS refunded`;
  const [byDay, top, rented, funds, moneyByApp, limits, paused] = await Promise.all([
    sql<{ day: string; charged: bigint; refunded: bigint }>`
      SELECT to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${sums}
      FROM ledger_entries l WHERE ${window} GROUP BY 1`
      .execute(db)
      .then((r) => r.rows),
    sql<{ instance_id: string; name: string; state: string; charged: bigint; refunded: bigint; n: number }>`
      SELECT x.instance_id, i.name, i.state, x.charged, x.refunded, x.n FROM (
        SELECT l.instance_id, ${sums}, -sum(l.amount) AS net, count(*) OVER ()::int AS n
        FROM ledger_entries l WHERE ${window} GROUP BY 1
        ORDER BY net DESC, l.instance_id LIMIT ${MAX_REPORT_INSTANCES}) x
      -- one instance by key each (LIMIT 1 keeps the planner from hashing the whole table)
      JOIN LATERAL (SELECT name, state FROM instances WHERE id = x.instance_id LIMIT 1) i ON true
      ORDER BY x.net DESC, x.instance_id`
      .execute(db)
      .then((r) => r.rows),
    db
      .selectFrom('instances')
      .select([
        'id',
        'name',
        'state',
        'gpu_count',
        'storage_gb',
        'price_per_gpu_hour',
        'storage_price_per_gb_month',
        'rental_hours',
        'auto_renew',
        'expires_at',
      ])
      .select((eb) =>
        eb.exists(eb.selectFrom('instance_ssh_keys').select('ssh_key_id').whereRef('instance_ssh_keys.instance_id', '=', 'instances.id')).as('has_key'),
      )
      .where('account_id', '=', accountId)
      .where('state', 'in', [...ACTIVE_STATES])
      .orderBy('expires_at')
      .orderBy('id')
      .execute() as Promise<Rented[]>,
    getFunds(db, accountId),
    activityMoneyByApp(db, accountId, new Date(now.getTime() - DAY_MS)),
    appLimitsOfUser(db, actor.userId),
    db
      .selectFrom('instances')
      .select([
        'id',
        'name',
        'end_reason',
        'paused_at',
        'delete_after',
        'gpu_count',
        'storage_gb',
        'price_per_gpu_hour',
        'storage_price_per_gb_month',
        'rental_hours',
      ])
      .where('account_id', '=', accountId)
      .where('state', '=', 'paused')
      .orderBy('delete_after')
      .orderBy('id')
      .limit(MAX_REPORT_INSTANCES)
      .execute(),
  ]);
  const limitOf = new Map(limits.map((l) => [l.clientId, { daily: l.dailyLimit, spent: l.spentLast24h }]));
  const perApp = moneyByApp.map((a) => ({ ...a, limit: (a.clientId !== null && limitOf.get(a.clientId)) || null }));

  const perDay = Array.from({ length: days }, (_, i) => ({ day: new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10), charged: 0n, refunded: 0n }));
  for (const row of byDay) {
    const day = perDay.find((d) => d.day === row.day);
    if (day) {
      day.charged += row.charged;
      day.refunded += row.refunded;
    }
  }
  // net spend first (the SQL's order), the instance id breaking ties
  const perInstance = top.map((r) => ({ instanceId: r.instance_id, name: r.name, state: r.state, charged: r.charged, refunded: r.refunded }));

  const burnPerHour = rented.reduce((sum, r) => sum + hourlyRates(rate(r)).totalPerHour, 0n);
  const available = funds.balance + funds.credit;
  const runwayHours = burnPerHour > 0n ? Number(available / burnPerHour) : null;
  const team = actor.teamId === undefined ? {} : { team_id: actor.teamId };
  return {
    teamId: actor.teamId ?? null,
    from,
    now,
    perDay,
    perInstance,
    instancesInWindow: top[0]?.n ?? 0,
    perApp,
    balance: funds.balance,
    credit: funds.credit,
    burnPerHour,
    runwayHours,
    leaks: findLeaks(rented, available, now, team),
    paused: paused.map((p) => {
      const deleteAt = p.delete_after!;
      const restartCost = rentalCost(rate(p), p.rental_hours).total;
      return {
        instanceId: p.id,
        name: p.name,
        reason: p.end_reason,
        pausedAt: p.paused_at ?? deleteAt,
        deleteAt,
        rentalHours: p.rental_hours,
        restartCost,
        message: `"${p.name}" is paused (${p.end_reason ?? 'its prepaid time ended'}) and will be deleted with its disk at ${deleteAt.toISOString()}; starting it again for ${p.rental_hours} h costs ${formatCredits(restartCost)} credits (start-instance with rental_hours).`,
      };
    }),
  };
}

function findLeaks(rented: Rented[], available: bigint, now: Date, team: Record<string, unknown>): Leak[] {
  const leaks: Leak[] = [];
  for (const r of rented) {
    const perHour = hourlyRates(rate(r)).totalPerHour;
    const args = { ...team, instance_id: r.id };
    if (r.state === 'stopped') {
      const refund = refundFor(rate(r), unusedWholeHours(r.expires_at, now)).total;
      leaks.push({
        kind: 'stopped_holding_gpus',
        instanceId: r.id,
        name: r.name,
        cost: perHour,
        amount: refund,
        at: null,
        message: `"${r.name}" is stopped but still holds ${r.gpu_count} GPUs and ${r.storage_gb} GB, worth ${formatCredits(perHour)} credits an hour of its prepaid time; deleting it now refunds ${formatCredits(refund)} credits (its disk is wiped).`,
        fix: { tool: 'delete-instance', arguments: args, note: 'Confirm with the person first: the disk is wiped. Or start-instance to use it again.' },
      });
    }
    if (r.state === 'running' && !r.has_key) {
      leaks.push({
        kind: 'running_without_ssh_key',
        instanceId: r.id,
        name: r.name,
        cost: perHour,
        amount: null,
        at: null,
        message: `"${r.name}" is running with no SSH key attached, so nobody can log in; it costs ${formatCredits(perHour)} credits an hour.`,
        fix: { tool: 'add-ssh-keys-to-instance', arguments: args, note: 'Pass ssh_key_ids from list-ssh-keys (create-ssh-key first if there is none).' },
      });
    }
    if (!r.auto_renew && r.expires_at > now && r.expires_at.getTime() - now.getTime() <= 3_600_000) {
      const hour = rentalCost(rate(r), 1).total;
      leaks.push({
        kind: 'expiring_within_hour',
        instanceId: r.id,
        name: r.name,
        cost: hour,
        amount: null,
        at: r.expires_at,
        message: `"${r.name}" ends at ${r.expires_at.toISOString()} with auto-renew off: it pauses, its GPUs are released, and its disk is deleted after a grace period unless it is started again. One more hour costs ${formatCredits(hour)} credits.`,
        fix: {
          tool: 'add-instance-hours',
          arguments: { ...args, hours: 1, dry_run: true },
          note: 'Or enable-instance-auto-renew; or let it end if it is no longer needed.',
        },
      });
    }
  }
  // renewals the funds cannot cover first: what is about to be lost, before what only costs
  return [...underfundedRenewals(rented, available, now, team), ...leaks];
}

/**
 * The renewals of the next 24 h in the order the worker would make them (earliest expiry first,
 * an instance renewing again when its new period also ends within the day), walking the funds as
 * if each covered one were charged; the first an instance cannot cover is a leak: it expires then.
 */
function underfundedRenewals(rented: Rented[], available: bigint, now: Date, team: Record<string, unknown>): Leak[] {
  const horizon = now.getTime() + 24 * 3_600_000;
  const due = rented.filter((r) => r.auto_renew).map((r) => ({ r, at: r.expires_at, cost: rentalCost(rate(r), r.rental_hours).total }));
  const leaks: Leak[] = [];
  let left = available;
  for (;;) {
    due.sort((a, b) => a.at.getTime() - b.at.getTime() || a.r.id.localeCompare(b.r.id));
    const next = due[0];
    if (!next || next.at.getTime() > horizon) break;
    if (left >= next.cost) {
      left -= next.cost;
      next.at = addHours(next.at, next.r.rental_hours);
      continue;
    }
    const short = next.cost - left;
    leaks.push({
      kind: 'renewal_underfunded',
      instanceId: next.r.id,
      name: next.r.name,
      cost: next.cost,
      amount: short,
      at: next.at,
      message: `"${next.r.name}" auto-renews at ${next.at.toISOString()} for ${formatCredits(next.cost)} credits, but the funds will be short by ${formatCredits(short)}: it would pause (GPUs released; disk deleted after a grace period unless started again).`,
      fix: {
        tool: 'create-inflow-checkout',
        arguments: { ...team, amount: topUpFor(short) },
        note: 'Top up at least the shortfall (confirm the amount with the person), or disable-instance-auto-renew if it is not needed.',
      },
    });
    due.shift();
  }
  return leaks;
}

/** The shortfall as a top-up amount: whole cents, rounded up, at least the smallest top-up. */
function topUpFor(short: bigint): string {
  const cents = (short + 9_999n) / 10_000n;
  const minimum = BigInt(MIN_TOP_UP_CREDITS) * 100n;
  const c = cents > minimum ? cents : minimum;
  return `${c / 100n}.${(c % 100n).toString().padStart(2, '0')}`;
}
