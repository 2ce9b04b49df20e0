// Money crosses the MCP tools as exact decimal strings of credits ("12.50", "0.000137"). Tests
// compute with integer micro-credits (bigint), never with floats.
const MICRO = 1_000_000n;

export function micro(credits: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(credits);
  if (!match) throw new Error(`not an exact credit amount: ${JSON.stringify(credits)}`);
  const value = BigInt(match[2]!) * MICRO + BigInt((match[3] ?? '').padEnd(6, '0'));
  return match[1] ? -value : value;
}

export function credits(microCredits: bigint): string {
  const sign = microCredits < 0n ? '-' : '';
  const abs = microCredits < 0n ? -microCredits : microCredits;
  return `${sign}${abs / MICRO}.${(abs % MICRO).toString().padStart(6, '0')}`;
}
