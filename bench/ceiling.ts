// The ceiling the bench reports beside the ratios: a bare Koa endpoint that reads a POSTed JSON
// body and answers a fixed JSON-RPC result (no MCP, no authentication, no database). Nothing that
// goes through Node's HTTP server and Koa on this machine can be faster than this.
// Run as its own process: BASELINE_PORT=… node bench/ceiling.ts
import Koa from 'koa';

const answer = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'Balance 12.50 credits' }] } });

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.path === '/healthz') {
    ctx.body = { ok: true };
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  JSON.parse(Buffer.concat(chunks).toString('utf8'));
  ctx.type = 'application/json';
  ctx.body = answer;
});
const server = app.listen(Number(process.env.BASELINE_PORT ?? 3102), '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.once('SIGTERM', () => server.close(() => process.exit(0)));
