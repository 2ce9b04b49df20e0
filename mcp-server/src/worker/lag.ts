// How far the lifecycle worker is behind: the time the oldest due piece of work (an expiry or
// renewal, a paused instance past its grace period, or a power action) has been waiting. Read by the
// metrics on each scrape; three index endpoint lookups (instances_due, instances_paused,
// instances_pending), so cheap at any table size; the states
// are literals so that the planner matches the partial index's predicate.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { ACTIVE_STATES } from '../pictor/instances/index.ts';

/** Seconds since the oldest due work became due; 0 when nothing is due. */
export async function workerLagSeconds(db: Db, now: Date): Promise<number> {
  const { rows } = await sql<{ oldest: Date | null }>`
    SELECT least(
      (SELECT min(expires_at) FROM instances WHERE state IN (${sql.join(ACTIVE_STATES.map((s) => sql.lit(s)))})),
      (SELECT min(delete_after) FROM instances WHERE state = 'paused'),
      (SELECT min(action_due_at) FROM instances WHERE pending_action IS NOT NULL)
    ) AS oldest`.execute(db);
  const oldest = rows[0]?.oldest;
  return oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0;
}
