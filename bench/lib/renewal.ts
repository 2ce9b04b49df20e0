// The renewal bench: 10,000 auto-renewing instances over 1,000 funded accounts, all expiring in the
// same minute, renewed by two worker processes at once (bench/renewal-worker.ts). Checked by the
// ledger: one renewal charge per instance, each expiry moved by exactly its rental hours once, and
// every account's cached balance equal to its ledger sum.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { ROOT } from './services.ts';

export interface RenewalResult {
  instances: number;
  accounts: number;
  workers: number;
  /** From "go" to the last worker done. */
  seconds: number;
  perWorker: Array<{ renewed: number; paused: number; seconds: number }>;
  renewedExactlyOnce: boolean;
  chargesPerInstance: Record<string, number>;
  ledgerMatchesBalances: boolean;
}

const PER_ACCOUNT = 10;
// 1 × RTX 4090 with 100 GB for 1 h: 0.49 + ceil(100 × 0.10 × 1 / 730 credits) = 0.503699
const RENEWAL = 503_699n;

export async function renewalBench(db: Db, databaseUrl: string, instances = 10_000, workers = 2): Promise<RenewalResult> {
  const accounts = Math.ceil(instances / PER_ACCOUNT);
  // A minute that has just passed: every instance is due now, expiries spread over that minute.
  const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
  await sql`
    WITH u AS (
      INSERT INTO users (email) SELECT 'renew-' || g || '@bench.test' FROM generate_series(1, ${accounts}) g RETURNING id
    ), a AS (
      INSERT INTO accounts (user_id, balance) SELECT id, 1000000000 FROM u RETURNING id
    )
    INSERT INTO ledger_entries (account_id, kind, bucket, amount, description)
    SELECT id, 'payment', 'balance', 1000000000, 'bench top-up' FROM a`.execute(db);
  await sql`
    INSERT INTO instances (account_id, name, plan_id, region_id, gpu_count, storage_gb, price_per_gpu_hour,
      storage_price_per_gb_month, rental_hours, auto_renew, state, ssh_host, ssh_port, expires_at, created_at, updated_at)
    SELECT a.id, 'renew-' || g, 'rtx4090-24gb', 'us-east', 1, 100, 490000, 100000, 1, true, 'running',
      'us-east.gpu.pictor.dev', 20000 + g, ${minute}::timestamptz + (g % 60) * interval '1 second',
      ${minute}::timestamptz - interval '1 hour', ${minute}::timestamptz - interval '1 hour'
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM accounts WHERE user_id IN (SELECT id FROM users WHERE email LIKE 'renew-%@bench.test')) a
    CROSS JOIN generate_series(1, ${PER_ACCOUNT}) g
    LIMIT ${instances}`.execute(db);
  // The instances' GPUs are reserved: total grows, free stays.
  await sql`UPDATE region_capacity SET total_gpus = total_gpus + ${instances} WHERE region_id = 'us-east' AND plan_id = 'rtx4090-24gb'`.execute(db);
  await sql`ANALYZE`.execute(db);

  const children = Array.from({ length: workers }, () =>
    spawn(process.execPath, [path.join(ROOT, 'bench', 'renewal-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          c.once('message', () => resolve());
          c.once('exit', (code) => reject(new Error(`renewal worker exited with ${code} before it was ready`)));
        }),
    ),
  );
  const started = performance.now();
  const done = children.map(
    (c) =>
      new Promise<{ report: { renewed: number; paused: number }; ms: number }>((resolve, reject) => {
        c.once('message', (m) => resolve(m as { report: { renewed: number; paused: number }; ms: number }));
        c.once('exit', (code) => code !== 0 && reject(new Error(`renewal worker exited with ${code}`)));
      }),
  );
  for (const c of children) c.send('go');
  const results = await Promise.all(done);
  const seconds = (performance.now() - started) / 1000;

  const perInstance = await sql<{ charges: number; n: number }>`
    SELECT charges, count(*)::int AS n FROM (
      SELECT i.id, count(l.id)::int AS charges FROM instances i
      LEFT JOIN ledger_entries l ON l.instance_id = i.id AND l.kind = 'charge'
      WHERE i.name LIKE 'renew-%' GROUP BY i.id) x
    GROUP BY charges ORDER BY charges`.execute(db);
  const moved = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM instances
    WHERE name LIKE 'renew-%' AND state = 'running' AND auto_renew
      AND expires_at = ${minute}::timestamptz + (substring(name from 7)::int % 60) * interval '1 second' + interval '1 hour'`.execute(db);
  const mismatched = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM accounts a
    WHERE a.balance <> coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'balance'), 0)
       OR a.credit <> coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'credit'), 0)`.execute(db);
  const charged = await sql<{ s: bigint }>`
    SELECT coalesce(sum(amount), 0)::bigint AS s FROM ledger_entries WHERE kind = 'charge' AND description LIKE '%auto-renewed%'`.execute(db);
  const chargesPerInstance = Object.fromEntries(perInstance.rows.map((r) => [String(r.charges), r.n]));
  const renewed = results.reduce((n, r) => n + r.report.renewed, 0);
  return {
    instances,
    accounts,
    workers,
    seconds: Math.round(seconds * 100) / 100,
    perWorker: results.map((r) => ({ renewed: r.report.renewed, paused: r.report.paused, seconds: Math.round(r.ms / 10) / 100 })),
    renewedExactlyOnce:
      renewed === instances && chargesPerInstance['1'] === instances && moved.rows[0]!.n === instances && charged.rows[0]!.s === -BigInt(instances) * RENEWAL,
    chargesPerInstance,
    ledgerMatchesBalances: mismatched.rows[0]!.n === 0,
  };
}
