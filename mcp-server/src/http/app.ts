// The MCP server's HTTP application. Read top to bottom, this is the whole request pipeline.
import Koa from 'koa';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import type { Services, ToolDefinition } from '../tools/define.ts';
import { tools as registry } from '../tools/index.ts';
import { compileTools } from '../tools/public.ts';
import { requireBearer } from './bearer.ts';
import { healthProbes } from './health.ts';
import { inflowRoutes } from './inflow-webhook.ts';
import { rpcError } from './jsonrpc.ts';
import { handleMcpPost } from './mcp.ts';
import { metadataPaths, metadataUrl, resourceMetadata, serveMetadata } from './metadata.ts';
import { createMcpMetrics, routeClassifier, type McpMetrics } from './metrics.ts';
import { checkOrigin, originPolicy } from './origin.ts';
import { createMcpProtocol, type ProtocolOptions } from './protocol.ts';
import { requestContext } from './request-context.ts';
import type { RevocationList } from './revocations.ts';
import { createTokenVerifier, type TokenVerifier } from './token.ts';

export interface AppOptions {
  /** Disconnected apps (see revocations.ts); main.ts always passes it. */
  revocations?: RevocationList;
  /** Where requests are counted; server.ts passes the one it serves on MCP_METRICS_PORT. Default: a registry of the app's own. */
  metrics?: McpMetrics;
  /** TEST ONLY: extra tools appended to the registry, for tests that need a tool the registry lacks. */
  testOnlyTools?: readonly ToolDefinition[];
  /** TEST ONLY: runs each tools/call instead of executeTool (protocol.ts). */
  testOnlyExecute?: ProtocolOptions['execute'];
}

export function createApp(config: Config, services: Services, options: AppOptions = {}): Koa {
  const tools = compileTools([...registry, ...(options.testOnlyTools ?? [])]);
  const resourceMetadataUrl = metadataUrl(config.mcpUrl);
  const verifier: TokenVerifier = createTokenVerifier({
    issuer: config.authIssuer,
    audience: config.mcpUrl,
    jwksUrl: config.authJwksUrl,
    maxLifetimeSeconds: config.accessTokenMaxTtl,
    onRefreshError: (error) => services.log.warn({ err: error }, 'JWKS background refresh failed'),
  });
  const metrics = options.metrics ?? createMcpMetrics(services);
  // Refusals by an app's limits say where the person changes them: the connected-apps page.
  const protocol = createMcpProtocol(tools, services, metrics, { connectedAppsUrl: `${config.authIssuer}/account`, execute: options.testOnlyExecute });
  const mcpPath = new URL(config.mcpUrl).pathname;
  const wellKnown = metadataPaths(config.mcpUrl);
  const metadata = serveMetadata(resourceMetadata(config.mcpUrl, config.authIssuer, tools.scopes));

  const app = new Koa({ proxy: config.trustProxy });
  app.silent = true; // errors are logged by requestContext, with the request id
  const router = new Router();

  for (const path of new Set([wellKnown.primary, wellKnown.root])) {
    router.get(path, metadata);
    router.options(path, metadata);
  }
  const origin = checkOrigin(originPolicy(config.mcpUrl));
  const bearer = requireBearer({
    verifier,
    resourceMetadata: resourceMetadataUrl,
    allScopes: tools.scopes,
    revocations: options.revocations,
    onRefusal: metrics.tokenRefused,
  });
  const mcp = handleMcpPost({ protocol, tools, resourceMetadata: resourceMetadataUrl });
  const mcpPost = (ctx: Context) => origin(ctx, () => bearer(ctx, () => mcp(ctx)));
  router.post(mcpPath, mcpPost);
  // Stateless server: no SSE stream to GET and no session to DELETE (seed: "Method not allowed").
  router.all(mcpPath, (ctx) => {
    ctx.set('Allow', 'POST');
    rpcError(ctx, 405, -32000, 'Method not allowed: the MCP endpoint only accepts POST');
  });

  const routeClass = routeClassifier(mcpPath);
  app.use(requestContext(services.log, (path, status) => metrics.response(routeClass(path), status)));
  // POST to the exact MCP path is nearly all the traffic: straight to its chain, past the routers'
  // matching (the router still takes the variants it accepts, such as a trailing slash).
  app.use((ctx, next) => (ctx.method === 'POST' && ctx.path === mcpPath ? mcpPost(ctx) : next()));
  app.use(healthProbes(services.db, verifier));
  app.use(inflowRoutes(services, config.inflow?.webhookSecret, metrics.webhook));
  app.use(router.routes());
  app.use((ctx) => {
    rpcError(ctx, 404, -32000, `Not found: ${ctx.method} ${ctx.path.slice(0, 200)}`);
  });
  return app;
}
