// Waiting until an instance is running, for a call that asked to (create-instance, start-instance
// with wait_seconds). The change that starts it has committed before any wait begins: nothing is
// held while waiting — no transaction, no row lock, no pooled connection (each look is one short
// read). The waiter sleeps until a change notification for its instance (changes.ts), a slow
// safety re-check, the deadline, the caller's abort or the watch closing; then it re-reads the row.
import type { Db } from '@pictor/platform/db';
import type { Instance } from '@pictor/migrations/schema';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import { TooManyWaitersError, type InstanceChanges } from './changes.ts';
import { detailFor, type InstanceDetail } from './read.ts';
import { instanceNotFound, isUuid, selectRecord, toView, type InstanceRecord, type InstanceView } from './records.ts';

/**
 * The steps on the way to running, in order. From the rows alone:
 * - queued: a power action (provision, or start) is requested and no worker has taken it yet;
 * - provisioning: the worker handed the machine request to the hardware (state provisioning,
 *   action taken). The provisioner reports setting up and first boot as one step, so a new
 *   instance goes queued → provisioning → running; it has no separate booting step;
 * - booting: a stopped instance's power-on is with the hardware (state running, action taken);
 * - running: running with no power action left: SSH answers.
 */
export const START_PHASES = ['queued', 'provisioning', 'booting', 'running'] as const;
export type StartPhase = (typeof START_PHASES)[number];

type PhaseFields = Pick<Instance, 'state' | 'pending_action' | 'action_due_at' | 'action_requested_at'>;

/** A worker has taken the power action: claiming it moves action_due_at past its request time (worker/due.ts). */
const taken = (row: PhaseFields): boolean =>
  row.action_due_at !== null && row.action_requested_at !== null && row.action_due_at.getTime() > row.action_requested_at.getTime();

/** Where the instance is on its way to running; null in a state it will not leave for running by itself (stopped, expired, deleted…). */
export function startPhase(row: PhaseFields): StartPhase | null {
  if (row.state === 'provisioning') return taken(row) ? 'provisioning' : 'queued';
  if (row.state !== 'running') return null;
  if (row.pending_action === null) return 'running';
  if (row.pending_action === 'stop' || row.pending_action === 'release') return null;
  return taken(row) ? 'booting' : 'queued';
}

/**
 * running: it is running; timed_out: still on its way when the time was up; settled: in a state
 * it will not leave for running by itself; interrupted: the wait was cut short (see reason).
 */
export type WaitOutcome = 'running' | 'timed_out' | 'settled' | 'interrupted';

/** Why a wait was interrupted: too many waits in this process, the server closing, the caller gone. */
export type WaitInterruption = 'busy' | 'closing' | 'aborted';

export interface WaitOptions {
  /** How long to wait at most. */
  timeoutMs: number;
  /** The process's change watch; without it the waiter only re-checks every recheckMs. */
  changes?: InstanceChanges | undefined;
  /** The caller went away: stop waiting. */
  signal?: AbortSignal | undefined;
  /** Told each new phase as it is seen, the first one at once. */
  onPhase?: ((phase: StartPhase, view: InstanceView) => void) | undefined;
  /** Safety re-read in case a notification was missed. Default 5000 ms. */
  recheckMs?: number;
}

export interface WaitResult {
  outcome: WaitOutcome;
  interruption: WaitInterruption | null;
  /** The phase last seen; null in a settled state. */
  phase: StartPhase | null;
  detail: InstanceDetail;
  waitedMs: number;
}

/** The account's instance, deleted ones included: one that is deleted while waited for settles there. */
async function readRow(db: Db, accountId: string, instanceId: string): Promise<InstanceRecord> {
  const row = await selectRecord(db).where('instances.id', '=', instanceId).where('instances.account_id', '=', accountId).executeTakeFirst();
  if (!row) throw instanceNotFound();
  return row;
}

export async function waitUntilRunning(db: Db, actor: Actor, instanceId: string, options: WaitOptions): Promise<WaitResult> {
  const started = Date.now();
  if (!isUuid(instanceId)) throw instanceNotFound();
  const accountId = await resolveAccountId(db, actor, 'read');

  let stop: 'timed_out' | WaitInterruption | undefined;
  let woken = false; // a wake arrived since the last read began
  let resume: (() => void) | undefined;
  const wake = (): void => {
    woken = true;
    resume?.();
    resume = undefined;
  };
  const end = (why: NonNullable<typeof stop>): void => {
    stop ??= why;
    wake();
  };

  // Subscribe before the first read, so a change committed after that read always wakes us.
  let unsubscribe = (): void => undefined;
  try {
    if (options.changes) unsubscribe = options.changes.subscribe(instanceId, (why) => (why === 'close' ? end('closing') : wake()));
  } catch (error) {
    if (!(error instanceof TooManyWaitersError)) throw error;
    stop = 'busy';
  }
  const deadline = setTimeout(() => end('timed_out'), options.timeoutMs);
  const recheck = setInterval(wake, options.recheckMs ?? 5000);
  const onAbort = (): void => end('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop ??= 'aborted';

  let row: InstanceRecord;
  let phase: StartPhase | null;
  let seen: StartPhase | null | undefined;
  try {
    for (;;) {
      woken = false;
      row = await readRow(db, accountId, instanceId);
      phase = startPhase(row);
      if (phase !== seen) {
        seen = phase;
        if (phase !== null) options.onPhase?.(phase, toView(row));
      }
      if (phase === null || phase === 'running' || stop) break;
      if (!woken) await new Promise<void>((resolve) => (resume = resolve));
    }
  } finally {
    clearTimeout(deadline);
    clearInterval(recheck);
    options.signal?.removeEventListener('abort', onAbort);
    unsubscribe();
  }

  const outcome: WaitOutcome = phase === 'running' ? 'running' : phase === null ? 'settled' : stop === 'timed_out' ? 'timed_out' : 'interrupted';
  return {
    outcome,
    interruption: outcome === 'interrupted' ? (stop as WaitInterruption) : null,
    phase,
    detail: await detailFor(db, row),
    waitedMs: Date.now() - started,
  };
}
