// The background jobs main.ts starts in every replica: the instance lifecycle (provisioning and
// power actions, expiry and auto-renew) on the built-in simulated provisioner, and — when InFlow
// is configured — the sync of pending top-ups. Both are safe on every replica at once.
import type { Logger } from 'pino';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import type { InflowClient } from '../pictor/inflow/client.ts';
import { syncAllPendingPayments } from '../pictor/inflow/payments.ts';
import { SimulatedProvisioner, type Provisioner } from '../pictor/provisioner.ts';
import type { SecretBox } from '../pictor/sealing.ts';
import { startLifecycleWorker } from './lifecycle.ts';
import { startLoop, type Loop } from './loop.ts';

export interface WorkerOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Pause between lifecycle runs. */
  intervalMs: number;
  /** How long a paused instance's disk is kept (PAUSED_RETENTION_HOURS). */
  pausedRetentionHours?: number;
  /** Default: the simulated provisioner (the hardware is outside this product). */
  provisioner?: Provisioner;
  /** Opens instances' sealed environment and startup script at the hand-off to the provisioner. */
  secrets: SecretBox;
  /** Pending top-ups are re-checked when set. */
  inflow?: InflowClient;
  /** Pause between payment sync runs. Default 5000 ms (each payment is re-checked at most every 30 s). */
  paymentSyncIntervalMs?: number;
}

export function startWorker(options: WorkerOptions): Loop {
  const { db, clock, log, inflow } = options;
  const lifecycle = startLifecycleWorker({
    db,
    clock,
    provisioner: options.provisioner ?? new SimulatedProvisioner(),
    secrets: options.secrets,
    intervalMs: options.intervalMs,
    pausedRetentionHours: options.pausedRetentionHours,
    onError: (err, context) => log.error({ err, context }, 'lifecycle worker error'),
    onReport: (report) => {
      if (report.renewed + report.paused + report.deleted + report.actions > 0) log.info(report, 'lifecycle run');
    },
  });
  const payments =
    inflow &&
    startLoop(
      async () => {
        const summary = await syncAllPendingPayments({ db, inflow, clock, log });
        if (summary.checked > 0) log.info(summary, 'payment sync run');
      },
      options.paymentSyncIntervalMs ?? 5000,
      (err) => log.error({ err }, 'payment sync error'),
    );
  return {
    stop: async () => {
      await Promise.all([lifecycle.stop(), payments?.stop()]);
    },
  };
}
