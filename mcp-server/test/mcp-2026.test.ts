// MCP 2026-07-28 (the stateless revision) next to 2025-11-25 on the same endpoint, through the
// SDK's v2 client: discover, list, call; the protocol plumbing that carries a confirmation
// (an input-required result, then the client's retry with its answers and our requestState) and
// progress (notifications/progress streamed on the call's own POST, in order). The tools that
// prove the plumbing are test-only (a test executor in place of executeTool): the real
// confirmations live in tools/confirm.ts and are tested there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { defineTool } from '../src/tools/define.ts';
import { executeTool, type Interaction } from '../src/tools/execute.ts';
import { startTestServer, type TestServer } from './harness.ts';

const MODERN = '2026-07-28';

// Test-only tools: their behaviour is the test executor's, below.
const probe = (name: string) =>
  defineTool({
    name,
    title: name,
    description: 'test only',
    scope: 'pictor:read',
    workspace: false,
    input: { label: z.string().optional() },
    output: {},
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    handler: async () => ({ structured: {}, text: 'unused' }),
  });

const seen: Interaction[] = [];
let done = 0;

const testExecute: typeof executeTool = (async (tool, args, call) => {
  const interaction = call.interaction!;
  seen.push(interaction);
  if (tool.definition.name === 'test-interaction') {
    return { content: [{ type: 'text', text: JSON.stringify({ canElicit: interaction.canElicit, progress: Boolean(interaction.progress) }) }] };
  }
  if (tool.definition.name === 'test-confirm') {
    // the shape tools/confirm.ts uses: ask when the client can, do the work once on an accepted retry
    const answer = interaction.inputResponses?.confirm as { action?: string } | undefined;
    if (interaction.canElicit && !answer) {
      return {
        resultType: 'input_required',
        inputRequests: {
          confirm: {
            method: 'elicitation/create',
            params: {
              mode: 'form',
              message: 'Do the test thing for 0 credits?',
              requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean', title: 'Confirm' } }, required: ['confirm'] },
            },
          },
        },
        requestState: 'state-for-the-test',
      };
    }
    if (answer && (answer.action !== 'accept' || interaction.requestState !== 'state-for-the-test')) {
      return { content: [{ type: 'text', text: 'not confirmed' }], isError: true };
    }
    done += 1;
    return { content: [{ type: 'text', text: `done ${done}` }] };
  }
  if (tool.definition.name === 'test-progress') {
    for (let step = 1; step <= 3; step += 1) {
      interaction.progress?.({ progress: step, total: 3, message: `step ${step}` });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { content: [{ type: 'text', text: 'finished' }] };
  }
  return executeTool(tool, args, call);
}) as typeof executeTool;

let server: TestServer;
let token: string;

before(async () => {
  server = await startTestServer({
    testOnlyTools: [probe('test-interaction'), probe('test-confirm'), probe('test-progress')],
    testOnlyExecute: testExecute,
  });
  ({ token } = await server.signIn());
});
after(() => server.close());

function modernClient(capabilities: Record<string, unknown> = {}) {
  const client = new Client({ name: 'v2-test', version: '0.0.0' }, { capabilities, versionNegotiation: { mode: 'auto' } });
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  return { client, transport };
}

/** A raw 2026-07-28 request with its envelope and routing headers. */
function modernPost(
  method: string,
  params: Record<string, unknown> = {},
  init: { headers?: Record<string, string>; capabilities?: object; version?: string } = {},
) {
  const version = init.version ?? MODERN;
  const body = {
    jsonrpc: '2.0',
    id: 7,
    method,
    params: {
      ...params,
      _meta: {
        ...(params._meta as object),
        'io.modelcontextprotocol/protocolVersion': version,
        'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': init.capabilities ?? {},
      },
    },
  };
  const headers: Record<string, string> = { 'MCP-Protocol-Version': version, 'Mcp-Method': method, ...init.headers };
  if (typeof params.name === 'string' && !('Mcp-Name' in headers)) headers['Mcp-Name'] = params.name;
  for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
  return server.post(body, { token, headers: { Accept: 'application/json, text/event-stream', ...headers } });
}

describe('2026-07-28 with the SDK v2 client', () => {
  test('auto negotiation lands on 2026-07-28: discover, list, call', async () => {
    const { client, transport } = modernClient();
    await client.connect(transport);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      const discovered = await client.discover();
      assert.deepEqual(discovered.supportedVersions, [MODERN]);
      assert.ok(discovered.capabilities.tools);
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'list-gpus'));
      const result = await client.callTool({ name: 'get-user-balance', arguments: {} });
      assert.notEqual(result.isError, true, JSON.stringify(result.content));
      assert.match(JSON.stringify(result.structuredContent), /balance/);
    } finally {
      await client.close();
    }
  });

  test('the MRTR round trip: asked once, the accepted retry does the work once', async () => {
    const { client, transport } = modernClient({ elicitation: { form: {} } });
    const asked: unknown[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(transport);
    try {
      const before = done;
      const result = await client.callTool({ name: 'test-confirm', arguments: {} });
      assert.deepEqual(result.content, [{ type: 'text', text: `done ${before + 1}` }]);
      assert.equal(done, before + 1);
      assert.equal(asked.length, 1);
      assert.match(JSON.stringify(asked[0]), /Do the test thing for 0 credits\?/);
      // the retry carried our state and the client's answer, keyed as we asked
      const retry = seen.at(-1)!;
      assert.equal(retry.requestState, 'state-for-the-test');
      assert.deepEqual(retry.inputResponses, { confirm: { action: 'accept', content: { confirm: true } } });
    } finally {
      await client.close();
    }
  });

  test('a declined form changes nothing', async () => {
    const { client, transport } = modernClient({ elicitation: {} });
    client.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
    await client.connect(transport);
    try {
      const before = done;
      const result = await client.callTool({ name: 'test-confirm', arguments: {} });
      assert.equal(result.isError, true);
      assert.equal(done, before);
    } finally {
      await client.close();
    }
  });

  test('the raw input-required result: resultType, inputRequests, requestState', async () => {
    const response = await modernPost('tools/call', { name: 'test-confirm', arguments: {} }, { capabilities: { elicitation: { form: {} } } });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { result: Record<string, unknown> };
    assert.equal(body.result.resultType, 'input_required');
    assert.equal(body.result.requestState, 'state-for-the-test');
    assert.ok((body.result.inputRequests as Record<string, unknown>).confirm);
  });

  test("canElicit comes from each request's own capabilities, never an earlier one's, and never in 2025", async () => {
    const ask = async (capabilities: object) => {
      const response = await modernPost('tools/call', { name: 'test-interaction', arguments: {} }, { capabilities });
      const body = (await response.json()) as { result: { content: Array<{ text: string }> } };
      return JSON.parse(body.result.content[0]!.text) as { canElicit: boolean };
    };
    assert.equal((await ask({ elicitation: { form: {} } })).canElicit, true);
    assert.equal((await ask({})).canElicit, false);
    assert.equal((await ask({ elicitation: { url: {} } })).canElicit, false, 'URL mode alone is not a form');
    const legacy = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'test-interaction', arguments: {} } }, { token });
    const text = ((await legacy.json()) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text;
    assert.equal(JSON.parse(text).canElicit, false);
  });

  test('progress streams in order on the call’s own POST, then the result', async () => {
    const { client, transport } = modernClient();
    await client.connect(transport);
    try {
      const updates: Array<{ progress: number; total?: number; message?: string }> = [];
      const result = await client.callTool({ name: 'test-progress', arguments: {} }, { onprogress: (p) => updates.push(p) });
      assert.deepEqual(result.content, [{ type: 'text', text: 'finished' }]);
      assert.deepEqual(
        updates.map((u) => [u.progress, u.total, u.message]),
        [
          [1, 3, 'step 1'],
          [2, 3, 'step 2'],
          [3, 3, 'step 3'],
        ],
      );
    } finally {
      await client.close();
    }
  });

  test('a 2025 client gets progress the same way; without a progressToken or SSE, plain JSON', async () => {
    const client = new LegacyClient({ name: 'v1-test', version: '0.0.0' });
    await client.connect(new LegacyTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    try {
      const updates: number[] = [];
      await client.callTool({ name: 'test-progress', arguments: {} }, undefined, { onprogress: (p) => updates.push(p.progress) });
      assert.deepEqual(updates, [1, 2, 3]);
    } finally {
      await client.close();
    }
    const jsonOnly = await modernPost(
      'tools/call',
      { name: 'test-progress', arguments: {}, _meta: { progressToken: 'p1' } },
      { headers: { Accept: 'application/json' } },
    );
    assert.equal(jsonOnly.headers.get('content-type'), 'application/json; charset=utf-8');
    const streamed = await modernPost('tools/call', { name: 'test-progress', arguments: {}, _meta: { progressToken: 'p1' } });
    assert.equal(streamed.headers.get('content-type'), 'text/event-stream');
    const events = (await streamed.text()).split('\n\n').filter(Boolean);
    assert.equal(events.length, 4);
    assert.match(events[0]!, /"method":"notifications\/progress".*"progressToken":"p1"/);
    assert.match(events[3]!, /"result":\{"content":\[\{"type":"text","text":"finished"\}\].*"id":7\}$/);
  });
});

describe('2026-07-28 on the wire', () => {
  test('server/discover: the served revision, cache hints, the server named', async () => {
    const response = await modernPost('server/discover');
    assert.equal(response.status, 200);
    const { result } = (await response.json()) as { result: Record<string, any> };
    assert.equal(result.resultType, 'complete');
    assert.deepEqual(result.supportedVersions, [MODERN]);
    assert.equal(result._meta['io.modelcontextprotocol/serverInfo'].name, 'pictor');
  });

  test('tools/list: the full list with an hour-long public cache hint', async () => {
    const response = await modernPost('tools/list');
    const { result } = (await response.json()) as { result: Record<string, any> };
    assert.equal(result.resultType, 'complete');
    assert.equal(result.ttlMs, 3_600_000);
    assert.equal(result.cacheScope, 'public');
    assert.ok(result.tools.length > 10);
    // 2025: the same list, without 2026-only fields
    const legacy = (await (await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token })).json()) as { result: Record<string, unknown> };
    assert.equal(legacy.result.resultType, undefined);
    assert.equal(legacy.result.ttlMs, undefined);
    assert.deepEqual(legacy.result.tools, result.tools);
  });

  test('an unsupported revision: the spec error with the supported list', async () => {
    const response = await modernPost('tools/list', {}, { version: '2099-01-01' });
    assert.equal(response.status, 400);
    const { error } = (await response.json()) as { error: { code: number; data: { supported: string[]; requested: string } } };
    assert.equal(error.code, -32022);
    assert.deepEqual(error.data.supported, [MODERN]);
    assert.equal(error.data.requested, '2099-01-01');
    // a 2025 request naming an unknown version in its header gets every served revision
    const legacy = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, headers: { 'MCP-Protocol-Version': '1999-01-01' } });
    assert.equal(legacy.status, 400);
    const legacyError = ((await legacy.json()) as { error: { code: number; data: { supported: string[] } } }).error;
    assert.equal(legacyError.code, -32022);
    assert.ok(legacyError.data.supported.includes(MODERN) && legacyError.data.supported.includes('2025-11-25'));
  });

  test('routing headers: required, and must agree with the body', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['no Mcp-Method', { 'Mcp-Method': '' }],
      ['no MCP-Protocol-Version', { 'MCP-Protocol-Version': '' }],
      ['no Mcp-Name', { 'Mcp-Name': '' }],
      ['Mcp-Name names another tool', { 'Mcp-Name': 'delete-instance' }],
      ['Mcp-Method names another method', { 'Mcp-Method': 'tools/list' }],
    ];
    for (const [what, headers] of cases) {
      const response = await modernPost('tools/call', { name: 'list-gpus', arguments: {} }, { headers });
      assert.equal(response.status, 400, what);
      assert.equal(((await response.json()) as { error: { code: number } }).error.code, -32020, what);
    }
    const encoded = await modernPost(
      'tools/call',
      { name: 'list-gpus', arguments: {} },
      { headers: { 'Mcp-Name': `=?base64?${Buffer.from('list-gpus').toString('base64')}?=` } },
    );
    assert.equal(encoded.status, 200, 'a Base64-wrapped Mcp-Name is decoded');
  });

  test('401 and 403 are the same in both eras', async () => {
    const unauthenticated = await fetch(server.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': MODERN,
        'Mcp-Method': 'server/discover',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } }),
    });
    assert.equal(unauthenticated.status, 401);
    assert.match(unauthenticated.headers.get('www-authenticate') ?? '', /^Bearer .*resource_metadata=/);

    const readOnly = await server.signIn({ scopes: ['pictor:read'] });
    const call = { name: 'delete-ssh-key', arguments: { ssh_key_id: '00000000-0000-0000-0000-000000000000' } };
    const modern = await server.post(
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { ...call, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } },
      },
      { token: readOnly.token, headers: { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': call.name } },
    );
    const legacy = await server.post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: call }, { token: readOnly.token });
    assert.equal(modern.status, 403);
    assert.equal(legacy.status, 403);
    assert.equal(modern.headers.get('www-authenticate'), legacy.headers.get('www-authenticate'));
    assert.match(modern.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  });

  test('a modern notification is accepted with 202 and no body', async () => {
    const response = await server.post(
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } },
      { token, headers: { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'notifications/cancelled' } },
    );
    assert.equal(response.status, 202);
    assert.equal(await response.text(), '');
  });
});
