// The local database of `npm start`, `npm run admin` and `npm run migrate` when DATABASE_URL is
// unset: an embedded Postgres with its data under .data/pg (PICTOR_DATA_DIR) on port 54329
// (PICTOR_PG_PORT), reused when it is already running — so every script run with the same two
// settings as `npm start` works on its database.
import { access } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { portInUse, runningPostmaster, startLocalPostgres, type LocalPostgres } from '@pictor/platform/local-postgres';

const root = path.resolve(import.meta.dirname, '..');

export interface LocalDatabase {
  url: string;
  cluster: LocalPostgres;
}

export interface LocalDatabaseOptions {
  /** Only an existing cluster (the admin CLI): never create an empty one nobody else uses. */
  existing?: boolean;
}

/** A local database that cannot be used as configured; the message says which variables to set. */
export class LocalDatabaseError extends Error {
  override name = 'LocalDatabaseError';
}

const SAME_SETTINGS = 'run this command with the same PICTOR_DATA_DIR and PICTOR_PG_PORT as `npm start`, or set DATABASE_URL to use another Postgres';

/** Where the local cluster keeps its data: PICTOR_DATA_DIR (default .data/) + pg. */
export function localDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.PICTOR_DATA_DIR || path.join(root, '.data'), 'pg');
}

export async function localDatabase(env: NodeJS.ProcessEnv = process.env, options: LocalDatabaseOptions = {}): Promise<LocalDatabase> {
  const dataDir = localDataDir(env);
  const port = Number(env.PICTOR_PG_PORT || 54329);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new LocalDatabaseError(`PICTOR_PG_PORT must be a port number, got ${JSON.stringify(env.PICTOR_PG_PORT)}`);
  if (!(await runningPostmaster(dataDir))) {
    if (options.existing && !(await exists(path.join(dataDir, 'PG_VERSION')))) {
      throw new LocalDatabaseError(`No local database in ${dataDir} (\`npm start\` creates it on its first run): ${SAME_SETTINGS}.`);
    }
    // Checked before Postgres is initialised or started, which would fail later and less clearly.
    if (port > 0 && (await portInUse(port))) {
      throw new LocalDatabaseError(
        `Port ${port} (PICTOR_PG_PORT) is in use by another process and the local database in ${dataDir} is not running. If \`npm start\` is running, ${SAME_SETTINGS}; otherwise choose a free PICTOR_PG_PORT.`,
      );
    }
  }
  const cluster = await startLocalPostgres({ dataDir, port });
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['pictor']);
    if (found.rowCount === 0) await admin.query('CREATE DATABASE pictor');
  } finally {
    await admin.end();
  }
  return { url: cluster.url('pictor'), cluster };
}

/**
 * DATABASE_URL, or the local database (started if needed, `stop` stops it again if we started
 * it). A local database that cannot be used ends the process with its message (exit code 2).
 */
export async function databaseUrlOrLocal(
  env: NodeJS.ProcessEnv = process.env,
  options: LocalDatabaseOptions = {},
): Promise<{ url: string; stop(): Promise<void>; local: LocalPostgres | undefined }> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, stop: async () => undefined, local: undefined };
  try {
    const { url, cluster } = await localDatabase(env, options);
    return { url, stop: () => cluster.stop(), local: cluster };
  } catch (error) {
    if (!(error instanceof LocalDatabaseError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
