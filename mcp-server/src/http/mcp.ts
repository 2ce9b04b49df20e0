// POST /mcp, Streamable HTTP in stateless JSON mode: one JSON-RPC message in, one JSON response
// out (202 for notifications). No Mcp-Session-Id: any replica answers any request.
// Runs after the Origin check and bearer authentication; everything a client can get wrong
// here is a 4xx with a JSON-RPC error body, never a 5xx.
import type { Context } from 'koa';
import { JSONRPCMessageSchema, SUPPORTED_PROTOCOL_VERSIONS, isJSONRPCRequest, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledTools } from '../tools/public.ts';
import { bearerChallenge } from './bearer.ts';
import { MAX_BODY_BYTES, readJsonBody } from './body.ts';
import { rpcError, type RpcId } from './jsonrpc.ts';
import type { McpProtocol } from './protocol.ts';

export interface McpRouteOptions {
  protocol: McpProtocol;
  tools: CompiledTools;
  resourceMetadata: string;
}

export function handleMcpPost({ protocol, tools, resourceMetadata }: McpRouteOptions) {
  // tools/list answers the same ~100 kB every time: encoded once, and written as is after a
  // small per-request head (building and encoding the string each time took ~0.5 ms a call).
  const listBytes = Buffer.from(JSON.stringify(tools.list));

  return async function mcpPost(ctx: Context): Promise<void> {
    const identity = ctx.state.identity!;

    if (!isJsonMediaType(ctx.get('Content-Type'))) {
      return rpcError(ctx, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    // We always answer JSON; a client that cannot take it (Accept without json or */*) gets 406.
    if (!acceptsJson(ctx.get('Accept'))) {
      return rpcError(ctx, 406, -32000, 'Not Acceptable: this endpoint answers with application/json');
    }
    const version = ctx.get('MCP-Protocol-Version');
    if (version && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return rpcError(
        ctx,
        400,
        -32000,
        `Bad Request: unsupported MCP-Protocol-Version ${JSON.stringify(version.slice(0, 40))} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
      );
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
    const parsed = JSONRPCMessageSchema.safeParse(body.value);
    if (!parsed.success) {
      return rpcError(ctx, 400, -32600, 'Invalid Request: the body is not a JSON-RPC 2.0 message', idOf(body.value));
    }
    const message = parsed.data;
    if (!isJSONRPCRequest(message)) {
      // Notifications (initialized, cancelled…) and responses need no answer in stateless mode.
      ctx.state.rpc = { method: 'method' in message ? message.method : 'response' };
      ctx.status = 202;
      ctx.respond = false; // Koa would fill an empty 202 with "Accepted"
      ctx.res.end();
      return;
    }

    const tool = toolCalled(message, tools);
    ctx.state.rpc = { method: message.method, tool: tool?.definition.name };
    if (tool && !identity.scopes.includes(tool.scope)) {
      // A real HTTP 403 (MCP authorization spec, scope challenge), so the client can step up
      // for this one tool while every other call keeps working with the same token.
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
    const exchange = {
      caller: identity,
      requestId: state.requestId,
      get log() {
        return state.log;
      },
      unavailable: false,
    };
    const response = await protocol.request(message, exchange);
    if (exchange.unavailable) {
      ctx.set('Retry-After', '2');
      ctx.status = 503;
    } else {
      ctx.status = 200;
    }
    ctx.type = 'application/json';
    if ('result' in response && response.result === tools.list)
      return sendWithTail(ctx, `{"jsonrpc":"2.0","id":${JSON.stringify(response.id)},"result":`, listBytes, '}');
    ctx.body = JSON.stringify(response);
  };
}

/** Writes head + shared bytes + tail in one corked write, without copying the shared bytes. */
function sendWithTail(ctx: Context, head: string, shared: Buffer, tail: string): void {
  const first = Buffer.from(head);
  ctx.length = first.length + shared.length + Buffer.byteLength(tail);
  ctx.respond = false; // headers and status are already on ctx.res
  const res = ctx.res;
  res.cork();
  res.write(first);
  res.write(shared);
  res.end(tail);
}

function toolCalled(message: JSONRPCRequest, tools: CompiledTools) {
  if (message.method !== 'tools/call') return undefined;
  const name = (message.params as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? tools.byName.get(name) : undefined;
}

function idOf(value: unknown): RpcId {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}

function isJsonMediaType(header: string): boolean {
  const type = header.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}

function acceptsJson(header: string): boolean {
  if (!header) return true;
  return header.split(',').some((part) => {
    const type = part.split(';', 1)[0]!.trim().toLowerCase();
    return type === 'application/json' || type === 'application/*' || type === '*/*';
  });
}
