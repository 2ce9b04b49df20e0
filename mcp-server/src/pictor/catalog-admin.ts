// Operator changes to the catalog (the admin CLI calls these). Prices changed here apply to new
// rentals only: running instances keep the prices copied onto them at creation.
import type { Db } from '@pictor/platform/db';
import type { GpuPlansTable } from '@pictor/migrations/schema';
import { catalogChanged } from './caches.ts';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.ts';
import { parseCredits } from '@pictor/platform/money';

export type PlanFields = Partial<Omit<GpuPlansTable, 'id' | 'active'> & { active: boolean }>;

const INT_FIELDS = ['vram_gb', 'vcpu_per_gpu', 'ram_gb_per_gpu', 'min_storage_gb', 'max_storage_gb'] as const;
const MONEY_FIELDS = ['price_per_gpu_hour', 'storage_price_per_gb_month'] as const;
const REQUIRED_FOR_NEW: Array<keyof PlanFields> = [
  'gpu_model',
  'vram_gb',
  'vcpu_per_gpu',
  'ram_gb_per_gpu',
  'price_per_gpu_hour',
  'allowed_gpu_counts',
  'min_storage_gb',
  'max_storage_gb',
  'storage_price_per_gb_month',
];
export const PLAN_KEYS = ['gpu_model', ...INT_FIELDS, ...MONEY_FIELDS, 'allowed_gpu_counts', 'active'] as const;

function positiveInt(key: string, text: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) <= 0) throw new InvalidInputError(key, `expected a whole number > 0, got "${text}"`);
  return Number(text);
}

/**
 * Parses `key=value` pairs: integers for sizes, credits ("2.49") for prices, a comma list for
 * allowed_gpu_counts, true/false for active. Unknown keys are refused naming the known ones.
 */
export function parsePlanFields(pairs: string[]): PlanFields {
  const fields: PlanFields = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidInputError(pair, 'expected key=value');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1).trim();
    if (key === 'gpu_model') {
      if (value.length === 0 || value.length > 64) throw new InvalidInputError(key, 'must be 1–64 characters');
      fields.gpu_model = value;
    } else if ((INT_FIELDS as readonly string[]).includes(key)) {
      fields[key as (typeof INT_FIELDS)[number]] = positiveInt(key, value);
    } else if ((MONEY_FIELDS as readonly string[]).includes(key)) {
      const micro = parseCredits(value);
      if (micro === null) throw new InvalidInputError(key, `expected an amount in credits like 2.49, got "${value}"`);
      fields[key as (typeof MONEY_FIELDS)[number]] = micro;
    } else if (key === 'allowed_gpu_counts') {
      const counts = value.split(',').map((v) => positiveInt(key, v.trim()));
      fields.allowed_gpu_counts = [...new Set(counts)].sort((a, b) => a - b);
    } else if (key === 'active') {
      if (value !== 'true' && value !== 'false') throw new InvalidInputError(key, 'expected true or false');
      fields.active = value === 'true';
    } else {
      throw new InvalidInputError(key, `unknown plan field; known: ${PLAN_KEYS.join(', ')}`);
    }
  }
  return fields;
}

/** Updates a plan, or creates it when every field a new plan needs is given. */
export async function upsertPlan(db: Db, id: string, fields: PlanFields): Promise<{ created: boolean }> {
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(id)) throw new InvalidInputError('id', 'plan ids are lowercase letters, digits and dashes, e.g. h100-80gb');
  const result = await db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('gpu_plans').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    const merged = { ...existing, ...fields };
    if ((merged.min_storage_gb ?? 0) > (merged.max_storage_gb ?? Infinity)) {
      throw new InvalidInputError('max_storage_gb', 'must be at least min_storage_gb');
    }
    if (existing) {
      if (Object.keys(fields).length > 0) await trx.updateTable('gpu_plans').set(fields).where('id', '=', id).execute();
      return { created: false };
    }
    const missing = REQUIRED_FOR_NEW.filter((k) => fields[k] === undefined);
    if (missing.length > 0) throw new InvalidInputError(missing[0]!, `a new plan needs ${missing.join(', ')}`);
    await trx
      .insertInto('gpu_plans')
      .values({ id, ...(fields as Required<PlanFields>) })
      .execute();
    return { created: true };
  });
  catalogChanged(db);
  return result;
}

export interface CapacityChange {
  totalGpus: number;
  freeGpus: number;
  inUse: number;
}

/**
 * Sets a region's total GPUs for a plan; free GPUs move by the same delta, so GPUs reserved by
 * instances stay reserved. Refused when the new total is below what is in use.
 */
export async function setCapacity(db: Db, regionId: string, planId: string, totalGpus: number): Promise<CapacityChange> {
  if (!Number.isSafeInteger(totalGpus) || totalGpus < 0) throw new InvalidInputError('total', 'expected a whole number ≥ 0');
  const change = await db.transaction().execute(async (trx) => {
    const region = await trx.selectFrom('regions').select('id').where('id', '=', regionId).executeTakeFirst();
    if (!region) throw new NotFoundError('Region', regionId);
    const plan = await trx.selectFrom('gpu_plans').select('id').where('id', '=', planId).executeTakeFirst();
    if (!plan) throw new NotFoundError('GPU plan', planId);
    // Inserting a zero row first makes the row exist so it can be locked like any other.
    await trx
      .insertInto('region_capacity')
      .values({ region_id: regionId, plan_id: planId, total_gpus: 0, free_gpus: 0 })
      .onConflict((oc) => oc.columns(['region_id', 'plan_id']).doNothing())
      .execute();
    const row = await trx
      .selectFrom('region_capacity')
      .select(['total_gpus', 'free_gpus'])
      .where('region_id', '=', regionId)
      .where('plan_id', '=', planId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const inUse = row.total_gpus - row.free_gpus;
    if (totalGpus < inUse) throw new ConflictError(`${inUse} GPUs are in use by instances; the total cannot go below ${inUse}`, { in_use: inUse });
    const freeGpus = row.free_gpus + (totalGpus - row.total_gpus);
    await trx
      .updateTable('region_capacity')
      .set({ total_gpus: totalGpus, free_gpus: freeGpus })
      .where('region_id', '=', regionId)
      .where('plan_id', '=', planId)
      .execute();
    return { totalGpus, freeGpus, inUse };
  });
  catalogChanged(db);
  return change;
}
