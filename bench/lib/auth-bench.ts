// The authorization server's figures: the token endpoint's refresh grant under load (ours and bare
// oidc-provider, bench/oidc-baseline.ts, through the same code) and how many full authorizations
// (registration → magic-link sign-in → consent → code → token with PKCE) it completes per second.
import { performance } from 'node:perf_hooks';
import { freePort } from '@pictor/platform/local-postgres';
import { SCOPES } from '@pictor/platform/scopes';
import { signInForTokens, type AuthFlow } from './auth-flow.ts';
import { load, type LoadResult } from './load.ts';
import { dockerNodeOptions, startService, type Service } from './services.ts';
import { percentile } from './stats.ts';
import type { Stack } from './stack.ts';

export interface RefreshLoadOptions {
  tokenUrl: string;
  clientId: string;
  /**
   * Live refresh tokens of clientId, at least one per connection. One run spends them: autocannon
   * drops the answers in flight when it stops, and with them the successors of those tokens.
   */
  pool: string[];
  connections: number;
  durationSeconds: number;
  serverPid?: number;
  /** More form fields for every request (e.g. resource). */
  extraParams?: Record<string, string>;
}

export type RefreshLoadResult = LoadResult & { failures: number };

/**
 * Loads the token endpoint with the refresh grant of a public client. Tokens rotate, so every
 * request spends one from the pool and the answer's new token goes back in; a failed request puts
 * its token back and counts as a failure. One refresh outside the load checks that it rotates.
 */
export async function refreshGrantLoad(o: RefreshLoadOptions): Promise<RefreshLoadResult> {
  const { pool } = o;
  if (pool.length < o.connections) throw new Error(`refresh token pool (${pool.length}) smaller than the connections (${o.connections})`);
  const form = (token: string) =>
    new URLSearchParams({ ...o.extraParams, grant_type: 'refresh_token', refresh_token: token, client_id: o.clientId }).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };

  const presented = pool.shift()!;
  const probe = await fetch(o.tokenUrl, { method: 'POST', headers, body: form(presented) });
  const answer = (await probe.json()) as { access_token?: string; refresh_token?: string };
  if (probe.status !== 200 || !answer.access_token || !answer.refresh_token || answer.refresh_token === presented) {
    throw new Error(`${o.tokenUrl}: the refresh grant does not rotate: ${probe.status} ${JSON.stringify(answer).slice(0, 300)}`);
  }
  pool.push(answer.refresh_token);

  let failures = 0;
  const r = await load({
    url: o.tokenUrl,
    headers,
    connections: o.connections,
    durationSeconds: o.durationSeconds,
    serverPid: o.serverPid,
    requests: [
      {
        method: 'POST',
        path: new URL(o.tokenUrl).pathname,
        setupRequest(request, context) {
          const token = pool.shift();
          if (!token) throw new Error('refresh token pool ran dry');
          context.token = token;
          return { ...request, body: form(token) };
        },
        onResponse(status, body, context) {
          const next = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
          if (next) pool.push(next);
          else {
            failures += 1;
            pool.push(context.token as string);
          }
        },
      },
    ],
  });
  return { ...r, failures };
}

/** n refresh tokens of a signed-in person (each one more authorization in the same browser). */
export async function refreshPool(flow: AuthFlow, n: number): Promise<string[]> {
  const pool: string[] = [];
  for (let i = 0; i < n; i++) pool.push((await flow.tokens()).refreshToken);
  return pool;
}

export interface OidcBaseline {
  /** The issuer. */
  url: string;
  tokenUrl: string;
  clientId: string;
  resource: string;
  /** n fresh refresh tokens of clientId. */
  mint(n: number): Promise<string[]>;
  pid: number;
  service: Service;
  stop(): Promise<void>;
}

/** Starts bench/oidc-baseline.ts as its own process, run like the auth server (same NODE_ENV and NODE_OPTIONS). */
export async function startOidcBaseline(logDir: string, cpuProfDir?: string): Promise<OidcBaseline> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = startService('oidc-baseline', 'bench/oidc-baseline.ts', {
    logDir,
    cpuProfDir,
    env: { NODE_OPTIONS: dockerNodeOptions('auth-server'), NODE_ENV: 'development', BASELINE_PORT: String(port) },
  });
  await service.ready(`${url}/healthz`);
  const health = (await (await fetch(`${url}/healthz`)).json()) as { client_id: string; resource: string };
  return {
    url,
    tokenUrl: `${url}/token`,
    clientId: health.client_id,
    resource: health.resource,
    async mint(n) {
      const res = await fetch(`${url}/bench/refresh-tokens?n=${n}`, { method: 'POST' });
      if (res.status !== 200) throw new Error(`minting refresh tokens failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { refresh_tokens: string[] }).refresh_tokens;
    },
    pid: service.pid,
    service,
    stop: () => service.stop(),
  };
}

export interface AuthorizationsResult {
  /** Authorizations that ended with tokens. */
  flows: number;
  /** Wall time from the first start to the last finish. */
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  firstError?: string;
}

// Each flow its own client IP (X-Forwarded-For; the stack's auth server trusts it, as behind its
// proxy in production), so the per-IP limits on registration and sign-in see many people, as live.
let flowsStarted = 0;
const clientIp = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/**
 * Full authorizations without a browser, a fresh person each time, `concurrency` at once, started
 * until `seconds` have passed: dynamic client registration, /auth, the magic link through the SMTP
 * sink, consent, and the code exchanged with PKCE for tokens.
 */
export async function authorizationsPerSecond(stack: Stack, o: { seconds: number; concurrency: number }): Promise<AuthorizationsResult> {
  const durations: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + o.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const flow = await signInForTokens({
          issuer: stack.issuer,
          mcpUrl: stack.mcpUrl,
          sink: stack.sink,
          scopes: Object.keys(SCOPES),
          headers: { 'x-forwarded-for': clientIp(flowsStarted++) },
        });
        await flow.tokens();
        durations.push(performance.now() - t0);
      } catch (error) {
        failures += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    flows: durations.length,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round((durations.length / seconds) * 10) / 10,
    p50Ms: Math.round(percentile(durations, 0.5)),
    p99Ms: Math.round(percentile(durations, 0.99)),
    failures,
    ...(firstError ? { firstError: firstError.slice(0, 300) } : {}),
  };
}
