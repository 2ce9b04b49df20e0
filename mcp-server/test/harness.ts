// Test harness: a real MCP server over real HTTP on loopback, a fresh real Postgres database,
// and a real JWKS endpoint whose test key signs the access tokens. Tests talk to it through
// the MCP SDK's own Client, exactly as Claude would.
//
//   const server = await startTestServer(); t.after(server.close);
//   const user = await server.createUser();
//   const client = await server.connect(await server.issueToken({ userId: user.id }));
//   const result = await server.callTool(client, 'list-gpus', {});
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Logger } from 'pino';
import type { Db } from '@pictor/platform/db';
import { createTestDatabase } from '@pictor/platform/testing';
import { loadConfig, type Config } from '../src/config.ts';
import { watchRevocations } from '../src/http/revocations.ts';
import { createApp, type AppOptions } from '../src/http/app.ts';
import { createLogger } from '../src/http/logger.ts';
import { ensureUser } from '../src/pictor/accounts.ts';
import { SecretBox } from '../src/pictor/sealing.ts';
import { watchInstanceChanges } from '../src/pictor/instances/index.ts';
import { ManualClock } from '@pictor/platform/clock';
import { SCOPES, type Services } from '../src/tools/define.ts';

export interface TokenOptions {
  userId: string;
  email?: string;
  /** Default: every scope the server knows. */
  scopes?: readonly string[];
  /** Default: the server's MCP URL. */
  aud?: string | string[];
  /** Default: the test issuer (the JWKS server's origin). */
  iss?: string;
  /** Expiry, seconds since the epoch. Default an hour from now. */
  exp?: number;
  nbf?: number;
  iat?: number;
  /** Default the test key's kid. */
  kid?: string;
  /** Default `at+jwt`. Pass null to leave the header out. */
  typ?: string | null;
  /** Default ES256. `none` makes an unsigned token; `HS256` signs with a shared secret. */
  alg?: 'ES256' | 'none' | 'HS256';
  /** Sign with a different key of the same kid (a forged signature). */
  forgeSignature?: boolean;
  clientId?: string;
  /** Extra or overriding claims; `undefined` values remove a claim. */
  claims?: Record<string, unknown>;
}

export interface TestServerOptions extends AppOptions {
  /** Extra environment for loadConfig (e.g. { WORKER_ENABLED: 'false' }). */
  env?: Record<string, string>;
  /** Start time of the server's ManualClock. */
  now?: Date | string;
  /** Capture the server's logs (at debug level) instead of discarding them. */
  logStream?: { write(line: string): void };
}

export interface TestServer {
  /** The MCP endpoint URL, http://127.0.0.1:<port>/mcp (also the token audience). */
  url: string;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The test authorization server's issuer. */
  issuer: string;
  config: Config;
  db: Db;
  clock: ManualClock;
  log: Logger;
  services: Services;
  /** How many times the server fetched the JWKS. */
  jwksFetches(): number;
  issueToken(options: TokenOptions): Promise<string>;
  /** Finds or creates a user (random email by default), with their account. */
  createUser(email?: string): Promise<{ id: string; email: string }>;
  /** A new user and a token for them with the given scopes (default all). */
  signIn(options?: { email?: string; scopes?: readonly string[] }): Promise<{ user: { id: string; email: string }; token: string }>;
  /** An initialized SDK Client over Streamable HTTP with `Authorization: Bearer <token>`; closed by close(). */
  connect(token: string): Promise<Client>;
  /** Calls a tool; a token connects a new client for the one call. */
  callTool(clientOrToken: Client | string, name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** A raw POST to /mcp (body JSON-encoded unless a string) with JSON content type and Accept set. */
  post(body: unknown, init?: { token?: string; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

const KID = 'test-key-1';

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const keys = await generateKeyPair('ES256', { extractable: true });
  const forger = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(keys.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  let jwksFetches = 0;
  const jwksServer = createServer((req, res) => {
    if (req.url === '/jwks') {
      jwksFetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  const issuer = `http://127.0.0.1:${await listen(jwksServer)}`;

  const database = await createTestDatabase();
  const httpServer = createServer();
  const port = await listen(httpServer);
  const origin = `http://127.0.0.1:${port}`;
  const url = `${origin}/mcp`;
  const config = loadConfig({
    DATABASE_URL: database.url,
    MCP_PORT: String(port),
    MCP_URL: url,
    AUTH_ISSUER: issuer,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    NODE_ENV: 'test',
    WORKER_ENABLED: 'false',
    ...options.env,
  });
  const clock = new ManualClock(options.now);
  const log = options.logStream ? createLogger({ ...config, logLevel: 'debug' }, options.logStream) : createLogger(config);
  const instanceChanges = await watchInstanceChanges({ databaseUrl: database.url, log });
  const services: Services = {
    db: database.db,
    clock,
    log,
    confirmation: config.confirmation,
    secrets: new SecretBox(config.instances.secretsKeys),
    instanceChanges,
  };
  const revocations = await watchRevocations({ db: database.db, databaseUrl: database.url, log });
  const app = createApp(config, services, { testOnlyTools: options.testOnlyTools, testOnlyExecute: options.testOnlyExecute, revocations });
  httpServer.on('request', app.callback());

  const clients: Client[] = [];
  const hsSecret = randomBytes(32);

  async function issueToken(o: TokenOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: o.iss ?? issuer,
      sub: o.userId,
      aud: o.aud ?? url,
      iat: o.iat ?? now,
      exp: o.exp ?? now + 3600,
      jti: randomBytes(8).toString('hex'),
      client_id: o.clientId ?? 'test-client',
      scope: (o.scopes ?? Object.keys(SCOPES)).join(' '),
      ...(o.email !== undefined ? { email: o.email } : {}),
      ...(o.nbf !== undefined ? { nbf: o.nbf } : {}),
      ...o.claims,
    };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    const alg = o.alg ?? 'ES256';
    const header: Record<string, unknown> = { alg, kid: o.kid ?? KID };
    if (o.typ !== null) header.typ = o.typ ?? 'at+jwt';
    if (alg === 'none') return `${b64(header)}.${b64(claims)}.`;
    const key: CryptoKey | Uint8Array = alg === 'HS256' ? hsSecret : o.forgeSignature ? forger.privateKey : keys.privateKey;
    return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
  }

  async function createUser(email = `user-${randomBytes(5).toString('hex')}@example.test`) {
    return ensureUser(database.db, email);
  }

  async function connect(token: string): Promise<Client> {
    const client = new Client({ name: 'pictor-test', version: '0.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  async function callTool(clientOrToken: Client | string, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    const client = typeof clientOrToken === 'string' ? await connect(clientOrToken) : clientOrToken;
    try {
      return (await client.callTool({ name, arguments: args })) as CallToolResult;
    } finally {
      if (typeof clientOrToken === 'string') await client.close();
    }
  }

  return {
    url,
    origin,
    issuer,
    config,
    db: database.db,
    clock,
    log,
    services,
    jwksFetches: () => jwksFetches,
    issueToken,
    createUser,
    async signIn(o = {}) {
      const user = await createUser(o.email);
      return { user, token: await issueToken({ userId: user.id, email: user.email, scopes: o.scopes }) };
    },
    connect,
    callTool,
    post(body, init = {}) {
      return fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
          ...init.headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await instanceChanges.close(); // waits in progress answer now, before the database goes
      await Promise.all([stop(httpServer), stop(jwksServer), revocations.close()]);
      await database.drop();
    },
  };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function listen(server: HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function stop(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
