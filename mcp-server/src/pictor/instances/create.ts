// Creating an instance: validate, then in ONE transaction lock the account, lock the region's
// capacity row, check both, insert the instance, reserve its GPUs and charge the prepaid period.
// A dry run goes through the same validation and evaluation without locks or writes.
import { randomUUID } from 'node:crypto';
import type { Db } from '@pictor/platform/db';
import type { GpuPlan } from '@pictor/migrations/schema';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import { chargedBy, enforceSpendingLimit, limitRefusal, limitState } from '../app-limits.ts';
import { addHours, hourlyRates, rentalCost, type CostBreakdown, type HourlyRates, type RateCard } from '../billing.ts';
import { capacityChanged } from '../caches.ts';
import { assertGpuCount, resolvePlan, resolveRegion, type Region } from '../catalog.ts';
import type { Clock } from '@pictor/platform/clock';
import { InsufficientBalanceError, InvalidInputError, type DomainError } from '../errors.ts';
import { getFunds, lockAccount, postCharge, type Funds, type Trx } from '../ledger.ts';
import { formatCredits } from '@pictor/platform/money';
import { assertImageFits, BASE_IMAGE_ID, resolveImage, type ImageView } from '../images.ts';
import { mergePorts, validateEnv, validatePorts, validateStartupScript } from '../launch.ts';
import type { SecretBox } from '../sealing.ts';
import { detailFor, type InstanceDetail } from './read.ts';
import { autoRenewBy, limitQuote, type LimitQuote } from './records.ts';
import { findInstance, writeLogs } from './records.ts';
import { resolveSshKeys, type OwnedKey } from './keys.ts';
import { validateName, validateRentalHours } from './input.ts';
import { capacityError } from './capacity.ts';

type Reader = Db | Trx;

export interface CreateInstanceInput {
  /** Plan id ("h100-80gb") or an unambiguous GPU model ("H100"). */
  plan: string;
  gpuCount: number;
  region: string;
  storageGb: number;
  rentalHours: number;
  name: string;
  sshKeyIds?: string[];
  autoRenew?: boolean;
  /** Image id from list-images; default the base image. */
  image?: string;
  /** Environment variables; the values are secrets (sealed, never read back). */
  env?: Record<string, string>;
  /** HTTP ports to expose besides the image's defaults. */
  ports?: number[];
  /** Shell run once at first boot. */
  startupScript?: string;
}

/** What the instance is launched with, as a dry run and the new instance show it: no values. */
export interface LaunchView {
  image: ImageView;
  /** The image's default ports and the requested ones, sorted. */
  ports: number[];
  envNames: string[];
  hasStartupScript: boolean;
}

interface ValidCreate {
  name: string;
  plan: GpuPlan;
  region: Region;
  gpuCount: number;
  storageGb: number;
  rentalHours: number;
  autoRenew: boolean;
  keys: OwnedKey[];
  rate: RateCard;
  cost: CostBreakdown;
  launch: LaunchView;
  env: Record<string, string>;
  startupScript: string | null;
}

/** Every check that does not depend on funds or capacity; throws InvalidInputError naming the field. */
async function validateCreate(db: Reader, accountId: string, input: CreateInstanceInput): Promise<ValidCreate> {
  const name = validateName(input.name);
  const rentalHours = validateRentalHours(input.rentalHours);
  const plan = await resolvePlan(db, input.plan, 'plan');
  assertGpuCount(plan, input.gpuCount);
  if (!Number.isInteger(input.storageGb) || input.storageGb < plan.min_storage_gb || input.storageGb > plan.max_storage_gb) {
    throw new InvalidInputError('storage_gb', `${plan.id} takes ${plan.min_storage_gb}–${plan.max_storage_gb} GB of storage`, {
      min: plan.min_storage_gb,
      max: plan.max_storage_gb,
    });
  }
  const region = await resolveRegion(db, input.region);
  const image = await resolveImage(db, input.image ?? BASE_IMAGE_ID);
  await assertImageFits(db, image, plan);
  const env = validateEnv(input.env);
  const ports = mergePorts(image.defaultPorts, validatePorts(input.ports));
  const startupScript = validateStartupScript(input.startupScript);
  const keys = await resolveSshKeys(db, accountId, input.sshKeyIds ?? []);
  const rate: RateCard = {
    gpuCount: input.gpuCount,
    pricePerGpuHour: plan.price_per_gpu_hour,
    storageGb: input.storageGb,
    storagePricePerGbMonth: plan.storage_price_per_gb_month,
  };
  return {
    name,
    plan,
    region,
    gpuCount: input.gpuCount,
    storageGb: input.storageGb,
    rentalHours,
    autoRenew: input.autoRenew ?? false,
    keys,
    rate,
    // Options change nothing in the price: it is the hardware's.
    cost: rentalCost(rate, rentalHours),
    launch: { image, ports, envNames: env.names, hasStartupScript: startupScript !== null },
    env: env.values,
    startupScript,
  };
}

async function capacityRow(db: Reader, v: ValidCreate, lock: boolean): Promise<{ free_gpus: number }> {
  let query = db.selectFrom('region_capacity').select('free_gpus').where('region_id', '=', v.region.id).where('plan_id', '=', v.plan.id);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (row) return row;
  const offered = await db.selectFrom('region_capacity').select('region_id').where('plan_id', '=', v.plan.id).orderBy('region_id').execute();
  throw new InvalidInputError(
    'region',
    `${v.plan.gpu_model} is not offered in ${v.region.id}; it is offered in ${offered.map((r) => r.region_id).join(', ') || 'no region right now'}`,
    { offered_in: offered.map((r) => r.region_id) },
  );
}

/** The refusal a create would meet with these funds and this much free capacity, or null. */
async function evaluate(db: Reader, v: ValidCreate, funds: Funds, free: number): Promise<DomainError | null> {
  if (free < v.gpuCount) return capacityError(db, { planId: v.plan.id, gpuModel: v.plan.gpu_model, regionId: v.region.id, gpuCount: v.gpuCount }, free);
  const available = funds.balance + funds.credit;
  if (available < v.cost.total) return new InsufficientBalanceError(v.cost.total, available);
  return null;
}

export interface CreateQuote {
  planId: string;
  gpuModel: string;
  gpuCount: number;
  regionId: string;
  storageGb: number;
  rentalHours: number;
  cost: CostBreakdown;
  rates: HourlyRates;
  /** balance + credit now. */
  available: bigint;
  /** balance + credit after the charge; null when it would be refused. */
  balanceAfter: bigint | null;
  freeGpus: number;
  wouldSucceed: boolean;
  reason: string | null;
  reasonCode: DomainError['code'] | null;
  /** The error the real call would be refused with now; null when it would succeed. */
  refusal: DomainError | null;
  /** The app's daily spending limit and its headroom after this charge; null when it has none. */
  limit: LimitQuote | null;
  launch: LaunchView;
}

/** create-instance with dry_run: the exact cost and whether it would succeed; changes nothing. */
export async function quoteCreateInstance(db: Db, actor: Actor, input: CreateInstanceInput): Promise<CreateQuote> {
  const accountId = await resolveAccountId(db, actor, 'instance:create');
  const v = await validateCreate(db, accountId, input);
  const funds = await getFunds(db, accountId);
  const { free_gpus: free } = await capacityRow(db, v, false);
  const limit = await limitState(db, actor.userId, actor.clientId);
  const refusal = limitRefusal(limit, v.cost.total) ?? (await evaluate(db, v, funds, free));
  const available = funds.balance + funds.credit;
  return {
    planId: v.plan.id,
    gpuModel: v.plan.gpu_model,
    gpuCount: v.gpuCount,
    regionId: v.region.id,
    storageGb: v.storageGb,
    rentalHours: v.rentalHours,
    cost: v.cost,
    rates: hourlyRates(v.rate),
    available,
    balanceAfter: refusal ? null : available - v.cost.total,
    freeGpus: free,
    wouldSucceed: refusal === null,
    reason: refusal?.message ?? null,
    reasonCode: refusal?.code ?? null,
    refusal,
    limit: limitQuote(limit, v.cost.total),
    launch: v.launch,
  };
}

export interface Created extends InstanceDetail {
  charged: CostBreakdown;
  fundsAfter: Funds;
  launch: LaunchView;
}

/** The environment and script sealed for one instance: bound to it, opened only for the provisioner. */
function sealSecrets(box: SecretBox | undefined, instanceId: string, v: ValidCreate) {
  const hasEnv = v.launch.envNames.length > 0;
  if (!hasEnv && v.startupScript === null) return null;
  if (!box) throw new Error('createInstance needs the SecretBox to store an environment or a startup script');
  return {
    instance_id: instanceId,
    env_sealed: hasEnv ? box.seal(JSON.stringify(v.env), `instance:${instanceId}:env`) : null,
    startup_script_sealed: v.startupScript === null ? null : box.seal(v.startupScript, `instance:${instanceId}:startup_script`),
  };
}

/** `secrets` seals environment values and the startup script; needed only when the input has them. */
export async function createInstance(db: Db, actor: Actor, input: CreateInstanceInput, clock: Clock, secrets?: SecretBox): Promise<Created> {
  const accountId = await resolveAccountId(db, actor, 'instance:create');
  const created = await db.transaction().execute(async (trx) => {
    const v = await validateCreate(trx, accountId, input);
    // Lock order: account, then the app's limit, then region_capacity, then instance.
    const funds = await lockAccount(trx, accountId);
    await enforceSpendingLimit(trx, actor, v.cost.total);
    const { free_gpus: free } = await capacityRow(trx, v, true);
    const refusal = await evaluate(trx, v, funds, free);
    if (refusal) throw refusal;

    const now = clock.now();
    const expiresAt = addHours(now, v.rentalHours);
    // The id is chosen here so that the sealed values can be bound to it.
    const newId = randomUUID();
    const sealed = sealSecrets(secrets, newId, v);
    const { id } = await trx
      .insertInto('instances')
      .values({
        id: newId,
        account_id: accountId,
        created_by: actor.userId,
        name: v.name,
        plan_id: v.plan.id,
        region_id: v.region.id,
        gpu_count: v.gpuCount,
        storage_gb: v.storageGb,
        price_per_gpu_hour: v.plan.price_per_gpu_hour,
        storage_price_per_gb_month: v.plan.storage_price_per_gb_month,
        rental_hours: v.rentalHours,
        auto_renew: v.autoRenew,
        ...(v.autoRenew ? autoRenewBy(actor) : {}),
        image_id: v.launch.image.id,
        ports: v.launch.ports,
        env_names: v.launch.envNames,
        has_startup_script: v.launch.hasStartupScript,
        state: 'provisioning',
        pending_action: 'provision',
        action_seq: 1,
        action_requested_at: now,
        action_due_at: now,
        expires_at: expiresAt,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (sealed) await trx.insertInto('instance_secrets').values(sealed).execute();
    await trx
      .updateTable('region_capacity')
      .set((eb) => ({ free_gpus: eb('free_gpus', '-', v.gpuCount) }))
      .where('region_id', '=', v.region.id)
      .where('plan_id', '=', v.plan.id)
      .execute();
    await postCharge(trx, funds, v.cost.total, {
      accountId,
      instanceId: id,
      ...chargedBy(actor),
      description: `Instance "${v.name}": ${v.gpuCount} × ${v.plan.gpu_model} in ${v.region.id}, ${v.storageGb} GB, ${v.rentalHours} h`,
    });
    if (v.keys.length > 0) {
      await trx
        .insertInto('instance_ssh_keys')
        .values(v.keys.map((k) => ({ instance_id: id, ssh_key_id: k.id, attached_at: now })))
        .execute();
    }
    await writeLogs(trx, [
      {
        instanceId: id,
        at: now,
        source: 'lifecycle',
        message: `Created: ${v.gpuCount} × ${v.plan.gpu_model} in ${v.region.id} (${v.region.location}), ${v.storageGb} GB storage, auto-renew ${v.autoRenew ? 'on' : 'off'}`,
      },
      {
        instanceId: id,
        at: now,
        source: 'billing',
        message: `Charged ${formatCredits(v.cost.total)} credits for ${v.rentalHours} h (GPU ${formatCredits(v.cost.gpu)}, storage ${formatCredits(v.cost.storage)}); prepaid until ${expiresAt.toISOString()}`,
      },
      ...v.keys.map((k) => ({ instanceId: id, at: now, source: 'lifecycle' as const, message: `SSH key "${k.name}" (${k.fingerprint}) attached` })),
      { instanceId: id, at: now, source: 'lifecycle', message: launchLine(v.launch) },
      { instanceId: id, at: now, source: 'lifecycle', message: 'Provisioning started' },
    ]);
    const detail = await detailFor(trx, await findInstance(trx, accountId, id));
    return { ...detail, charged: v.cost, fundsAfter: { balance: funds.balance, credit: funds.credit }, launch: v.launch };
  });
  capacityChanged(db); // GPUs were reserved
  return created;
}

/** The creation's log line about what the instance is launched with: names only, never values. */
function launchLine(l: LaunchView): string {
  const env = l.envNames.length > 0 ? `environment ${l.envNames.join(', ')} (values sealed)` : 'no environment variables';
  const ports = l.ports.length > 0 ? `HTTP ports ${l.ports.join(', ')}` : 'no HTTP ports';
  return `Image ${l.image.id} (${l.image.name}); ${env}; ${ports}; ${l.hasStartupScript ? 'a startup script runs once at first boot' : 'no startup script'}`;
}
