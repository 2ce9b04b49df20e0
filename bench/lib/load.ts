// One autocannon run against one endpoint, reduced to the figures the bench reports.
import autocannon, { type Request } from 'autocannon';
import { cpuMs } from './services.ts';

export interface LoadOptions {
  url: string;
  /** A JSON-RPC body (or any string body). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Per-request body and response hooks (autocannon's `requests`), e.g. rotating refresh tokens. */
  requests?: Request[];
  connections: number;
  durationSeconds: number;
  /** The server's process: its CPU time per request is reported (robust on a shared machine). */
  serverPid?: number;
}

export interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Server CPU time per request, µs (user + system), when serverPid was given. */
  cpuUsPerRequest: number | null;
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export async function load(o: LoadOptions): Promise<LoadResult> {
  const cpuBefore = o.serverPid ? cpuMs(o.serverPid) : 0;
  const result = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.durationSeconds,
    method: 'POST',
    headers: o.headers ?? MCP_HEADERS,
    ...(o.body === undefined ? {} : { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) }),
    ...(o.requests ? { requests: o.requests } : {}),
  });
  return {
    reqPerSec: Math.round(result.requests.total / result.duration),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    cpuUsPerRequest: o.serverPid && result.requests.total > 0 ? Math.round(((cpuMs(o.serverPid) - cpuBefore) * 1000) / result.requests.total) : null,
  };
}

export const rpc = (method: string, params?: unknown) => ({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) });
export const toolCall = (name: string, args: Record<string, unknown> = {}) => rpc('tools/call', { name, arguments: args });

/** One request outside the load, to check the scenario answers what it should before measuring it. */
export async function probe(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** MCP 2026-07-28: a request with its `_meta` envelope, and the routing headers it must carry. */
export const MODERN_REVISION = '2026-07-28';
export function modern(method: string, params: Record<string, unknown> = {}, base: Record<string, string> = MCP_HEADERS) {
  const body = rpc(method, {
    ...params,
    _meta: {
      'io.modelcontextprotocol/protocolVersion': MODERN_REVISION,
      'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    },
  });
  const headers: Record<string, string> = { ...base, 'mcp-protocol-version': MODERN_REVISION, 'mcp-method': method };
  if (typeof params.name === 'string') headers['mcp-name'] = params.name;
  return { body, headers };
}
