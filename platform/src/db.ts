import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import type { Database } from '@pictor/migrations/schema';

// int8 (bigint) columns are money and ids: parse them as BigInt, never as a lossy number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => BigInt(value));

export type Db = Kysely<Database>;

export interface DbOptions {
  /** Pool size per process. Default 10. */
  max?: number;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
}

const pools = new WeakMap<Db, pg.Pool>();

export function createDb(connectionString: string, options: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'pictor',
    // fail fast when Postgres is down instead of queueing forever
    connectionTimeoutMillis: 5_000,
  });
  // A client losing its connection (Postgres restarted) must not crash the process. pg emits
  // 'error' on the client as well as failing its query; the pool listens only while the client is
  // idle, so a client checked out at that moment (mid-query or mid-transaction) would emit with no
  // listener. Its query still fails (answered 503), and the pool drops the dead client on release.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** The pool's connections for metrics, read when scraped; undefined for a handle createDb did not make. */
export function poolStats(db: Db): { total: number; idle: number; waiting: number } | undefined {
  const pool = pools.get(db);
  return pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

/** One SQL statement with a name that is unique in the process; `$1…` placeholders. */
export interface Statement {
  name: string;
  text: string;
}

/**
 * Runs a hot read as a named prepared statement: Postgres parses and plans it once per pooled
 * connection instead of on every call (about a quarter of the server CPU per execution), and no
 * query builder runs in Node. For the few reads every MCP call makes; everything else uses Kysely.
 * Falls back to an ordinary query on a handle createDb did not make (a transaction, a test's own).
 */
export async function runPrepared<R>(db: Db, statement: Statement, values: unknown[]): Promise<R[]> {
  const pool = pools.get(db);
  if (!pool) return (await db.executeQuery(CompiledQuery.raw(statement.text, values))).rows as R[];
  return (await pool.query({ name: statement.name, text: statement.text, values })).rows as R[];
}

// Postgres SQLSTATEs for "the server is going away / not reachable" and the socket errors of the same.
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** A connection-level database failure (Postgres down or restarting), not a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (PG_UNAVAILABLE.has(code) || NET_UNAVAILABLE.has(code))) return true;
    if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message)) return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnavailable)) return true;
  }
  return false;
}
