// MCP conformance (@modelcontextprotocol/conformance, pinned) against the real MCP server, both
// eras: the 2025-11-25 server scenarios and the scenarios the 2026-07-28 revision requires; and
// its authorization-server scenarios against the real auth server. The server suite does not do
// OAuth, so it talks to a small reverse proxy on loopback that adds a valid bearer token and passes everything else (Host and Origin included) through,
// as a TLS-terminating proxy in front of the server would. The server's public URL (MCP_URL, the
// token audience and the Host it answers to) is the proxy's. Expected failures, each with its
// reason, are in conformance-baseline.yml and conformance-baseline-2026.yml; everything else must pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@pictor/platform/local-postgres';
import { consent, randomEmail, signIn, startHarness } from '../auth-server/test/support/harness.ts';
import { grantPromotionCredit } from '../mcp-server/src/pictor/balance.ts';
import { startTestServer } from '../mcp-server/test/harness.ts';
import { tools } from '../mcp-server/src/tools/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const BASELINE = path.join(import.meta.dirname, 'conformance-baseline.yml');
const BASELINE_2026 = path.join(import.meta.dirname, 'conformance-baseline-2026.yml');

/**
 * A reverse proxy on a loopback port that sets `Authorization: Bearer <token>` on every request.
 * It listens first (its URL is the server's public URL); `forwardTo` names the server behind it.
 */
async function bearerProxy(token: () => string) {
  let upstream: URL | undefined;
  const server: Server = createServer((req, res) => {
    if (!upstream) return void res.writeHead(502).end();
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${token()}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwardTo(origin: string) {
      upstream = new URL(origin);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function conformance(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const bin = path.join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

/** Scenario name → its checks, from the result directories `-o` writes (server-<scenario>-<timestamp>). */
async function readResults(dir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  for (const entry of await readdir(dir)) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T.*$/.exec(entry)?.[1];
    if (!scenario) continue;
    results.set(scenario, JSON.parse(await readFile(path.join(dir, entry, 'checks.json'), 'utf8')) as Check[]);
  }
  return results;
}

/** Starts the server behind the bearer proxy, runs `conformance server` with `args`, checks the result against `baseline`. */
async function serverSuite(t: { after(fn: () => Promise<void>): void }, args: string[], baselinePath: string) {
  let token = '';
  const proxy = await bearerProxy(() => token);
  const mcpUrl = `${proxy.origin}/mcp`;
  const server = await startTestServer({ env: { MCP_URL: mcpUrl } });
  proxy.forwardTo(server.origin);
  const out = await mkdtemp(path.join(tmpdir(), 'pictor-conformance-'));
  t.after(async () => {
    await proxy.close();
    await server.close();
    if (!process.env.KEEP_CONFORMANCE_OUTPUT) await rm(out, { recursive: true, force: true });
  });
  const user = await server.createUser();
  token = await server.issueToken({ userId: user.id, email: user.email, aud: mcpUrl });

  // The proxy really reaches the server with a valid token (a broken proxy would make every
  // scenario fail and the baseline check below meaningless).
  const ping = await fetch(mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  assert.equal(ping.status, 200);

  const run = await conformance(['server', '--url', mcpUrl, ...args, '--expected-failures', baselinePath, '-o', out]);
  const results = await readResults(out);
  const baseline = new Set([...(await readFile(baselinePath, 'utf8')).matchAll(/^\s+- ([a-z0-9-]+)/gm)].map((m) => m[1]!));
  const unexpected = [...results]
    .filter(([scenario, checks]) => !baseline.has(scenario) && checks.some((c) => c.status === 'FAILURE'))
    .map(
      ([scenario, checks]) =>
        `${scenario}: ${checks
          .filter((c) => c.status === 'FAILURE')
          .map((c) => `${c.id} ${c.errorMessage ?? ''}`)
          .join('; ')}`,
    );
  assert.deepEqual(unexpected, [], 'scenarios outside the baseline failed');
  assert.equal(run.code, 0, `conformance exited ${run.code} (an unexpected failure, or a baseline entry that now passes):\n${run.output.slice(-6000)}`);
  return results;
}

/** The scenarios Pictor must pass did run and pass (not silently skipped by a suite change). */
function assertPassed(results: Map<string, Check[]>, scenarios: string[], atLeast: number) {
  for (const scenario of scenarios) {
    const checks = results.get(scenario);
    assert.ok(checks && checks.length > 0, `${scenario} ran`);
    assert.ok(
      checks.every((c) => c.status !== 'FAILURE'),
      `${scenario} passed`,
    );
  }
  assert.ok(results.size >= atLeast, `the suite ran (${results.size} scenarios)`);
}

test("MCP conformance, 2025-11-25: every server scenario of the active suite passes, except the baseline's fixture and server-to-client ones", async (t) => {
  const results = await serverSuite(t, ['--spec-version', '2025-11-25'], BASELINE);
  assertPassed(results, ['server-initialize', 'ping', 'tools-list', 'logging-set-level', 'dns-rebinding-protection'], 25);
});

test("MCP conformance, 2026-07-28: every scenario the revision requires passes, except the baseline's fixture ones", async (t) => {
  const results = await serverSuite(t, ['--requirements', '2026-07-28'], BASELINE_2026);
  assertPassed(
    results,
    ['tools-list', 'http-header-validation', 'dns-rebinding-protection', 'input-required-result-unsupported-methods', 'input-required-result-validate-input'],
    20,
  );
  // Baselined for their fixture parts only: what they check of Pictor itself must pass.
  const checks = (scenario: string) => results.get(scenario) ?? [];
  const failed = (scenario: string, pattern: RegExp) =>
    checks(scenario)
      .filter((c) => pattern.test(c.id) && c.status === 'FAILURE')
      .map((c) => `${c.id}: ${c.errorMessage ?? ''}`);
  assert.ok(checks('server-stateless').some((c) => /method-not-found-404/.test(c.id) && c.status === 'SUCCESS'));
  assert.deepEqual(failed('server-stateless', /method-not-found|discover|envelope|version|stateless/), []);
  const fixtureOnly = checks('caching').filter((c) => c.status === 'FAILURE' && !/prompts|resources/.test(c.id));
  assert.deepEqual(fixtureOnly, [], 'caching fails only on fixture prompts and resources');
  assert.ok(
    checks('caching').some((c) => /tools-list/.test(c.id) && c.status === 'SUCCESS'),
    'the tools/list cache hints were checked',
  );
});

test('logging/setLevel: the logging capability is declared, a valid level answers {}, an unknown one is -32602', async (t) => {
  const server = await startTestServer();
  t.after(server.close);
  const { token } = await server.signIn();
  const rpc = async (method: string, params: Record<string, unknown>) => {
    const res = await server.post({ jsonrpc: '2.0', id: 7, method, params }, { token });
    assert.equal(res.status, 200);
    return res.json() as Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string } }>;
  };
  const init = await rpc('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } });
  assert.deepEqual((init.result?.capabilities as Record<string, unknown> | undefined)?.logging, {});
  for (const level of ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']) {
    assert.deepEqual(await rpc('logging/setLevel', { level }), { jsonrpc: '2.0', id: 7, result: {} });
  }
  const refused = await rpc('logging/setLevel', { level: 'loud' });
  assert.equal(refused.error?.code, -32602);
  assert.match(refused.error?.message ?? '', /level/);
  // Nothing is kept: tools still work and answer in plain JSON (no log notifications anywhere).
  const listed = await rpc('tools/list', {});
  assert.equal((listed.result?.tools as unknown[] | undefined)?.length, tools.length);
});

test('concurrent POSTs (what server-sse-multiple-streams checks after its session step): each answered on its own, even with the same JSON-RPC id', async (t) => {
  const server = await startTestServer();
  t.after(server.close);
  const people = await Promise.all(
    [1, 2, 3, 4, 5].map(async (n) => {
      const person = await server.signIn();
      await grantPromotionCredit(server.db, person.user.email, BigInt(n) * 1_000_000n);
      return { ...person, expected: `${n}.00` };
    }),
  );
  const answers = await Promise.all(
    people.map(async ({ token }) => {
      const res = await server.post(
        { jsonrpc: '2.0', id: 1000, method: 'tools/call', params: { name: 'get-user-balance', arguments: {} } },
        {
          token,
          headers: { Accept: 'text/event-stream, application/json' },
        },
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      return res.json() as Promise<{ id: number; result: { structuredContent: { total: string } } }>;
    }),
  );
  // Same id from five clients at once: each got its own answer, about its own account.
  assert.deepEqual(
    answers.map((a) => a.id),
    [1000, 1000, 1000, 1000, 1000],
  );
  assert.deepEqual(
    answers.map((a) => a.result.structuredContent.total),
    people.map((p) => p.expected),
  );
});

test("MCP conformance, authorization: the suite's authorization-server scenarios against Pictor's auth server, sign-in and consent done as a person would", async (t) => {
  const h = await startHarness(t);
  const port = await freePort();
  const client = await h.register({ client_name: 'Conformance', redirect_uris: [`http://127.0.0.1:${port}/callback`] });
  const out = await mkdtemp(path.join(tmpdir(), 'pictor-conformance-auth-'));
  t.after(() => rm(out, { recursive: true, force: true }));

  const bin = path.join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
  const args = ['authorization', '--url', h.issuer, '--client-id', client.client_id, '--resource', h.config.mcpUrl, '--port', String(port), '-o', out];
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  // The grant scenario prints the authorization URL and waits for its callback: open it in a
  // browser, sign in by email link, approve; the consent redirect lands on the suite's callback.
  const authorizeUrl = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = output.split('\n').find((line) => line.startsWith(`${h.issuer}/auth?`));
      if (url) resolve(url.trim());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`conformance exited before printing the authorization URL:\n${output}`)));
  });
  const browser = h.browser();
  let page = await browser.get(authorizeUrl);
  if (page.body.includes('name="email"')) page = await signIn(h, browser, page, randomEmail('conformance'));
  const callback = page.leftTo ? new URL(page.leftTo) : await consent(browser, page);
  assert.equal(callback.origin, `http://127.0.0.1:${port}`);
  assert.equal((await fetch(callback)).status, 200, 'the suite received the authorization response');
  const code = await exited;

  const checks: Check[] = [];
  for (const entry of await readdir(out)) checks.push(...(JSON.parse(await readFile(path.join(out, entry, 'checks.json'), 'utf8')) as Check[]));
  const ids = new Set(checks.map((c) => c.id));
  for (const id of ['authorization-server-metadata', 'authorization-code-grant']) assert.ok(ids.has(id), `${id} ran (ran: ${[...ids].join(', ')})`);
  assert.deepEqual(
    checks.filter((c) => c.status !== 'SUCCESS').map((c) => `${c.id} ${c.status}: ${c.errorMessage ?? ''}`),
    [],
  );
  assert.equal(code, 0, output.slice(-4000));
});
