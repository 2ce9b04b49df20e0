// Test databases: one real Postgres cluster per test run, a fresh database per test file,
// cloned from a migrated template so each file starts in milliseconds.
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type Db } from './db.ts';
import { startLocalPostgres } from './local-postgres.ts';
import { migrateToLatest } from '@pictor/migrations/migrator';

/** Set by scripts/test.ts: admin URL of the run's cluster, whose `pictor_template` is migrated. */
export const TEST_CLUSTER_ENV = 'PICTOR_TEST_PG_URL';
export const TEMPLATE_DATABASE = 'pictor_template';

export interface TestDatabase {
  db: Db;
  url: string;
  drop(): Promise<void>;
}

let standalone: Promise<string> | undefined;

/** A cluster for a test file run on its own (without scripts/test.ts): started here, gone at exit. */
async function clusterUrl(): Promise<string> {
  const fromRunner = process.env[TEST_CLUSTER_ENV];
  if (fromRunner) return fromRunner;
  standalone ??= (async () => {
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'pictor-pg-')), 'data');
    const cluster = await startLocalPostgres({ dataDir, port: 0, ephemeral: true });
    await prepareTemplate(cluster.url());
    return cluster.url();
  })();
  return standalone;
}

export async function prepareTemplate(adminUrl: string): Promise<void> {
  await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE}`));
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`));
  const db = createDb(databaseUrl(adminUrl, TEMPLATE_DATABASE), { max: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = await clusterUrl();
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`));
  const url = databaseUrl(adminUrl, name);
  const db = createDb(url, { max: 20 });
  return {
    db,
    url,
    drop: async () => {
      await db.destroy();
      await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A raw HTTP request, for what fetch cannot send: a forged Host header or an absolute request
 * target (`path`, default the URL's path and query).
 */
export function rawRequest(url: string, o: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, method: o.method ?? 'GET', path: o.path ?? `${target.pathname}${target.search}`, headers: o.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}
