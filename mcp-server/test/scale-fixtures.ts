// Large accounts in one bulk SQL statement each, and the query plans of the core's reads. Used by
// the cost curves (`npm run bench -- curves`) and by hot-query-plans.test.ts.
//
// An account's history: `n` instances created over the last 90 days, newest last — 1 in 20
// running, 1 in 20 stopped, 8 in 20 deleted, the rest expired (an account that has rented for a
// long time mostly holds history) — each with its creation charge, a refund for each deleted one,
// three log lines each, and a top-up that funds it all, so balance = ledger sum.
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database } from '@pictor/migrations/schema';
import type { Db } from '@pictor/platform/db';

export const CHARGE = 12_088_768n; // 24 h of 1 × RTX 4090 with 100 GB
export const REFUND = 1_000_000n;

/** Users with their own accounts, created in bulk: `prefix-1@scale.test` … */
export async function createAccounts(db: Db, prefix: string, count: number): Promise<Array<{ userId: string; accountId: string }>> {
  const { rows } = await sql<{ user_id: string; id: string }>`
    WITH u AS (INSERT INTO users (email) SELECT ${prefix} || '-' || g || '@scale.test' FROM generate_series(1, ${count}) g RETURNING id)
    INSERT INTO accounts (user_id) SELECT id FROM u RETURNING id, user_id`.execute(db);
  return rows.map((r) => ({ userId: r.user_id, accountId: r.id }));
}

/** Gives each account `n` instances of history (see the top of this file). Returns each account's newest instance id. */
export async function seedHistory(db: Db, accountIds: string[], n: number): Promise<string[]> {
  await sql`
    INSERT INTO instances (account_id, name, plan_id, region_id, gpu_count, storage_gb, price_per_gpu_hour,
      storage_price_per_gb_month, rental_hours, auto_renew, state, ssh_host, ssh_port, expires_at, ended_at, end_reason, created_at, updated_at)
    SELECT a.id, 'scale-' || g, 'rtx4090-24gb', 'us-east', 1, 100, 490000, 100000, 24, false, s.state,
      'us-east.gpu.pictor.dev', 20000 + g % 40000,
      CASE WHEN s.active THEN now() + interval '2 days' + g * interval '1 second' ELSE c.at + interval '24 hours' END,
      CASE WHEN s.active THEN NULL ELSE c.at + interval '24 hours' END,
      CASE WHEN s.active THEN NULL ELSE 'auto-renew off' END,
      c.at, c.at
    FROM unnest(${accountIds}::uuid[]) AS a(id)
    CROSS JOIN generate_series(1, ${n}) g
    CROSS JOIN LATERAL (SELECT now() - interval '1 minute' - (${n} - g) * (interval '90 days' / ${n}) AS at) c
    CROSS JOIN LATERAL (SELECT CASE WHEN g % 20 = 0 OR g = ${n} THEN 'running' WHEN g % 20 = 1 THEN 'stopped'
                                    WHEN g % 20 < 10 THEN 'deleted' ELSE 'expired' END AS state, g % 20 < 2 OR g = ${n} AS active) s`.execute(db);
  await sql`
    INSERT INTO ledger_entries (account_id, kind, bucket, amount, instance_id, description, created_at)
    SELECT i.account_id, 'charge', 'balance', ${-CHARGE}::bigint, i.id, 'Instance "' || i.name || '": created for 24 h', i.created_at
    FROM instances i WHERE i.account_id = ANY(${accountIds}::uuid[])
    UNION ALL
    SELECT i.account_id, 'refund', 'balance', ${REFUND}::bigint, i.id, 'Instance "' || i.name || '": deleted', i.created_at + interval '1 hour'
    FROM instances i WHERE i.account_id = ANY(${accountIds}::uuid[]) AND i.state = 'deleted'`.execute(db);
  await sql`
    INSERT INTO instance_logs (instance_id, at, source, message)
    SELECT i.id, i.created_at + m.after, m.source, m.message
    FROM instances i CROSS JOIN (VALUES
      (interval '0', 'lifecycle', 'Created: 1 × RTX 4090 in us-east, 100 GB, 24 h'),
      (interval '0', 'billing', 'Charged 12.088768 credits for 24 h'),
      (interval '5 seconds', 'boot', 'NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4')) AS m(after, source, message)
    WHERE i.account_id = ANY(${accountIds}::uuid[])
    ORDER BY i.created_at, m.after`.execute(db);
  // each creation was a tools/call of an app: one activity row each
  await sql`
    INSERT INTO activity (at, user_id, client_id, account_id, tool, target_id, amount_micro, outcome)
    SELECT i.created_at, a.user_id, 'scale-app', i.account_id, 'create-instance', i.id::text, ${-CHARGE}::bigint, 'ok'
    FROM instances i JOIN accounts a ON a.id = i.account_id WHERE i.account_id = ANY(${accountIds}::uuid[])`.execute(db);
  // one SSH key per account, attached to every other running instance (the rest are leaks)
  await sql`
    WITH k AS (
      INSERT INTO ssh_keys (account_id, name, key_type, public_key, fingerprint)
      SELECT a.id, 'laptop', 'ssh-ed25519', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIScale' || a.id, 'SHA256:scale-' || a.id
      FROM unnest(${accountIds}::uuid[]) AS a(id) RETURNING id, account_id)
    INSERT INTO instance_ssh_keys (instance_id, ssh_key_id, attached_at)
    SELECT i.id, k.id, i.created_at FROM instances i JOIN k ON k.account_id = i.account_id
    WHERE i.state = 'running' AND substring(i.name from 7)::int % 40 = 0`.execute(db);
  // fund it all: a top-up before the first charge, so balance = ledger sum and stays positive
  await sql`
    INSERT INTO ledger_entries (account_id, kind, bucket, amount, description, created_at)
    SELECT a.id, 'payment', 'balance', ${CHARGE}::bigint * ${n} + 1000000000, 'scale top-up', now() - interval '91 days'
    FROM unnest(${accountIds}::uuid[]) AS a(id)`.execute(db);
  await sql`
    UPDATE accounts a SET balance = (SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND l.bucket = 'balance')
    WHERE a.id = ANY(${accountIds}::uuid[])`.execute(db);
  // the active ones hold their GPUs: capacity grows by them, free stays
  await sql`
    UPDATE region_capacity SET total_gpus = total_gpus + (SELECT count(*) FROM instances WHERE account_id = ANY(${accountIds}::uuid[]) AND state IN ('running', 'stopped'))
    WHERE region_id = 'us-east' AND plan_id = 'rtx4090-24gb'`.execute(db);
  const newest = await sql<{ id: string }>`
    SELECT DISTINCT ON (account_id) id FROM instances WHERE account_id = ANY(${accountIds}::uuid[]) AND state = 'running'
    ORDER BY account_id, created_at DESC, id DESC`.execute(db);
  return newest.rows.map((r) => r.id);
}

/** Adds `count` more log lines to one instance (a chatty machine), after its existing ones. */
export async function seedLogLines(db: Db, instanceId: string, count: number): Promise<void> {
  await sql`
    INSERT INTO instance_logs (instance_id, at, source, message)
    SELECT ${instanceId}::uuid, now() - (${count} - g) * interval '1 second', 'boot', 'training step ' || g || ': loss 0.' || (1000 + g % 9000)
    FROM generate_series(1, ${count}) g ORDER BY g`.execute(db);
}

export interface PlanScan {
  node: string;
  relation: string;
  index: string | null;
}

export interface QueryPlan {
  sql: string;
  /** Every scan node of the plan: how each table was read. */
  scans: PlanScan[];
  executionMs: number;
  /** Shared buffers hit + read by the whole plan. */
  buffers: number;
  /** EXPLAIN's text form, for reading. */
  text: string[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

function scansOf(node: PlanNode, out: PlanScan[] = []): PlanScan[] {
  if (node['Relation Name'] || node['Index Name'])
    out.push({ node: node['Node Type'], relation: node['Relation Name'] ?? '', index: node['Index Name'] ?? null });
  for (const child of node.Plans ?? []) scansOf(child, out);
  return out;
}

/**
 * Runs `fn` on a database handle that records every statement, then EXPLAIN ANALYZEs each read it
 * made with the same parameters. Writes (and reads inside them) are not explained.
 */
export async function capturePlans(url: string, fn: (db: Db) => Promise<unknown>): Promise<QueryPlan[]> {
  const seen: Array<{ sql: string; parameters: readonly unknown[] }> = [];
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') seen.push({ sql: event.query.sql, parameters: event.query.parameters });
    },
  });
  try {
    await fn(db);
    const plans: QueryPlan[] = [];
    for (const q of seen) {
      if (!/^\s*(select|with)\b/i.test(q.sql) || /\bfor (update|share)\b/i.test(q.sql)) continue;
      const json = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${q.sql}`, q.parameters as unknown[]);
      const text = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) ${q.sql}`, q.parameters as unknown[]);
      const [top] = json.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Execution Time': number }>;
      plans.push({
        sql: q.sql.replace(/\s+/g, ' ').trim(),
        scans: scansOf(top!.Plan),
        executionMs: Math.round(top!['Execution Time'] * 1000) / 1000,
        buffers: (top!.Plan['Shared Hit Blocks'] ?? 0) + (top!.Plan['Shared Read Blocks'] ?? 0),
        text: text.rows.map((r: Record<string, string>) => r['QUERY PLAN']!),
      });
    }
    return plans;
  } finally {
    await db.destroy();
  }
}

/** Tables with more rows than this must be read through an index. */
export const BIG_TABLE_ROWS = 5_000;

/** Scans of big tables (by the planner's row estimate) that are not index scans; a Bitmap Heap Scan is fed by an index. */
export async function fullScans(db: Db, plans: QueryPlan[]): Promise<Array<PlanScan & { sql: string }>> {
  const { rows } = await sql<{ relname: string }>`SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > ${BIG_TABLE_ROWS}`.execute(db);
  const big = new Set(rows.map((r) => r.relname));
  return plans.flatMap((p) => p.scans.filter((s) => big.has(s.relation) && s.node === 'Seq Scan').map((s) => ({ ...s, sql: p.sql })));
}
