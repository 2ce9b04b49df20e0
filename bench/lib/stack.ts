// The whole product on its own embedded Postgres for a bench or soak run: a fresh cluster in a temp
// directory, the schema and default catalog, a real SMTP sink for sign-in mail, the authorization
// server and the MCP server as separate processes (the MCP server's JWKS URL goes through a counting
// proxy, so the run knows how often it fetched the keys), and a signed-in person with real tokens.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type Db } from '@pictor/platform/db';
import { freePort, startLocalPostgres, type LocalPostgres } from '@pictor/platform/local-postgres';
import { migrateToLatest } from '@pictor/migrations/migrator';
import { startSmtpSink, type SmtpSink } from '../../auth-server/test/support/smtp-sink.ts';
import { seedCatalog } from '../../mcp-server/src/pictor/catalog-seed.ts';
import { SCOPES } from '../../mcp-server/src/tools/define.ts';
import { signInForTokens, type AuthFlow } from './auth-flow.ts';
import { INSPECT_FLAG } from './heap.ts';
import { dockerNodeOptions, startService, type Service } from './services.ts';

export interface Stack {
  dir: string;
  cluster: LocalPostgres;
  databaseUrl: string;
  db: Db;
  sink: SmtpSink;
  auth: Service;
  mcp: Service;
  issuer: string;
  mcpUrl: string;
  jwksFetches(): number;
  /** A new person signed in through the real flow, with every MCP scope. */
  signIn(email?: string): Promise<AuthFlow>;
  /** Creates another database on the same cluster (migrated, catalog seeded). */
  extraDatabase(name: string): Promise<{ db: Db; url: string }>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Write CPU profiles of the services into this directory. */
  cpuProfDir?: string;
  /** Extra environment for the MCP server (e.g. WORKER_INTERVAL_MS). */
  mcpEnv?: Record<string, string>;
  /** Run both services with the V8 inspector on loopback, for heap probes (bench/lib/heap.ts). */
  inspect?: boolean;
  logLevel?: string;
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

async function migratedDatabase(cluster: LocalPostgres, name: string): Promise<{ db: Db; url: string }> {
  await createDatabase(cluster.url(), name);
  const url = cluster.url(name);
  const db = createDb(url, { max: 4, applicationName: 'bench' });
  await migrateToLatest(db);
  await seedCatalog(db);
  return { db, url };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pictor-bench-'));
  const cluster = await startLocalPostgres({ dataDir: path.join(dir, 'pg'), port: 0 });
  const { db, url: databaseUrl } = await migratedDatabase(cluster, 'pictor');
  const sink = await startSmtpSink();
  const [authPort, mcpPort] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${authPort}`;
  const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;

  let fetches = 0;
  const jwksProxy: Server = createServer((_req, res) => {
    fetches += 1;
    fetch(`${issuer}/jwks`).then(
      async (r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
      },
      () => res.writeHead(502).end(),
    );
  });
  await new Promise<void>((resolve) => jwksProxy.listen(0, '127.0.0.1', () => resolve()));
  const jwksUrl = `http://127.0.0.1:${(jwksProxy.address() as { port: number }).port}/jwks`;
  const logLevel = options.logLevel ?? 'info';
  const nodeOptions = (service: string) => `${dockerNodeOptions(service)}${options.inspect ? ` ${INSPECT_FLAG}` : ''}`.trim();

  const auth = startService('auth-server', 'auth-server/src/main.ts', {
    logDir: dir,
    cpuProfDir: options.cpuProfDir,
    env: {
      NODE_OPTIONS: nodeOptions('auth-server'),
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl,
      AUTH_PORT: String(authPort),
      AUTH_HOST: '127.0.0.1',
      AUTH_ISSUER: issuer,
      MCP_URL: mcpUrl,
      SMTP_URL: sink.url,
      MAIL_FROM: 'Pictor <auth@pictor.test>',
      // As in production (behind a proxy): X-Forwarded-For names the client, so the bench's
      // authorizations per second can come from many client IPs, within the per-IP rate limits.
      TRUST_PROXY: 'true',
      LOG_LEVEL: logLevel,
    },
  });
  const mcp = startService('mcp-server', 'mcp-server/src/main.ts', {
    logDir: dir,
    cpuProfDir: options.cpuProfDir,
    env: {
      NODE_OPTIONS: nodeOptions('mcp-server'),
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl,
      MCP_PORT: String(mcpPort),
      MCP_HOST: '127.0.0.1',
      MCP_URL: mcpUrl,
      AUTH_ISSUER: issuer,
      AUTH_JWKS_URL: jwksUrl,
      LOG_LEVEL: logLevel,
      ...options.mcpEnv,
    },
  });
  // one after the other: the MCP server's readiness fetches the JWKS, once, from a running issuer
  await auth.ready(`${issuer}/readyz`);
  await mcp.ready(`http://127.0.0.1:${mcpPort}/readyz`);

  const extra: Db[] = [];
  return {
    dir,
    cluster,
    databaseUrl,
    db,
    sink,
    auth,
    mcp,
    issuer,
    mcpUrl,
    jwksFetches: () => fetches,
    signIn: (email) => signInForTokens({ issuer, mcpUrl, sink, scopes: Object.keys(SCOPES), email }),
    async extraDatabase(name) {
      const created = await migratedDatabase(cluster, name);
      extra.push(created.db);
      return created;
    },
    async stop() {
      await Promise.all([auth.stop(), mcp.stop()]);
      await Promise.all([db.destroy(), ...extra.map((d) => d.destroy())]);
      await sink.close();
      await new Promise<void>((resolve) => jwksProxy.close(() => resolve()));
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
