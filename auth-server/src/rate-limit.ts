// Fixed-window rate limits kept in Postgres, so every replica counts against the same budget.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import type { RateLimit } from './config.ts';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (for Retry-After). */
  retryAfter: number;
}

/** Counts one hit on `bucket` and says whether it is within `rule`. */
export async function hit(db: Db, clock: Clock, bucket: string, rule: RateLimit): Promise<RateDecision> {
  const nowMs = clock.now().getTime();
  const windowMs = rule.windowSeconds * 1000;
  const windowStart = new Date(Math.floor(nowMs / windowMs) * windowMs);
  const row = await db
    .insertInto('auth_rate_limits')
    .values({ bucket, window_start: windowStart, hits: 1 })
    .onConflict((oc) => oc.columns(['bucket', 'window_start']).doUpdateSet({ hits: sql<number>`auth_rate_limits.hits + 1` }))
    .returning('hits')
    .executeTakeFirstOrThrow();
  return {
    allowed: row.hits <= rule.limit,
    retryAfter: Math.max(1, Math.ceil((windowStart.getTime() + windowMs - nowMs) / 1000)),
  };
}

/** Several limits at once (e.g. per email and per IP); every one is counted, all must allow. */
export async function hitAll(db: Db, clock: Clock, checks: Array<[bucket: string, rule: RateLimit]>): Promise<RateDecision> {
  const decisions = await Promise.all(checks.map(([bucket, rule]) => hit(db, clock, bucket, rule)));
  const refused = decisions.filter((d) => !d.allowed);
  return refused.length === 0 ? { allowed: true, retryAfter: 0 } : { allowed: false, retryAfter: Math.max(...refused.map((d) => d.retryAfter)) };
}

/** Drops windows that ended more than a day ago. */
export async function sweepRateLimits(db: Db, clock: Clock): Promise<void> {
  await db
    .deleteFrom('auth_rate_limits')
    .where('window_start', '<', new Date(clock.now().getTime() - 86_400_000))
    .execute();
}
