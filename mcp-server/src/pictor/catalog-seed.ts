// The default GPU catalog: six plans over three regions. Seeding only fills an EMPTY catalog, so
// an operator's later changes (prices, capacity, retired plans) are never overwritten at start.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { GpuPlansTable, RegionCapacityTable, RegionsTable } from '@pictor/migrations/schema';
import { catalogChanged } from './caches.ts';
import { parseCredits } from '@pictor/platform/money';

const credits = (text: string): bigint => {
  const micro = parseCredits(text);
  if (micro === null) throw new Error(`bad seed price ${text}`);
  return micro;
};

export const SEED_REGIONS: RegionsTable[] = [
  { id: 'us-east', name: 'US East', location: 'Ashburn, US' },
  { id: 'eu-west', name: 'EU West', location: 'Amsterdam, NL' },
  { id: 'ap-southeast', name: 'Asia Pacific Southeast', location: 'Singapore' },
];

const STORAGE = credits('0.10'); // per GB-month
const DATACENTER = { allowed_gpu_counts: [1, 2, 4, 8], min_storage_gb: 100, max_storage_gb: 8000, storage_price_per_gb_month: STORAGE };
const CONSUMER = { allowed_gpu_counts: [1, 2, 4, 8], min_storage_gb: 50, max_storage_gb: 4000, storage_price_per_gb_month: STORAGE };

export const SEED_PLANS: Array<Omit<GpuPlansTable, 'active'>> = [
  { id: 'h100-80gb', gpu_model: 'H100 80GB', vram_gb: 80, vcpu_per_gpu: 20, ram_gb_per_gpu: 200, price_per_gpu_hour: credits('2.49'), ...DATACENTER },
  { id: 'h200-141gb', gpu_model: 'H200 141GB', vram_gb: 141, vcpu_per_gpu: 24, ram_gb_per_gpu: 250, price_per_gpu_hour: credits('3.49'), ...DATACENTER },
  { id: 'a100-80gb', gpu_model: 'A100 80GB', vram_gb: 80, vcpu_per_gpu: 16, ram_gb_per_gpu: 120, price_per_gpu_hour: credits('1.59'), ...DATACENTER },
  { id: 'l40s-48gb', gpu_model: 'L40S 48GB', vram_gb: 48, vcpu_per_gpu: 12, ram_gb_per_gpu: 64, price_per_gpu_hour: credits('0.99'), ...DATACENTER },
  { id: 'rtx4090-24gb', gpu_model: 'RTX 4090 24GB', vram_gb: 24, vcpu_per_gpu: 8, ram_gb_per_gpu: 48, price_per_gpu_hour: credits('0.49'), ...CONSUMER },
  { id: 'rtx5090-32gb', gpu_model: 'RTX 5090 32GB', vram_gb: 32, vcpu_per_gpu: 8, ram_gb_per_gpu: 64, price_per_gpu_hour: credits('0.79'), ...CONSUMER },
];

/** Total GPUs per region and plan; a plan missing from a region is not offered there. */
const SEED_TOTALS: Record<string, Record<string, number>> = {
  'us-east': { 'h100-80gb': 64, 'h200-141gb': 32, 'a100-80gb': 48, 'l40s-48gb': 32, 'rtx4090-24gb': 48, 'rtx5090-32gb': 24 },
  'eu-west': { 'h100-80gb': 32, 'h200-141gb': 16, 'a100-80gb': 32, 'l40s-48gb': 24, 'rtx4090-24gb': 32, 'rtx5090-32gb': 16 },
  'ap-southeast': { 'h100-80gb': 16, 'a100-80gb': 16, 'l40s-48gb': 16, 'rtx4090-24gb': 24 },
};

export const SEED_CAPACITY: RegionCapacityTable[] = Object.entries(SEED_TOTALS).flatMap(([region_id, plans]) =>
  Object.entries(plans).map(([plan_id, total]) => ({ region_id, plan_id, total_gpus: total, free_gpus: total })),
);

/**
 * Fills an empty catalog with the default plans, regions and capacity. Returns whether it did.
 * Safe when several replicas start at once: a transaction-scoped advisory lock serializes them.
 */
export async function seedCatalog(db: Db): Promise<boolean> {
  const seeded = await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('pictor:catalog-seed'))`.execute(trx);
    const existing = await trx.selectFrom('gpu_plans').select('id').limit(1).executeTakeFirst();
    const regions = await trx.selectFrom('regions').select('id').limit(1).executeTakeFirst();
    if (existing || regions) return false;
    await trx.insertInto('regions').values(SEED_REGIONS).execute();
    await trx.insertInto('gpu_plans').values(SEED_PLANS).execute();
    await trx.insertInto('region_capacity').values(SEED_CAPACITY).execute();
    return true;
  });
  if (seeded) catalogChanged(db);
  return seeded;
}
