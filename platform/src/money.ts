// Money is exact: integer micro-credits in bigint everywhere; 1 credit = 1,000,000 micro-credits.
// Credits are 1:1 with the top-up currency unit. Strings cross the API boundary, never floats.
export const MICRO_PER_CREDIT = 1_000_000n;

/** 12_500_000n → "12.50"; keeps every significant micro digit, at least two decimals. */
export function formatCredits(micro: bigint): string {
  const sign = micro < 0n ? '-' : '';
  const abs = micro < 0n ? -micro : micro;
  const whole = abs / MICRO_PER_CREDIT;
  const fraction = (abs % MICRO_PER_CREDIT).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${whole}.${fraction.padEnd(2, '0')}`;
}

/** "12.5" → 12_500_000n. Returns null for anything that is not a plain decimal with ≤ 6 decimals. */
export function parseCredits(text: string): bigint | null {
  const match = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!match) return null;
  return BigInt(match[1]!) * MICRO_PER_CREDIT + BigInt((match[2] ?? '').padEnd(6, '0'));
}

/** Integer division rounding up: a partial micro-credit is always charged as a whole one. */
export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}
