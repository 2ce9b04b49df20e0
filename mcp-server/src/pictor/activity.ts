// The activity log in the core: writing one entry, and reading a workspace's entries. What a
// tools/call records is decided in the tool layer (tools/activity-log.ts); the read query, shared
// with the connected-apps page, is in @pictor/migrations/activity.
import { BadActivityCursor, readActivity, type ActivityPage } from '@pictor/platform/activity';
import type { Db } from '@pictor/platform/db';
import { resolveAccountId } from './accounts.ts';
import type { Actor } from './actor.ts';
import type { Clock } from '@pictor/platform/clock';
import { InvalidInputError } from './errors.ts';

export interface NewActivity {
  userId: string;
  clientId: string | null;
  accountId: string | null;
  tool: string;
  targetId: string | null;
  /** Signed: negative out of the account, positive into it. */
  amountMicro: bigint;
  outcome: string;
  detail: Record<string, unknown>;
}

/** One insert, one entry: a call is recorded once however its client retries (a retry is a new call). */
export async function recordActivity(db: Db, clock: Clock, entry: NewActivity): Promise<void> {
  await db
    .insertInto('activity')
    .values({
      at: clock.now(),
      user_id: entry.userId,
      client_id: entry.clientId,
      account_id: entry.accountId,
      tool: entry.tool,
      target_id: entry.targetId,
      amount_micro: entry.amountMicro,
      outcome: entry.outcome,
      detail: JSON.stringify(entry.detail),
    })
    .execute();
}

export interface ActivityInput {
  cursor?: string | undefined;
  limit: number;
  since?: Date | undefined;
  until?: Date | undefined;
}

/** The entries of the actor's account (own, or a team's they may read), newest first. */
export async function listAccountActivity(db: Db, actor: Actor, input: ActivityInput): Promise<ActivityPage> {
  if (input.since && input.until && input.since >= input.until) throw new InvalidInputError('since', 'must be before until');
  const accountId = await resolveAccountId(db, actor, 'read');
  try {
    return await readActivity(db, { accountId }, input);
  } catch (error) {
    if (error instanceof BadActivityCursor)
      throw new InvalidInputError('cursor', 'is not a cursor from a previous get-account-activity page; omit it to start from the first page');
    throw error;
  }
}
