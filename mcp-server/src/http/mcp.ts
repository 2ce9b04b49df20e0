// POST /mcp, Streamable HTTP without sessions, both protocol eras (protocol.ts): one JSON-RPC
// message in; one JSON response out (202 for notifications), or, when the request asked for
// progress (a progressToken) and takes text/event-stream, an SSE stream of that request's
// notifications/progress ending with its response. No Mcp-Session-Id: any replica answers any
// request. Runs after the Origin check and bearer authentication; everything a client can get
// wrong here is a 4xx with a JSON-RPC error body, never a 5xx.
import type { Context } from 'koa';
import type { JSONRPCMessage, JSONRPCRequest, JSONRPCResponse } from '@modelcontextprotocol/server';
import type { CompiledTools } from '../tools/public.ts';
import { bearerChallenge } from './bearer.ts';
import { MAX_BODY_BYTES, readJsonBody } from './body.ts';
import { rpcError } from './jsonrpc.ts';
import type { Exchange, McpProtocol } from './protocol.ts';
import { idOf, routeMessage } from './routing.ts';

export interface McpRouteOptions {
  protocol: McpProtocol;
  tools: CompiledTools;
  resourceMetadata: string;
}

export function handleMcpPost({ protocol, tools, resourceMetadata }: McpRouteOptions) {
  // tools/list answers the same ~100 kB tool array every time: encoded once, and written as is
  // between a small per-request head and tail (building and encoding it took ~0.5 ms a call).
  const listTools = tools.list.tools;
  const listBytes = Buffer.from(JSON.stringify(listTools));

  return async function mcpPost(ctx: Context): Promise<void> {
    const identity = ctx.state.identity!;

    if (!isJsonMediaType(ctx.get('Content-Type'))) {
      return rpcError(ctx, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    // We answer JSON (SSE only on top of it); a client that cannot take JSON gets 406.
    const accept = ctx.get('Accept');
    if (!acceptsMedia(accept, 'application/json')) {
      return rpcError(ctx, 406, -32000, 'Not Acceptable: this endpoint answers with application/json');
    }

    const body = await readJsonBody(ctx.req, MAX_BODY_BYTES);
    if (!body.ok) {
      if (body.reason === 'too_large') {
        ctx.set('Connection', 'close');
        return rpcError(ctx, 413, -32000, `Payload Too Large: the request body must not exceed ${MAX_BODY_BYTES} bytes`);
      }
      if (body.reason === 'aborted') return rpcError(ctx, 400, -32700, 'Parse error: the request body was not received completely');
      return rpcError(ctx, 400, -32700, 'Parse error: the body is not valid JSON');
    }
    // JSON-RPC batching was removed from MCP in 2025-06-18; one message per POST.
    if (Array.isArray(body.value)) {
      return rpcError(ctx, 400, -32600, 'Invalid Request: batches are not supported; send one JSON-RPC message per request');
    }
    // Whether the body is a JSON-RPC message at all is the SDK classifier's first question (routing.ts).
    const route = routeMessage(body.value, {
      protocolVersion: header(ctx, 'mcp-protocol-version'),
      method: header(ctx, 'mcp-method'),
      name: header(ctx, 'mcp-name'),
    });
    if (route.kind === 'reject') return rpcError(ctx, route.status, route.code, route.message, idOf(body.value), route.data);
    if (route.kind === 'accepted') {
      // Notifications (initialized, cancelled…) and responses need no answer in stateless mode.
      ctx.state.rpc = { method: route.method };
      ctx.status = 202;
      ctx.respond = false; // Koa would fill an empty 202 with "Accepted"
      ctx.res.end();
      return;
    }
    const message = route.message;

    const tool = toolCalled(message, tools);
    ctx.state.rpc = { method: message.method, tool: tool?.definition.name };
    if (tool && !identity.scopes.includes(tool.scope)) {
      // A real HTTP 403 (MCP authorization spec, scope challenge), so the client can step up
      // for this one tool while every other call keeps working with the same token. Same in
      // both eras: it is the HTTP layer's answer, before any protocol work.
      const granted = identity.scopes.filter((s) => (tools.scopes as readonly string[]).includes(s));
      ctx.set(
        'WWW-Authenticate',
        bearerChallenge({
          resourceMetadata,
          error: 'insufficient_scope',
          scope: [...new Set([...granted, tool.scope])].join(' '),
          description: `${tool.definition.name} needs the ${tool.scope} scope`,
        }),
      );
      return rpcError(ctx, 403, -32003, `Forbidden: ${tool.definition.name} needs the ${tool.scope} permission; reconnect Pictor and approve it`, message.id);
    }

    const state = ctx.state;
    const exchange: Exchange = {
      caller: identity,
      requestId: state.requestId,
      get log() {
        return state.log;
      },
      unavailable: false,
    };
    if (tool) exchange.signal = callerGone(ctx);
    const stream = wantsProgress(message, accept) ? new EventStream(ctx) : undefined;
    if (stream) exchange.stream = (notification) => stream.write(notification);
    const response = await protocol.request(message, exchange, route.era);
    if (stream?.open) return stream.end(response);

    if (exchange.unavailable) {
      ctx.set('Retry-After', '2');
      ctx.status = 503;
    } else if (exchange.refusedWith) {
      ctx.status = exchange.refusedWith;
    } else {
      ctx.status = 200;
    }
    ctx.type = 'application/json';
    const result = 'result' in response ? (response.result as { tools?: unknown }) : undefined;
    if (result?.tools === listTools) return sendList(ctx, response, listBytes);
    ctx.body = JSON.stringify(response);
  };
}

/**
 * The SSE answer to one POST: opened by the first related notification (until then the answer
 * may still be plain JSON), then one `message` event per notification, the response last.
 */
class EventStream {
  open = false;
  readonly ctx: Context;
  constructor(ctx: Context) {
    this.ctx = ctx;
  }

  write(message: JSONRPCMessage): void {
    const res = this.ctx.res;
    if (!this.open) {
      if (res.writableEnded) return;
      this.open = true;
      this.ctx.status = 200; // for the access log and metrics; the head is written here
      this.ctx.respond = false;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
        'X-Request-Id': this.ctx.state.requestId,
      });
    }
    if (!res.writableEnded) res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  end(response: JSONRPCResponse): void {
    this.write(response);
    this.ctx.res.end();
  }
}

/** Writes the tools/list response around the shared encoded tool array, in one corked write. */
function sendList(ctx: Context, response: JSONRPCResponse, shared: Buffer): void {
  const { tools: _, ...rest } = (response as { result: Record<string, unknown> }).result;
  const fields = JSON.stringify(rest).slice(1, -1);
  const head = Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(response.id)},"result":{${fields}${fields ? ',' : ''}"tools":`);
  const tail = '}}';
  ctx.length = head.length + shared.length + tail.length;
  ctx.respond = false; // headers and status are already on ctx.res
  const res = ctx.res;
  res.cork();
  res.write(head);
  res.write(shared);
  res.end(tail);
}

/** Aborted when the connection closes before the answer is written (the client went away). */
function callerGone(ctx: Context): AbortSignal {
  const gone = new AbortController();
  const res = ctx.res;
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  return gone.signal;
}

function toolCalled(message: JSONRPCRequest, tools: CompiledTools) {
  if (message.method !== 'tools/call') return undefined;
  const name = (message.params as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? tools.byName.get(name) : undefined;
}

/** Progress streams only for a request that asked (a progressToken) from a client that takes SSE. */
function wantsProgress(message: JSONRPCRequest, accept: string): boolean {
  const meta = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
  return meta?.progressToken !== undefined && acceptsMedia(accept, 'text/event-stream');
}

function header(ctx: Context, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function isJsonMediaType(header: string): boolean {
  const type = header.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}

/** Whether an Accept header admits `type` (no header admits everything). */
function acceptsMedia(header: string, type: string): boolean {
  if (!header) return true;
  const family = `${type.split('/', 1)[0]}/*`;
  return header.split(',').some((part) => {
    const range = part.split(';', 1)[0]!.trim().toLowerCase();
    return range === type || range === family || range === '*/*';
  });
}
