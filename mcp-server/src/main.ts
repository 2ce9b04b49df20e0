// The MCP server process: configuration, database (migrated), HTTP app, lifecycle worker,
// and a graceful stop on SIGTERM/SIGINT (finish in-flight requests, then close the pool).
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDb } from '@pictor/migrations/db';
import { migrateToLatest } from '@pictor/migrations/migrator';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createApp } from './http/app.ts';
import { createLogger } from './http/logger.ts';
import { watchRevocations } from './http/revocations.ts';
import { systemClock } from './pictor/clock.ts';
import { inflowClientFromConfig } from './pictor/inflow/client.ts';
import { startWorker } from './worker/index.ts';

const SHUTDOWN_GRACE_MS = 10_000;

export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config);
  const db = createDb(config.databaseUrl, { applicationName: 'pictor-mcp' });
  const applied = await migrateToLatest(db);
  if (applied.length > 0) log.info({ migrations: applied }, 'migrations applied');

  const inflow = inflowClientFromConfig(config.inflow, log);
  const revocations = await watchRevocations({ db, databaseUrl: config.databaseUrl, log });
  const app = createApp(config, { db, clock: systemClock, log, inflow }, { revocations });
  const server: Server = app.listen(config.port, config.host);
  // Longer than typical load balancer idle timeouts, so the balancer closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  log.info({ port: config.port, mcpUrl: config.mcpUrl, issuer: config.authIssuer }, 'MCP server listening');

  // Safe on every replica at once (row locks, SKIP LOCKED); WORKER_ENABLED=false turns it off.
  const worker = config.worker.enabled
    ? startWorker({ db, clock: systemClock, log: log.child({ component: 'worker' }), intervalMs: config.worker.intervalMs, inflow })
    : undefined;
  if (worker) log.info({ intervalMs: config.worker.intervalMs }, 'lifecycle worker started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
    await Promise.allSettled([
      new Promise<void>((resolve) => server.close(() => resolve())).then(() => clearTimeout(force)),
      worker?.stop(),
    ]);
    await revocations.close();
    server.closeIdleConnections();
    await db.destroy();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
