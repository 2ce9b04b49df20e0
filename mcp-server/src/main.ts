// The MCP server process: configuration, schema migrated, the server (server.ts), and a graceful
// stop on SIGTERM/SIGINT or when its supervisor goes (finish in-flight requests, then close the pool).
import { fileURLToPath } from 'node:url';
import { createDb } from '@pictor/platform/db';
import { migrateToLatest } from '@pictor/migrations/migrator';
import { onShutdown } from '@pictor/platform/shutdown';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './http/logger.ts';
import { startMcpServer } from './server.ts';

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
  const server = await startMcpServer(config, { db, log });

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    await server.close();
    await db.destroy();
    log.info('stopped');
    process.exit(0);
  };
  onShutdown((reason) => void stop(reason));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
