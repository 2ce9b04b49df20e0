// DNS-rebinding protection (MCP transport spec, "Security Warning"): a browser page on another
// site may reach this server by name, but it cannot forge Host or Origin. So /mcp answers only
// requests addressed to the configured public URL's host, and, when a browser sends an Origin,
// only that origin. Requests without Origin (server-side clients such as Claude's) pass.
import type { Context, Next } from 'koa';
import { rpcError } from './jsonrpc.ts';

export interface OriginPolicy {
  hosts: ReadonlySet<string>;
  origins: ReadonlySet<string>;
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * The Host and Origin values that address `publicUrl`. A loopback URL also accepts the other
 * loopback names on the same port (localhost ⇄ 127.0.0.1 ⇄ [::1]) so local tools work whichever
 * name they use; a rebinding attacker's own name is still refused.
 */
export function originPolicy(publicUrl: string): OriginPolicy {
  const url = new URL(publicUrl);
  const port = url.port || DEFAULT_PORT[url.protocol]!;
  const names = LOOPBACK.includes(url.hostname) ? LOOPBACK : [url.hostname.toLowerCase()];
  const hosts = new Set<string>();
  const origins = new Set<string>();
  for (const name of names) {
    hosts.add(`${name}:${port}`);
    if (port === DEFAULT_PORT[url.protocol]) hosts.add(name);
    origins.add(port === DEFAULT_PORT[url.protocol] ? `${url.protocol}//${name}` : `${url.protocol}//${name}:${port}`);
  }
  return { hosts, origins };
}

export function checkOrigin(policy: OriginPolicy) {
  return async function origin(ctx: Context, next: Next): Promise<void> {
    // ctx.host honours X-Forwarded-Host only when TRUST_PROXY is on (app.proxy).
    const host = ctx.host.toLowerCase();
    if (!policy.hosts.has(host)) {
      return rpcError(ctx, 403, -32000, `Forbidden: this server does not answer for host ${JSON.stringify(host.slice(0, 100))}`);
    }
    const origin = ctx.get('Origin');
    if (origin && !policy.origins.has(origin.toLowerCase())) {
      return rpcError(ctx, 403, -32000, `Forbidden: requests from origin ${JSON.stringify(origin.slice(0, 100))} are not allowed`);
    }
    await next();
  };
}
