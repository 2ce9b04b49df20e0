// When a service process stops: on SIGINT and SIGTERM (Ctrl+C, docker stop, an orchestrator), and,
// when a supervisor started it with an IPC channel (`npm start`, the bench), as soon as that
// supervisor is gone — even killed with SIGKILL, which it cannot pass on — so no service outlives
// the command that started it.
import type { Server } from 'node:http';

/** How long a stopping service lets requests in flight finish (docker-compose's stop grace is longer). */
export const SHUTDOWN_GRACE_MS = 10_000;

export function onShutdown(stop: (reason: string) => void): void {
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  if (process.channel) process.once('disconnect', () => stop('supervisor gone'));
}

/**
 * Stops an HTTP server the way a rolling deploy needs: no new connections, the requests in flight
 * answered (up to `graceMs`, then every connection is cut), and each connection closed as soon as
 * it turns idle — a keep-alive connection that has just answered is not left open until its
 * keepAliveTimeout, which would hold the stop up for the whole grace.
 */
export function drainHttpServer(server: Server, graceMs: number): Promise<void> {
  const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
  const idle = setInterval(() => server.closeIdleConnections(), 50).unref();
  return new Promise<void>((resolve) => server.close(() => resolve())).finally(() => {
    clearTimeout(force);
    clearInterval(idle);
  });
}
