// Shared by the hostile-conditions tests: raw tools/call over HTTP with the outcome classified,
// a fingerprint of every table a refused call must leave untouched, and a stand-in token issuer
// for tests that run the MCP server as its own process.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { fingerprint } from './core-fixtures.ts';

export interface CallOutcome {
  status: number;
  /** The tool result when the HTTP exchange carried one. */
  result?: { isError?: boolean; structuredContent?: Record<string, any>; content?: Array<{ text?: string }>; _meta?: Record<string, any> };
  /** A JSON-RPC error. */
  error?: { code: number; message: string };
  /** The machine-readable tool error code (network.pictor/error), when refused. */
  code?: string;
  text: string;
}

export const call = (name: string, args: unknown, id: number | string = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** POSTs a JSON-RPC body to /mcp and classifies the answer. */
export async function post(url: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<CallOutcome> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const raw = await response.text();
  const json = raw ? JSON.parse(raw) : {};
  const result = json.result;
  const text = (result?.content ?? []).map((c: { text?: string }) => c.text ?? '').join('\n') || json.error?.message || '';
  return { status: response.status, result, error: json.error, code: result?._meta?.['network.pictor/error']?.code, text };
}

/** Neither an HTTP 5xx, nor a JSON-RPC internal error, nor a tool result saying "Internal error". */
export function assertNotInternal(o: CallOutcome, context: string): void {
  assert.ok(o.status < 500, `${context}: HTTP ${o.status} ${o.text}`);
  assert.notEqual(o.error?.code, -32603, `${context}: JSON-RPC internal error ${o.text}`);
  assert.notEqual(o.code, 'internal', `${context}: internal tool error ${o.text}`);
}

/** Everything money, capacity, instances and keys touch (core-fixtures' fingerprint plus SSH keys and top-ups). */
export async function stateFingerprint(db: Db): Promise<string> {
  const more = await sql<{ f: string }>`
    SELECT concat_ws('|',
      (SELECT count(*) FROM ssh_keys), (SELECT string_agg(id || ':' || name || ':' || fingerprint, ',' ORDER BY id) FROM ssh_keys),
      (SELECT count(*) FROM inflow_transactions)) AS f`.execute(db);
  return `${await fingerprint(db)}|${more.rows[0]!.f}`;
}

export const sum = (xs: readonly bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);

/** A stand-in authorization server for tests that run the MCP server as its own process: a JWKS and signed access tokens. */
export async function startIssuer(): Promise<{
  issuer: string;
  jwksUrl: string;
  token(o: { userId: string; aud: string; scope?: string }): Promise<string>;
  close(): Promise<void>;
}> {
  const keys = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'hostile-1', alg: 'ES256', use: 'sig' };
  const server = createServer((req, res) => {
    if (req.url === '/jwks') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    token: ({ userId, aud, scope = 'pictor:read instances:write ssh_keys:write billing:write' }) =>
      new SignJWT({ scope, client_id: 'hostile-test' })
        .setProtectedHeader({ alg: 'ES256', kid: 'hostile-1', typ: 'at+jwt' })
        .setIssuer(issuer)
        .setSubject(userId)
        .setAudience(aud)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(keys.privateKey),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
