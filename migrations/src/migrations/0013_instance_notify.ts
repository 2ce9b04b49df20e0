import { sql, type Kysely } from 'kysely';

// Waiting for an instance (issue 13 §4): a call that waits until its instance is running is woken
// by the database, on whichever replica serves it, instead of polling. The trigger NOTIFYs on the
// channel `pictor_instance_changes` (mcp-server/src/pictor/instances/changes.ts listens) whenever
// an instance's state or power action changes, or the lifecycle worker first takes its power
// action (action_due_at moved past action_requested_at: the hardware has the request). Being a
// trigger, every writer notifies — the MCP tools, the worker on any replica, the admin CLI —
// without remembering to. The payload ("<id> <state> <pending_action or ->") is only a hint:
// listeners re-read the row. Notifications go out at commit, never for a rolled-back change.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION instances_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('pictor_instance_changes', NEW.id::text || ' ' || NEW.state || ' ' || coalesce(NEW.pending_action, '-'));
      RETURN NULL;
    END
    $$;
    CREATE TRIGGER instances_notify_change AFTER UPDATE ON instances FOR EACH ROW
      WHEN (
        OLD.state IS DISTINCT FROM NEW.state
        OR OLD.pending_action IS DISTINCT FROM NEW.pending_action
        OR OLD.action_seq IS DISTINCT FROM NEW.action_seq
        OR ((NEW.action_due_at > NEW.action_requested_at) IS TRUE AND (OLD.action_due_at > OLD.action_requested_at) IS NOT TRUE)
      )
      EXECUTE FUNCTION instances_notify_change();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER instances_notify_change ON instances;
    DROP FUNCTION instances_notify_change();
  `.execute(db);
}
