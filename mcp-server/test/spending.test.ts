// The spending report on a fixture account with one instance of each leak: spend per day and per
// instance equal the ledger's rows, per app equals the app's charges, burn and runway are exact,
// and each leak comes with its figures and the tool call that fixes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { sql } from 'kysely';
import { hourlyRates, refundFor, rentalCost, unusedWholeHours, type RateCard } from '../src/pictor/billing.ts';
import { createInstance, deleteInstance, stopInstance } from '../src/pictor/instances/index.ts';
import { postCredit } from '../src/pictor/ledger.ts';
import { formatCredits, MICRO_PER_CREDIT } from '@pictor/platform/money';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { SecretBox } from '../src/pictor/sealing.ts';
import { DEV_INSTANCE_SECRETS_KEY } from '../src/config.ts';
import { spendingReport } from '../src/pictor/spending.ts';
import { executeTool } from '../src/tools/execute.ts';
import { compileTool } from '../src/tools/public.ts';
import { createInstanceTool } from '../src/tools/instances.ts';
import { getSpendingReportTool } from '../src/tools/spending.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { addKey, HOUR, newUser, setupCore } from './core-fixtures.ts';
import { appLimitsOfUser, saveAppLimits } from '@pictor/platform/app-limits';

const small = { plan: 'rtx4090-24gb', gpuCount: 1, region: 'us-east', storageGb: 50 };
const rate: RateCard = { gpuCount: 1, pricePerGpuHour: 490_000n, storageGb: 50, storagePricePerGbMonth: 0n };

test("a fixture account with each kind of leak: every figure is the ledger's, every leak is found with its fix", async (t) => {
  const core = await setupCore(t);
  const { db, clock } = core;
  clock.set(new Date()); // the ledger stamps rows with the database's time
  const me = await newUser(db);
  const plan = await db
    .selectFrom('gpu_plans')
    .select(['price_per_gpu_hour', 'storage_price_per_gb_month'])
    .where('id', '=', 'rtx4090-24gb')
    .executeTakeFirstOrThrow();
  rate.pricePerGpuHour = plan.price_per_gpu_hour;
  rate.storagePricePerGbMonth = plan.storage_price_per_gb_month;
  const c1 = rentalCost(rate, 1).total;
  const perHour = hourlyRates(rate).totalPerHour;
  // enough for the fixture; after it, the funds are the deleted one's refund plus 3.5 renewals
  const creations = rentalCost(rate, 24).total * 2n + c1 * 2n + rentalCost(rate, 2).total;
  await db.transaction().execute((trx) =>
    postCredit(trx, {
      accountId: me.accountId,
      kind: 'payment',
      bucket: 'balance',
      amount: creations + (c1 * 7n) / 2n,
      description: 'fixture',
    }),
  );
  const key = await addKey(db, me.accountId);

  // no key, running: through the tool, as an app, so it shows per app (with the limit the person set for it)
  await saveAppLimits(db, me.id, 'claude-app', { dailyLimit: 1000n * MICRO_PER_CREDIT, workspaces: ['personal'] });
  const log = pino({ level: 'silent' });
  const services = { db, clock, log, secrets: new SecretBox([DEV_INSTANCE_SECRETS_KEY]) };
  const viaApp = await executeTool(
    compileTool(createInstanceTool),
    {
      ...{ plan: small.plan, gpu_count: 1, region: small.region, storage_gb: 50 },
      rental_hours: 24,
      name: 'keyless',
    },
    { services, caller: { userId: me.id, scopes: ['instances:write'], clientId: 'claude-app' }, requestId: 'r1', log },
  );
  assert.ok(!viaApp.isError, JSON.stringify(viaApp.content));
  const keyless = (viaApp.structuredContent as any).instance.id as string;
  const stopped = await createInstance(db, me.actor, { ...small, rentalHours: 24, name: 'stopped', sshKeyIds: [key] }, clock);
  const renewing = await createInstance(db, me.actor, { ...small, rentalHours: 1, name: 'renewing', sshKeyIds: [key], autoRenew: true }, clock);
  const ending = await createInstance(db, me.actor, { ...small, rentalHours: 1, name: 'ending', sshKeyIds: [key] }, clock);
  const gone = await createInstance(db, me.actor, { ...small, rentalHours: 2, name: 'gone', sshKeyIds: [key] }, clock);
  clock.advance(10_000);
  await runLifecycleOnce({ db, clock, provisioner: new SimulatedProvisioner() });
  await stopInstance(db, me.actor, stopped.id, clock);
  await deleteInstance(db, me.actor, gone.id, clock);
  clock.advance(10_000);
  await runLifecycleOnce({ db, clock, provisioner: new SimulatedProvisioner() });

  const r = await spendingReport(db, me.actor, 7, clock);
  const now = clock.now();

  // per day and per instance: the ledger's own sums
  const { rows: ledger } = await sql<{ instance_id: string; charged: bigint; refunded: bigint }>`
    SELECT instance_id, coalesce(sum(-amount) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged,
      coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded
    FROM ledger_entries WHERE account_id = ${me.accountId}::uuid AND instance_id IS NOT NULL GROUP BY instance_id`.execute(db);
  assert.equal(r.perDay.length, 7);
  assert.equal(r.perDay.at(-1)!.day, now.toISOString().slice(0, 10));
  assert.equal(
    r.perDay.reduce((s, d) => s + d.charged, 0n),
    ledger.reduce((s, l) => s + l.charged, 0n),
  );
  assert.equal(
    r.perDay.reduce((s, d) => s + d.refunded, 0n),
    ledger.reduce((s, l) => s + l.refunded, 0n),
  );
  assert.equal(
    r.perDay.reduce((s, d) => s + d.charged, 0n),
    creations,
  );
  assert.deepEqual(
    new Map(r.perInstance.map((i) => [i.instanceId, [i.charged, i.refunded]])),
    new Map(ledger.map((l) => [l.instance_id, [l.charged, l.refunded]])),
  );
  assert.equal(r.perInstance.find((i) => i.instanceId === gone.id)!.refunded, refundFor(rate, 1).total);

  // per app: what the app's call charged
  assert.deepEqual(
    r.perApp.map((a) => [a.clientId, a.charged, a.returned, a.calls]),
    [['claude-app', rentalCost(rate, 24).total, 0n, 1]],
  );
  // against its limit: the figures the connected-apps page shows (spent counts every workspace)
  const [limit] = await appLimitsOfUser(db, me.id);
  assert.deepEqual(r.perApp[0]!.limit, { daily: 1000n * MICRO_PER_CREDIT, spent: limit!.spentLast24h });

  // burn: four rented instances (the deleted one is not); runway: whole hours the funds pay
  const funds = r.balance + r.credit;
  assert.equal(funds, refundFor(rate, 1).total + (c1 * 7n) / 2n);
  assert.equal(r.burnPerHour, perHour * 4n);
  assert.equal(r.runwayHours, Number(funds / (perHour * 4n)));

  const byKind = new Map(r.leaks.map((l) => [l.kind, l]));
  assert.deepEqual([...byKind.keys()].sort(), ['expiring_within_hour', 'renewal_underfunded', 'running_without_ssh_key', 'stopped_holding_gpus']);
  assert.equal(r.leaks.length, 4);

  const s = byKind.get('stopped_holding_gpus')!;
  assert.deepEqual([s.instanceId, s.cost, s.amount], [stopped.id, perHour, refundFor(rate, unusedWholeHours(stopped.expiresAt, now)).total]);
  assert.deepEqual(s.fix, { tool: 'delete-instance', arguments: { instance_id: stopped.id }, note: s.fix.note });

  const k = byKind.get('running_without_ssh_key')!;
  assert.deepEqual([k.instanceId, k.cost, k.fix.tool, k.fix.arguments], [keyless, perHour, 'add-ssh-keys-to-instance', { instance_id: keyless }]);

  const e = byKind.get('expiring_within_hour')!;
  assert.deepEqual([e.instanceId, e.cost, e.at?.getTime()], [ending.id, c1, ending.expiresAt.getTime()]);
  assert.deepEqual(e.fix, { tool: 'add-instance-hours', arguments: { instance_id: ending.id, hours: 1, dry_run: true }, note: e.fix.note });

  // the renewing instance renews hourly; the funds cover `covered` renewals, the next one falls short
  const u = byKind.get('renewal_underfunded')!;
  const covered = funds / c1;
  assert.ok(covered >= 1n && covered < 24n, `${covered}`);
  assert.deepEqual(
    [u.instanceId, u.cost, u.amount, u.at?.getTime()],
    [renewing.id, c1, c1 - (funds - covered * c1), renewing.expiresAt.getTime() + Number(covered) * HOUR],
  );
  assert.equal(u.fix.tool, 'create-inflow-checkout');
  assert.equal(u.fix.arguments.amount, '10.00', 'the smallest top-up covers a shortfall below it');

  // the tool formats the same figures once, and a team's report needs membership
  const tool = await executeTool(
    compileTool(getSpendingReportTool),
    { days: 7 },
    { services, caller: { userId: me.id, scopes: ['pictor:read'] }, requestId: 'r2', log },
  );
  const out = tool.structuredContent as any;
  assert.equal(out.burn_per_hour, formatCredits(perHour * 4n));
  assert.equal(out.leaks.length, 4);
  const tooMany = await executeTool(
    compileTool(getSpendingReportTool),
    { days: 91 },
    { services, caller: { userId: me.id, scopes: ['pictor:read'] }, requestId: 'r3', log },
  );
  assert.equal(tooMany.isError, true);
});
