// The instance state machine through the real core functions: every operation from every state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstanceState } from '@pictor/migrations/schema';
import type { Db } from '@pictor/platform/db';
import {
  addInstanceHours,
  attachSshKeys,
  createInstance,
  deleteInstance,
  getInstanceDetail,
  getInstanceLogs,
  quoteAddInstanceHours,
  quoteStartPaused,
  renameInstance,
  restartInstance,
  setAutoRenew,
  startInstance,
  startPausedInstance,
  stopInstance,
} from '../src/pictor/instances/index.ts';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../src/pictor/errors.ts';
import type { ManualClock } from '@pictor/platform/clock';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { addKey, fund, h100, HOUR, newUser, setupCore, type TestUser } from './core-fixtures.ts';

const provisioner = new SimulatedProvisioner();

/** A fresh instance driven into `state` through the real operations and the worker. */
async function instanceIn(db: Db, clock: ManualClock, user: TestUser, state: InstanceState): Promise<string> {
  const { id } = await createInstance(db, user.actor, h100({ gpuCount: 1, rentalHours: 2 }), clock);
  if (state === 'provisioning') return id;
  clock.advance(5000);
  await runLifecycleOnce({ db, clock, provisioner });
  if (state === 'stopped') await stopInstance(db, user.actor, id, clock);
  if (state === 'paused') {
    await db.updateTable('instances').set({ expires_at: clock.now() }).where('id', '=', id).execute();
    await runLifecycleOnce({ db, clock, provisioner });
  }
  if (state === 'expired') {
    // only rows from before migration 0012 are expired: made by hand, as that code left them
    await db.updateTable('instances').set({ state: 'expired', ended_at: clock.now(), end_reason: 'auto-renew off' }).where('id', '=', id).execute();
  }
  if (state === 'deleted') await deleteInstance(db, user.actor, id, clock);
  assert.equal((await db.selectFrom('instances').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state, state);
  return id;
}

type Op = 'start' | 'start_paused' | 'stop' | 'restart' | 'add_hours' | 'enable_auto_renew' | 'disable_auto_renew' | 'rename' | 'attach_ssh_keys' | 'delete';

/**
 * What each operation does from each state: the state after, 'noop', 'invalid' (refused, naming the
 * state) or 'input' (refused as a wrong argument: rental_hours on a stopped instance).
 */
const EXPECTED: Record<Exclude<InstanceState, 'deleted'>, Record<Op, InstanceState | 'noop' | 'invalid' | 'input'>> = {
  provisioning: {
    start: 'invalid',
    start_paused: 'invalid',
    stop: 'invalid',
    restart: 'invalid',
    add_hours: 'provisioning',
    enable_auto_renew: 'provisioning',
    disable_auto_renew: 'noop',
    rename: 'provisioning',
    attach_ssh_keys: 'provisioning',
    delete: 'deleted',
  },
  running: {
    start: 'noop',
    start_paused: 'noop',
    stop: 'stopped',
    restart: 'running',
    add_hours: 'running',
    enable_auto_renew: 'running',
    disable_auto_renew: 'noop',
    rename: 'running',
    attach_ssh_keys: 'running',
    delete: 'deleted',
  },
  stopped: {
    start: 'running',
    start_paused: 'input',
    stop: 'noop',
    restart: 'invalid',
    add_hours: 'stopped',
    enable_auto_renew: 'stopped',
    disable_auto_renew: 'noop',
    rename: 'stopped',
    attach_ssh_keys: 'stopped',
    delete: 'deleted',
  },
  paused: {
    start: 'invalid',
    start_paused: 'running',
    stop: 'invalid',
    restart: 'invalid',
    add_hours: 'invalid',
    enable_auto_renew: 'invalid',
    disable_auto_renew: 'invalid',
    rename: 'paused',
    attach_ssh_keys: 'invalid',
    delete: 'deleted',
  },
  expired: {
    start: 'invalid',
    start_paused: 'invalid',
    stop: 'invalid',
    restart: 'invalid',
    add_hours: 'invalid',
    enable_auto_renew: 'invalid',
    disable_auto_renew: 'invalid',
    rename: 'expired',
    attach_ssh_keys: 'invalid',
    delete: 'deleted',
  },
};

test('every operation from every state: allowed transitions, no-ops, and refusals that say the state', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '100000' });
  const key = await addKey(db, user.accountId);

  const run = async (op: Op, id: string): Promise<unknown> => {
    switch (op) {
      case 'start':
        return startInstance(db, user.actor, id, clock);
      case 'start_paused':
        return startPausedInstance(db, user.actor, id, 1, clock);
      case 'stop':
        return stopInstance(db, user.actor, id, clock);
      case 'restart':
        return restartInstance(db, user.actor, id, clock);
      case 'add_hours':
        return addInstanceHours(db, user.actor, id, 1, clock);
      case 'enable_auto_renew':
        return setAutoRenew(db, user.actor, id, true, clock);
      case 'disable_auto_renew':
        return setAutoRenew(db, user.actor, id, false, clock);
      case 'rename':
        return renameInstance(db, user.actor, id, 'renamed', clock);
      case 'attach_ssh_keys':
        return attachSshKeys(db, user.actor, id, [key], clock);
      case 'delete':
        return deleteInstance(db, user.actor, id, clock);
    }
  };

  for (const [state, ops] of Object.entries(EXPECTED) as Array<[Exclude<InstanceState, 'deleted'>, Record<Op, string>]>) {
    for (const [op, expected] of Object.entries(ops) as Array<[Op, string]>) {
      const id = await instanceIn(db, clock, user, state);
      const label = `${op} from ${state}`;
      if (expected === 'invalid') {
        await assert.rejects(run(op, id), (err: unknown) => {
          assert.ok(err instanceof InvalidStateError, `${label}: ${String(err)}`);
          assert.match(err.message, new RegExp(`^the instance is ${state}; `), label);
          assert.equal(err.details.state, state);
          return true;
        });
        assert.equal((await getInstanceDetail(db, user.actor, id)).state, state, label);
        continue;
      }
      if (expected === 'input') {
        await assert.rejects(run(op, id), (err: unknown) => err instanceof InvalidInputError && err.details.field === 'rental_hours', label);
        assert.equal((await getInstanceDetail(db, user.actor, id)).state, state, label);
        continue;
      }
      const result = (await run(op, id)) as { changed?: boolean };
      if (expected === 'noop') {
        assert.equal(result.changed, false, label);
        assert.equal((await getInstanceDetail(db, user.actor, id)).state, state, label);
      } else if (expected === 'deleted') {
        await assert.rejects(getInstanceDetail(db, user.actor, id), NotFoundError, label);
      } else {
        assert.equal((await getInstanceDetail(db, user.actor, id)).state, expected, label);
      }
    }
  }
});

test('a deleted instance is not found for every operation', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '1000' });
  const key = await addKey(db, user.accountId);
  const id = await instanceIn(db, clock, user, 'deleted');
  const calls = [
    () => getInstanceDetail(db, user.actor, id),
    () => getInstanceLogs(db, user.actor, id),
    () => startInstance(db, user.actor, id, clock),
    () => startPausedInstance(db, user.actor, id, 1, clock),
    () => quoteStartPaused(db, user.actor, id, 1, clock),
    () => restartInstance(db, user.actor, id, clock),
    () => stopInstance(db, user.actor, id, clock),
    () => setAutoRenew(db, user.actor, id, true, clock),
    () => setAutoRenew(db, user.actor, id, false, clock),
    () => renameInstance(db, user.actor, id, 'x', clock),
    () => addInstanceHours(db, user.actor, id, 1, clock),
    () => quoteAddInstanceHours(db, user.actor, id, 1),
    () => deleteInstance(db, user.actor, id, clock),
    () => attachSshKeys(db, user.actor, id, [key], clock),
  ];
  for (const call of calls) await assert.rejects(call(), { message: 'Instance not found' });
});

test('refusal messages say what is allowed', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '1000' });
  const prov = await instanceIn(db, clock, user, 'provisioning');
  await assert.rejects(stopInstance(db, user.actor, prov, clock), {
    message: 'the instance is provisioning; stop is allowed when the instance is running (it becomes running by itself within seconds)',
  });
  const paused = await instanceIn(db, clock, user, 'paused');
  await assert.rejects(addInstanceHours(db, user.actor, paused, 5, clock), {
    message:
      /^the instance is paused; hours can be added while the instance is provisioning, running or stopped \(its prepaid time ended and its GPUs were released; start-instance with rental_hours starts it again\)$/,
  });
  await assert.rejects(startInstance(db, user.actor, paused, clock), { message: /^the instance is paused; start is allowed when the instance is stopped \(/ });
  const stopped = await instanceIn(db, clock, user, 'stopped');
  await assert.rejects(restartInstance(db, user.actor, stopped, clock), {
    message: 'the instance is stopped; restart is allowed when the instance is running (start it with start-instance first)',
  });
  const expired = await instanceIn(db, clock, user, 'expired');
  await assert.rejects(addInstanceHours(db, user.actor, expired, 5, clock), {
    message: /^the instance is expired; hours can be added while the instance is provisioning, running or stopped \(its rental ended/,
  });
});

test('stop and start leave power actions for the worker; boot output and "Powered off" appear in the logs', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '1000' });
  const id = await instanceIn(db, clock, user, 'running');

  const stopped = await stopInstance(db, user.actor, id, clock);
  assert.equal(stopped.state, 'stopped');
  assert.equal(stopped.pendingAction, 'stop');
  await runLifecycleOnce({ db, clock, provisioner });
  assert.equal((await getInstanceDetail(db, user.actor, id)).pendingAction, 'stop'); // not finished yet
  clock.advance(1500);
  await runLifecycleOnce({ db, clock, provisioner });
  assert.equal((await getInstanceDetail(db, user.actor, id)).pendingAction, null);

  // Start, then stop again before the boot finishes: the stale start result must not apply.
  await startInstance(db, user.actor, id, clock);
  await stopInstance(db, user.actor, id, clock);
  clock.advance(3000);
  await runLifecycleOnce({ db, clock, provisioner });
  const settled = await getInstanceDetail(db, user.actor, id);
  assert.equal(settled.state, 'stopped');
  assert.equal(settled.pendingAction, null);
  const messages = (await getInstanceLogs(db, user.actor, id, { limit: 100 })).items.map((l) => l.message);
  assert.ok(messages.includes('Powered off'));
  assert.ok(messages.some((m) => /Stop requested: powering off\. The prepaid period keeps running/.test(m)));
  assert.ok(messages.includes('Start requested: powering on'));
  assert.ok(!messages.includes('Powered on; SSH is answering'), 'the superseded start did not complete');

  // Stopping moves no money.
  const charges = await db.selectFrom('ledger_entries').select('id').where('instance_id', '=', id).execute();
  assert.equal(charges.length, 1);
  clock.advance(HOUR);
});
