// The hot reads stay index reads as an account grows (issue 14 §2; the timed curves are
// `npm run bench -- curves`). An account with 6,000 instances of history among 10,000 of other
// accounts, with their ledger, activity and log lines (scale-fixtures.ts) and 2,000 lines of log on one instance, analyzed; each read
// tool's core function runs once under EXPLAIN ANALYZE: no sequential scan of a big table, the
// index meant for it in use, and the last page of the list costs the buffers of the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { systemClock } from '@pictor/platform/clock';
import { createTestDatabase } from '@pictor/platform/testing';
import { getBalance } from '../src/pictor/balance.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { getInstanceDetail, getInstanceLogs, listInstances } from '../src/pictor/instances/index.ts';
import { spendingReport } from '../src/pictor/spending.ts';
import { capturePlans, createAccounts, fullScans, seedHistory, seedLogLines, type QueryPlan } from './scale-fixtures.ts';

const SIZE = 6_000;

test('list, detail, logs, balance and the spending report read a 6,000-instance account through indexes; the last page costs what the first does', async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const { db, url } = database;
  await seedCatalog(db);
  const others = await createAccounts(db, 'other', 200);
  await seedHistory(
    db,
    others.map((o) => o.accountId),
    50,
  );
  const [me] = await createAccounts(db, 'me', 1);
  const [newest] = await seedHistory(db, [me!.accountId], SIZE);
  await seedLogLines(db, newest!, 2_000);
  await sql`ANALYZE`.execute(db);
  const actor = { userId: me!.userId };

  // the cursor of the last page, found by walking every page (and each instance comes once)
  const seen = new Set<string>();
  let cursor: string | undefined;
  let last: string | undefined;
  do {
    const page = await listInstances(db, actor, { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const i of page.items) seen.add(i.id);
    if (page.nextCursor) last = page.nextCursor;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const listed = await sql<{ n: number }>`SELECT count(*)::int AS n FROM instances WHERE account_id = ${me!.accountId}::uuid AND state <> 'deleted'`.execute(
    db,
  );
  assert.equal(seen.size, listed.rows[0]!.n);
  let logsCursor: string | undefined;
  for (let i = 0; i < 4; i++) logsCursor = (await getInstanceLogs(db, actor, newest!, { limit: 100, cursor: logsCursor })).nextCursor!;

  const reads: Record<string, { run: Parameters<typeof capturePlans>[1]; index?: string }> = {
    'list first page': { run: (d) => listInstances(d, actor, {}), index: 'instances_account' },
    'list last page': { run: (d) => listInstances(d, actor, { cursor: last }), index: 'instances_account' },
    'list by state': { run: (d) => listInstances(d, actor, { state: 'expired' }), index: 'instances_account_state' },
    detail: { run: (d) => getInstanceDetail(d, actor, newest!), index: 'instances_pkey' },
    'logs first page': { run: (d) => getInstanceLogs(d, actor, newest!, {}), index: 'instance_logs_instance' },
    'logs deep page': { run: (d) => getInstanceLogs(d, actor, newest!, { cursor: logsCursor }), index: 'instance_logs_instance' },
    balance: { run: (d) => getBalance(d, actor) },
    'spending report': { run: (d) => spendingReport(d, actor, 7, systemClock), index: 'ledger_account_time' },
  };
  const plans: Record<string, QueryPlan[]> = {};
  for (const [name, read] of Object.entries(reads)) {
    plans[name] = await capturePlans(url, read.run);
    assert.ok(plans[name]!.length > 0, `${name}: no query seen`);
    assert.deepEqual(await fullScans(db, plans[name]!), [], `${name}: a big table read without an index`);
    const indexes = plans[name]!.flatMap((p) => p.scans.map((s) => s.index));
    if (read.index) assert.ok(indexes.includes(read.index), `${name}: expected ${read.index}, plans used ${indexes.join(', ')}`);
  }
  // the balance never reads the account's history at all (its few small tables may be scanned whole)
  const balanceTables = plans.balance!.flatMap((p) => p.scans.map((s) => s.relation));
  assert.deepEqual(
    balanceTables.filter((t) => ['instances', 'ledger_entries', 'instance_logs', 'activity'].includes(t)),
    [],
  );
  // the spending report's rented instances come from the account's state index, not its history
  assert.ok(plans['spending report']!.some((p) => p.scans.some((s) => s.index === 'instances_account_state')));

  const buffers = (ps: QueryPlan[]) => ps.reduce((n, p) => n + p.buffers, 0);
  const first = buffers(plans['list first page']!);
  const deep = buffers(plans['list last page']!);
  // the last page adds only the cursor's anchor lookup (a few index pages), never the pages before it
  assert.ok(deep <= first + 12, `last page read ${deep} buffers, first page ${first}`);
});
