import { sql, type Kysely } from 'kysely';

// A sign-in link is bound to the browser that asked for it (issue 9 §1): when the email is
// submitted, that browser gets a random secret in a cookie and the link row keeps only its
// SHA-256 (browser_hash). Confirming from that browser needs nothing more; from any other browser
// the person must type the code shown in the asking window, and code_attempts counts the tries
// (a few wrong ones and the link is dead). Links still out when this runs were mailed with their
// code in them and are bound to no browser: they are expired, so they can never be confirmed.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE auth_magic_links
      ADD COLUMN browser_hash bytea NOT NULL DEFAULT ''::bytea,
      ADD COLUMN code_attempts integer NOT NULL DEFAULT 0 CHECK (code_attempts >= 0);
    ALTER TABLE auth_magic_links ALTER COLUMN browser_hash DROP DEFAULT;
    UPDATE auth_magic_links SET expires_at = now() WHERE confirmed_at IS NULL AND expires_at > now();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE auth_magic_links DROP COLUMN browser_hash, DROP COLUMN code_attempts`.execute(db);
}
