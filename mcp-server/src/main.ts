// The MCP server process: configuration, database (migrated), HTTP app, lifecycle worker,
// and a graceful stop on SIGTERM/SIGINT (finish in-flight requests, then close the pool).
import type { Server } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { createDb, type Db } from '@pictor/migrations/db';
import { migrateToLatest } from '@pictor/migrations/migrator';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createApp } from './http/app.ts';
import { createLogger } from './http/logger.ts';
import { systemClock, type Clock } from './pictor/clock.ts';

/** What main expects of worker/index.ts, when that module exists. */
interface WorkerModule {
  startWorker(options: { db: Db; clock: Clock; log: Logger; intervalMs: number }): { stop(): Promise<void> } | Promise<{ stop(): Promise<void> }>;
}

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

  const app = createApp(config, { db, clock: systemClock, log });
  const server: Server = app.listen(config.port, config.host);
  // Longer than typical load balancer idle timeouts, so the balancer closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  log.info({ port: config.port, mcpUrl: config.mcpUrl, issuer: config.authIssuer }, 'MCP server listening');

  const worker = config.worker.enabled ? await startWorker(db, log, config.worker.intervalMs) : undefined;

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
    server.closeIdleConnections();
    await db.destroy();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

async function startWorker(db: Db, log: Logger, intervalMs: number) {
  const file = fileURLToPath(new URL('./worker/index.ts', import.meta.url));
  if (!existsSync(file)) {
    log.warn('lifecycle worker module not present; running without it');
    return undefined;
  }
  const path = './worker/index.ts';
  const module = (await import(path)) as Partial<WorkerModule>;
  if (typeof module.startWorker !== 'function') {
    log.warn('worker/index.ts has no startWorker export; running without the lifecycle worker');
    return undefined;
  }
  const worker = await module.startWorker({ db, clock: systemClock, log: log.child({ component: 'worker' }), intervalMs });
  log.info({ intervalMs }, 'lifecycle worker started');
  return worker;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
