// One lifecycle worker process for the renewal bench: its own connection pool (as a replica has),
// connected and warmed up, then on "go" from the parent it runs the real lifecycle pass
// (runLifecycleOnce: expiry and auto-renew, then power actions) until nothing is left for it.
import { sql } from 'kysely';
import { createDb } from '@pictor/platform/db';
import { systemClock } from '@pictor/platform/clock';
import { SimulatedProvisioner } from '../mcp-server/src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../mcp-server/src/worker/lifecycle.ts';

const db = createDb(process.env.DATABASE_URL!, { applicationName: `bench-worker-${process.pid}` });
await sql`select 1`.execute(db);
const send = (message: unknown) => process.send!(message);
process.once('message', async () => {
  const started = performance.now();
  const report = await runLifecycleOnce({ db, clock: systemClock, provisioner: new SimulatedProvisioner() });
  send({ report, ms: performance.now() - started });
  await db.destroy();
  process.exit(0);
});
send('ready');
