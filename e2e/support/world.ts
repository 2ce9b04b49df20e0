// The whole product, started in this process on loopback ports, wired as in production:
//   a fresh Postgres database (migrated template) with the default catalog;
//   a real SMTP server that captures mail (the sign-in links);
//   the authorization server (auth-server/src/server.ts) sending mail to it over SMTP;
//   the MCP server (startMcpServer, exactly as mcp-server/src/main.ts runs it) with its lifecycle
//   worker and payment sync on a fast interval and the real clock;
//   the InFlow sandbox, delivering signed webhooks to the MCP server's webhook route.
// Only loopback traffic; nothing is mocked.
import type { Db } from '@pictor/platform/db';
import { freePort } from '@pictor/platform/local-postgres';
import { createTestDatabase } from '@pictor/platform/testing';
import { loadConfig as loadAuthConfig, type AuthConfig } from '@pictor/auth-server/config';
import { startAuthServer, type AuthServer } from '@pictor/auth-server/server';
import { startInflowSandbox, type InflowSandbox } from '@pictor/inflow-sandbox/sandbox';
import { loadConfig as loadMcpConfig, type Config as McpConfig } from '@pictor/mcp-server/config';
import { seedCatalog } from '@pictor/mcp-server/pictor/catalog-seed';
import { systemClock } from '@pictor/platform/clock';
import { startMcpServer } from '@pictor/mcp-server/server';
import { startSmtpSink, type SmtpSink } from '../../auth-server/test/support/smtp-sink.ts';

/**
 * Access tokens live this many seconds here (production: up to an hour), so a test can see one
 * expire. The MCP server still accepts a token for its 30 s clock-skew leeway after that.
 */
export const ACCESS_TOKEN_TTL_SECONDS = 5;
/** The MCP server's tolerance for clock skew on exp (mcp-server/src/http/token.ts default). */
export const TOKEN_LEEWAY_SECONDS = 30;

const INFLOW_API_KEY = 'e2e-inflow-api-key-0123456789';
const INFLOW_WEBHOOK_SECRET = `whsec_${Buffer.from('pictor e2e webhook signing secret').toString('base64')}`;

export interface World {
  /** The MCP endpoint, the URL a person pastes into Claude. */
  mcpUrl: string;
  /** The authorization server's issuer (its root URL). */
  issuer: string;
  db: Db;
  sink: SmtpSink;
  sandbox: InflowSandbox;
  authConfig: AuthConfig;
  mcpConfig: McpConfig;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const logLevel = process.env.LOG_LEVEL ?? 'silent';
  const database = await createTestDatabase();
  await seedCatalog(database.db);
  const sink = await startSmtpSink();
  const closers: Array<() => Promise<void>> = [async () => sink.close(), () => database.drop()];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch(() => undefined);
  };

  try {
    // The MCP server's URL is the token audience and the sandbox's webhook target: fix its port first.
    const mcpPort = await freePort();
    const mcpOrigin = `http://127.0.0.1:${mcpPort}`;
    const mcpUrl = `${mcpOrigin}/mcp`;
    const authPort = await freePort();
    const issuer = `http://127.0.0.1:${authPort}`;

    const sandbox = await startInflowSandbox({
      apiKey: INFLOW_API_KEY,
      webhookSecret: INFLOW_WEBHOOK_SECRET,
      webhookUrl: `${mcpOrigin}/webhooks/inflow`,
      retryScheduleMs: [0, 200, 500, 1000, 2000],
    });
    closers.push(() => sandbox.close());

    const authConfig = loadAuthConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      AUTH_ISSUER: issuer,
      AUTH_PORT: String(authPort),
      AUTH_HOST: '127.0.0.1',
      MCP_URL: mcpUrl,
      SMTP_URL: sink.url,
      MAIL_FROM: 'Pictor <auth@pictor.test>',
      LOG_LEVEL: logLevel,
    });
    // Below the 60 s the environment variable allows, so the expiry test does not wait a minute.
    authConfig.ttl.accessToken = ACCESS_TOKEN_TTL_SECONDS;
    const auth: AuthServer = await startAuthServer(authConfig, { maintenance: false });
    closers.push(() => auth.close());

    const mcpConfig = loadMcpConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      MCP_PORT: String(mcpPort),
      MCP_HOST: '127.0.0.1',
      MCP_URL: mcpUrl,
      AUTH_ISSUER: issuer,
      LOG_LEVEL: logLevel,
      WORKER_ENABLED: 'true',
      WORKER_INTERVAL_MS: '200',
      INFLOW_API_URL: sandbox.url,
      INFLOW_API_KEY,
      INFLOW_WEBHOOK_SECRET,
    });
    const mcp = await startMcpServer(mcpConfig, { db: database.db, clock: systemClock });
    closers.push(() => mcp.close());

    for (const health of [`${issuer}/readyz`, `${mcpOrigin}/readyz`, `${sandbox.url}/healthz`]) {
      const res = await fetch(health);
      if (!res.ok) throw new Error(`${health} answered ${res.status}`);
    }
    return { mcpUrl, issuer, db: database.db, sink, sandbox, authConfig, mcpConfig, close };
  } catch (error) {
    await close();
    throw error;
  }
}
