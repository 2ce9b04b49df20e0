// Claude's side of a custom connector, step by step as Claude takes it (MCP authorization spec):
//   POST /mcp without a token → 401 → resource_metadata from WWW-Authenticate (RFC 9728 §5.1)
//   → protected-resource metadata → authorization-server metadata (RFC 8414 §3.1)
//   → dynamic client registration as Claude registers (RFC 7591) with a loopback callback served here
//   → authorization request with PKCE S256 (RFC 7636) and resource (RFC 8707) — the person's browser
//     takes it from there (person.ts) and lands on the callback with a code
//   → token exchange with resource → MCP SDK client over Streamable HTTP with the bearer token,
//     refreshing it when the MCP server answers 401, as Claude does.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client as Client2026, StreamableHTTPClientTransport as Transport2026 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { pkce, type Pkce } from '../../auth-server/test/support/harness.ts';

export interface ResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
}

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
  code_challenge_methods_supported: string[];
  scopes_supported: string[];
  [key: string]: unknown;
}

export interface Discovery {
  mcpUrl: string;
  /** The 401's WWW-Authenticate parameters (resource_metadata, scope). */
  challenge: Record<string, string>;
  resource: ResourceMetadata;
  server: AuthorizationServerMetadata;
}

/** Parses `Bearer a="b", c="d"` (RFC 6750 §3) into { a: 'b', c: 'd' }. */
export function challengeParams(header: string | null): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of (header ?? '').matchAll(/([a-z_]+)="([^"]*)"/gi)) params[match[1]!] = match[2]!;
  return params;
}

async function json<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res.json() as Promise<T>;
}

/** Steps 1–3: from nothing but the MCP URL to the authorization server's metadata. */
export async function discover(mcpUrl: string): Promise<Discovery> {
  const unauthorized = await fetch(mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'Claude', version: '1.0' } },
    }),
  });
  if (unauthorized.status !== 401) throw new Error(`POST /mcp without a token answered ${unauthorized.status}, not 401`);
  const challenge = challengeParams(unauthorized.headers.get('www-authenticate'));
  if (!challenge.resource_metadata) throw new Error('the 401 has no resource_metadata');
  const resource = await json<ResourceMetadata>(await fetch(challenge.resource_metadata), 'protected-resource metadata');
  const issuer = resource.authorization_servers[0];
  if (!issuer) throw new Error('no authorization server in the protected-resource metadata');
  // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
  const issuerUrl = new URL(issuer);
  const metadataUrl = new URL(`/.well-known/oauth-authorization-server${issuerUrl.pathname.replace(/\/$/, '')}`, issuerUrl);
  const server = await json<AuthorizationServerMetadata>(await fetch(metadataUrl), 'authorization server metadata');
  if (server.issuer !== issuer) throw new Error(`metadata issuer ${server.issuer} is not ${issuer}`); // RFC 8414 §3.3
  return { mcpUrl, challenge, resource, server };
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  client_name?: string;
  redirect_uris: string[];
  token_endpoint_auth_method: string;
  grant_types: string[];
  scope?: string;
}

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
}

export class TokenRequestError extends Error {
  readonly status: number;
  readonly body: { error?: string; error_description?: string };
  constructor(status: number, body: { error?: string; error_description?: string }) {
    super(`token endpoint answered ${status}: ${body.error ?? ''} ${body.error_description ?? ''}`);
    this.status = status;
    this.body = body;
  }
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  pkce: Pkce;
  redirectUri: string;
  scope: string;
}

/** Claude's loopback callback: receives the browser after consent and hands the query to whoever waits for its state. */
class CallbackServer {
  readonly #server: Server;
  readonly #waiting = new Map<string, (params: URLSearchParams) => void>();
  readonly #arrived = new Map<string, URLSearchParams>();
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.url);
      const state = url.searchParams.get('state') ?? '';
      const waiter = this.#waiting.get(state);
      if (waiter) waiter(url.searchParams);
      else this.#arrived.set(state, url.searchParams);
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><title>Connected</title><h1>Pictor is connected</h1><p>You can close this window and return to Claude.</p>');
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/api/mcp/auth_callback`;
  }

  /** The callback's query for `state`, once the browser arrives (rejects after `timeoutMs`). */
  next(state: string, timeoutMs = 30_000): Promise<URLSearchParams> {
    const arrived = this.#arrived.get(state);
    if (arrived) return Promise.resolve(arrived);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no callback for state ${state} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiting.set(state, (params) => {
        clearTimeout(timer);
        this.#waiting.delete(state);
        resolve(params);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

/** One connector in Claude: discovered, registered by DCR, able to (re)authorize and connect. */
export class ClaudeConnector {
  readonly discovery: Discovery;
  readonly client: RegisteredClient;
  readonly callback: CallbackServer;
  /** Every scope the server advertised: what Claude asks for. */
  readonly scope: string;

  private constructor(discovery: Discovery, client: RegisteredClient, callback: CallbackServer, scope: string) {
    this.discovery = discovery;
    this.client = client;
    this.callback = callback;
    this.scope = scope;
  }

  /** Discovery and registration, exactly as Claude registers itself (client_secret_post, both grants, every scope). */
  static async add(mcpUrl: string): Promise<ClaudeConnector> {
    const discovery = await discover(mcpUrl);
    const callback = new CallbackServer();
    await callback.start();
    const scope = discovery.challenge.scope ?? discovery.resource.scopes_supported.join(' ');
    const res = await fetch(discovery.server.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        client_name: 'Claude',
        redirect_uris: [callback.url],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
        scope,
      }),
    });
    if (res.status !== 201) {
      await callback.close();
      throw new Error(`registration answered ${res.status}: ${await res.text()}`);
    }
    const client = (await res.json()) as RegisteredClient;
    return new ClaudeConnector(discovery, client, callback, scope);
  }

  get mcpUrl(): string {
    return this.discovery.mcpUrl;
  }

  /** The URL Claude opens in the person's browser (OAuth 2.1 §4.1.1 with PKCE and resource). */
  authorizationRequest(scope = this.scope): AuthorizationRequest {
    const p = pkce();
    const state = randomBytes(16).toString('base64url');
    const url = new URL(this.discovery.server.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.client.client_id,
      redirect_uri: this.callback.url,
      scope,
      state,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      resource: this.mcpUrl,
    }).toString();
    return { url: url.href, state, pkce: p, redirectUri: this.callback.url, scope };
  }

  /** Waits for the callback of `request`, checks it (state, RFC 9207 iss) and exchanges the code. */
  async complete(request: AuthorizationRequest): Promise<Connection> {
    const params = await this.callback.next(request.state);
    const error = params.get('error');
    if (error) throw new Error(`authorization refused: ${error} ${params.get('error_description') ?? ''}`);
    if (params.get('iss') !== this.discovery.server.issuer) throw new Error(`callback iss ${params.get('iss')} is not the issuer`);
    const tokens = await this.token({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: request.redirectUri,
      code_verifier: request.pkce.verifier,
      resource: this.mcpUrl,
    });
    return new Connection(this, tokens);
  }

  /** A token request with client_secret_post authentication (RFC 6749 §2.3.1). */
  async token(params: Record<string, string>): Promise<TokenSet> {
    const body = new URLSearchParams({ ...params, client_id: this.client.client_id, client_secret: this.client.client_secret ?? '' });
    const res = await fetch(this.discovery.server.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    });
    const answer = (await res.json()) as TokenSet & { error?: string; error_description?: string };
    if (!res.ok) throw new TokenRequestError(res.status, answer);
    return answer;
  }

  close(): Promise<void> {
    return this.callback.close();
  }
}

/** A connected Pictor: tokens, and MCP calls that refresh the access token on a 401 as Claude does. */
export class Connection {
  readonly connector: ClaudeConnector;
  tokens: TokenSet;
  /** Successful refreshes so far. */
  refreshes = 0;
  /** The last refresh that failed (e.g. after the app was disconnected). */
  refreshError?: TokenRequestError;
  #client?: Client;

  constructor(connector: ClaudeConnector, tokens: TokenSet) {
    this.connector = connector;
    this.tokens = tokens;
  }

  get scopes(): string[] {
    return (this.tokens.scope ?? '').split(' ').filter(Boolean);
  }

  async refresh(): Promise<void> {
    if (!this.tokens.refresh_token) throw new Error('no refresh token');
    const fresh = await this.connector.token({ grant_type: 'refresh_token', refresh_token: this.tokens.refresh_token, resource: this.connector.mcpUrl });
    // A confidential client may keep its refresh token (no rotation): keep the old one then.
    this.tokens = { ...fresh, refresh_token: fresh.refresh_token ?? this.tokens.refresh_token };
    this.refreshes += 1;
  }

  /** fetch for the SDK transport: the bearer header, and on 401 one refresh and one retry. */
  readonly fetch = async (url: string | URL, init: RequestInit = {}): Promise<Response> => {
    const send = () => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${this.tokens.access_token}`);
      return fetch(url, { ...init, headers });
    };
    const first = await send();
    if (first.status !== 401 || !this.tokens.refresh_token) return first;
    try {
      await this.refresh();
    } catch (error) {
      if (!(error instanceof TokenRequestError)) throw error;
      this.refreshError = error;
      return first; // the client sees the 401: the person must reconnect
    }
    await first.body?.cancel();
    return send();
  };

  /** The MCP SDK client, connected (initialize) over Streamable HTTP. */
  async mcp(): Promise<Client> {
    if (!this.#client) {
      const client = new Client({ name: 'Claude', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(this.connector.mcpUrl), { fetch: this.fetch }));
      this.#client = client;
    }
    return this.#client;
  }

  /**
   * The MCP SDK v2 client negotiating the revision (server/discover first), as a client of the
   * 2026-07-28 era does; same token and refresh as mcp(). Closed by the caller.
   */
  async mcp2026(): Promise<Client2026> {
    const client = new Client2026({ name: 'Claude', version: '2.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new Transport2026(new URL(this.connector.mcpUrl), { fetch: this.fetch }));
    return client;
  }

  async callTool(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    return (await (await this.mcp()).callTool({ name, arguments: args })) as CallToolResult;
  }

  /** Calls a tool that must succeed and returns its structured content. */
  async call<T = Record<string, unknown>>(name: string, args: Record<string, unknown> = {}): Promise<T> {
    const result = await this.callTool(name, args);
    if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
    if (!result.structuredContent) throw new Error(`${name} returned no structured content`);
    return result.structuredContent as T;
  }

  /** A raw tools/call POST with the current access token (no refresh), for checking status codes and headers. */
  rawToolCall(name: string, args: Record<string, unknown> = {}, token = this.tokens.access_token): Promise<Response> {
    return fetch(this.connector.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
    });
  }

  async close(): Promise<void> {
    await this.#client?.close();
    this.#client = undefined;
  }
}
