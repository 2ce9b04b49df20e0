// Prometheus metrics, the part both services share: a registry of the service's own (never
// prom-client's global one, so several servers in one test process never collide), the database
// pool read when scraped, and the small HTTP server that exposes it on a port of its own (off the
// public port, so /metrics never reaches the internet through the service's proxy).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { poolStats, type Db } from './db.ts';
import { drainHttpServer } from './shutdown.ts';

const SCRAPE_GRACE_MS = 1_000;

/** A registry with the pool gauges of `db`; `prefix` is the service's, e.g. `pictor_mcp_`. */
export function createRegistry(prefix: string, db: Db): Registry {
  const registry = new Registry();
  new Gauge({
    name: `${prefix}db_pool_connections`,
    help: 'Connections of the Postgres pool, by state (in_use: checked out, idle: open and free)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pool = poolStats(db);
      if (!pool) return;
      this.set({ state: 'in_use' }, pool.total - pool.idle);
      this.set({ state: 'idle' }, pool.idle);
    },
  });
  new Gauge({
    name: `${prefix}db_pool_waiting_requests`,
    help: 'Queries waiting for a free connection of the Postgres pool',
    registers: [registry],
    collect() {
      const pool = poolStats(db);
      if (pool) this.set(pool.waiting);
    },
  });
  return registry;
}

export interface MetricsServer {
  /** http://host:port/metrics (loopback form when bound to all interfaces). */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics in the Prometheus text format. Node's process metrics (CPU, memory, event
 * loop lag, GC) are added here, only when exposed: they start an event-loop monitor and a GC
 * observer that nothing else needs.
 */
export async function serveMetrics(registry: Registry, port: number, host: string): Promise<MetricsServer> {
  collectDefaultMetrics({ register: registry });
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?', 1)[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found: the metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${bound}/metrics`,
    // a scrape in flight is answered (it takes milliseconds), idle keep-alive connections close at once
    close: () => drainHttpServer(server, SCRAPE_GRACE_MS),
  };
}
