// The MCP protocol for stateless HTTP exchanges. The SDK's Server does the protocol work
// (initialize and version negotiation, ping, JSON-RPC dispatch, request/result schemas); what
// costs time in the SDK's documented stateless recipe is avoided here:
// - no McpServer: its tools/list converts every zod schema to JSON Schema on every call and its
//   tools/call turns any exception's message into a tool result. tools/list returns a list built
//   once; tools/call goes through tools/execute.ts, which maps errors in one place.
// - no StreamableHTTPServerTransport: it converts each Node request to a web Request and back
//   (through @hono/node-server) and must be rebuilt per request. The HTTP side (status codes,
//   headers, body) is done by the Koa route; an in-memory transport hands the parsed message to
//   the Server and resolves with its response.
// - one Server per process, not one per request. What the SDK's Protocol keeps per connection is
//   the in-flight request ids (here every request gets a process-unique id on the way in and its
//   own id back on the way out, so two clients' "id": 1 never meet) and the client's declared
//   capabilities, which only matter for server-to-client requests (sampling, elicitation, roots):
//   this server never makes one, and with no session there would be nowhere to send it.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  McpError,
  PingRequestSchema,
  SetLevelRequestSchema,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { Logger } from 'pino';
import type { Services } from '../tools/define.ts';
import { describeIssues, ServiceUnavailable } from '../tools/errors.ts';
import { executeTool, type Caller } from '../tools/execute.ts';
import type { CompiledTools } from '../tools/public.ts';
import { toolOutcome, type McpMetrics } from './metrics.ts';

export const SERVER_INFO = { name: 'pictor', title: 'Pictor GPU Cloud', version: '0.1.0' };

export const INSTRUCTIONS = [
  'Pictor rents GPU cloud instances, prepaid from the account balance.',
  "Tools act on the signed-in person's own account unless team_id names a team they belong to; there, their role limits what they may do " +
    '(get-user-balance lists their teams and roles).',
  'Before create-instance or add-instance-hours, call it with dry_run: true, show the exact cost, and ask the person to confirm.',
  'Ask before anything destructive: stopping or deleting an instance, deleting an SSH key.',
  'Confirm with the person before crediting a top-up (verify-inflow-transaction, sync-pending-inflow-transactions): the amount and the account it goes to.',
  'get-account-activity shows what was done (and refused), get-spending-report where the money goes and what is leaking.',
].join(' ');

// The SDK parses a request against its handler's schema before the handler runs and reports a
// mismatch as -32603 Internal error. Params are the client's mistake (-32602), so: tools/call and
// tools/list are registered with a schema that only pins the method (the Server's own tools/call
// wrapper then validates CallToolRequestSchema and answers InvalidParams), and the SDK-handled
// methods are checked here first.
const ToolsCallMethod = z.object({ method: z.literal('tools/call'), params: z.unknown().optional() });
const ToolsListMethod = z.object({ method: z.literal('tools/list'), params: z.unknown().optional() });
const PREVALIDATED: Record<string, z.ZodType> = {
  initialize: InitializeRequestSchema as unknown as z.ZodType,
  ping: PingRequestSchema as unknown as z.ZodType,
  'logging/setLevel': SetLevelRequestSchema as unknown as z.ZodType,
};

export interface Exchange {
  caller: Caller;
  requestId: string;
  log: Logger;
  /** Set when the database could not be reached, so the HTTP layer answers 503. */
  unavailable?: boolean;
}

export interface McpProtocol {
  /** Answers one JSON-RPC request with its response (result or error). */
  request(message: JSONRPCRequest, exchange: Exchange, extra?: MessageExtraInfo): Promise<JSONRPCMessage>;
}

export interface ProtocolOptions {
  /** The connected-apps page, named in refusals by an app's limits (tools/errors.ts). */
  connectedAppsUrl?: string;
}

export function createMcpProtocol(tools: CompiledTools, services: Services, metrics?: McpMetrics, options: ProtocolOptions = {}): McpProtocol {
  // tools/list shows every tool whatever the token's scopes. A client learns that a tool needs
  // more permission from the 403 scope challenge on calling it, and then steps up; a tool hidden
  // from the list is one Claude would say does not exist, so a read-only grant could never grow.
  const listResult = tools.list;
  const meters = metrics && new Map([...tools.byName.values()].map((tool) => [tool, metrics.tool(tool.definition.name)]));
  const transport = new MultiplexTransport();
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false }, logging: {} },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: new AjvJsonSchemaValidator(),
  });
  server.setRequestHandler(ToolsListMethod, () => listResult);
  server.setRequestHandler(ToolsCallMethod, async (request, extra) => {
    // already checked against CallToolRequestSchema by the SDK Server's tools/call wrapper
    const { params } = request as unknown as z.infer<typeof CallToolRequestSchema>;
    const exchange = transport.exchangeOf(extra.requestId);
    const tool = tools.byName.get(params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${params.name}`);
    const meter = meters?.get(tool);
    const started = performance.now();
    try {
      const result = await executeTool(tool, params.arguments, {
        services,
        caller: exchange.caller,
        requestId: exchange.requestId,
        connectedAppsUrl: options.connectedAppsUrl,
        get log() {
          return exchange.log;
        }, // a child logger only if something logs
      });
      meter?.calls[toolOutcome(result)].inc();
      return result;
    } catch (error) {
      const unavailable = error instanceof ServiceUnavailable;
      if (unavailable) exchange.unavailable = true;
      meter?.calls[unavailable ? 'unavailable' : 'error'].inc();
      throw error;
    } finally {
      meter?.seconds.observe((performance.now() - started) / 1000);
    }
  });
  // logging/setLevel (MCP logging utility): clients may set a level and get {}. Nothing is
  // remembered: with one JSON body per POST there is no stream to carry notifications/message,
  // so none are sent at any level, and the SDK's own handler would keep the level on this
  // process-wide Server, where one client's setting would land on every other client.
  server.setRequestHandler(SetLevelRequestSchema, () => ({}));
  server.onerror = (error) => services.log.warn({ err: error }, 'mcp protocol error');
  const connected = server.connect(transport);

  return {
    async request(message, exchange, extra) {
      const strict = PREVALIDATED[message.method]?.safeParse(message);
      if (strict && !strict.success) {
        return { jsonrpc: '2.0', id: message.id, error: { code: ErrorCode.InvalidParams, message: `Invalid params: ${describeIssues(strict.error.issues)}` } };
      }
      await connected;
      return transport.exchange(message, exchange, extra);
    },
  };
}

interface Pending {
  id: JSONRPCRequest['id'];
  exchange: Exchange;
  settle(message: JSONRPCMessage): void;
}

/**
 * Carries each request in under a process-unique id and its response out under the client's own
 * id. Server-to-client messages other than responses (progress, logging) have nowhere to go in a
 * JSON response and are dropped.
 */
class MultiplexTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  #next = 0;
  readonly #pending = new Map<number, Pending>();

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.onclose?.();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!('result' in message || 'error' in message) || typeof message.id !== 'number') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    pending.settle({ ...message, id: pending.id });
  }

  exchangeOf(internalId: JSONRPCRequest['id']): Exchange {
    const pending = typeof internalId === 'number' ? this.#pending.get(internalId) : undefined;
    if (!pending) throw new Error(`no exchange for request ${String(internalId)}`);
    return pending.exchange;
  }

  exchange(message: JSONRPCRequest, exchange: Exchange, extra?: MessageExtraInfo): Promise<JSONRPCMessage> {
    return new Promise((resolve) => {
      this.#next = this.#next >= Number.MAX_SAFE_INTEGER ? 1 : this.#next + 1;
      const internalId = this.#next;
      this.#pending.set(internalId, { id: message.id, exchange, settle: resolve });
      this.onmessage?.({ ...message, id: internalId }, extra);
    });
  }
}
