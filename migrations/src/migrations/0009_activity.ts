import { sql, type Kysely } from 'kysely';

// The activity log (issue 12 §3): one row per tools/call that changed something, and per call
// refused by a limit, role or workspace rule. Written by the MCP server (tools/execute.ts), read
// by get-account-activity, get-spending-report and the connected-apps page (activity.ts).
// - amount_micro: the money the ledger moved in that call, signed: negative out of the account
//   (a charge), positive into it (a refund, a credited top-up); 0 when none moved.
// - outcome: 'ok', or the refusal's tool-error code (insufficient_role, spending_limit, ...).
// - detail: only the arguments each tool declares safe (never keys, tokens or secrets).
// - client_id: the app's OAuth client id; its name is looked up when read (it can be renamed).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE activity (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at timestamptz NOT NULL,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      client_id text,
      account_id uuid REFERENCES accounts(id) ON DELETE CASCADE,
      tool text NOT NULL,
      target_id text,
      amount_micro bigint NOT NULL DEFAULT 0,
      outcome text NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX activity_account_at ON activity (account_id, at DESC, id DESC);
    CREATE INDEX activity_user_at ON activity (user_id, at DESC, id DESC);
    CREATE INDEX activity_user_client_at ON activity (user_id, client_id, at DESC, id DESC);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE activity`.execute(db);
}
