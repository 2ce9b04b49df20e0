import { sql, type Kysely } from 'kysely';

// Access tokens are JWTs checked locally by the MCP server; when a person disconnects an app, the
// auth server records it here (and NOTIFYs), and the MCP server refuses that app's tokens issued
// before then. Rows older than the longest access token lifetime no longer matter.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE token_revocations (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      client_id text NOT NULL,
      revoked_at timestamptz NOT NULL,
      PRIMARY KEY (user_id, client_id)
    );
    CREATE INDEX token_revocations_recent ON token_revocations (revoked_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE token_revocations`.execute(db);
}
