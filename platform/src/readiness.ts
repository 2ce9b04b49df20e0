// Liveness and readiness, the same on both services (load balancers, compose and Kubernetes ask):
//   GET /livez   200 {"status":"ok"} while the process runs; it checks nothing else, so a
//                database outage never gets a healthy process restarted.
//   GET /readyz  200 {"status":"ready","checks":{…}} when every check is "ok": the database answers,
//                every migration this code knows is applied, and the service's own checks (signing
//                keys, JWKS); otherwise 503 {"status":"not_ready","checks":{…}} naming what is not.
import { sql } from 'kysely';
import { isDatabaseUnavailable, type Db } from './db.ts';
import { pendingMigrations } from '@pictor/migrations/migrator';

/** "ok", or a short word saying what is wrong (never a message that could carry a secret). */
export type CheckResult = string;
export type Check = () => CheckResult | Promise<CheckResult>;

export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: Record<string, CheckResult>;
}

/** A check that has not answered by then counts as not ready (a probe must answer quickly). */
const CHECK_TIMEOUT_MS = 2_000;

export const LIVE = { status: 'ok' } as const;

/**
 * Readiness of a service on `db` plus its own checks. Migrations are read until they are seen
 * applied; from then on (they are never undone) only `SELECT 1` asks the database.
 */
export function readinessCheck(db: Db, checks: Record<string, Check>): () => Promise<Readiness> {
  let migrated = false;
  const database = async (): Promise<{ database: CheckResult; migrations: CheckResult }> => {
    try {
      if (!migrated) migrated = (await pendingMigrations(db)).length === 0;
      else await sql`SELECT 1`.execute(db);
      return { database: 'ok', migrations: migrated ? 'ok' : 'pending' };
    } catch (error) {
      return { database: isDatabaseUnavailable(error) ? 'unreachable' : 'error', migrations: 'unknown' };
    }
  };
  const names = Object.keys(checks);
  return async () => {
    const [base, ...own] = await Promise.all([
      withTimeout(database(), { database: 'timeout', migrations: 'unknown' }),
      ...names.map((name) =>
        withTimeout(
          Promise.resolve()
            .then(checks[name]!)
            .catch(() => 'error'),
          'timeout',
        ),
      ),
    ]);
    const results: Record<string, CheckResult> = { ...base };
    names.forEach((name, i) => {
      results[name] = own[i] as CheckResult;
    });
    const ready = Object.values(results).every((r) => r === 'ok');
    return { status: ready ? 'ready' : 'not_ready', checks: results };
  };
}

async function withTimeout<T>(work: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The slice of a Koa context the probes use (both services are Koa apps). */
interface ProbeContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}

/** Middleware answering GET /livez and GET /readyz; everything else goes on. */
export function probeRoutes(ready: () => Promise<Readiness>) {
  return async function probes(ctx: ProbeContext, next: () => Promise<unknown>): Promise<void> {
    if (ctx.method !== 'GET' || (ctx.path !== '/livez' && ctx.path !== '/readyz')) {
      await next();
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    if (ctx.path === '/livez') {
      ctx.body = LIVE;
      return;
    }
    const readiness = await ready();
    ctx.status = readiness.status === 'ready' ? 200 : 503;
    ctx.body = readiness;
  };
}
