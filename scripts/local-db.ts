// The local database of `npm start`, `npm run admin` and `npm run migrate` when DATABASE_URL is
// unset: an embedded Postgres with its data under .data/pg (PICTOR_DATA_DIR), reused when running.
import path from 'node:path';
import pg from 'pg';
import { startLocalPostgres, type LocalPostgres } from '../migrations/src/local-postgres.ts';

const root = path.resolve(import.meta.dirname, '..');

export interface LocalDatabase {
  url: string;
  cluster: LocalPostgres;
}

/** Where the local cluster keeps its data: PICTOR_DATA_DIR (default .data/) + pg. */
export function localDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.PICTOR_DATA_DIR || path.join(root, '.data'), 'pg');
}

export async function localDatabase(env: NodeJS.ProcessEnv = process.env): Promise<LocalDatabase> {
  const cluster = await startLocalPostgres({
    dataDir: localDataDir(env),
    port: Number(env.PICTOR_PG_PORT || 54329),
  });
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['pictor']);
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE pictor');
  } finally {
    await admin.end();
  }
  return { url: cluster.url('pictor'), cluster };
}

/** DATABASE_URL, or the local database (started if needed, `stop` stops it again if we started it). */
export async function databaseUrlOrLocal(env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; stop(): Promise<void>; local: LocalPostgres | undefined }> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, stop: async () => undefined, local: undefined };
  const { url, cluster } = await localDatabase(env);
  return { url, stop: () => cluster.stop(), local: cluster };
}
