// Shared setup for the platform core tests: a fresh migrated database with the default catalog,
// a ManualClock, users with funded accounts, and a fingerprint of everything money and capacity
// touch, to prove that a refused or dry-run call changed nothing.
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { createTestDatabase } from '@pictor/platform/testing';
import { createTeam, ensureUser, resolveAccountId } from '../src/pictor/accounts.ts';
import type { Actor } from '../src/pictor/actor.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { ManualClock } from '@pictor/platform/clock';
import { postCredit } from '../src/pictor/ledger.ts';
import { parseCredits } from '@pictor/platform/money';
import type { CreateInstanceInput } from '../src/pictor/instances/index.ts';

export const T0 = '2026-03-01T00:00:00.000Z';
export const HOUR = 3_600_000;

export function credits(text: string): bigint {
  const micro = parseCredits(text);
  if (micro === null) throw new Error(`bad amount ${text}`);
  return micro;
}

export interface Core {
  db: Db;
  url: string;
  clock: ManualClock;
}

export async function setupCore(t: TestContext | { after(fn: () => Promise<void>): void }): Promise<Core> {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  await seedCatalog(database.db);
  return { db: database.db, url: database.url, clock: new ManualClock(T0) };
}

export interface TestUser {
  id: string;
  email: string;
  accountId: string;
  actor: Actor;
}

export async function newUser(db: Db, email = `u-${randomBytes(4).toString('hex')}@example.test`): Promise<TestUser> {
  const user = await ensureUser(db, email);
  const accountId = await resolveAccountId(db, { userId: user.id }, 'read');
  return { id: user.id, email: user.email, accountId, actor: { userId: user.id } };
}

export async function newTeam(db: Db, owner: TestUser, name = 'Team'): Promise<{ id: string; accountId: string; actor: Actor }> {
  const team = await createTeam(db, owner.id, name);
  return { id: team.id, accountId: team.accountId, actor: { userId: owner.id, teamId: team.id } };
}

/** Adds paid balance and/or promotional credit, as ledger entries. */
export async function fund(db: Db, accountId: string, amounts: { balance?: string; credit?: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (amounts.balance) await postCredit(trx, { accountId, kind: 'payment', bucket: 'balance', amount: credits(amounts.balance), description: 'test top-up' });
    if (amounts.credit)
      await postCredit(trx, { accountId, kind: 'promotion', bucket: 'credit', amount: credits(amounts.credit), description: 'test promotion' });
  });
}

export async function funds(db: Db, accountId: string): Promise<{ balance: bigint; credit: bigint }> {
  return db.selectFrom('accounts').select(['balance', 'credit']).where('id', '=', accountId).executeTakeFirstOrThrow();
}

export async function freeGpus(db: Db, region: string, plan: string): Promise<number> {
  const row = await db.selectFrom('region_capacity').select('free_gpus').where('region_id', '=', region).where('plan_id', '=', plan).executeTakeFirstOrThrow();
  return row.free_gpus;
}

/** Everything a refused or dry-run call must leave untouched. */
export async function fingerprint(db: Db): Promise<string> {
  const r = await sql<{ f: string }>`
    SELECT concat_ws('|',
      (SELECT count(*) FROM ledger_entries), (SELECT coalesce(sum(amount), 0) FROM ledger_entries),
      (SELECT string_agg(id || ':' || balance || ':' || credit, ',' ORDER BY id) FROM accounts),
      (SELECT string_agg(region_id || ':' || plan_id || ':' || free_gpus || '/' || total_gpus, ',' ORDER BY region_id, plan_id) FROM region_capacity),
      (SELECT count(*) FROM instances), (SELECT string_agg(id || ':' || state || ':' || name || ':' || expires_at || ':' || auto_renew, ',' ORDER BY id) FROM instances),
      (SELECT count(*) FROM instance_logs), (SELECT count(*) FROM instance_ssh_keys)) AS f`.execute(db);
  return r.rows[0]!.f;
}

/** The ledger is the truth: per account, entries per bucket must equal the cached balance and credit. */
export async function assertLedgerMatchesCache(db: Db): Promise<void> {
  const r = await sql<{ id: string; balance: bigint; credit: bigint; lb: bigint; lc: bigint }>`
    SELECT a.id, a.balance, a.credit,
      coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'balance'), 0)::bigint AS lb,
      coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'credit'), 0)::bigint AS lc
    FROM accounts a`.execute(db);
  for (const row of r.rows) {
    if (row.balance !== row.lb || row.credit !== row.lc) {
      throw new Error(`account ${row.id}: cached ${row.balance}/${row.credit}, ledger ${row.lb}/${row.lc}`);
    }
  }
}

export function h100(overrides: Partial<CreateInstanceInput> = {}): CreateInstanceInput {
  return { plan: 'h100-80gb', gpuCount: 2, region: 'us-east', storageGb: 500, rentalHours: 24, name: 'trainer', ...overrides };
}

/** Inserts an SSH key row directly (the SSH key module has its own tests). */
export async function addKey(db: Db, accountId: string, name = `key-${randomBytes(3).toString('hex')}`): Promise<string> {
  const row = await db
    .insertInto('ssh_keys')
    .values({
      account_id: accountId,
      name,
      key_type: 'ssh-ed25519',
      public_key: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${randomBytes(24).toString('base64')} ${name}`,
      fingerprint: `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`,
      created_by: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
