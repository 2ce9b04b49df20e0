// Assembles and starts the authorization server: oidc-provider (a Koa app) with this server's
// middleware and pages in front of its routes. `startAuthServer` is what main.ts, the root
// `npm start` and the tests call.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Provider from 'oidc-provider';
import { createDb, type Db } from '@pictor/platform/db';
import { serveMetrics, type MetricsServer } from '@pictor/platform/metrics';
import { ensureUser } from '@pictor/platform/people';
import { systemClock, type Clock } from '@pictor/platform/clock';
import { drainHttpServer, SHUTDOWN_GRACE_MS } from '@pictor/platform/shutdown';
import { accountRoutes } from './account/routes.ts';
import { createAudit } from './audit.ts';
import type { AuthConfig } from './config.ts';
import { createCsrf } from './csrf.ts';
import { devOutbox } from './dev-outbox.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { keyPolicy, loadSigningKeys } from './keys.ts';
import { createLogger, type Logger } from './log.ts';
import { createDevOutbox, createSmtpMailer, type Mailer } from './mail.ts';
import { runMaintenance } from './maintenance.ts';
import { createAuthMetrics } from './metrics.ts';
import { defaultScope, jwksFromDatabase, recordConnections, registrationGuard } from './oauth/endpoints.ts';
import { DEFAULT_SCOPE, MCP_SCOPES } from './oauth/scopes.ts';
import { revocableAccessTokens, singleRefreshChain, spendCodeOnFailure } from './oauth/token-lifecycle.ts';
import { createProvider } from './provider.ts';
import type { SigninDeps } from './signin/flow.ts';
import { assets, health, markDatabaseOutage, pageErrors, pinIssuer, requestLog, securityHeaders } from './web.ts';

export interface AuthServerOptions {
  /** A database handle to use (tests); otherwise one is opened on config.databaseUrl and closed with the server. */
  db?: Db;
  clock?: Clock;
  mailer?: Mailer;
  log?: Logger;
  /** Run housekeeping every config.maintenanceInterval seconds. Default true. */
  maintenance?: boolean;
}

export interface AuthServer {
  /** Where it listens (for tests); the public URL is config.issuer. */
  url: string;
  /** GET /metrics, when config.metricsPort is set. */
  metricsUrl?: string;
  provider: Provider;
  db: Db;
  mailer: Mailer;
  /** One housekeeping pass now (expired rows, unused clients, key rotation). */
  maintain(): Promise<void>;
  close(): Promise<void>;
}

export async function startAuthServer(config: AuthConfig, options: AuthServerOptions = {}): Promise<AuthServer> {
  const log = options.log ?? createLogger(config.logLevel);
  const db = options.db ?? createDb(config.databaseUrl, { applicationName: 'pictor-auth-server' });
  const clock = options.clock ?? systemClock;
  const mailer = options.mailer ?? (config.smtpUrl ? createSmtpMailer(config.smtpUrl, config.mailFrom) : createDevOutbox());
  const https = config.issuer.startsWith('https:');
  const metrics = createAuthMetrics(db);
  const audit = createAudit(db, log, metrics.event);

  const keys = await loadSigningKeys(db, keyPolicy(config, clock));
  const provider = createProvider({ config, db, clock, keys });
  provider.on('server_error', (ctx: { path?: string; state?: { requestId?: string } }, error: unknown) => {
    if (markDatabaseOutage(ctx, error)) log.warn({ err: error, id: ctx.state?.requestId, path: ctx.path }, 'database unavailable');
    else log.error({ err: error, id: ctx?.state?.requestId, path: ctx?.path }, 'oidc-provider server error');
  });

  const signin: SigninDeps = {
    db,
    clock,
    config,
    mailer,
    audit,
    log,
    csrf: createCsrf({ secure: https }),
    ensureUser: async (email) => (await ensureUser(db, email)).id,
  };

  // provider.use() puts middleware in front of oidc-provider's own routes, in this order.
  provider.use(pinIssuer(config.issuer));
  provider.use(requestLog(log, metrics.response));
  provider.use(securityHeaders(https));
  provider.use(pageErrors(log));
  provider.use(health(db, keys));
  provider.use(assets());
  provider.use(jwksFromDatabase({ db, clock, accessTokenTtl: config.ttl.accessToken }));
  provider.use(defaultScope(MCP_SCOPES, DEFAULT_SCOPE));
  provider.use(registrationGuard({ db, clock, limit: config.limits.registrationPerIp, audit }));
  provider.use(recordConnections({ db, clock }));
  provider.use(singleRefreshChain(db)); // inside recordConnections: it may still refuse the request
  provider.use(spendCodeOnFailure());
  provider.use(revocableAccessTokens({ db, clock, issuer: config.issuer, accessTokenTtl: config.ttl.accessToken }));
  for (const router of [interactionRoutes(provider, signin), accountRoutes(provider, signin)]) provider.use(router.routes());
  provider.use(devOutbox(config, mailer.outbox));

  const maintain = () => runMaintenance({ db, clock, config, audit, log });
  const timer = options.maintenance === false ? undefined : setInterval(() => void maintain(), config.maintenanceInterval * 1000);
  timer?.unref();
  if (timer) void maintain(); // a first pass now: a restart should not wait an interval to clean up

  const server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info({ issuer: config.issuer, port }, 'authorization server listening');
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await serveMetrics(metrics.registry, config.metricsPort, config.host);
    log.info({ metrics: metricsServer.url }, 'metrics listening');
  }

  return {
    url: `http://${host}:${port}`,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    provider,
    db,
    mailer,
    maintain,
    async close() {
      if (timer) clearInterval(timer);
      await Promise.all([drainHttpServer(server, SHUTDOWN_GRACE_MS), metricsServer?.close()]);
      mailer.close();
      if (!options.db) await db.destroy();
    },
  };
}
