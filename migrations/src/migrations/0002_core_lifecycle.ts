import { sql, type Kysely } from 'kysely';

// What the instance lifecycle needs beyond 0001:
// - action_seq / action_requested_at: every power action (provision, start, stop, release) gets a
//   new sequence number and its request time. A worker applies a provisioner result only while the
//   instance still carries the same action_seq, so a superseded or double-claimed action is a no-op.
// - ledger_instance: refunds look up what one instance was charged from each bucket.
// - instances_due: the expiry/renewal sweep finds due instances (and their accounts) by time.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE instances
      ADD COLUMN action_seq integer NOT NULL DEFAULT 0,
      ADD COLUMN action_requested_at timestamptz;
    CREATE INDEX ledger_instance ON ledger_entries (instance_id, bucket) WHERE instance_id IS NOT NULL;
    CREATE INDEX instances_due ON instances (expires_at, account_id)
      WHERE state IN ('provisioning', 'running', 'stopped');
    DROP INDEX instances_expiry;
    CREATE INDEX instance_ssh_keys_key ON instance_ssh_keys (ssh_key_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX instance_ssh_keys_key;
    CREATE INDEX instances_expiry ON instances (expires_at) WHERE state IN ('provisioning', 'running', 'stopped');
    DROP INDEX instances_due;
    DROP INDEX ledger_instance;
    ALTER TABLE instances DROP COLUMN action_requested_at, DROP COLUMN action_seq;
  `.execute(db);
}
