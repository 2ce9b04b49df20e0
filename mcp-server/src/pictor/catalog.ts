// The GPU catalog: plans (GPU model, size, prices, allowed counts, storage limits) offered in
// regions with capacity. Read by everyone; changed only by operators (catalog-admin.ts).
import type { Db } from '@pictor/migrations/db';
import type { GpuPlan } from '@pictor/migrations/schema';
import { InvalidInputError } from './errors.ts';
import type { Trx } from './ledger.ts';

type Reader = Db | Trx;

export interface Region {
  id: string;
  name: string;
  location: string;
}

export interface PlanRegion extends Region {
  totalGpus: number;
  freeGpus: number;
}

export interface PlanView {
  id: string;
  gpuModel: string;
  vramGb: number;
  vcpuPerGpu: number;
  ramGbPerGpu: number;
  pricePerGpuHour: bigint;
  allowedGpuCounts: number[];
  minStorageGb: number;
  maxStorageGb: number;
  storagePricePerGbMonth: bigint;
  active: boolean;
  regions: PlanRegion[];
}

export interface PlanFilter {
  /** A region id such as "us-east". */
  region?: string;
  /** Matches a plan id or GPU model, case-insensitively and ignoring spaces ("h100", "RTX 4090"). */
  model?: string;
  /** Operators also see retired plans. */
  includeInactive?: boolean;
}

const squash = (text: string): string => text.toLowerCase().replace(/[\s_-]+/g, '');

function matchesModel(plan: Pick<GpuPlan, 'id' | 'gpu_model'>, query: string): boolean {
  const q = squash(query);
  return q.length > 0 && (squash(plan.id).includes(q) || squash(plan.gpu_model).includes(q));
}

export async function listRegions(db: Reader): Promise<Region[]> {
  return db.selectFrom('regions').select(['id', 'name', 'location']).orderBy('id').execute();
}

/** The region with this id (case-insensitive), or an InvalidInputError naming the known ones. */
export async function resolveRegion(db: Reader, regionId: string, field = 'region'): Promise<Region> {
  const regions = await listRegions(db);
  const wanted = regionId.trim().toLowerCase();
  const region = regions.find((r) => r.id === wanted);
  if (!region) {
    throw new InvalidInputError(field, `unknown region "${regionId.trim().slice(0, 40)}"; choose one of ${regions.map((r) => `${r.id} (${r.location})`).join(', ')}`,
      { allowed: regions.map((r) => r.id) });
  }
  return region;
}

/**
 * The active plan named by its id ("h100-80gb") or, when unambiguous, by its GPU model ("H100",
 * "rtx 4090"). Unknown or ambiguous names are refused naming the plans to choose from.
 */
export async function resolvePlan(db: Reader, planOrModel: string, field = 'plan'): Promise<GpuPlan> {
  const plans = await db.selectFrom('gpu_plans').selectAll().where('active', '=', true).orderBy('id').execute();
  const wanted = planOrModel.trim().toLowerCase();
  const exact = plans.find((p) => p.id === wanted || p.gpu_model.toLowerCase() === wanted);
  if (exact) return exact;
  const matches = plans.filter((p) => matchesModel(p, planOrModel));
  if (matches.length === 1) return matches[0]!;
  const choices = (matches.length > 1 ? matches : plans).map((p) => `${p.id} (${p.gpu_model})`).join(', ');
  throw new InvalidInputError(field, matches.length > 1
    ? `"${planOrModel.trim().slice(0, 40)}" matches several plans; choose one of ${choices}`
    : `unknown GPU plan "${planOrModel.trim().slice(0, 40)}"; choose one of ${choices}`,
  { allowed: (matches.length > 1 ? matches : plans).map((p) => p.id) });
}

function toView(plan: GpuPlan, regions: PlanRegion[]): PlanView {
  return {
    id: plan.id,
    gpuModel: plan.gpu_model,
    vramGb: plan.vram_gb,
    vcpuPerGpu: plan.vcpu_per_gpu,
    ramGbPerGpu: plan.ram_gb_per_gpu,
    pricePerGpuHour: plan.price_per_gpu_hour,
    allowedGpuCounts: [...plan.allowed_gpu_counts].sort((a, b) => a - b),
    minStorageGb: plan.min_storage_gb,
    maxStorageGb: plan.max_storage_gb,
    storagePricePerGbMonth: plan.storage_price_per_gb_month,
    active: plan.active,
    regions,
  };
}

/** Plans with the regions offering them and their free GPUs, cheapest first. */
export async function listPlans(db: Reader, filter: PlanFilter = {}): Promise<PlanView[]> {
  const region = filter.region === undefined ? undefined : await resolveRegion(db, filter.region);
  let query = db.selectFrom('gpu_plans').selectAll();
  if (!filter.includeInactive) query = query.where('active', '=', true);
  let plans = await query.orderBy('price_per_gpu_hour').orderBy('id').execute();
  if (filter.model !== undefined) plans = plans.filter((p) => matchesModel(p, filter.model!));
  if (plans.length === 0) return [];
  let capacity = db.selectFrom('region_capacity').innerJoin('regions', 'regions.id', 'region_capacity.region_id')
    .select(['region_capacity.plan_id', 'regions.id', 'regions.name', 'regions.location', 'region_capacity.total_gpus', 'region_capacity.free_gpus'])
    .where('region_capacity.plan_id', 'in', plans.map((p) => p.id));
  if (region) capacity = capacity.where('regions.id', '=', region.id);
  const rows = await capacity.orderBy('regions.id').execute();
  const byPlan = new Map<string, PlanRegion[]>();
  for (const r of rows) {
    const list = byPlan.get(r.plan_id) ?? [];
    list.push({ id: r.id, name: r.name, location: r.location, totalGpus: r.total_gpus, freeGpus: r.free_gpus });
    byPlan.set(r.plan_id, list);
  }
  return plans
    .filter((p) => !region || byPlan.has(p.id))
    .map((p) => toView(p, byPlan.get(p.id) ?? []));
}

/** Refuses a GPU count the plan does not offer, naming the allowed ones. */
export function assertGpuCount(plan: Pick<GpuPlan, 'id' | 'allowed_gpu_counts'>, gpuCount: number, field = 'gpu_count'): void {
  if (!plan.allowed_gpu_counts.includes(gpuCount)) {
    const allowed = [...plan.allowed_gpu_counts].sort((a, b) => a - b);
    throw new InvalidInputError(field, `${plan.id} offers ${allowed.join(', ')} GPUs per instance, not ${gpuCount}`, { allowed });
  }
}

export interface AvailabilityQuery {
  /** Plan id or GPU model. */
  gpu: string;
  gpuCount: number;
  region?: string;
}

export interface RegionAvailability extends Region {
  freeGpus: number;
  available: boolean;
}

export interface Availability {
  planId: string;
  gpuModel: string;
  gpuCount: number;
  /** The region asked about, or null when any region was acceptable. */
  region: string | null;
  available: boolean;
  /** Free GPUs in the region asked about (or the most free in any region). */
  freeGpus: number;
  /** Regions that can host the request, other than the one asked about. */
  alternatives: RegionAvailability[];
  /** Every region offering the plan. */
  regions: RegionAvailability[];
  /** gpu_count × price per GPU-hour. */
  gpuPricePerHour: bigint;
  pricePerGpuHour: bigint;
  storagePricePerGbMonth: bigint;
  minStorageGb: number;
  maxStorageGb: number;
}

/** Whether `gpuCount` GPUs of a plan are free now, where, and at what hourly price. */
export async function checkAvailability(db: Reader, query: AvailabilityQuery): Promise<Availability> {
  const plan = await resolvePlan(db, query.gpu, 'gpu');
  assertGpuCount(plan, query.gpuCount);
  const region = query.region === undefined ? undefined : await resolveRegion(db, query.region);
  const rows = await db.selectFrom('region_capacity').innerJoin('regions', 'regions.id', 'region_capacity.region_id')
    .select(['regions.id', 'regions.name', 'regions.location', 'region_capacity.free_gpus'])
    .where('region_capacity.plan_id', '=', plan.id).orderBy('region_capacity.free_gpus', 'desc').orderBy('regions.id').execute();
  const regions: RegionAvailability[] = rows.map((r) => ({
    id: r.id, name: r.name, location: r.location, freeGpus: r.free_gpus, available: r.free_gpus >= query.gpuCount,
  }));
  const asked = region ? regions.find((r) => r.id === region.id) : undefined;
  const available = region ? asked?.available === true : regions.some((r) => r.available);
  const freeGpus = region ? asked?.freeGpus ?? 0 : Math.max(0, ...regions.map((r) => r.freeGpus));
  return {
    planId: plan.id,
    gpuModel: plan.gpu_model,
    gpuCount: query.gpuCount,
    region: region?.id ?? null,
    available,
    freeGpus,
    alternatives: regions.filter((r) => r.available && r.id !== region?.id),
    regions,
    gpuPricePerHour: BigInt(query.gpuCount) * plan.price_per_gpu_hour,
    pricePerGpuHour: plan.price_per_gpu_hour,
    storagePricePerGbMonth: plan.storage_price_per_gb_month,
    minStorageGb: plan.min_storage_gb,
    maxStorageGb: plan.max_storage_gb,
  };
}
