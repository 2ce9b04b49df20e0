import { sql, type Kysely } from 'kysely';

// Indexes for the reads whose cost must not grow with an account's history (issue 14 §2; the
// plans and curves: `npm run bench -- curves`, mcp-server/test/hot-query-plans.test.ts):
// - ledger_account_time: the spending report sums an account's charges and refunds of the last
//   days; without it Postgres read every ledger row of the account (or of the table).
// - instances_account_state: list-my-instances with a state filter (keyset over created_at, id in
//   index order) and the spending report's rented instances (account, state IN active states),
//   read without walking the account's whole history. No partial predicate, so a new state needs
//   no new index.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX ledger_account_time ON ledger_entries (account_id, created_at);
    CREATE INDEX instances_account_state ON instances (account_id, state, created_at, id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX instances_account_state;
    DROP INDEX ledger_account_time;
  `.execute(db);
}
