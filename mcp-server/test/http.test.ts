// The MCP server over HTTP: transport rules (MCP Streamable HTTP, stateless JSON mode), RFC 9728
// metadata, DNS-rebinding protection, hostile bodies, tool error mapping, health, logs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createDb } from '@pictor/platform/db';
import { loadConfig } from '../src/config.ts';
import { createApp } from '../src/http/app.ts';
import { createLogger } from '../src/http/logger.ts';
import { SecretBox } from '../src/pictor/sealing.ts';
import { createTeam } from '../src/pictor/accounts.ts';
import { ManualClock } from '@pictor/platform/clock';
import { startTestServer, type TestServer } from './harness.ts';
import { testTools } from './fixtures/test-tools.ts';

const call = (name: string, args: Record<string, unknown> = {}, id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** A raw request with full control of headers (fetch cannot set Host) and of chunking. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; chunks?: Array<string | Buffer> }) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe('MCP over HTTP', () => {
  let server: TestServer;
  let token: string;
  let userId: string;
  const logLines: string[] = [];
  before(async () => {
    server = await startTestServer({ testOnlyTools: testTools, logStream: { write: (line) => void logLines.push(line) } });
    ({
      token,
      user: { id: userId },
    } = await server.signIn({ email: 'http@example.test' }));
  });
  after(() => server.close());

  describe('protected resource metadata (RFC 9728)', () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      test(`GET ${path}`, async () => {
        const response = await fetch(`${server.origin}${path}`, { headers: { Origin: 'https://claude.ai' } });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('access-control-allow-origin'), '*');
        const document = (await response.json()) as Record<string, unknown>;
        assert.equal(document.resource, server.url);
        assert.deepEqual(document.authorization_servers, [server.issuer]);
        assert.deepEqual(document.bearer_methods_supported, ['header']);
        assert.equal(document.resource_name, 'Pictor');
        const scopes = document.scopes_supported as string[];
        assert.ok(scopes.includes('pictor:read') && scopes.includes('instances:write'));
      });
    }

    test('CORS preflight on the metadata', async () => {
      const response = await fetch(`${server.origin}/.well-known/oauth-protected-resource/mcp`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://claude.ai', 'Access-Control-Request-Method': 'GET' },
      });
      assert.equal(response.status, 204);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
    });
  });

  describe('methods other than POST', () => {
    for (const method of ['GET', 'DELETE', 'PUT']) {
      test(`${method} /mcp is 405 with Allow: POST`, async () => {
        const response = await fetch(server.url, { method, headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}` } });
        assert.equal(response.status, 405);
        assert.equal(response.headers.get('allow'), 'POST');
        const body = (await response.json()) as { error: { message: string } };
        assert.equal(body.error.message, 'Method not allowed: the MCP endpoint only accepts POST');
      });
    }
  });

  describe('Host and Origin (DNS rebinding)', () => {
    const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const headers = () => ({ 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` });
    const port = () => new URL(server.url).port;

    test('a foreign Origin is 403', async () => {
      for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${Number(port()) + 1}`, `https://127.0.0.1:${port()}`]) {
        const response = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, headers: { Origin: origin } });
        assert.equal(response.status, 403, origin);
      }
    });

    test("the server's own origin, a loopback alias, or no Origin pass", async () => {
      for (const origin of [server.origin, `http://localhost:${port()}`, undefined]) {
        const response = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, headers: origin ? { Origin: origin } : {} });
        assert.equal(response.status, 200, String(origin));
      }
    });

    test("a Host that is not the MCP URL's is 403; loopback aliases pass", async () => {
      const bad = await raw(server.url, { headers: { ...headers(), host: `evil.example:${port()}` }, chunks: [list] });
      assert.equal(bad.status, 403);
      const rebound = await raw(server.url, { headers: { ...headers(), host: 'attacker.test' }, chunks: [list] });
      assert.equal(rebound.status, 403);
      const alias = await raw(server.url, { headers: { ...headers(), host: `localhost:${port()}` }, chunks: [list] });
      assert.equal(alias.status, 200);
    });
  });

  describe('bodies a client may send (never a 5xx)', () => {
    test('malformed JSON: 400 parse error', async () => {
      const response = await server.post('{"jsonrpc": "2.0", "id": 1,', { token });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: { code: number } }).error.code, -32700);
    });

    test('body over 1 MB: 413, declared or streamed', async () => {
      const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(1_100_000) } });
      const declared = await server.post(big, { token });
      assert.equal(declared.status, 413);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const streamed = await raw(server.url, {
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}`, 'transfer-encoding': 'chunked' },
        chunks: ['{"pad":"', ...Array.from({ length: 20 }, () => chunk), '"}'],
      });
      assert.equal(streamed.status, 413);
    });

    test('wrong content type: 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
        const response = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, headers: { 'Content-Type': type } });
        assert.equal(response.status, 415, type);
      }
      const withCharset = await server.post(
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { token, headers: { 'Content-Type': 'application/json; charset=utf-8' } },
      );
      assert.equal(withCharset.status, 200);
    });

    test('an Accept that excludes JSON: 406', async () => {
      const response = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, headers: { Accept: 'text/html' } });
      assert.equal(response.status, 406);
    });

    test('an unsupported MCP-Protocol-Version: 400', async () => {
      const response = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, headers: { 'MCP-Protocol-Version': '1999-01-01' } });
      assert.equal(response.status, 400);
    });

    test('JSON-RPC batch: 400 invalid request', async () => {
      const response = await server.post(
        [
          { jsonrpc: '2.0', id: 1, method: 'tools/list' },
          { jsonrpc: '2.0', id: 2, method: 'ping' },
        ],
        { token },
      );
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: { code: number } }).error.code, -32600);
    });

    test('not JSON-RPC: 400 invalid request', async () => {
      for (const body of [{ hello: 'world' }, 42, null, '"text"', { jsonrpc: '1.0', id: 1, method: 'x' }, { jsonrpc: '2.0', id: {}, method: 'x' }]) {
        const response = await server.post(typeof body === 'string' ? body : JSON.stringify(body), { token });
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(((await response.json()) as { error: { code: number } }).error.code, -32600, JSON.stringify(body));
      }
    });

    test('unknown method: JSON-RPC method not found', async () => {
      const response = await server.post({ jsonrpc: '2.0', id: 'a', method: 'resources/list' }, { token });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { id: string; error: { code: number } };
      assert.equal(body.id, 'a');
      assert.equal(body.error.code, -32601);
    });

    test('notifications and responses: 202, no body', async () => {
      const notification = await server.post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { token });
      assert.equal(notification.status, 202);
      assert.equal(await notification.text(), '');
      const reply = await server.post({ jsonrpc: '2.0', id: 5, result: {} }, { token });
      assert.equal(reply.status, 202);
    });

    test('tools/call without a name or with bad params: JSON-RPC invalid params', async () => {
      for (const message of [
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { arguments: {} } },
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'test-whoami', arguments: 'x' } },
        { jsonrpc: '2.0', id: 3, method: 'tools/call' },
        { jsonrpc: '2.0', id: 3, method: 'initialize', params: { protocolVersion: 5 } },
      ]) {
        const response = await server.post(message, { token });
        assert.equal(response.status, 200);
        const body = (await response.json()) as { id: number; error: { code: number; message: string } };
        assert.equal(body.error.code, -32602, JSON.stringify(message));
        assert.equal(body.id, 3);
      }
    });

    test('stateless: no Mcp-Session-Id, initialize works on any request', async () => {
      const response = await server.post(
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        },
        { token },
      );
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('mcp-session-id'), null);
      const body = (await response.json()) as { result: { protocolVersion: string; serverInfo: { name: string }; capabilities: Record<string, unknown> } };
      assert.equal(body.result.protocolVersion, '2025-06-18');
      assert.equal(body.result.serverInfo.name, 'pictor');
      assert.ok(body.result.capabilities.tools);
      // a later request with a made-up session id is still answered
      const later = await server.post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { token, headers: { 'Mcp-Session-Id': 'whatever' } });
      assert.equal(later.status, 200);
    });

    test('unknown path: 404', async () => {
      const response = await fetch(`${server.origin}/nope`);
      assert.equal(response.status, 404);
    });
  });

  describe('tool calls', () => {
    test('the handler gets the verified actor, the team resolved once with the role, and the request id; never team_id', async () => {
      const client = await server.connect(token);
      const team = await createTeam(server.db, userId, 'Echo Lab');
      const result = await server.callTool(client, 'test-whoami', { team_id: team.id, note: 'hi' });
      const structured = result.structuredContent as Record<string, unknown>;
      assert.equal(structured.user_id, userId);
      assert.equal(structured.email, 'http@example.test');
      assert.equal(structured.team_id, team.id);
      assert.equal(structured.role, 'owner');
      assert.deepEqual(structured.input_keys, ['note'], 'the handler never sees team_id');
      assert.ok(structured.request_id);
      assert.deepEqual(result.content, [{ type: 'text', text: `You are ${userId}` }]);
      // Personal: no team, no role.
      const personal = (await server.callTool(client, 'test-whoami', {})).structuredContent as Record<string, unknown>;
      assert.deepEqual([personal.team_id, personal.role, personal.input_keys], [null, null, []]);
      // A team the person is not in, and one that does not exist, answer the same, before the handler runs.
      const stranger = await server.createUser();
      const theirs = await createTeam(server.db, stranger.id, 'Not yours');
      for (const teamId of [theirs.id, '0b8e5a4e-8f5e-4a57-9a59-0b5f5d1e2c3a']) {
        const refused = await server.callTool(client, 'test-whoami', { team_id: teamId });
        assert.equal(refused.isError, true);
        assert.deepEqual(refused.content, [{ type: 'text', text: 'Team not found' }]);
      }
    });

    test('X-Request-Id is echoed, or made up when absent or unsafe', async () => {
      const sent = await server.post(call('test-whoami'), { token, headers: { 'X-Request-Id': 'trace-abc.123' } });
      assert.equal(sent.headers.get('x-request-id'), 'trace-abc.123');
      const structured = ((await sent.json()) as { result: { structuredContent: { request_id: string } } }).result.structuredContent;
      assert.equal(structured.request_id, 'trace-abc.123');
      const unsafe = await server.post(call('test-whoami'), { token, headers: { 'X-Request-Id': 'a b\tc' } });
      assert.match(unsafe.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
    });

    test('bad arguments: a tool error naming each field and what was expected', async () => {
      const result = await server.callTool(token, 'test-spend', { amount: 'lots', colour: 'red' });
      assert.equal(result.isError, true);
      const text = (result.content as Array<{ text: string }>)[0]!.text;
      assert.match(text, /^Invalid arguments for test-spend: /);
      assert.match(text, /amount: expected number, received string/);
      assert.match(text, /colour: unknown field/);
      const missing = await server.callTool(token, 'test-spend', {});
      assert.match((missing.content as Array<{ text: string }>)[0]!.text, /amount: required \(expected number\)/);
      const range = await server.callTool(token, 'test-spend', { amount: 0 });
      assert.match((range.content as Array<{ text: string }>)[0]!.text, /amount: Too small: expected number to be >=1/);
    });

    test('a domain error is a tool error a person can act on', async () => {
      const result = await server.callTool(token, 'test-spend', { amount: 25 });
      assert.equal(result.isError, true);
      assert.equal(result.structuredContent, undefined);
      assert.match((result.content as Array<{ text: string }>)[0]!.text, /^insufficient balance: .* short by 15\.00/);
      assert.equal((result._meta?.['network.pictor/error'] as { code: string } | undefined)?.code, 'insufficient_balance');
    });

    test('an unexpected error: "Internal error (request id …)", details only in the log', async () => {
      const response = await server.post(call('test-boom', { mode: 'throw' }), { token });
      assert.equal(response.status, 200);
      const requestId = response.headers.get('x-request-id')!;
      const { result } = (await response.json()) as { result: { isError: boolean; content: Array<{ text: string }> } };
      assert.equal(result.isError, true);
      assert.match(result.content[0]!.text, new RegExp(`^Internal error \\(request id ${requestId}\\)`));
      assert.doesNotMatch(result.content[0]!.text, /secret internal detail/);
      const logged = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === requestId && l.msg === 'tool failed');
      assert.ok(logged, 'the failure is logged with the request id');
      assert.match(JSON.stringify(logged.err), /secret internal detail/);
    });

    test('output that breaks the declared schema is an internal error, not a bad structuredContent', async () => {
      const result = await server.callTool(token, 'test-boom', { mode: 'bad-output' });
      assert.equal(result.isError, true);
      assert.match((result.content as Array<{ text: string }>)[0]!.text, /^Internal error/);
    });

    test('database unreachable during a call: 503 with Retry-After', async () => {
      const response = await server.post(call('test-boom', { mode: 'db-down' }), { token });
      assert.equal(response.status, 503);
      assert.ok(response.headers.get('retry-after'));
      const body = (await response.json()) as { error: { message: string } };
      assert.match(body.error.message, /temporarily unavailable/);
    });

    test('unknown tool: JSON-RPC invalid params', async () => {
      const client = await server.connect(token);
      await assert.rejects(
        client.callTool({ name: 'no-such-tool', arguments: {} }),
        (error: unknown) => error instanceof McpError && error.code === -32602 && /Unknown tool: no-such-tool/.test(error.message),
      );
    });

    test('tools/list returns the same prebuilt list every time', async () => {
      const client = await server.connect(token);
      const first = await client.listTools();
      const second = await client.listTools();
      assert.deepEqual(first, second);
      const whoami = first.tools.find((t) => t.name === 'test-whoami')!;
      assert.equal(whoami.inputSchema.additionalProperties, false);
      assert.deepEqual(whoami.annotations, { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    });
  });

  test('readyz: 200 with every check ok (database, migrations, JWKS); livez: 200', async () => {
    const response = await fetch(`${server.origin}/readyz`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await response.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', jwks: 'ok' } });
    const live = await fetch(`${server.origin}/livez`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
  });

  test('logs carry request ids and never a token', async () => {
    await server.post(call('test-whoami'), { token });
    await fetch(`${server.url}?access_token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const text = logLines.join('');
    assert.ok(logLines.length > 0);
    assert.ok(!text.includes(token), 'the access token appears in the logs');
    assert.ok(!text.includes(token.split('.')[2]!), 'the token signature appears in the logs');
    assert.ok(logLines.some((l) => /"msg":"request"/.test(l) && /"reqId"/.test(l)));
  });
});

test('readyz: 503 naming the database and the JWKS when neither answers; livez still 200', async (t) => {
  const db = createDb('postgres://nobody:nothing@127.0.0.1:1/none');
  t.after(() => db.destroy());
  // nothing listens on port 1: neither Postgres nor the issuer's JWKS answers
  const config = loadConfig({
    DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none',
    MCP_URL: 'http://127.0.0.1:3999/mcp',
    AUTH_ISSUER: 'http://127.0.0.1:1',
    NODE_ENV: 'test',
  });
  const log = createLogger({ logLevel: 'silent', nodeEnv: 'test' });
  const app = createApp(config, { db, clock: new ManualClock(), log, secrets: new SecretBox(config.instances.secretsKeys) });
  const listener = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listener.once('listening', resolve));
  t.after(() => listener.close());
  const origin = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  const response = await fetch(`${origin}/readyz`);
  assert.equal(response.status, 503);
  assert.deepEqual(await response.json(), { status: 'not_ready', checks: { database: 'unreachable', migrations: 'unknown', jwks: 'unreachable' } });
  assert.equal((await fetch(`${origin}/livez`)).status, 200);
  assert.equal((await fetch(`${origin}/healthz`)).status, 404, 'replaced by /livez and /readyz');
});
