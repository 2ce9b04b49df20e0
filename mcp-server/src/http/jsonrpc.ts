// JSON-RPC-shaped HTTP error bodies, so an MCP client that reads the body sees a JSON-RPC error.
import type { Context } from 'koa';

export type RpcId = string | number | null;

export function rpcError(ctx: Context, status: number, code: number, message: string, id: RpcId = null, data?: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = { jsonrpc: '2.0', error: data === undefined ? { code, message } : { code, message, data }, id };
}
