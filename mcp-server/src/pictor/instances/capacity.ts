// Free GPUs of a plan in a region, and the refusal when there are too few: shared by create-instance
// and by starting a paused instance (which needs its GPUs back), so both say the same thing.
import type { Db } from '@pictor/platform/db';
import { CapacityUnavailableError } from '../errors.ts';
import type { Trx } from '../ledger.ts';

type Reader = Db | Trx;

export interface CapacityNeed {
  planId: string;
  gpuModel: string;
  regionId: string;
  gpuCount: number;
}

/** The region's free GPUs of the plan, locked FOR UPDATE when `lock`; null when it is not offered there. */
export async function freeGpus(db: Reader, need: Pick<CapacityNeed, 'planId' | 'regionId'>, lock: boolean): Promise<number | null> {
  let query = db.selectFrom('region_capacity').select('free_gpus').where('region_id', '=', need.regionId).where('plan_id', '=', need.planId);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? row.free_gpus : null;
}

export interface CapacityWording {
  /** After the region in "not enough X capacity in <region>", e.g. " to start this paused instance". */
  purpose?: string;
  /** What to do when no other region has enough either. */
  later?: string;
  /** Closes the message whatever is free elsewhere. */
  note?: string;
}

/** The refusal for `need` when `free` GPUs are left, naming the other regions that have enough now. */
export async function capacityError(db: Reader, need: CapacityNeed, free: number, wording: CapacityWording = {}): Promise<CapacityUnavailableError> {
  const { purpose = '', later = 'try fewer GPUs or check again later', note = '' } = wording;
  const others = await db
    .selectFrom('region_capacity')
    .innerJoin('regions', 'regions.id', 'region_capacity.region_id')
    .select(['regions.id', 'regions.location', 'region_capacity.free_gpus'])
    .where('region_capacity.plan_id', '=', need.planId)
    .where('region_capacity.region_id', '!=', need.regionId)
    .where('region_capacity.free_gpus', '>=', need.gpuCount)
    .orderBy('region_capacity.free_gpus', 'desc')
    .execute();
  const where =
    others.length > 0
      ? ` Available now in: ${others.map((o) => `${o.id} (${o.location}, ${o.free_gpus} free)`).join(', ')}.`
      : ` No other region has that many free right now; ${later}.`;
  return new CapacityUnavailableError(
    `not enough ${need.gpuModel} capacity in ${need.regionId}${purpose}: ${need.gpuCount} GPUs requested, ${free} free.${where}${note}`,
    {
      region: need.regionId,
      plan: need.planId,
      requested: need.gpuCount,
      free_gpus: free,
      alternatives: others.map((o) => ({ region: o.id, free_gpus: o.free_gpus })),
    },
  );
}
