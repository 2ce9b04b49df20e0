import { sql, type Kysely } from 'kysely';

// Confirmations the person gave in their MCP client (issue 11 §2): each signed requestState
// carries a random nonce, and a confirmed call records it here before it does its work, so a
// state does its work once (the primary key decides between concurrent retries). A row is
// useless once its state has expired (the signature check refuses it first): the MCP server
// deletes expired rows a few at a time as it records new ones (pictor/confirmations.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE used_confirmations (
      nonce text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      tool text NOT NULL,
      used_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX used_confirmations_expires_at ON used_confirmations (expires_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE used_confirmations`.execute(db);
}
