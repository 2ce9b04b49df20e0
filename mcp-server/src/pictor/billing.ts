// Billing arithmetic: pure functions on exact integers (bigint micro-credits), no floats.
// These are the product's billing rules; the README states the same rules.
//
//   GPU cost      = gpu_count × price_per_gpu_hour × hours                      (exact)
//   Storage cost  = ceil(storage_gb × storage_price_per_gb_month × hours / 730)  (a month is 730 h;
//                   a partial micro-credit is charged as a whole one: rounds UP when charging)
//   Refund        = floor((expires_at − now) / 1 h) unused WHOLE hours
//                   × gpu_count × price_per_gpu_hour                            (a started hour is not refunded)
//                 + floor(storage_gb × storage_price_per_gb_month × unused_hours / 730)
//                                                                               (rounds DOWN when refunding)
// Rounding always favours neither side by more than one micro-credit per charge, and a refund can
// never exceed what was charged for the same hours.
import { ceilDiv } from '@pictor/platform/money';

/** Hours in a billing month for storage priced per GB-month. */
export const HOURS_PER_MONTH = 730n;
export const MS_PER_HOUR = 3_600_000;
export const MIN_RENTAL_HOURS = 1;
export const MAX_RENTAL_HOURS = 720;

/** The prices an instance is billed at (copied onto the instance at creation). */
export interface RateCard {
  gpuCount: number;
  pricePerGpuHour: bigint;
  storageGb: number;
  storagePricePerGbMonth: bigint;
}

export interface CostBreakdown {
  hours: number;
  gpu: bigint;
  storage: bigint;
  total: bigint;
}

function wholeHours(hours: number): bigint {
  if (!Number.isSafeInteger(hours) || hours < 0) throw new RangeError(`hours must be a whole number ≥ 0, got ${hours}`);
  return BigInt(hours);
}

export function gpuCost(rate: RateCard, hours: number): bigint {
  return BigInt(rate.gpuCount) * rate.pricePerGpuHour * wholeHours(hours);
}

/** Storage charged for `hours`: rounds UP to the next micro-credit. */
export function storageCost(rate: RateCard, hours: number): bigint {
  return ceilDiv(BigInt(rate.storageGb) * rate.storagePricePerGbMonth * wholeHours(hours), HOURS_PER_MONTH);
}

/** What renting for `hours` costs: charged at creation, on add-hours and on each auto-renewal. */
export function rentalCost(rate: RateCard, hours: number): CostBreakdown {
  const gpu = gpuCost(rate, hours);
  const storage = storageCost(rate, hours);
  return { hours, gpu, storage, total: gpu + storage };
}

export interface HourlyRates {
  /** gpu_count × price_per_gpu_hour, exact. */
  gpuPerHour: bigint;
  /** storage_gb × storage_price_per_gb_month, exact. */
  storagePerMonth: bigint;
  /** Storage for one hour as charged (rounded up). */
  storagePerHour: bigint;
  totalPerHour: bigint;
}

export function hourlyRates(rate: RateCard): HourlyRates {
  const one = rentalCost(rate, 1);
  return {
    gpuPerHour: one.gpu,
    storagePerMonth: BigInt(rate.storageGb) * rate.storagePricePerGbMonth,
    storagePerHour: one.storage,
    totalPerHour: one.total,
  };
}

/** Whole hours left before expiry, rounded DOWN; 0 once expired. */
export function unusedWholeHours(expiresAt: Date, now: Date): number {
  const ms = expiresAt.getTime() - now.getTime();
  return ms <= 0 ? 0 : Math.floor(ms / MS_PER_HOUR);
}

/** Refund for unused whole hours: GPU exact, storage rounded DOWN. */
export function refundFor(rate: RateCard, unusedHours: number): CostBreakdown {
  const h = wholeHours(unusedHours);
  const gpu = BigInt(rate.gpuCount) * rate.pricePerGpuHour * h;
  const storage = (BigInt(rate.storageGb) * rate.storagePricePerGbMonth * h) / HOURS_PER_MONTH;
  return { hours: unusedHours, gpu, storage, total: gpu + storage };
}

export interface RefundSplit {
  toBalance: bigint;
  toCredit: bigint;
}

/**
 * A refund goes back where the money came from: first to balance, up to what the instance paid
 * from balance net of earlier refunds to balance; the rest to credit.
 */
export function splitRefund(amount: bigint, refundableToBalance: bigint): RefundSplit {
  const cap = refundableToBalance > 0n ? refundableToBalance : 0n;
  const toBalance = amount < cap ? amount : cap;
  return { toBalance, toCredit: amount - toBalance };
}

export function addHours(date: Date, hours: number): Date {
  return new Date(date.getTime() + hours * MS_PER_HOUR);
}
