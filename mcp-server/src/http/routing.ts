// Which era a POST /mcp belongs to, and the 2026-07-28 routing-header rules, before any protocol
// work. The era decision is the SDK's own classifier (the body's `_meta` envelope claim first, the
// MCP-Protocol-Version and Mcp-Method headers as cross-checks), so it can never disagree with the
// SDK's servers; the rest is what the SDK's createMcpHandler checks at its entry and we, serving
// without it, check here: the revision is one we serve, and the standard headers a modern request
// must carry (SEP-2243: MCP-Protocol-Version, Mcp-Method, and Mcp-Name mirroring params.name).
import { classifyInboundRequest, ProtocolErrorCode, type JSONRPCRequest } from '@modelcontextprotocol/server';
import type { RpcId } from './jsonrpc.ts';
import { LEGACY_REVISIONS, MODERN_REVISION, SERVED_REVISIONS, type ServedEra } from './protocol.ts';

/** The spec's HeaderMismatch error: headers and body disagree, or a required header is absent. */
export const HEADER_MISMATCH = -32020;

export interface RoutingHeaders {
  protocolVersion?: string | undefined;
  method?: string | undefined;
  name?: string | undefined;
}

export type Route =
  | { kind: 'request'; message: JSONRPCRequest; era: ServedEra }
  /** A notification or a posted response: nothing to answer in stateless serving (202). */
  | { kind: 'accepted'; method: string }
  | { kind: 'reject'; status: number; code: number; message: string; data?: unknown };

export function routeMessage(body: unknown, headers: RoutingHeaders): Route {
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headers.protocolVersion,
    mcpMethodHeader: headers.method,
    mcpNameHeader: headers.name,
    body,
  });
  if (outcome.kind === 'reject') return { kind: 'reject', status: outcome.httpStatus, code: outcome.code, message: outcome.message, data: outcome.data };

  if (outcome.kind === 'legacy') {
    const method = (body as { method?: unknown }).method;
    if (outcome.reason === 'response') return { kind: 'accepted', method: 'response' };
    if (outcome.reason === 'notification') return { kind: 'accepted', method: String(method) };
    // 2025 clients name their version in the header after initialize; an unknown one is refused
    // with the list, so the client can pick (initialize itself negotiates in its body).
    if (headers.protocolVersion && !LEGACY_REVISIONS.includes(headers.protocolVersion)) {
      return unsupported(headers.protocolVersion, [...SERVED_REVISIONS]);
    }
    return { kind: 'request', message: body as JSONRPCRequest, era: { era: 'legacy' } };
  }

  const revision = outcome.classification.revision;
  if (revision !== MODERN_REVISION) return unsupported(revision ?? 'unknown', [MODERN_REVISION]);
  if (outcome.messageKind === 'notification') return { kind: 'accepted', method: outcome.message.method };
  const mismatch = headerProblem(outcome.message, headers);
  if (mismatch) return { kind: 'reject', status: 400, code: HEADER_MISMATCH, message: `Bad Request: ${mismatch.text}`, data: { mismatch: mismatch.data } };
  return { kind: 'request', message: outcome.message, era: { era: 'modern', revision: MODERN_REVISION } };
}

/** The spec's unsupported-protocol-version error, naming the revisions a client may use instead. */
function unsupported(requested: string, supported: string[]): Route {
  return {
    kind: 'reject',
    status: 400,
    code: ProtocolErrorCode.UnsupportedProtocolVersion,
    message: `Unsupported protocol version: ${JSON.stringify(requested.slice(0, 40))} (supported: ${supported.join(', ')})`,
    data: { supported, requested: requested.slice(0, 40) },
  };
}

// The methods whose Mcp-Name header mirrors a body field (only tools are served here).
const NAME_SOURCE: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

function headerProblem(message: JSONRPCRequest, headers: RoutingHeaders): { text: string; data: { header: string; body: string } } | undefined {
  // Mismatches of the version and method headers with the body are the classifier's; presence is ours.
  if (headers.protocolVersion === undefined) {
    return {
      text: `the body carries a ${MODERN_REVISION} request but the required MCP-Protocol-Version header is absent`,
      data: { header: '(missing)', body: MODERN_REVISION },
    };
  }
  if (headers.method === undefined) {
    return {
      text: `the body names method ${message.method} but the required Mcp-Method header is absent`,
      data: { header: '(missing)', body: message.method },
    };
  }
  const field = NAME_SOURCE[message.method];
  const value = field ? (message.params as Record<string, unknown> | undefined)?.[field] : undefined;
  if (typeof value !== 'string') return undefined;
  if (headers.name === undefined) {
    return {
      text: `the body carries params.${field}=${JSON.stringify(value)} but the required Mcp-Name header is absent`,
      data: { header: '(missing)', body: value },
    };
  }
  const decoded = decodeHeaderValue(headers.name.trim());
  if (decoded !== value) {
    return {
      text: `the body carries params.${field}=${JSON.stringify(value)} but the Mcp-Name header does not name it`,
      data: { header: headers.name.slice(0, 200), body: value },
    };
  }
  return undefined;
}

/** Header values that are not plain ASCII travel as `=?base64?<base64 of UTF-8>?=` (SEP-2243). */
function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?='))) return value;
  const encoded = value.slice('=?base64?'.length, -2);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return undefined;
  return Buffer.from(encoded, 'base64').toString('utf8');
}

export function idOf(value: unknown): RpcId {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}
