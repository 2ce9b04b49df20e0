// The MCP server wired as it runs in production: token revocation watch, instance change watch,
// InFlow client, HTTP app, and the background worker. main.ts (the process) and the end-to-end
// tests both start it here, so what the tests run cannot drift from what is deployed.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { drainHttpServer, SHUTDOWN_GRACE_MS } from '@pictor/platform/shutdown';
import { createDb, type Db } from '@pictor/platform/db';
import { serveMetrics, type MetricsServer } from '@pictor/platform/metrics';
import type { Config } from './config.ts';
import { createApp } from './http/app.ts';
import { createLogger } from './http/logger.ts';
import { createMcpMetrics } from './http/metrics.ts';
import { watchRevocations } from './http/revocations.ts';
import { systemClock, type Clock } from '@pictor/platform/clock';
import { inflowClientFromConfig } from './pictor/inflow/client.ts';
import { SimulatedProvisioner } from './pictor/provisioner.ts';
import { SecretBox } from './pictor/sealing.ts';
import { watchInstanceChanges, type InstanceChanges } from './pictor/instances/index.ts';
import { startWorker } from './worker/index.ts';

export interface McpServerOptions {
  /** Default: a pool on config.databaseUrl, closed by close(). */
  db?: Db;
  clock?: Clock;
  log?: Logger;
}

export interface RunningMcpServer {
  /** Where it listens (loopback form when bound to all interfaces). */
  url: string;
  db: Db;
  log: Logger;
  /** GET /metrics, when config.metricsPort is set. */
  metricsUrl?: string;
  /** The watch that wakes calls waiting for an instance (how many wait now: `waiters`). */
  instanceChanges: InstanceChanges;
  /** Stops taking requests, lets in-flight ones finish, stops the worker, closes what it opened. */
  close(): Promise<void>;
}

export async function startMcpServer(config: Config, options: McpServerOptions = {}): Promise<RunningMcpServer> {
  const log = options.log ?? createLogger(config);
  const clock = options.clock ?? systemClock;
  const db = options.db ?? createDb(config.databaseUrl, { applicationName: 'pictor-mcp' });
  const inflow = inflowClientFromConfig(config.inflow, log);
  // a revocation matters as long as a token issued before it can live (plus skew)
  const revocations = await watchRevocations({ db, databaseUrl: config.databaseUrl, log, windowMs: (config.accessTokenMaxTtl + 300) * 1000 });
  // one LISTEN connection for every call waiting for an instance (wait_seconds), woken on any replica's change
  const instanceChanges = await watchInstanceChanges({ databaseUrl: config.databaseUrl, log });
  const metrics = createMcpMetrics({ db, clock });
  const secrets = new SecretBox(config.instances.secretsKeys);
  const app = createApp(config, { db, clock, log, inflow, secrets, confirmation: config.confirmation, instanceChanges }, { revocations, metrics });

  const server: Server = app.listen(config.port, config.host);
  // Longer than typical load balancer idle timeouts, so the balancer closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  log.info({ port, mcpUrl: config.mcpUrl, issuer: config.authIssuer }, 'MCP server listening');
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await serveMetrics(metrics.registry, config.metricsPort, config.host);
    log.info({ metrics: metricsServer.url }, 'metrics listening');
  }

  // Safe on every replica at once (row locks, SKIP LOCKED); WORKER_ENABLED=false turns it off.
  const worker = config.worker.enabled
    ? startWorker({
        db,
        clock,
        log: log.child({ component: 'worker' }),
        intervalMs: config.worker.intervalMs,
        pausedRetentionHours: config.worker.pausedRetentionHours,
        inflow,
        secrets,
        provisioner: new SimulatedProvisioner({ proxyDomain: config.instances.proxyDomain }),
      })
    : undefined;
  if (worker) log.info({ intervalMs: config.worker.intervalMs }, 'lifecycle worker started');

  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}`,
    db,
    log,
    instanceChanges,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    async close() {
      // calls waiting for an instance answer now with the state it has, instead of holding the stop up
      const waitsEnded = instanceChanges.close();
      await Promise.allSettled([drainHttpServer(server, SHUTDOWN_GRACE_MS), worker?.stop()]);
      await Promise.all([waitsEnded, revocations.close(), metricsServer?.close()]);
      if (!options.db) await db.destroy();
    },
  };
}
