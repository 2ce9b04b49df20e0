// The billing arithmetic, with exact numbers and the rounding direction of each rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gpuCost, hourlyRates, refundFor, rentalCost, splitRefund, storageCost, unusedWholeHours, type RateCard } from '../src/pictor/billing.ts';
import { splitCharge } from '../src/pictor/ledger.ts';
import { InsufficientBalanceError } from '../src/pictor/errors.ts';

// 2 × H100 at 2.49/GPU-h with 500 GB at 0.10/GB-month.
const RATE: RateCard = { gpuCount: 2, pricePerGpuHour: 2_490_000n, storageGb: 500, storagePricePerGbMonth: 100_000n };

test('GPU cost is gpu_count × price per GPU-hour × hours, exactly', () => {
  assert.equal(gpuCost(RATE, 24), 119_520_000n);
  assert.equal(gpuCost(RATE, 1), 4_980_000n);
  assert.equal(gpuCost(RATE, 0), 0n);
  assert.equal(gpuCost({ ...RATE, gpuCount: 8, pricePerGpuHour: 3_490_000n }, 720), 20_102_400_000n);
});

test('storage for h hours is storage_gb × price per GB-month × h / 730, rounded UP when charging', () => {
  // 500 × 0.10 × 24 / 730 = 1.643835616… credits → 1_643_836 micro (rounded up)
  assert.equal(storageCost(RATE, 24), 1_643_836n);
  // 730 hours is exactly one month: 500 × 0.10 = 50 credits, no rounding
  assert.equal(storageCost(RATE, 730), 50_000_000n);
  // 1 h: 50_000_000 / 730 = 68_493.15… → 68_494
  assert.equal(storageCost(RATE, 1), 68_494n);
  assert.equal(storageCost({ ...RATE, storagePricePerGbMonth: 0n }, 24), 0n);
});

test('rental cost adds GPU and storage', () => {
  assert.deepEqual(rentalCost(RATE, 24), { hours: 24, gpu: 119_520_000n, storage: 1_643_836n, total: 121_163_836n });
  assert.deepEqual(hourlyRates(RATE), { gpuPerHour: 4_980_000n, storagePerMonth: 50_000_000n, storagePerHour: 68_494n, totalPerHour: 5_048_494n });
});

test('hours must be whole and not negative', () => {
  assert.throws(() => gpuCost(RATE, 1.5), RangeError);
  assert.throws(() => storageCost(RATE, -1), RangeError);
});

test('unused whole hours round DOWN, and are 0 once expired', () => {
  const expires = new Date('2026-03-02T00:00:00Z');
  assert.equal(unusedWholeHours(expires, new Date('2026-03-01T02:30:00Z')), 21);
  assert.equal(unusedWholeHours(expires, new Date('2026-03-01T23:00:00.001Z')), 0);
  assert.equal(unusedWholeHours(expires, new Date('2026-03-01T23:00:00Z')), 1);
  assert.equal(unusedWholeHours(expires, new Date('2026-03-03T00:00:00Z')), 0);
});

test('refund: GPU exact for the unused whole hours, storage rounded DOWN', () => {
  // 21 h: GPU 2 × 2.49 × 21 = 104.58; storage 500 × 0.10 × 21 / 730 = 1.438356164… → 1_438_356 (down)
  assert.deepEqual(refundFor(RATE, 21), { hours: 21, gpu: 104_580_000n, storage: 1_438_356n, total: 106_018_356n });
  assert.deepEqual(refundFor(RATE, 0), { hours: 0, gpu: 0n, storage: 0n, total: 0n });
  // A refund never exceeds the charge for the same hours.
  for (let h = 1; h <= 720; h++) assert.ok(refundFor(RATE, h).total <= rentalCost(RATE, h).total);
});

test('refund split: balance first up to what was paid from balance, the rest to credit', () => {
  assert.deepEqual(splitRefund(100n, 30n), { toBalance: 30n, toCredit: 70n });
  assert.deepEqual(splitRefund(100n, 500n), { toBalance: 100n, toCredit: 0n });
  assert.deepEqual(splitRefund(100n, 0n), { toBalance: 0n, toCredit: 100n });
  assert.deepEqual(splitRefund(100n, -5n), { toBalance: 0n, toCredit: 100n });
});

test('charges take credit first, then balance, and refuse a shortfall with the amounts', () => {
  assert.deepEqual(splitCharge({ balance: 100n, credit: 30n }, 50n), { fromCredit: 30n, fromBalance: 20n });
  assert.deepEqual(splitCharge({ balance: 100n, credit: 80n }, 50n), { fromCredit: 50n, fromBalance: 0n });
  assert.throws(
    () => splitCharge({ balance: 10_000_000n, credit: 2_500_000n }, 121_163_836n),
    (err: unknown) => {
      assert.ok(err instanceof InsufficientBalanceError);
      assert.match(err.message, /needs 121\.163836 credits, the account has 12\.50, short by 108\.663836/);
      assert.equal(err.details.shortfall_micro, '108663836');
      return true;
    },
  );
});
