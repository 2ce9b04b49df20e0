// Waiting for an instance (issue 13 §4) in the core and the tool layer: the instances trigger's
// notifications, the one LISTEN per process waking waiters (never polling), progress in order
// through a request's progress sink, time-outs, bad wait_seconds, and waiters that always clean up.
// The worker runs by hand on its own pool (another replica's connection) on the ManualClock.
import { DEV_INSTANCE_SECRETS_KEY } from '../src/config.ts';
import { SecretBox } from '../src/pictor/sealing.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import pg from 'pg';
import pino from 'pino';
import { sql } from 'kysely';
import { createDb, poolStats } from '@pictor/platform/db';
import {
  createInstance,
  INSTANCE_CHANNEL,
  renameInstance,
  startInstance,
  stopInstance,
  waitUntilRunning,
  watchInstanceChanges,
  type InstanceChanges,
  type StartPhase,
} from '../src/pictor/instances/index.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { executeTool, isInputRequired, type CallContext } from '../src/tools/execute.ts';
import { createInstanceTool, startInstanceTool } from '../src/tools/instances.ts';
import { compileTool } from '../src/tools/public.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { addKey, fingerprint, fund, h100, newUser, setupCore, type Core, type TestUser } from './core-fixtures.ts';

const log = pino({ level: 'silent' });
type Structured = Record<string, any>;

interface World extends Core {
  user: TestUser;
  key: string;
  /** The lifecycle worker on a pool of its own, as another replica's would be. */
  work(): Promise<void>;
  changes: InstanceChanges;
}

async function world(t: { after(fn: () => Promise<void>): void }): Promise<World> {
  const core = await setupCore(t);
  const user = await newUser(core.db);
  await fund(core.db, user.accountId, { balance: '5000' });
  const key = await addKey(core.db, user.accountId);
  const other = createDb(core.url, { max: 2, applicationName: 'other-replica' });
  const changes = await watchInstanceChanges({ databaseUrl: core.url, log, reconnectMs: 200 });
  t.after(async () => {
    await changes.close();
    await other.destroy();
  });
  const provisioner = new SimulatedProvisioner();
  return { ...core, user, key, changes, work: async () => void (await runLifecycleOnce({ db: other, clock: core.clock, provisioner })) };
}

/** Records phases as a waiter reports them; `seen(p)` resolves once p has been reported. */
function phaseLog() {
  const phases: StartPhase[] = [];
  const waiting = new Map<StartPhase, () => void>();
  return {
    phases,
    onPhase(phase: StartPhase) {
      phases.push(phase);
      waiting.get(phase)?.();
    },
    seen(phase: StartPhase): Promise<void> {
      return phases.includes(phase) ? Promise.resolve() : new Promise((resolve) => waiting.set(phase, resolve));
    },
  };
}

test('the instances trigger notifies state and power-action changes and a worker first taking an action, at commit, and nothing else', async (t) => {
  const w = await world(t);
  const listener = new pg.Client({ connectionString: w.url });
  await listener.connect();
  const got: string[] = [];
  let fence: (() => void) | undefined;
  listener.on('notification', (m) => (m.payload === 'fence' ? fence?.() : got.push(m.payload!)));
  await listener.query(`LISTEN ${INSTANCE_CHANNEL}`);
  // notifications reach a listener in commit order: one sent last arrives after all the others
  const drained = async () => {
    const arrived = new Promise<void>((resolve) => (fence = resolve));
    await sql`SELECT pg_notify(${INSTANCE_CHANNEL}, 'fence')`.execute(w.db);
    await arrived;
    return got.splice(0);
  };

  const { id } = await createInstance(w.db, w.user.actor, h100({ sshKeyIds: [w.key] }), w.clock);
  await renameInstance(w.db, w.user.actor, id, 'renamed', w.clock);
  assert.deepEqual(await drained(), [], 'creating and renaming notify nothing');
  await w.work(); // takes the provision action; the simulated hardware answers "pending" (5 s)
  assert.deepEqual(await drained(), [`${id} provisioning provision`], 'the worker taking the action notifies once');
  w.clock.advance(1000);
  await w.work(); // not due yet: nothing happens
  w.clock.advance(5000);
  await w.work(); // done
  assert.deepEqual(await drained(), [`${id} running -`]);
  await stopInstance(w.db, w.user.actor, id, w.clock);
  assert.deepEqual(await drained(), [`${id} stopped stop`]);
  await w.db
    .transaction()
    .execute(async (trx) => {
      await trx.updateTable('instances').set({ state: 'running' }).where('id', '=', id).execute();
      throw new Error('roll back');
    })
    .catch(() => undefined);
  assert.deepEqual(await drained(), [], 'a rolled-back change notifies nothing');
  await listener.end();
});

test('a waiter sleeps until a notification from another connection wakes it, through every phase, holding nothing meanwhile', async (t) => {
  const w = await world(t);
  const created = await createInstance(w.db, w.user.actor, h100({ sshKeyIds: [w.key] }), w.clock);
  const log1 = phaseLog();
  // the safety re-check is far beyond the test: only a notification can wake the waiter in time
  const waiting = waitUntilRunning(w.db, w.user.actor, created.id, { timeoutMs: 10_000, recheckMs: 60_000, changes: w.changes, onPhase: log1.onPhase });
  await log1.seen('queued');
  assert.equal(w.changes.waiters, 1);
  await w.work();
  await log1.seen('provisioning');

  // asleep: no pooled connection held, no transaction open, no row lock on the instance or account
  assert.deepEqual(poolStats(w.db), { ...poolStats(w.db)!, idle: poolStats(w.db)!.total, waiting: 0 });
  const probe = createDb(w.url, { max: 1 });
  t.after(() => probe.destroy());
  await probe.transaction().execute(async (trx) => {
    await trx.selectFrom('instances').select('id').where('id', '=', created.id).forUpdate().noWait().execute();
    await trx.selectFrom('accounts').select('id').where('id', '=', w.user.accountId).forUpdate().noWait().execute();
  });
  const idleInTx = await sql`SELECT pid FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND datname = current_database()`.execute(probe);
  assert.deepEqual(idleInTx.rows, []);

  w.clock.advance(6000);
  await w.work();
  const r = await waiting;
  assert.equal(r.outcome, 'running');
  assert.deepEqual(log1.phases, ['queued', 'provisioning', 'running']);
  assert.equal(r.detail.state, 'running');
  assert.match(r.detail.ssh?.command ?? '', /^ssh -p \d+ root@us-east\.gpu\.pictor\.dev$/);
  assert.ok(r.waitedMs < 5000, `woken by the notification, not the re-check or the deadline (${r.waitedMs} ms)`);
  assert.equal(w.changes.waiters, 0);

  // start: queued → booting → running
  await stopInstance(w.db, w.user.actor, created.id, w.clock);
  w.clock.advance(2000);
  await w.work();
  await startInstance(w.db, w.user.actor, created.id, w.clock);
  const log2 = phaseLog();
  const starting = waitUntilRunning(w.db, w.user.actor, created.id, { timeoutMs: 10_000, recheckMs: 60_000, changes: w.changes, onPhase: log2.onPhase });
  await log2.seen('queued');
  await w.work();
  await log2.seen('booting');
  w.clock.advance(4000);
  await w.work();
  assert.equal((await starting).outcome, 'running');
  assert.deepEqual(log2.phases, ['queued', 'booting', 'running']);
});

test('a notification lost while the listener was disconnected: the reconnect wakes every waiter to look again', async (t) => {
  const w = await world(t);
  const created = await createInstance(w.db, w.user.actor, h100({ sshKeyIds: [w.key] }), w.clock);
  const phases = phaseLog();
  const waiting = waitUntilRunning(w.db, w.user.actor, created.id, { timeoutMs: 10_000, recheckMs: 60_000, changes: w.changes, onPhase: phases.onPhase });
  await phases.seen('queued');
  const admin = createDb(w.url, { max: 1 });
  t.after(() => admin.destroy());
  const { rows } = await sql<{ ended: boolean }>`
    SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
    WHERE application_name = 'pictor-mcp-instance-changes' AND datname = current_database()`.execute(admin);
  assert.deepEqual(rows, [{ ended: true }]);
  // the whole provisioning happens while nobody listens (the watch reconnects after 200 ms)
  w.clock.advance(6000);
  await w.work();
  await w.work();
  const r = await waiting;
  assert.equal(r.outcome, 'running');
  assert.ok(r.waitedMs < 5000, `woken by the reconnect, not the re-check or the deadline (${r.waitedMs} ms)`);
});

/** A call whose interaction cannot elicit always ends in a plain result. */
async function exec(...args: Parameters<typeof executeTool>): Promise<CallToolResult> {
  const result = await executeTool(...args);
  if (isInputRequired(result)) assert.fail('a call that cannot elicit was asked for input');
  return result;
}

const createCall = (w: World, progress?: (u: { progress: number; total?: number; message?: string }) => void): CallContext => ({
  services: { db: w.db, clock: w.clock, log, instanceChanges: w.changes, secrets: new SecretBox([DEV_INSTANCE_SECRETS_KEY]) },
  caller: { userId: w.user.id, scopes: ['instances:write', 'pictor:read'], clientId: 'claude' },
  requestId: 'req-1',
  log,
  ...(progress ? { interaction: { canElicit: false, progress } } : {}),
});
const CREATE = { plan: 'h100-80gb', gpu_count: 1, region: 'us-east', storage_gb: 100, rental_hours: 2, name: 'waiter' };

test('create-instance with wait_seconds: progress in order through the sink, then the result with the SSH command; the charge is on record first', async (t) => {
  const w = await world(t);
  const events: string[] = [];
  const updates: Array<{ progress: number; total?: number; message?: string }> = [];
  const background: Promise<void>[] = [];
  const sink = (u: { progress: number; total?: number; message?: string }) => {
    updates.push(u);
    events.push(`progress ${u.progress}`);
    // drive the worker from the sink, the way time would: take the request, then finish it
    if (u.progress === 1) {
      background.push(
        (async () => {
          const activity = await w.db.selectFrom('activity').select(['tool', 'amount_micro']).execute();
          events.push(`recorded ${activity.map((a) => `${a.tool} ${a.amount_micro}`).join(',')}`);
          await w.work();
        })(),
      );
    }
    if (u.progress === 2) {
      w.clock.advance(6000);
      background.push(w.work());
    }
  };
  const result = await exec(compileTool(createInstanceTool), { ...CREATE, ssh_key_ids: [w.key], wait_seconds: 60 }, createCall(w, sink));
  events.push('result');
  await Promise.all(background);
  assert.ok(!result.isError, JSON.stringify(result.content));
  const s = result.structuredContent as Structured;
  assert.deepEqual(
    events.map((e) => e.replace(/-\d+$/, '-N')),
    ['progress 1', 'recorded create-instance -N', 'progress 2', 'progress 4', 'result'],
  );
  assert.deepEqual(
    updates.map((u) => u.total),
    [4, 4, 4],
  );
  assert.match(updates[0]!.message!, /^Queued: the machine request waits for a worker/);
  assert.match(updates[1]!.message!, /^Provisioning: the hardware is setting up 1 × H100 80GB in us-east with a 100 GB disk/);
  assert.match(updates[2]!.message!, /^Running: ssh -p \d+ root@us-east\.gpu\.pictor\.dev$/);
  assert.equal(s.instance.state, 'running');
  assert.equal(s.instance.ssh.command, updates[2]!.message!.slice('Running: '.length));
  assert.equal(s.wait.outcome, 'running');
  assert.ok(s.wait.waited_seconds >= 0 && s.wait.waited_seconds < 30);
  assert.equal(s.cost.total.length > 0, true);
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  assert.match(text, /^Created "waiter"[\s\S]*Running after \d+ s\.[\s\S]*SSH: ssh -p \d+ root@/);
  assert.equal(w.changes.waiters, 0);
});

test('wait_seconds ran out: the current state and a message that it is still starting; without a sink, one answer and no progress', async (t) => {
  const w = await world(t);
  const started = Date.now();
  const result = await exec(compileTool(createInstanceTool), { ...CREATE, wait_seconds: 1 }, createCall(w));
  const took = Date.now() - started;
  assert.ok(!result.isError, JSON.stringify(result.content));
  const s = result.structuredContent as Structured;
  assert.equal(s.instance.state, 'provisioning');
  assert.equal(s.wait.outcome, 'timed_out');
  assert.match(s.wait.message, /^Still queued after 1 s; it carries on by itself\. Check with get-instance-detail/);
  assert.ok(took >= 1000 && took < 5000, `${took} ms`);
  assert.equal(w.changes.waiters, 0);

  // start-instance on a stopped instance times out the same way, with a sink that hears only "queued"
  w.clock.advance(6000);
  await w.work();
  await stopInstance(w.db, w.user.actor, s.instance.id, w.clock);
  const heard: number[] = [];
  const call = { ...createCall(w, (u) => heard.push(u.progress)) };
  const start = await exec(compileTool(startInstanceTool), { instance_id: s.instance.id, wait_seconds: 1 }, call);
  const st = start.structuredContent as Structured;
  assert.equal(st.changed, true);
  assert.equal(st.instance.state, 'running');
  assert.equal(st.instance.pending_action, 'start');
  assert.equal(st.wait.outcome, 'timed_out');
  assert.deepEqual(heard, [1]);
});

test('wait_seconds 0 (the default) answers at once with wait null; a stopped instance settles a wait at once', async (t) => {
  const w = await world(t);
  const result = await exec(compileTool(createInstanceTool), CREATE, createCall(w));
  const s = result.structuredContent as Structured;
  assert.equal(s.wait, null);
  assert.equal(s.instance.state, 'provisioning');
  const dry = await exec(compileTool(createInstanceTool), { ...CREATE, dry_run: true, wait_seconds: 30 }, createCall(w));
  assert.equal((dry.structuredContent as Structured).wait, null, 'a dry run does not wait');
  assert.equal((dry.structuredContent as Structured).instance, null);

  w.clock.advance(6000);
  await w.work();
  await stopInstance(w.db, w.user.actor, s.instance.id, w.clock);
  const r = await waitUntilRunning(w.db, w.user.actor, s.instance.id, { timeoutMs: 30_000, changes: w.changes });
  assert.equal(r.outcome, 'settled');
  assert.equal(r.detail.state, 'stopped');
  assert.ok(r.waitedMs < 5000);
});

test('bad wait_seconds is refused with the field and the range, and changes nothing', async (t) => {
  const w = await world(t);
  const before = await fingerprint(w.db);
  for (const bad of [-1, 121, 1.5, '10', null]) {
    const r = await exec(compileTool(createInstanceTool), { ...CREATE, wait_seconds: bad }, createCall(w));
    assert.equal(r.isError, true, String(bad));
    const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    assert.equal(text, 'Invalid arguments for create-instance: wait_seconds: must be a whole number of seconds from 0 (do not wait) to 120', String(bad));
    assert.equal((r._meta as Structured)['network.pictor/error'].code, 'invalid_arguments');
  }
  const r = await exec(compileTool(startInstanceTool), { instance_id: '00000000-0000-4000-8000-000000000000', wait_seconds: 500 }, createCall(w));
  assert.match(r.content.map((c) => (c.type === 'text' ? c.text : '')).join(''), /^Invalid arguments for start-instance: wait_seconds: must be a whole number/);
  assert.equal(await fingerprint(w.db), before);
  const instances = await w.db.selectFrom('instances').select('id').execute();
  assert.deepEqual(instances, []);
});

test('waiters always clean up: after many time-outs, aborts and settled waits no subscription, timer or abort listener is left', async (t) => {
  const w = await world(t);
  const queued = await createInstance(w.db, w.user.actor, h100({ gpuCount: 1, storageGb: 100 }), w.clock);
  // a pool of one connection: at rest it holds exactly one timer (its idle timeout), so any other is a waiter's
  const db = createDb(w.url, { max: 1 });
  t.after(() => db.destroy());
  await sql`SELECT 1`.execute(db);
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const baseline = timers();
  const controller = new AbortController();
  const shared = new AbortController(); // one signal many waits listen to, never aborted
  const waits = [
    ...Array.from({ length: 40 }, () => waitUntilRunning(db, w.user.actor, queued.id, { timeoutMs: 50, changes: w.changes, signal: shared.signal })),
    ...Array.from({ length: 20 }, () => waitUntilRunning(db, w.user.actor, queued.id, { timeoutMs: 60_000, changes: w.changes, signal: controller.signal })),
  ];
  while (w.changes.waiters < 60) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  const results = await Promise.all(waits);
  assert.deepEqual(
    results.map((r) => r.outcome),
    [...Array(40).fill('timed_out'), ...Array(20).fill('interrupted')],
  );
  assert.deepEqual(new Set(results.slice(40).map((r) => r.interruption)), new Set(['aborted']));
  assert.equal(w.changes.waiters, 0);
  assert.equal(getEventListeners(shared.signal, 'abort').length, 0);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  assert.equal(timers(), baseline);
  // an instance of another account is not found, and leaves nothing behind either
  const stranger = await newUser(w.db);
  await assert.rejects(waitUntilRunning(db, stranger.actor, queued.id, { timeoutMs: 1000, changes: w.changes }), /Instance not found/);
  assert.equal(w.changes.waiters, 0);
  assert.equal(timers(), baseline);
});

test('the number of waiters is bounded, and closing the watch ends every wait at once with the state so far', async (t) => {
  const w = await world(t);
  const small = await watchInstanceChanges({ databaseUrl: w.url, log, maxWaiters: 2 });
  const queued = await createInstance(w.db, w.user.actor, h100({ gpuCount: 1, storageGb: 100 }), w.clock);
  const two = [0, 1].map(() => waitUntilRunning(w.db, w.user.actor, queued.id, { timeoutMs: 60_000, changes: small }));
  while (small.waiters < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const third = await waitUntilRunning(w.db, w.user.actor, queued.id, { timeoutMs: 60_000, changes: small });
  assert.equal(third.outcome, 'interrupted');
  assert.equal(third.interruption, 'busy');
  assert.equal(third.detail.state, 'provisioning');

  const closing = Date.now();
  await small.close();
  const ended = await Promise.all(two);
  assert.ok(Date.now() - closing < 5000);
  assert.deepEqual(
    ended.map((r) => [r.outcome, r.interruption, r.detail.state]),
    [
      ['interrupted', 'closing', 'provisioning'],
      ['interrupted', 'closing', 'provisioning'],
    ],
  );
  assert.equal(small.waiters, 0);
  const after = await waitUntilRunning(w.db, w.user.actor, queued.id, { timeoutMs: 60_000, changes: small });
  assert.equal(after.interruption, 'closing', 'a closed watch answers at once');
});
