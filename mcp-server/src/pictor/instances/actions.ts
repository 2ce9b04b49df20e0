// Instance changes that move no money: start, stop, restart, auto-renew on/off, rename. Stop, start
// and restart change the state at once and leave a power action for the lifecycle worker to carry out.
// (Starting a paused instance charges for new prepaid time: resume.ts.)
// Stopping does not pause the prepaid period: the GPUs stay reserved and storage is kept.
import type { Db } from '@pictor/platform/db';
import type { InstanceUpdate } from '@pictor/migrations/schema';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import type { Clock } from '@pictor/platform/clock';
import type { Trx } from '../ledger.ts';
import type { Action } from '../roles.ts';
import { validateName } from './input.ts';
import { detailFor, type InstanceDetail } from './read.ts';
import { autoRenewBy, lockInstance, writeLogs, type InstanceRecord, type LogLine } from './records.ts';
import { assertAllowed, powerAction, type Operation } from './state.ts';

export interface ChangeResult extends InstanceDetail {
  /** False when the instance already was as asked (the call was a no-op). */
  changed: boolean;
}

type ChangeOperation = Extract<Operation, 'start' | 'stop' | 'restart' | 'auto_renew' | 'rename'>;
const ACTION_OF: Record<ChangeOperation, Action> = {
  start: 'instance:start',
  stop: 'instance:stop',
  restart: 'instance:restart',
  auto_renew: 'instance:auto-renew',
  rename: 'instance:rename',
};

type Change = (row: InstanceRecord, now: Date) => { set: InstanceUpdate; log: Omit<LogLine, 'instanceId' | 'at'>[] } | null;

/** Locks the instance, checks the operation is allowed, applies the change (null = no-op) and logs it. */
async function change(db: Db, actor: Actor, instanceId: string, clock: Clock, op: ChangeOperation, fn: Change): Promise<ChangeResult> {
  const accountId = await resolveAccountId(db, actor, ACTION_OF[op]);
  return db.transaction().execute(async (trx: Trx) => {
    const row = await lockInstance(trx, accountId, instanceId);
    assertAllowed(op, row.state);
    const now = clock.now();
    const planned = fn(row, now);
    if (!planned) return { ...(await detailFor(trx, row)), changed: false };
    const updated = await trx
      .updateTable('instances')
      .set({ ...planned.set, updated_at: now })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeLogs(
      trx,
      planned.log.map((l) => ({ ...l, instanceId: row.id, at: now })),
    );
    return { ...(await detailFor(trx, { ...row, ...updated })), changed: true };
  });
}

export async function startInstance(db: Db, actor: Actor, instanceId: string, clock: Clock): Promise<ChangeResult> {
  return change(db, actor, instanceId, clock, 'start', (row, now) =>
    row.state === 'running'
      ? null
      : {
          set: { state: 'running', ...powerAction('start', row, now) },
          log: [{ source: 'lifecycle', message: 'Start requested: powering on' }],
        },
  );
}

export async function stopInstance(db: Db, actor: Actor, instanceId: string, clock: Clock): Promise<ChangeResult> {
  return change(db, actor, instanceId, clock, 'stop', (row, now) =>
    row.state === 'stopped'
      ? null
      : {
          set: { state: 'stopped', ...powerAction('stop', row, now) },
          log: [
            {
              source: 'lifecycle',
              message: `Stop requested: powering off. The prepaid period keeps running until ${row.expires_at.toISOString()}; the GPUs stay reserved and storage is kept`,
            },
          ],
        },
  );
}

/** Reboots a running instance: always a new reboot (never a no-op); the disk, GPUs and prepaid time stay. */
export async function restartInstance(db: Db, actor: Actor, instanceId: string, clock: Clock): Promise<ChangeResult> {
  return change(db, actor, instanceId, clock, 'restart', (row, now) => ({
    set: powerAction('restart', row, now),
    log: [{ source: 'lifecycle', message: 'Restart requested: rebooting; running processes end, the disk is kept' }],
  }));
}

export async function setAutoRenew(db: Db, actor: Actor, instanceId: string, enabled: boolean, clock: Clock): Promise<ChangeResult> {
  return change(db, actor, instanceId, clock, 'auto_renew', (row) => {
    if (row.auto_renew === enabled) return null;
    const message = enabled
      ? `Auto-renew enabled: at ${row.expires_at.toISOString()} and each expiry after, renews for ${row.rental_hours} h if the account covers it`
      : `Auto-renew disabled: at ${row.expires_at.toISOString()} the instance pauses (GPUs released, disk kept for a while) unless hours are added`;
    // Renewals are charged to the app that turned auto-renew on, and count against its limit.
    const by = enabled ? autoRenewBy(actor) : { auto_renew_client_id: null, auto_renew_user_id: null };
    return { set: { auto_renew: enabled, ...by }, log: [{ source: 'lifecycle', message }] };
  });
}

export async function renameInstance(db: Db, actor: Actor, instanceId: string, name: string, clock: Clock): Promise<ChangeResult> {
  const newName = validateName(name);
  return change(db, actor, instanceId, clock, 'rename', (row) =>
    row.name === newName
      ? null
      : {
          set: { name: newName },
          log: [{ source: 'lifecycle', message: `Renamed from "${row.name}" to "${newName}"` }],
        },
  );
}
