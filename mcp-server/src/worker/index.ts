// The background jobs main.ts starts in every replica: the instance lifecycle (provisioning and
// power actions, expiry and auto-renew) on the built-in simulated provisioner.
import type { Logger } from 'pino';
import type { Db } from '@pictor/migrations/db';
import type { Clock } from '../pictor/clock.ts';
import { SimulatedProvisioner, type Provisioner } from '../pictor/provisioner.ts';
import { startLifecycleWorker, type LifecycleWorker } from './lifecycle.ts';

export interface WorkerOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Pause between runs. */
  intervalMs: number;
  /** Default: the simulated provisioner (the hardware is outside this product). */
  provisioner?: Provisioner;
}

export function startWorker(options: WorkerOptions): LifecycleWorker {
  const { log } = options;
  return startLifecycleWorker({
    db: options.db,
    clock: options.clock,
    provisioner: options.provisioner ?? new SimulatedProvisioner(),
    intervalMs: options.intervalMs,
    onError: (err, context) => log.error({ err, context }, 'lifecycle worker error'),
    onReport: (report) => {
      if (report.renewed + report.expired + report.actions > 0) log.info(report, 'lifecycle run');
    },
  });
}
