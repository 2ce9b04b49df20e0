import { sql, type Kysely } from 'kysely';

// Pause instead of wipe (issue 13 §3). When prepaid time ends without a renewal the instance is
// now `paused`: its GPUs go back to the pool, its disk is kept until delete_after (the worker then
// deletes it), nothing is charged. start-instance with rental_hours brings it back.
// - state: 'paused' added. 'expired' stays allowed for rows written before this migration (their
//   disks were already wiped, so they cannot become paused); no new row becomes expired.
// - paused_at / delete_after: set while paused, cleared when started again.
// - instances_paused: the worker's sweep for paused instances whose grace period is over.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE instances DROP CONSTRAINT instances_state_check;
    ALTER TABLE instances ADD CONSTRAINT instances_state_check
      CHECK (state IN ('provisioning', 'running', 'stopped', 'paused', 'expired', 'deleted'));
    ALTER TABLE instances
      ADD COLUMN paused_at timestamptz,
      ADD COLUMN delete_after timestamptz,
      ADD CONSTRAINT instances_paused_times CHECK ((state = 'paused') = (delete_after IS NOT NULL));
    CREATE INDEX instances_paused ON instances (delete_after, account_id) WHERE state = 'paused';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX instances_paused;
    -- a paused instance's disk is still kept: without the paused state it can only be ended
    UPDATE instances SET state = 'expired', ended_at = coalesce(ended_at, paused_at), delete_after = NULL WHERE state = 'paused';
    ALTER TABLE instances DROP CONSTRAINT instances_paused_times, DROP COLUMN delete_after, DROP COLUMN paused_at;
    ALTER TABLE instances DROP CONSTRAINT instances_state_check;
    ALTER TABLE instances ADD CONSTRAINT instances_state_check
      CHECK (state IN ('provisioning', 'running', 'stopped', 'expired', 'deleted'));
  `.execute(db);
}
