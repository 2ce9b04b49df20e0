import { sql, type Kysely } from 'kysely';
import { DEFAULT_MIGRATION_TABLE, Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import * as core from './migrations/0001_core.ts';
import * as coreLifecycle from './migrations/0002_core_lifecycle.ts';
import * as auth from './migrations/0003_auth.ts';
import * as inflow from './migrations/0004_inflow.ts';
import * as tokenRevocations from './migrations/0005_token_revocations.ts';
import * as signinBinding from './migrations/0006_signin_binding.ts';
import * as teamRoles from './migrations/0007_team_roles.ts';
import * as appLimits from './migrations/0008_app_limits.ts';
import * as activity from './migrations/0009_activity.ts';
import * as confirmations from './migrations/0010_confirmations.ts';
import * as images from './migrations/0011_images.ts';
import * as paused from './migrations/0012_paused.ts';
import * as instanceNotify from './migrations/0013_instance_notify.ts';
import * as hotIndexes from './migrations/0014_hot_indexes.ts';
import * as refreshRotation from './migrations/0015_refresh_rotation.ts';

// Listed explicitly (not read from disk) so the order is reviewed and bundling stays trivial.
const migrations: Record<string, Migration> = {
  '0001_core': core,
  '0002_core_lifecycle': coreLifecycle,
  '0003_auth': auth,
  '0004_inflow': inflow,
  '0005_token_revocations': tokenRevocations,
  '0006_signin_binding': signinBinding,
  '0007_team_roles': teamRoles,
  '0008_app_limits': appLimits,
  '0009_activity': activity,
  '0010_confirmations': confirmations,
  '0011_images': images,
  '0012_paused': paused,
  '0013_instance_notify': instanceNotify,
  '0014_hot_indexes': hotIndexes,
  '0015_refresh_rotation': refreshRotation,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies every pending migration; safe to call from several processes at once (Kysely takes a lock). */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before (and whatever) the typed schema is
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * The migrations this code knows that the database has not applied (all of them before the first
 * migration). One small read, for readiness: a database ahead of this code (a newer replica
 * migrated it during a rolling upgrade) counts as up to date.
 */
// biome-ignore lint/suspicious/noExplicitAny: as above
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(db);
    applied = new Set(rows.map((r) => r.name));
  } catch (error) {
    if ((error as { code?: unknown }).code === '42P01') return Object.keys(migrations); // undefined_table
    throw error;
  }
  return Object.keys(migrations).filter((name) => !applied.has(name));
}
