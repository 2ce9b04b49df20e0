// The MCP protocol for stateless HTTP exchanges, both eras: 2025-11-25 (initialize, then plain
// JSON-RPC) and 2026-07-28 (no handshake; every request carries its version and client
// capabilities in `_meta`). The SDK's v2 Server does the protocol work: initialize and version
// negotiation, server/discover, per-request `_meta` envelope validation, request/result schemas,
// resultType and cache-hint stamping, the input-required (MRTR) result rules, progress
// notifications. What costs time in the SDK's documented recipe (createMcpHandler: a new Server
// and transport per request, web Request/Response objects around each exchange) is avoided here:
// - two Servers per process, one per era, not one per request. The SDK binds an instance to its
//   era when it connects (a 2025 instance stays 2025; a PerRequestHTTPServerTransport classified
//   2026-07-28 binds the modern one), so the multiplexing transport below extends that class to
//   bind the modern Server through the SDK's own mechanism. What a Server keeps per connection is
//   the in-flight request ids (each request gets a process-unique id on the way in and its own id
//   back on the way out, so two clients' "id": 1 never meet) and, in 2025, the client's
//   initialize capabilities, which only matter for server-to-client requests: this server makes
//   none (confirmation is asked through MRTR, which reads the request's own `_meta`).
// - no McpServer: its tools/list converts every zod schema to JSON Schema; ours is built once.
//   tools/call goes through tools/execute.ts, which maps errors in one place.
// - the HTTP side (status codes, headers, JSON or SSE body) is done by the Koa route (mcp.ts).
import {
  CLIENT_CAPABILITIES_META_KEY,
  PerRequestHTTPServerTransport,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type BaseContext,
  type CallToolResult,
  type ClientCapabilities,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type MessageClassification,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { InitializeRequestSchema, ListToolsRequestSchema, PingRequestSchema, SetLevelRequestSchema } from '@modelcontextprotocol/core';
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Services } from '../tools/define.ts';
import { describeIssues, ServiceUnavailable } from '../tools/errors.ts';
import { executeTool, type Caller, type Interaction } from '../tools/execute.ts';
import type { CompiledTools } from '../tools/public.ts';
import { toolOutcome, type McpMetrics } from './metrics.ts';

export const SERVER_INFO = { name: 'pictor', title: 'Pictor GPU Cloud', version: '0.1.0' };

/** The stateless revision; the only modern one the SDK (2.4) implements. */
export const MODERN_REVISION = '2026-07-28';
/** Every revision this endpoint answers, newest first (named in unsupported-version errors). */
export const SERVED_REVISIONS = [MODERN_REVISION, '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
export const LEGACY_REVISIONS: readonly string[] = SERVED_REVISIONS.slice(1);

export const INSTRUCTIONS = [
  'Pictor rents GPU cloud instances, prepaid from the account balance.',
  "Tools act on the signed-in person's own account unless team_id names a team they belong to; there, their role limits what they may do " +
    '(get-user-balance lists their teams and roles).',
  'Before create-instance or add-instance-hours, call it with dry_run: true, show the exact cost, and ask the person to confirm.',
  'Ask before anything destructive: stopping or deleting an instance, deleting an SSH key.',
  'Confirm with the person before crediting a top-up (verify-inflow-transaction, sync-pending-inflow-transactions): the amount and the account it goes to.',
  'get-account-activity shows what was done (and refused), get-spending-report where the money goes and what is leaking.',
].join(' ');

// The tool list changes only on a deploy, and is the same for every caller (tools/list shows
// every tool whatever the token's scopes): an hour, shareable. A deploy within that hour is seen
// by a client on its next refetch; a new tool it cannot see yet is one it cannot call yet.
export const LIST_CACHE_HINT = { ttlMs: 60 * 60 * 1000, cacheScope: 'public' } as const;

// The SDK checks a request's params against the era's schema inside its handler wrapper and
// reports a mismatch as a plain Error (-32603 Internal error). Params are the client's mistake
// (-32602), so the methods served here are checked first (tools/call params by the Server's own
// tools/call wrapper, which answers InvalidParams).
const PREVALIDATED: Record<string, z.ZodType> = {
  initialize: InitializeRequestSchema as unknown as z.ZodType,
  ping: PingRequestSchema as unknown as z.ZodType,
  'logging/setLevel': SetLevelRequestSchema as unknown as z.ZodType,
  'tools/list': ListToolsRequestSchema as unknown as z.ZodType,
};

/** The era a request was classified into at the edge (routing.ts). */
export type ServedEra = { era: 'legacy' } | { era: 'modern'; revision: typeof MODERN_REVISION };

export interface Exchange {
  caller: Caller;
  requestId: string;
  log: Logger;
  /** Set when the database could not be reached, so the HTTP layer answers 503. */
  unavailable?: boolean;
  /**
   * 2026-07-28: set when the Server refused the request before any handler ran (method not
   * found: 404; a missing client capability: 400), the HTTP status the revision asks for. A
   * handler's own errors stay in-band (200), as do all errors in 2025.
   */
  refusedWith?: number;
  /**
   * Set by the HTTP layer when the request carried a progressToken and the client takes
   * text/event-stream: receives each notification related to this request, in order, before
   * the response (the HTTP layer turns the answer into an SSE stream on the first one).
   */
  stream?: ((notification: JSONRPCMessage) => void) | undefined;
  /** Set by the HTTP layer: aborted when the client goes away before its answer (a wait stops). */
  signal?: AbortSignal | undefined;
}

export interface McpProtocol {
  /** Answers one JSON-RPC request with its response (result or error). */
  request(message: JSONRPCRequest, exchange: Exchange, era?: ServedEra): Promise<JSONRPCResponse>;
}

export interface ProtocolOptions {
  /** The connected-apps page, named in refusals by an app's limits (tools/errors.ts). */
  connectedAppsUrl?: string;
  /** TEST ONLY: runs each tools/call instead of executeTool (to see the interaction a call gets). */
  execute?: typeof executeTool;
}

export function createMcpProtocol(tools: CompiledTools, services: Services, metrics?: McpMetrics, options: ProtocolOptions = {}): McpProtocol {
  // tools/list shows every tool whatever the token's scopes. A client learns that a tool needs
  // more permission from the 403 scope challenge on calling it, and then steps up; a tool hidden
  // from the list is one Claude would say does not exist, so a read-only grant could never grow.
  const listResult = tools.list;
  const meters = metrics && new Map([...tools.byName.values()].map((tool) => [tool, metrics.tool(tool.definition.name)]));
  const execute = options.execute ?? executeTool;

  function serve(era: ServedEra) {
    const modern = era.era === 'modern';
    const transport = new MultiplexTransport(modern ? { era: 'modern', revision: MODERN_REVISION } : { era: 'legacy' });
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: { listChanged: false }, logging: {} },
      instructions: INSTRUCTIONS,
      supportedProtocolVersions: modern ? [...SERVED_REVISIONS] : [...LEGACY_REVISIONS],
      cacheHints: { 'tools/list': LIST_CACHE_HINT, 'server/discover': LIST_CACHE_HINT },
      // A 2025 request never gets an input-required result (canElicit is false there); if one
      // ever did, fail loudly rather than let the SDK push requests down a stateless connection.
      inputRequired: { legacyShim: false },
    });
    server.setRequestHandler('tools/list', () => listResult);
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const exchange = transport.exchangeOf(ctx.mcpReq.id);
      const { params } = request;
      const tool = tools.byName.get(params.name);
      if (!tool) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${params.name}`);
      const meter = meters?.get(tool);
      const started = performance.now();
      try {
        const result = await execute(tool, params.arguments, {
          services,
          caller: exchange.caller,
          requestId: exchange.requestId,
          connectedAppsUrl: options.connectedAppsUrl,
          interaction: interactionOf(ctx, modern, exchange),
          signal: exchange.signal,
          get log() {
            return exchange.log;
          }, // a child logger only if something logs
        });
        meter?.calls[toolOutcome(result)].inc();
        return result as CallToolResult;
      } catch (error) {
        const unavailable = error instanceof ServiceUnavailable;
        if (unavailable) exchange.unavailable = true;
        meter?.calls[unavailable ? 'unavailable' : 'error'].inc();
        throw error;
      } finally {
        meter?.seconds.observe((performance.now() - started) / 1000);
      }
    });
    // logging/setLevel (MCP logging utility, deprecated in 2026-07-28): clients may set a level
    // and get {}. Nothing is remembered: the SDK's own handler would keep the level on this
    // process-wide Server, where one client's setting would land on every other client.
    server.setRequestHandler('logging/setLevel', () => ({}));
    server.onerror = (error) => services.log.warn({ err: error }, 'mcp protocol error');
    const connected = server.connect(transport);
    return { transport, connected };
  }

  const legacy = serve({ era: 'legacy' });
  const modern = serve({ era: 'modern', revision: MODERN_REVISION });

  return {
    async request(message, exchange, era = { era: 'legacy' }) {
      const strict = (era.era === 'legacy' || message.method === 'tools/list' ? PREVALIDATED[message.method] : undefined)?.safeParse(message);
      if (strict && !strict.success) {
        return {
          jsonrpc: '2.0',
          id: message.id,
          error: { code: ProtocolErrorCode.InvalidParams, message: `Invalid params: ${describeIssues(strict.error.issues)}` },
        };
      }
      const side = era.era === 'modern' ? modern : legacy;
      await side.connected;
      return side.transport.exchange(message, exchange, era.era === 'modern' ? { era: 'modern', revision: era.revision } : undefined);
    },
  };
}

/** What this one request lets a tool do beyond a plain result (tools/execute.ts, Interaction). */
function interactionOf(ctx: BaseContext, modern: boolean, exchange: Exchange): Interaction {
  const requestState = ctx.mcpReq.requestState();
  const progressToken = ctx.mcpReq._meta?.progressToken;
  const interaction: Interaction = {
    // Only this request's own `_meta` capabilities count, never an earlier request's.
    canElicit:
      modern && formElicitation((ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined),
    inputResponses: ctx.mcpReq.inputResponses,
    requestState: typeof requestState === 'string' ? requestState : undefined,
  };
  if (progressToken !== undefined && exchange.stream) {
    interaction.progress = (update) => {
      ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, ...update } }).catch(() => {});
    };
  }
  return interaction;
}

/** Form-mode elicitation: declared as `form`, or as a bare `elicitation: {}` (form by default). */
function formElicitation(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation as { form?: unknown; url?: unknown } | undefined;
  if (!elicitation || typeof elicitation !== 'object') return false;
  return elicitation.form !== undefined || elicitation.url === undefined;
}

interface Pending {
  id: JSONRPCRequest['id'];
  exchange: Exchange;
  modern: boolean;
  settle(message: JSONRPCResponse): void;
}

// The statuses of the 2026-07-28 HTTP binding for errors the Server answers before any handler
// runs (its era gate, method registry and envelope checks answer synchronously on delivery).
const REFUSAL_STATUS: Record<number, number> = {
  [ProtocolErrorCode.MethodNotFound]: 404,
  [ProtocolErrorCode.InvalidRequest]: 400,
  [ProtocolErrorCode.UnsupportedProtocolVersion]: 400,
  [ProtocolErrorCode.MissingRequiredClientCapability]: 400,
};

/**
 * Carries each request in under a process-unique id and its response out under the client's own
 * id; a notification related to a request (progress) goes to that request's exchange stream, or
 * nowhere when the exchange has none. Extends the SDK's per-request transport only so that
 * connecting the modern Server binds it to 2026-07-28 the way the SDK binds its own instances;
 * none of that class's single-exchange behaviour is used.
 */
class MultiplexTransport extends PerRequestHTTPServerTransport {
  #next = 0;
  #delivering: number | undefined;
  readonly #pending = new Map<number, Pending>();

  constructor(classification: MessageClassification) {
    super({ classification, responseMode: 'json', keepAliveMs: 0 });
  }

  override async start(): Promise<void> {}

  override async close(): Promise<void> {
    this.onclose?.();
  }

  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('result' in message || 'error' in message) {
      if (typeof message.id !== 'number') return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (pending.modern && 'error' in message) {
        const code = message.error.code;
        // -32021 is a 400 even from a handler (an input request the client cannot answer)
        if (this.#delivering === message.id || code === ProtocolErrorCode.MissingRequiredClientCapability) pending.exchange.refusedWith = REFUSAL_STATUS[code];
      }
      pending.settle({ ...message, id: pending.id } as JSONRPCResponse);
      return;
    }
    const related = options?.relatedRequestId;
    if (typeof related === 'number') this.#pending.get(related)?.exchange.stream?.(message);
  }

  exchangeOf(internalId: JSONRPCRequest['id']): Exchange {
    const pending = typeof internalId === 'number' ? this.#pending.get(internalId) : undefined;
    if (!pending) throw new Error(`no exchange for request ${String(internalId)}`);
    return pending.exchange;
  }

  exchange(message: JSONRPCRequest, exchange: Exchange, classification?: MessageClassification): Promise<JSONRPCResponse> {
    return new Promise((resolve) => {
      this.#next = this.#next >= Number.MAX_SAFE_INTEGER ? 1 : this.#next + 1;
      const internalId = this.#next;
      this.#pending.set(internalId, { id: message.id, exchange, modern: classification !== undefined, settle: resolve });
      this.#delivering = internalId;
      try {
        this.onmessage?.({ ...message, id: internalId }, classification ? { classification } : undefined);
      } finally {
        this.#delivering = undefined;
      }
    });
  }
}
