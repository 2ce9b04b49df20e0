// The real MCP server (mcp-server/src/http/app.ts) as the protected resource of the full-flow
// tests, on the same database, trusting this test's authorization server and listening for its
// token revocations. And an
// OAuthClientProvider for the MCP SDK's own client OAuth code, as an MCP client app would have.
import { createServer, type Server } from 'node:http';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { loadConfig } from '@pictor/mcp-server/config';
import { createApp } from '@pictor/mcp-server/http/app';
import { createLogger } from '@pictor/mcp-server/http/logger';
import { watchRevocations } from '@pictor/mcp-server/http/revocations';
import { SecretBox } from '@pictor/mcp-server/pictor/sealing';
import { systemClock } from '@pictor/platform/clock';
import type { Harness } from './harness.ts';

export interface McpServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the MCP server on the port of `h.config.mcpUrl`. */
export async function startMcpServer(h: Harness): Promise<McpServer> {
  const url = new URL(h.config.mcpUrl);
  const config = loadConfig({
    DATABASE_URL: h.config.databaseUrl,
    MCP_PORT: url.port,
    MCP_HOST: '127.0.0.1',
    MCP_URL: h.config.mcpUrl,
    AUTH_ISSUER: h.issuer,
    NODE_ENV: 'test',
    WORKER_ENABLED: 'false',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  });
  const log = createLogger(config);
  const revocations = await watchRevocations({ db: h.db, databaseUrl: h.config.databaseUrl, log });
  const app = createApp(config, { db: h.db, clock: systemClock, log, secrets: new SecretBox(config.instances.secretsKeys) }, { revocations });
  const server: Server = createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(url.port), '127.0.0.1', () => resolve());
  });
  return {
    url: h.config.mcpUrl,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await revocations.close();
    },
  };
}

/** An MCP client app's OAuth state, kept in memory; the authorization URL is handed to the test's browser. */
export class TestOAuthProvider implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly clientMetadata: OAuthClientMetadata;
  authorizationUrl?: URL;
  #client?: OAuthClientInformationMixed;
  #tokens?: OAuthTokens;
  #verifier = '';

  constructor(redirectUrl: string, metadata: Partial<OAuthClientMetadata> = {}) {
    this.redirectUrl = redirectUrl;
    this.clientMetadata = {
      client_name: 'MCP SDK test client',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    };
  }

  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'client') this.#client = undefined;
  }
}
