import { sql, type Kysely } from 'kysely';

// What a person chose at consent for one app (issue 12 §1–§2): a spending limit per rolling 24 h
// and the workspaces it may act in. Written by the auth server (consent, the connected-apps page),
// read by the MCP server on every call; no row (an app connected before this) = no limit, every
// workspace. Charges are attributed to the app whose call caused them (ledger_entries.client_id,
// with created_by the person), renewals to the app that turned auto-renew on, so "spent by this
// app in the last 24 h" is one indexed sum.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE app_limits (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      client_id text NOT NULL,
      -- micro-credits per rolling 24 h; NULL = no limit
      daily_spend_limit_micro bigint CHECK (daily_spend_limit_micro >= 0),
      -- 'personal' and team ids (as text) the app may act in; NULL = every workspace (the person
      -- had no team to choose from when they chose)
      workspaces text[],
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, client_id)
    );
    ALTER TABLE ledger_entries ADD COLUMN client_id text;
    CREATE INDEX ledger_app_charges ON ledger_entries (created_by, client_id, created_at)
      WHERE kind = 'charge' AND client_id IS NOT NULL;
    ALTER TABLE instances ADD COLUMN auto_renew_client_id text, ADD COLUMN auto_renew_user_id uuid REFERENCES users(id) ON DELETE SET NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE instances DROP COLUMN auto_renew_client_id, DROP COLUMN auto_renew_user_id;
    DROP INDEX ledger_app_charges;
    ALTER TABLE ledger_entries DROP COLUMN client_id;
    DROP TABLE app_limits;
  `.execute(db);
}
