// Reading instance rows the way every instance operation needs them: scoped to the actor's
// account, with deleted, foreign and malformed ids all reported as the same NotFoundError.
import type { Db } from '@pictor/platform/db';
import type { Actor } from '../actor.ts';
import type { LimitState } from '../app-limits.ts';
import type { Instance, LogSource } from '@pictor/migrations/schema';
import type { WorkerEvent } from '@pictor/platform/activity';
import { hourlyRates, rentalCost, type CostBreakdown, type HourlyRates, type RateCard } from '../billing.ts';
import { NotFoundError } from '../errors.ts';
import type { Trx } from '../ledger.ts';

type Reader = Db | Trx;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (id: string): boolean => UUID.test(id);

export const instanceNotFound = (): NotFoundError => new NotFoundError('Instance');

export interface InstanceRecord extends Instance {
  gpu_model: string;
  vram_gb: number;
  vcpu_per_gpu: number;
  ram_gb_per_gpu: number;
  region_name: string;
  region_location: string;
  image_name: string;
  image_os: string;
  image_cuda_version: string;
  image_frameworks: string[];
  image_default_ports: number[];
}

/** Instance rows joined with their plan and region, for building views. */
export function selectRecord(db: Reader) {
  return db
    .selectFrom('instances')
    .innerJoin('gpu_plans', 'gpu_plans.id', 'instances.plan_id')
    .innerJoin('regions', 'regions.id', 'instances.region_id')
    .innerJoin('images', 'images.id', 'instances.image_id')
    .selectAll('instances')
    .select([
      'gpu_plans.gpu_model',
      'gpu_plans.vram_gb',
      'gpu_plans.vcpu_per_gpu',
      'gpu_plans.ram_gb_per_gpu',
      'regions.name as region_name',
      'regions.location as region_location',
      'images.name as image_name',
      'images.os as image_os',
      'images.cuda_version as image_cuda_version',
      'images.frameworks as image_frameworks',
      'images.default_ports as image_default_ports',
    ]);
}

/** The account's instance, not deleted; otherwise NotFoundError('Instance'). */
export async function findInstance(db: Reader, accountId: string, id: string): Promise<InstanceRecord> {
  if (!isUuid(id)) throw instanceNotFound();
  const row = await selectRecord(db)
    .where('instances.id', '=', id)
    .where('instances.account_id', '=', accountId)
    .where('instances.state', '!=', 'deleted')
    .executeTakeFirst();
  if (!row) throw instanceNotFound();
  return row;
}

/**
 * Same as findInstance, holding the instance row lock until the transaction ends. Lock order
 * everywhere: account row, then region_capacity, then instance — take those first if needed.
 */
export async function lockInstance(trx: Trx, accountId: string, id: string): Promise<InstanceRecord> {
  if (!isUuid(id)) throw instanceNotFound();
  const row = await selectRecord(trx)
    .where('instances.id', '=', id)
    .where('instances.account_id', '=', accountId)
    .where('instances.state', '!=', 'deleted')
    .forUpdate('instances')
    .executeTakeFirst();
  if (!row) throw instanceNotFound();
  return row;
}

export function rateCard(row: Pick<Instance, 'gpu_count' | 'price_per_gpu_hour' | 'storage_gb' | 'storage_price_per_gb_month'>): RateCard {
  return {
    gpuCount: row.gpu_count,
    pricePerGpuHour: row.price_per_gpu_hour,
    storageGb: row.storage_gb,
    storagePricePerGbMonth: row.storage_price_per_gb_month,
  };
}

export interface LogLine {
  instanceId: string;
  at: Date;
  source: LogSource;
  message: string;
}

/** Appends log lines in one statement; order within the call is kept. */
export async function writeLogs(db: Reader, lines: LogLine[]): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insertInto('instance_logs')
    .values(lines.map((l) => ({ instance_id: l.instanceId, at: l.at, source: l.source, message: l.message })))
    .execute();
}

export interface WorkerActivity {
  instance: Pick<Instance, 'id' | 'account_id' | 'created_by' | 'auto_renew_user_id'>;
  at: Date;
  event: WorkerEvent;
  detail: Record<string, unknown>;
}

/**
 * Activity entries for what the lifecycle worker did to instances (paused one, deleted a paused
 * one), so the account's activity log shows them. Recorded for the person who turned auto-renew on,
 * else the creator; through no app. Skipped when neither person exists any more.
 */
export async function writeWorkerActivity(db: Reader, entries: WorkerActivity[]): Promise<void> {
  const rows = entries.flatMap((e) => {
    const userId = e.instance.auto_renew_user_id ?? e.instance.created_by;
    return userId === null
      ? []
      : [
          {
            at: e.at,
            user_id: userId,
            client_id: null,
            account_id: e.instance.account_id,
            tool: e.event,
            target_id: e.instance.id,
            amount_micro: 0n,
            outcome: 'ok',
            detail: JSON.stringify(e.detail),
          },
        ];
  });
  if (rows.length > 0) await db.insertInto('activity').values(rows).execute();
}

export interface InstanceView {
  id: string;
  name: string;
  state: Instance['state'];
  planId: string;
  gpuModel: string;
  vramGb: number;
  gpuCount: number;
  vcpus: number;
  ramGb: number;
  regionId: string;
  regionLocation: string;
  storageGb: number;
  rentalHours: number;
  autoRenew: boolean;
  createdAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  /** Why it ended, or (while paused) why it was paused. */
  endReason: string | null;
  /** While paused: when it was paused, and when it is deleted unless started with rental_hours. */
  pausedAt: Date | null;
  deleteAt: Date | null;
  /** A power action the hardware has not finished yet (e.g. 'start' while booting). */
  pendingAction: Instance['pending_action'];
  ssh: { host: string; port: number; user: string; command: string } | null;
  image: { id: string; name: string };
  /** Exposed HTTP ports; each one's public URL only while the instance is running. */
  ports: PortView[];
  /** Names of the environment variables set at creation (values are never read back). */
  envNames: string[];
  hasStartupScript: boolean;
  /** Prices copied onto the instance at creation. */
  rates: HourlyRates;
  /** What one renewal (rental_hours) costs at those prices. */
  renewalCost: CostBreakdown;
}

export interface PortView {
  port: number;
  /** 'image': opened by the image by default; 'requested': asked for at creation. */
  source: 'image' | 'requested';
  url: string | null;
}

export const SSH_USER = 'root';

function portViews(row: InstanceRecord): PortView[] {
  const urls = new Map((row.state === 'running' ? (row.exposed_ports ?? []) : []).map((p) => [p.port, p.url]));
  return row.ports.map((port) => ({ port, source: row.image_default_ports.includes(port) ? 'image' : 'requested', url: urls.get(port) ?? null }));
}

export function toView(row: InstanceRecord): InstanceView {
  const rate = rateCard(row);
  const ssh =
    row.ssh_host !== null && row.ssh_port !== null && row.state !== 'expired' && row.state !== 'paused'
      ? { host: row.ssh_host, port: row.ssh_port, user: SSH_USER, command: `ssh -p ${row.ssh_port} ${SSH_USER}@${row.ssh_host}` }
      : null;
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    planId: row.plan_id,
    gpuModel: row.gpu_model,
    vramGb: row.vram_gb,
    gpuCount: row.gpu_count,
    vcpus: row.vcpu_per_gpu * row.gpu_count,
    ramGb: row.ram_gb_per_gpu * row.gpu_count,
    regionId: row.region_id,
    regionLocation: row.region_location,
    storageGb: row.storage_gb,
    rentalHours: row.rental_hours,
    autoRenew: row.auto_renew,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    endReason: row.end_reason,
    pausedAt: row.paused_at,
    deleteAt: row.delete_after,
    pendingAction: row.pending_action,
    ssh,
    image: { id: row.image_id, name: row.image_name },
    ports: portViews(row),
    envNames: [...row.env_names],
    hasStartupScript: row.has_startup_script,
    rates: hourlyRates(rate),
    renewalCost: rentalCost(rate, row.rental_hours),
  };
}

/** The app and person a renewal of this instance is charged to: whoever turned auto-renew on. */
export function autoRenewBy(actor: Actor): { auto_renew_client_id: string | null; auto_renew_user_id: string | null } {
  return { auto_renew_client_id: actor.clientId ?? null, auto_renew_user_id: actor.clientId === undefined ? null : actor.userId };
}

export interface LimitQuote {
  limit: bigint;
  spentLast24h: bigint;
  /** What the app may still spend after this charge; null when the charge would pass the limit. */
  headroomAfter: bigint | null;
}

/** A dry run's view of the app's limit for a charge of `amount`. */
export function limitQuote(state: LimitState | null, amount: bigint): LimitQuote | null {
  if (!state) return null;
  const after = state.limit - state.spent - amount;
  return { limit: state.limit, spentLast24h: state.spent, headroomAfter: after >= 0n ? after : null };
}
