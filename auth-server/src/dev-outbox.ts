// /dev/outbox: every sign-in link the dev outbox caught, so it is a key to every account. It is
// served only to the person at this machine's own browser, and is a plain 404 to anything else.
import type { Context, Next } from 'koa';
import type { AuthConfig } from './config.ts';
import { sendHtml } from './http.ts';
import type { OutboxMail } from './mail.ts';
import { outboxPage } from './views/outbox.ts';

// Set by proxies and tunnels (nginx, ngrok, cloudflared…): a request that crossed one comes from
// wherever the proxy took it, even though the connection to us comes from loopback.
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'cf-connecting-ip'];

export interface OutboxRequest {
  /** The socket's peer address: never ctx.ip, which X-Forwarded-For sets when proxies are trusted. */
  remoteAddress: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const ip = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return ip === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

/** Development mail only (no SMTP_URL, not production), asked directly from this machine. */
export function mayShowOutbox(config: Pick<AuthConfig, 'nodeEnv' | 'smtpUrl'>, request: OutboxRequest): boolean {
  if (config.nodeEnv === 'production' || config.smtpUrl) return false;
  if (PROXY_HEADERS.some((name) => request.headers[name] !== undefined)) return false;
  return isLoopback(request.remoteAddress);
}

export function devOutbox(config: AuthConfig, outbox: (() => OutboxMail[]) | undefined) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.path !== '/dev/outbox') return next();
    const allowed = outbox && ctx.method === 'GET' && mayShowOutbox(config, { remoteAddress: ctx.req.socket.remoteAddress, headers: ctx.req.headers });
    // The same 404 as any unknown path (pageErrors renders it): nothing says an outbox exists.
    if (!allowed) return next();
    sendHtml(ctx, outboxPage(outbox()));
  };
}
