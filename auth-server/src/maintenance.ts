// Housekeeping, run at start and then periodically on every replica (each step is a single
// idempotent statement or takes its own lock, so replicas running it together is harmless).
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { forgetLimitsOfEndedGrants, purgeUnusedClients, sweepExpired } from './adapter.ts';
import type { Audit } from './audit.ts';
import type { AuthConfig } from './config.ts';
import { keyPolicy, rotateIfDue } from './keys.ts';
import type { Logger } from './log.ts';
import { sweepRateLimits } from './rate-limit.ts';
import { sweepLinks } from './signin/magic-links.ts';

export interface MaintenanceDeps {
  db: Db;
  clock: Clock;
  config: AuthConfig;
  audit: Audit;
  log: Logger;
}

export async function runMaintenance({ db, clock, config, audit, log }: MaintenanceDeps): Promise<void> {
  const steps: Record<string, () => Promise<unknown>> = {
    expiredArtifacts: () => sweepExpired(db),
    endedAppLimits: () => forgetLimitsOfEndedGrants(db),
    magicLinks: () => sweepLinks(db, clock),
    rateLimits: () => sweepRateLimits(db, clock),
    async unusedClients() {
      for (const clientId of await purgeUnusedClients(db, config.ttl.unusedClient)) {
        await audit.record({ type: 'client.purged', clientId });
      }
    },
    async signingKeys() {
      const kid = await rotateIfDue(db, keyPolicy(config, clock));
      if (kid) await audit.record({ type: 'key.created', detail: { kid } });
    },
  };
  for (const [name, step] of Object.entries(steps)) {
    try {
      await step();
    } catch (error) {
      log.error({ err: error, step: name }, 'maintenance step failed');
    }
  }
}
