// The authorization server's Prometheus metrics (served on AUTH_METRICS_PORT by server.ts). Label
// values are route classes, HTTP statuses and audit event types only: never a person, an email or
// an app's client id.
import { Counter, type Registry } from 'prom-client';
import type { Db } from '@pictor/platform/db';
import { createRegistry } from '@pictor/platform/metrics';
import type { AuditType } from './audit.ts';

export type RouteClass = 'authorize' | 'token' | 'revocation' | 'registration' | 'jwks' | 'metadata' | 'interaction' | 'account' | 'assets' | 'probe' | 'other';

// Shown as 0 from the start, so that rate() over them works before the first one happens.
const EVENTS_FROM_START: readonly AuditType[] = ['signin.link_sent', 'signin.completed', 'consent.granted', 'consent.denied', 'app.revoked'];

export interface AuthMetrics {
  registry: Registry;
  /** Counts one HTTP response. */
  response(path: string, status: number): void;
  /** Counts one audit event (sign-ins, consents, revocations…; see audit.ts). */
  event(type: AuditType): void;
}

export function createAuthMetrics(db: Db): AuthMetrics {
  const registry = createRegistry('pictor_auth_', db);
  const responses = new Counter({
    name: 'pictor_auth_http_responses_total',
    help: 'HTTP responses by route class and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const events = new Counter({
    name: 'pictor_auth_events_total',
    help: 'Security events by type: sign-ins (signin.*), consents (consent.*), disconnected apps (app.revoked), registrations, keys',
    labelNames: ['event'],
    registers: [registry],
  });
  for (const event of EVENTS_FROM_START) events.inc({ event }, 0);
  const responseChild = memoized((key) => {
    const [route, status] = key.split(' ') as [string, string];
    return responses.labels(route, status);
  });
  const eventChild = memoized((type) => events.labels(type));
  return {
    registry,
    response: (path, status) => responseChild(`${routeClass(path)} ${status}`).inc(),
    event: (type) => eventChild(type).inc(),
  };
}

function memoized(make: (key: string) => Counter.Internal): (key: string) => Counter.Internal {
  const children = new Map<string, Counter.Internal>();
  return (key) => {
    let child = children.get(key);
    if (!child) {
      child = make(key);
      children.set(key, child);
    }
    return child;
  };
}

/** The route class of a path (a raw path would let anyone add series). */
export function routeClass(path: string): RouteClass {
  const first = path.split('/', 2)[1] ?? '';
  switch (first) {
    case 'auth':
      return 'authorize';
    case 'token':
      return path.startsWith('/token/revocation') ? 'revocation' : 'token';
    case 'reg':
      return 'registration';
    case 'jwks':
      return 'jwks';
    case '.well-known':
      return 'metadata';
    case 'interaction':
      return 'interaction';
    case 'account':
      return 'account';
    case 'assets':
      return 'assets';
    case 'livez':
    case 'readyz':
      return 'probe';
    default:
      return 'other';
  }
}
