// Every request gets an id (echoed as X-Request-Id), a child logger carrying it, one access-log
// line, and a last-resort guard: an unexpected error is logged with the id and answered
// generically; an HTTP error a client caused keeps its 4xx status.
// Per-request cost matters here (every MCP call passes through): the child logger is made only
// when something logs through it, and the access line skips redaction (platform accessLogger).
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { accessLogger } from '@pictor/platform/logging';
import { rpcError } from './jsonrpc.ts';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
    /** Set by the /mcp route for the access log. */
    rpc?: { method: string; tool?: string };
  }
}

// An id a client or proxy sent is kept when it is short and harmless in a log line.
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `counted` is told each response's path and final status (metrics). */
export function requestContext(log: Logger, counted?: (path: string, status: number) => void) {
  const access = accessLogger(log);
  return async function context(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const sent = ctx.get('X-Request-Id');
    const requestId = CLIENT_ID.test(sent) ? sent : randomUUID();
    ctx.state.requestId = requestId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => (child ??= log.child({ reqId: requestId })),
      enumerable: true,
      configurable: true,
    });
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } catch (error) {
      handleError(ctx, error);
    }
    counted?.(ctx.path, ctx.status);
    const fields = {
      reqId: requestId,
      method: ctx.method,
      // the path only: a query string could carry a token someone should not have sent
      path: ctx.path,
      status: ctx.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      user: ctx.state.identity?.userId,
      rpc: ctx.state.rpc?.method,
      tool: ctx.state.rpc?.tool,
    };
    if (ctx.status >= 500) access.warn(fields, 'request failed');
    else access.info(fields, 'request');
  };
}

function handleError(ctx: Context, error: unknown): void {
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // thrown by Koa or a parser for something the client sent (bad URI encoding, aborted body…)
    const expose = (error as { expose?: unknown }).expose === true && error instanceof Error;
    rpcError(ctx, status, -32600, expose ? error.message : 'Bad request');
    return;
  }
  ctx.state.log.error({ err: error }, 'unhandled error');
  rpcError(ctx, 500, -32603, `Internal error (request id ${ctx.state.requestId})`);
}
