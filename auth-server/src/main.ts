// Entry point: `node auth-server/src/main.ts` (via tsx). Reads the environment, brings the
// schema up to date, starts the server, and stops cleanly on SIGINT/SIGTERM or when its supervisor goes.
import { createDb } from '@pictor/platform/db';
import { migrateToLatest } from '@pictor/migrations/migrator';
import { onShutdown } from '@pictor/platform/shutdown';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startAuthServer } from './server.ts';

try {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  const db = createDb(config.databaseUrl, { applicationName: 'pictor-auth-server' });
  const applied = await migrateToLatest(db);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');
  const server = await startAuthServer(config, { db, log });
  const stop = async () => {
    await server.close();
    await db.destroy();
    process.exit(0);
  };
  onShutdown(() => void stop());
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
