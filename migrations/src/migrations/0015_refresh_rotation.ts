import { sql, type Kysely } from 'kysely';

// A refresh token's successor in a column of its own (it lived in the JSON payload, under
// `rotatedTo`). Every refresh rotates: it records the successor on the presented token's row.
// Changing the payload changed a column an index reads (the grant's accountId expression index),
// so every rotation wrote a whole new row version into all five indexes of the table; changing
// only rotated_to and consumed_at (no index reads them) lets Postgres update the row in place on
// its page (a HOT update), which the lower fill factor leaves room for. During a rolling deploy, an
// old replica still records successors in the payload, which new replicas do not read: that only
// matters for two refreshes of one token within the seconds of the reuse grace, on both versions.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE auth_oidc_payloads ADD COLUMN rotated_to text;
    ALTER TABLE auth_oidc_payloads SET (fillfactor = 80);
    UPDATE auth_oidc_payloads SET rotated_to = payload->>'rotatedTo', payload = payload - 'rotatedTo'
    WHERE model = 'RefreshToken' AND payload ? 'rotatedTo';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE auth_oidc_payloads SET payload = payload || jsonb_build_object('rotatedTo', rotated_to)
    WHERE rotated_to IS NOT NULL;
    ALTER TABLE auth_oidc_payloads RESET (fillfactor);
    ALTER TABLE auth_oidc_payloads DROP COLUMN rotated_to;
  `.execute(db);
}
