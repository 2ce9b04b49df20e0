// GET /healthz: 200 when Postgres answers within two seconds, 503 otherwise (for load balancers).
import { sql } from 'kysely';
import type { Context } from 'koa';
import type { Db } from '@pictor/migrations/db';

const TIMEOUT_MS = 2_000;

export async function databaseAnswers(db: Db): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), TIMEOUT_MS); });
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthz(db: Db) {
  return async function health(ctx: Context): Promise<void> {
    const ok = await databaseAnswers(db);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ok ? 200 : 503;
    ctx.body = ok ? { ok: true } : { ok: false, error: 'database unreachable' };
  };
}
