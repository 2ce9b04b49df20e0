// The instance state machine, in one table:
//
//   provisioning ──(provisioner done)──▶ running ◀──start── stopped
//                                        running ───stop──▶ stopped
//                                        running ──restart──▶ running (a reboot)
//   provisioning | running | stopped ──(expiry without renewal)──▶ paused (GPUs freed, disk kept)
//   paused ──start with rental_hours (charged)──▶ running
//   paused ──(PAUSED_RETENTION_HOURS pass)──▶ deleted
//   provisioning | running | stopped | paused | expired ──delete──▶ deleted
//
// `expired` is only found on rows that ended before pausing existed (migration 0012): their disk
// was wiped, so they can be renamed or deleted and nothing else.
// A deleted instance is gone for its owner: every operation answers "Instance not found".
// Start on a running instance and stop on a stopped one are accepted as no-ops (idempotent).
// A state change that needs the hardware also leaves a power action (powerAction below) that the
// lifecycle worker carries out.
import type { InstanceState, InstanceUpdate, PendingAction } from '@pictor/migrations/schema';
import { InvalidStateError } from '../errors.ts';

/** States that hold GPUs and storage and run down their prepaid time. */
export const ACTIVE_STATES = ['provisioning', 'running', 'stopped'] as const satisfies readonly InstanceState[];
export const ALL_STATES = ['provisioning', 'running', 'stopped', 'paused', 'expired', 'deleted'] as const satisfies readonly InstanceState[];

export type Operation = 'start' | 'resume' | 'stop' | 'restart' | 'add_hours' | 'auto_renew' | 'rename' | 'attach_ssh_keys' | 'delete';

/** The states each operation is allowed from, and what to tell a person otherwise. */
const RULES: Record<Operation, { from: readonly InstanceState[]; what: string }> = {
  start: { from: ['stopped', 'running'], what: 'start is allowed when the instance is stopped' },
  // start with rental_hours; running is the no-op of a retried call that already went through
  resume: { from: ['paused', 'running'], what: 'rental_hours is for starting a paused instance' },
  stop: { from: ['running', 'stopped'], what: 'stop is allowed when the instance is running' },
  restart: { from: ['running'], what: 'restart is allowed when the instance is running' },
  add_hours: { from: ACTIVE_STATES, what: 'hours can be added while the instance is provisioning, running or stopped' },
  auto_renew: { from: ACTIVE_STATES, what: 'auto-renew can be changed while the instance is provisioning, running or stopped' },
  rename: { from: ['provisioning', 'running', 'stopped', 'paused', 'expired'], what: 'any instance that is not deleted can be renamed' },
  attach_ssh_keys: { from: ACTIVE_STATES, what: 'SSH keys can be attached while the instance is provisioning, running or stopped' },
  delete: { from: ['provisioning', 'running', 'stopped', 'paused', 'expired'], what: 'any instance that is not deleted can be deleted' },
};

const HINTS: Partial<Record<InstanceState, string>> = {
  provisioning: 'it becomes running by itself within seconds',
  stopped: 'start it with start-instance first',
  paused: 'its prepaid time ended and its GPUs were released; start-instance with rental_hours starts it again',
  expired: 'its rental ended and its machine was released; create a new instance instead',
};

export function isActive(state: InstanceState): boolean {
  return (ACTIVE_STATES as readonly InstanceState[]).includes(state);
}

export function isAllowed(op: Operation, state: InstanceState): boolean {
  return RULES[op].from.includes(state);
}

/** Throws InvalidStateError saying the current state and what is allowed. */
export function assertAllowed(op: Operation, state: InstanceState): void {
  if (isAllowed(op, state)) return;
  const rule = RULES[op];
  const hint = HINTS[state];
  throw new InvalidStateError(`the instance is ${state}; ${rule.what}${hint ? ` (${hint})` : ''}`, {
    state,
    operation: op,
    allowed_states: [...rule.from],
  });
}

/** The columns that hand a new power action to the lifecycle worker. */
export function powerAction(action: PendingAction, row: { action_seq: number }, now: Date): InstanceUpdate {
  return { pending_action: action, action_seq: row.action_seq + 1, action_requested_at: now, action_due_at: now };
}
