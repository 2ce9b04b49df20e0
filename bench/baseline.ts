// The bare baseline the bench compares against: the MCP SDK's documented stateless recipe on Koa —
// a new McpServer and StreamableHTTPServerTransport for every request, one in-memory tool, no
// authentication, no database. JSON responses (enableJsonResponse), like ours, which is the
// SDK's faster mode. Run as its own process: BASELINE_PORT=… node --import tsx bench/baseline.ts
import Koa from 'koa';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const balance = { balance: '12.50', credit: '0.00', total: '12.50' };

function getServer(): McpServer {
  const server = new McpServer({ name: 'baseline', version: '1.0.0' });
  server.registerTool(
    'get-balance',
    {
      description: 'Returns an in-memory balance.',
      inputSchema: { team_id: z.string().optional() },
    },
    async () => ({ content: [{ type: 'text', text: `Balance ${balance.total} credits` }], structuredContent: balance }),
  );
  return server;
}

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.path === '/healthz') {
    ctx.body = { ok: true };
    return;
  }
  if (ctx.method !== 'POST' || ctx.path !== '/mcp') {
    ctx.status = 405;
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    ctx.status = 400;
    ctx.body = { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null };
    return;
  }
  const server = getServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  ctx.respond = false;
  ctx.res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(ctx.req, ctx.res, body);
});

const port = Number(process.env.BASELINE_PORT ?? 3100);
const listener = app.listen(port, '127.0.0.1');
listener.keepAliveTimeout = 65_000;
process.once('SIGTERM', () => listener.close(() => process.exit(0)));
