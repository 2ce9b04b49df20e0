// The GPU catalog: plans (GPU model, size, prices, allowed counts, storage limits) offered in
// regions with capacity. Read by everyone; changed only by operators (catalog-admin.ts).
//
// The catalog tools answer from a per-process copy of plans, regions and free capacity at most a
// second old (caches.ts says when it is dropped and why that is safe). Reads inside a transaction
// never use the copy.
import { runPrepared, type Db, type Statement } from '@pictor/platform/db';
import type { GpuPlan } from '@pictor/migrations/schema';
import { catalogCopy } from './caches.ts';
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

interface CapacityRow {
  region_id: string;
  plan_id: string;
  total_gpus: number;
  free_gpus: number;
}

interface CatalogCopy {
  /** Every plan, retired ones too, cheapest first. */
  plans: GpuPlan[];
  regions: Region[];
  /** Every region × plan row, by region then plan. */
  capacity: CapacityRow[];
}

const CAPACITY: Statement = {
  name: 'pictor_capacity',
  text: 'SELECT region_id, plan_id, total_gpus, free_gpus FROM region_capacity ORDER BY region_id, plan_id',
};

const queryPlans = (db: Reader) => db.selectFrom('gpu_plans').selectAll().orderBy('price_per_gpu_hour').orderBy('id').execute();
const queryRegions = (db: Reader) => db.selectFrom('regions').select(['id', 'name', 'location']).orderBy('id').execute();
const queryCapacity = (db: Reader) => runPrepared<CapacityRow>(db, CAPACITY, []);

async function loadCatalog(db: Db): Promise<CatalogCopy> {
  const [plans, regions, capacity] = await Promise.all([queryPlans(db), queryRegions(db), queryCapacity(db)]);
  // shared by every caller until the next refresh: frozen, so a caller cannot change it for others
  for (const p of plans) {
    Object.freeze(p.allowed_gpu_counts);
    Object.freeze(p);
  }
  for (const row of [...regions, ...capacity]) Object.freeze(row);
  return { plans: Object.freeze(plans) as GpuPlan[], regions: Object.freeze(regions) as Region[], capacity: Object.freeze(capacity) as CapacityRow[] };
}

const copyOf = (db: Db): Promise<CatalogCopy> => catalogCopy(db, () => loadCatalog(db));

// Inside a transaction each read goes to the database, under that transaction.
const plansOf = async (db: Reader) => (db.isTransaction ? queryPlans(db) : (await copyOf(db)).plans);
const regionsOf = async (db: Reader) => (db.isTransaction ? queryRegions(db) : (await copyOf(db)).regions);
const capacityOf = async (db: Reader) => (db.isTransaction ? queryCapacity(db) : (await copyOf(db)).capacity);

export async function listRegions(db: Reader): Promise<Region[]> {
  return regionsOf(db);
}

/** The region with this id (case-insensitive), or an InvalidInputError naming the known ones. */
export async function resolveRegion(db: Reader, regionId: string, field = 'region'): Promise<Region> {
  const regions = await listRegions(db);
  const wanted = regionId.trim().toLowerCase();
  const region = regions.find((r) => r.id === wanted);
  if (!region) {
    throw new InvalidInputError(
      field,
      `unknown region "${regionId.trim().slice(0, 40)}"; choose one of ${regions.map((r) => `${r.id} (${r.location})`).join(', ')}`,
      { allowed: regions.map((r) => r.id) },
    );
  }
  return region;
}

/**
 * The active plan named by its id ("h100-80gb") or, when unambiguous, by its GPU model ("H100",
 * "rtx 4090"). Unknown or ambiguous names are refused naming the plans to choose from.
 */
export async function resolvePlan(db: Reader, planOrModel: string, field = 'plan'): Promise<GpuPlan> {
  const plans = (await plansOf(db)).filter((p) => p.active).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const wanted = planOrModel.trim().toLowerCase();
  const exact = plans.find((p) => p.id === wanted || p.gpu_model.toLowerCase() === wanted);
  if (exact) return exact;
  const matches = plans.filter((p) => matchesModel(p, planOrModel));
  if (matches.length === 1) return matches[0]!;
  const choices = (matches.length > 1 ? matches : plans).map((p) => `${p.id} (${p.gpu_model})`).join(', ');
  throw new InvalidInputError(
    field,
    matches.length > 1
      ? `"${planOrModel.trim().slice(0, 40)}" matches several plans; choose one of ${choices}`
      : `unknown GPU plan "${planOrModel.trim().slice(0, 40)}"; choose one of ${choices}`,
    { allowed: (matches.length > 1 ? matches : plans).map((p) => p.id) },
  );
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
  const [all, regionList, capacity] = await Promise.all([plansOf(db), regionsOf(db), capacityOf(db)]);
  const region = filter.region === undefined ? undefined : await resolveRegion(db, filter.region);
  let plans = filter.includeInactive ? all : all.filter((p) => p.active);
  if (filter.model !== undefined) plans = plans.filter((p) => matchesModel(p, filter.model!));
  if (plans.length === 0) return [];
  const regions = new Map(regionList.map((r) => [r.id, r]));
  const byPlan = new Map<string, PlanRegion[]>();
  for (const r of capacity) {
    const where = regions.get(r.region_id);
    if (!where || (region && r.region_id !== region.id)) continue;
    const list = byPlan.get(r.plan_id) ?? [];
    list.push({ ...where, totalGpus: r.total_gpus, freeGpus: r.free_gpus });
    byPlan.set(r.plan_id, list);
  }
  return plans.filter((p) => !region || byPlan.has(p.id)).map((p) => toView(p, byPlan.get(p.id) ?? []));
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
  const [capacity, regionList] = await Promise.all([capacityOf(db), regionsOf(db)]);
  const names = new Map(regionList.map((r) => [r.id, r]));
  const regions: RegionAvailability[] = capacity
    .filter((r) => r.plan_id === plan.id && names.has(r.region_id))
    .map((r) => ({ ...names.get(r.region_id)!, freeGpus: r.free_gpus, available: r.free_gpus >= query.gpuCount }))
    .sort((a, b) => b.freeGpus - a.freeGpus || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const asked = region ? regions.find((r) => r.id === region.id) : undefined;
  const available = region ? asked?.available === true : regions.some((r) => r.available);
  const freeGpus = region ? (asked?.freeGpus ?? 0) : Math.max(0, ...regions.map((r) => r.freeGpus));
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
