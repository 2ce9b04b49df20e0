// The lifecycle worker: expiries and renewals (an unrenewed instance pauses), deletion of paused
// instances past their grace period, then power actions for the hardware. It only
// schedules: due.ts picks the work, the core (pictor/instances) applies the rules. It runs inside
// every MCP server replica; row locks with SKIP LOCKED let the replicas share the work without ever
// doing the same step twice.
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { carryOutPowerActions, deletePausedDue, renewOrPauseDue } from '../pictor/instances/index.ts';
import type { Provisioner } from '../pictor/provisioner.ts';
import type { SecretBox } from '../pictor/sealing.ts';
import { claimPowerActions, lockAccountsWithPausesDue, lockDueAccounts } from './due.ts';
import { startLoop, type Loop } from './loop.ts';

export const DEFAULT_PAUSED_RETENTION_HOURS = 72;

export interface LifecycleOptions {
  db: Db;
  clock: Clock;
  provisioner: Provisioner;
  /** Opens instances' sealed environment and startup script for the provisioner (INSTANCE_SECRETS_KEYS). */
  secrets?: SecretBox;
  /** How long a paused instance's disk is kept before it is deleted (PAUSED_RETENTION_HOURS). Default 72. */
  pausedRetentionHours?: number;
  /** Instances (and accounts) per transaction. Default 500. */
  batchSize?: number;
  /** Upper bound on batches of each kind per run, so one run always ends. Default 1000. */
  maxBatches?: number;
  /** How long a claimed power action is reserved for one worker. Default 60 000 ms. */
  leaseMs?: number;
  /** Wait before retrying a failed provisioner call. Default 30 000 ms. */
  retryMs?: number;
  onError?: (error: unknown, context: string) => void;
}

export interface LifecycleReport {
  renewed: number;
  paused: number;
  /** Paused instances deleted at the end of their grace period. */
  deleted: number;
  /** Power actions claimed (finished or re-scheduled). */
  actions: number;
}

/** Processes everything due now, in batches, until nothing unclaimed is left. */
export async function runLifecycleOnce(options: LifecycleOptions): Promise<LifecycleReport> {
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 1000;
  const report: LifecycleReport = { renewed: 0, paused: 0, deleted: 0, actions: 0 };
  const now = options.clock.now();
  const retention = options.pausedRetentionHours ?? DEFAULT_PAUSED_RETENTION_HOURS;
  for (let i = 0; i < maxBatches; i++) {
    const pass = await renewOrPauseDue(options.db, now, batchSize, lockDueAccounts, retention);
    report.renewed += pass.renewed;
    report.paused += pass.paused;
    if (pass.renewed + pass.paused === 0) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const pass = await deletePausedDue(options.db, now, batchSize, lockAccountsWithPausesDue);
    report.deleted += pass.deleted;
    if (pass.deleted === 0) break;
  }
  const leaseMs = options.leaseMs ?? 60_000;
  const power = {
    retryMs: options.retryMs ?? 30_000,
    minPollMs: 250,
    secrets: options.secrets,
    onError: (error: unknown, instanceId: string) => options.onError?.(error, `power action on instance ${instanceId}`),
  };
  for (let i = 0; i < maxBatches; i++) {
    const claimedAt = options.clock.now();
    const claimed = await claimPowerActions(options.db, claimedAt, batchSize, leaseMs);
    await carryOutPowerActions(options.db, options.provisioner, claimed, claimedAt, power);
    report.actions += claimed.length;
    if (claimed.length === 0) break;
  }
  return report;
}

export type LifecycleWorker = Loop;

export interface WorkerOptions extends LifecycleOptions {
  /** Pause between the end of one run and the start of the next. Default 1000 ms. */
  intervalMs?: number;
  onReport?: (report: LifecycleReport) => void;
}

/** Runs runLifecycleOnce forever, one run at a time, until stopped. A failed run is reported and retried. */
export function startLifecycleWorker(options: WorkerOptions): LifecycleWorker {
  return startLoop(
    async () => options.onReport?.(await runLifecycleOnce(options)),
    options.intervalMs ?? 1000,
    (error) => options.onError?.(error, 'lifecycle run'),
  );
}
