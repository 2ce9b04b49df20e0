// The bare v2 baseline: the MCP SDK v2's documented stateless recipe — createMcpHandler with a
// per-request McpServer factory (a new server for every request, both eras: 2026-07-28 natively,
// 2025-era requests through its stateless legacy fallback), one in-memory tool, no
// authentication, no database. Served by node:http with the request turned into a web Request and
// the Response written back, as the SDK's fetch-shaped handler asks.
// Run as its own process: BASELINE_PORT=… node --import tsx bench/baseline-v2.ts
import { createServer } from 'node:http';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

const balance = { balance: '12.50', credit: '0.00', total: '12.50' };

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: 'baseline-v2', version: '1.0.0' });
  server.registerTool('get-balance', { description: 'Returns an in-memory balance.', inputSchema: z.object({ team_id: z.string().optional() }) }, async () => ({
    content: [{ type: 'text', text: `Balance ${balance.total} credits` }],
    structuredContent: balance,
  }));
  return server;
});

const port = Number(process.env.BASELINE_PORT ?? 3101);
const listener = createServer(async (req, res) => {
  if (req.url === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method,
    headers,
    body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
  });
  const response = await handler.fetch(request);
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    out[name] = value;
  });
  res.writeHead(response.status, out);
  res.end(Buffer.from(await response.arrayBuffer()));
});
listener.keepAliveTimeout = 65_000;
listener.listen(port, '127.0.0.1');
process.once('SIGTERM', () => listener.close(() => process.exit(0)));
