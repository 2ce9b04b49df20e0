// Hostile conditions, bad input: every tool's arguments fuzzed from its declared schema with
// fast-check, FUZZ_RUNS cases a tool (default 1,000), valid-shaped and broken. Never an internal
// error, only refusals a person can act on, and no refused call changes the database.
//
// The 1,000 cases a tool (22,000 calls) go through the MCP pipeline in-process: the same
// createMcpProtocol request function the /mcp route calls once the HTTP layer has parsed the body
// and verified the token — the SDK Server, tools/call dispatch, argument validation, the handler,
// the core, Postgres and the error mapping — without an HTTP round trip per case, which on two
// cores would make this file take minutes. A sample of FUZZ_HTTP_RUNS cases a tool (default 40)
// also goes over real HTTP with a bearer token, to show the route answers the same way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { addTeamMember, createTeam, resolveAccountId } from '../src/pictor/accounts.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { createInstance, deleteInstance, watchInstanceChanges } from '../src/pictor/instances/index.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { createSshKey } from '../src/pictor/ssh-keys.ts';
import { startInflowSandbox, type InflowSandbox } from '@pictor/inflow-sandbox/sandbox';
import { createMcpProtocol } from '../src/http/protocol.ts';
import { InflowClient } from '../src/pictor/inflow/client.ts';
import { tools as registry } from '../src/tools/index.ts';
import { compileTools } from '../src/tools/public.ts';
import { fund } from './core-fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { call, post, stateFingerprint } from './hostile-support.ts';
import { casesFor, fuzzTool, type Answer, type Interesting } from './hostile-fuzz-support.ts';
import { cryptoKey, sshBlob, sshLine } from './ssh-keys-fixtures.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const HTTP_RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 40);
const compiled = compileTools(registry);
const keyLine = () => sshLine('ssh-ed25519', sshBlob(cryptoKey('ed25519').publicKey), 'fuzz@test');

let server: TestServer;
let sandbox: InflowSandbox;
let token: string;
let interesting: Interesting;
let request: (args: unknown, name: string) => Promise<Answer>;

before(async () => {
  server = await startTestServer({ now: '2026-03-01T00:00:00Z' });
  // The InFlow tools talk to the sandbox, so their cases reach the payment code too.
  sandbox = await startInflowSandbox({ apiKey: 'fuzz-inflow-key' });
  server.services.inflow = new InflowClient({
    apiUrl: sandbox.url,
    apiKey: 'fuzz-inflow-key',
    successUrl: `${server.origin}/inflow/return`,
    backoffMs: 10,
    timeoutMs: 2_000,
  });
  await seedCatalog(server.db);
  await server.db.updateTable('region_capacity').set({ total_gpus: 100_000, free_gpus: 100_000 }).execute();
  const me = await server.signIn();
  const other = await server.signIn();
  token = me.token;
  const actor = { userId: me.user.id, email: me.user.email };
  const otherActor = { userId: other.user.id };
  await fund(server.db, await resolveAccountId(server.db, actor, 'read'), { balance: '1000000' });
  await fund(server.db, await resolveAccountId(server.db, otherActor, 'read'), { balance: '100' });
  const team = await createTeam(server.db, me.user.id, 'Fuzz Lab');
  await fund(server.db, team.accountId, { balance: '1000' });
  const strangers = await createTeam(server.db, other.user.id, 'Not mine');
  // A team where this person only views: every write there is refused by role and changes nothing.
  const watched = await createTeam(server.db, other.user.id, 'Watched');
  await addTeamMember(server.db, watched.id, me.user.id, 'viewer');
  const key = await createSshKey(server.db, actor, { name: 'fuzz key', publicKey: keyLine() });
  const otherKey = await createSshKey(server.db, otherActor, { name: 'theirs', publicKey: keyLine() });
  const small = { plan: 'rtx4090-24gb', gpuCount: 1, region: 'us-east', storageGb: 50, rentalHours: 1 };
  const live = await createInstance(server.db, actor, { ...small, name: 'live', sshKeyIds: [key.id] }, server.clock);
  const stopped = await createInstance(server.db, actor, { ...small, name: 'stopped' }, server.clock);
  const gone = await createInstance(server.db, actor, { ...small, name: 'gone' }, server.clock);
  await deleteInstance(server.db, actor, gone.id, server.clock);
  const theirs = await createInstance(server.db, otherActor, { ...small, name: 'theirs' }, server.clock);
  server.clock.advance(10_000); // provisioned: running, so start and stop have something to do
  await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner: new SimulatedProvisioner() });
  await server.db.updateTable('instances').set({ state: 'stopped' }).where('id', '=', stopped.id).execute();

  interesting = {
    // mostly values that exist (so calls reach the core and some succeed), some that do not
    team_id: [team.id, team.id, watched.id, strangers.id, randomUUID()],
    plan: ['rtx4090-24gb', 'rtx4090-24gb', 'h100-80gb', 'H100', 'rtx', 'tpu-v5'],
    gpu: ['rtx4090-24gb', 'H100', 'rtx 4090', 'a100', 'rtx', 'tpu-v5'],
    region: ['us-east', 'us-east', 'eu-west', 'EU-WEST', 'atlantis'],
    gpu_count: [1, 1, 2, 8, 3, 0, -1],
    storage_gb: [50, 100, 100, 8000, 0, 1_000_000],
    rental_hours: [1, 2, 720, 721, 0],
    hours: [1, 1, 3, 720, 721, 0, -5],
    name: ['fuzzed', '  padded  ', 'a\nb', 'x'.repeat(64), 'x'.repeat(65), 'fuzz key', 'theirs'],
    instance_id: [live.id, live.id, stopped.id, gone.id, theirs.id, randomUUID()],
    ssh_key_id: [key.id, key.id, otherKey.id, randomUUID()],
    ssh_key_ids: [[key.id], [key.id, key.id], [otherKey.id], [randomUUID()], []],
    public_key: [keyLine(), keyLine(), keyLine(), 'ssh-rsa AAAA', cryptoKey('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
    dry_run: [true, false, false],
    limit: [1, 20, 100, 101, 0],
    cursor: ['', 'not-a-cursor', Buffer.from(JSON.stringify({ id: live.id })).toString('base64url')],
    amount: ['10', '12.50', '5', '12.345', '-10', '1e9'],
    transaction_id: ['pay_x', '', randomUUID()],
    currency: ['USD', 'EUR', 'usd'],
    idempotency_key: [randomUUID(), randomUUID(), 'k'],
    since: ['2026-02-28T00:00:00Z', '2026-02-28T00:00:00+02:00', '2026-02-30T00:00:00Z', 'yesterday'],
    until: ['2026-03-02T00:00:00Z', '2026-03-01T00:00:00.000001Z', '2026-02-01T00:00:00Z'],
    days: [1, 7, 90, 91, 0],
  };

  // A closed change watch ends every wait_seconds wait at once (answered "interrupted"): the wait's
  // code and output are fuzzed without each case taking its seconds (waiting: instance-wait*.test.ts).
  const noWaits = await watchInstanceChanges({ databaseUrl: server.config.databaseUrl, log: server.log });
  await noWaits.close();
  const protocol = createMcpProtocol(compiled, { ...server.services, instanceChanges: noWaits });
  const caller = { userId: me.user.id, email: me.user.email, scopes: ['pictor:read', 'instances:write', 'ssh_keys:write', 'billing:write'] };
  let id = 0;
  request = async (args, name) => {
    const message = { jsonrpc: '2.0' as const, id: ++id, method: 'tools/call', params: { name, arguments: args } };
    const exchange = { caller, requestId: `fuzz-${id}`, log: server.log, unavailable: false };
    const response = await protocol.request(message as never, exchange);
    assert.equal(exchange.unavailable, false, 'the database did not go away');
    if ('error' in response) return { ok: false, rpcError: response.error.code, text: response.error.message };
    const result = (response as { result: { isError?: boolean; content?: Array<{ text?: string }>; _meta?: Record<string, { code?: string }> } }).result;
    const text = (result.content ?? []).map((c) => c.text ?? '').join('\n');
    return { ok: !result.isError, code: result._meta?.['network.pictor/error']?.code, text };
  };
});
after(async () => {
  await server.close();
  await sandbox.close();
});

// The deleting tools go last, so the others keep finding the instance and the key.
const fuzzOrder = [...compiled.list.tools].sort((a, b) => Number(a.name.startsWith('delete-')) - Number(b.name.startsWith('delete-')));

describe(`every tool, ${RUNS} fuzzed cases through the MCP pipeline`, () => {
  for (const tool of fuzzOrder) {
    test(tool.name, async (t) => {
      const stats = await fuzzTool({
        name: tool.name,
        schema: tool.inputSchema,
        interesting,
        writes: !tool.annotations.readOnlyHint,
        numRuns: RUNS,
        call: (args) => request(args, tool.name),
        fingerprint: () => stateFingerprint(server.db),
      });
      assert.equal(stats.runs, RUNS);
      t.diagnostic(`${tool.name}: ${stats.ok} ok, refused ${JSON.stringify(stats.refused)}, ${stats.rpcErrors} invalid params`);
    });
  }
});

test('a NUL character in any string field of any tool: never an internal error (Postgres cannot hold one), nothing stored', async () => {
  const before = await stateFingerprint(server.db);
  let checked = 0;
  for (const tool of fuzzOrder) {
    const props = tool.inputSchema.properties as Record<string, { type?: string; format?: string; anyOf?: Array<{ type?: string }> }>;
    const base = Object.fromEntries(((tool.inputSchema.required as string[] | undefined) ?? []).map((k) => [k, interesting[k]?.[0] ?? 'x']));
    for (const [field, schema] of Object.entries(props)) {
      if (schema.type !== 'string' && !schema.anyOf?.some((a) => a.type === 'string')) continue;
      const answer = await request({ ...base, [field]: 'a\u0000b' }, tool.name);
      assert.ok(answer.rpcError === undefined || answer.rpcError === -32602, `${tool.name}.${field}: ${answer.text.slice(0, 200)}`);
      assert.notEqual(answer.code, 'internal', `${tool.name}.${field}: ${answer.text.slice(0, 200)}`);
      checked += 1;
    }
  }
  assert.ok(checked > 20, `${checked} string fields`);
  assert.equal(await stateFingerprint(server.db), before);
});

test(`a sample of ${HTTP_RUNS} cases a tool over real HTTP: 200 with a result or a refusal, never a 5xx or an internal error`, async () => {
  const before = await stateFingerprint(server.db);
  let n = 0;
  for (const tool of compiled.list.tools) {
    // read-only tools only: a write that succeeds over HTTP would move the fingerprint legitimately
    if (!tool.annotations.readOnlyHint) continue;
    for (const { args } of fc.sample(casesFor(tool.inputSchema, interesting), HTTP_RUNS)) {
      const o = await post(server.url, token, call(tool.name, args, ++n));
      const shown = `${tool.name}(${JSON.stringify(args)?.slice(0, 300)}) → HTTP ${o.status} ${o.text.slice(0, 200)}`;
      assert.equal(o.status, 200, shown);
      assert.ok(o.error ? o.error.code === -32602 : o.result !== undefined, shown);
      assert.notEqual(o.code, 'internal', shown);
    }
  }
  assert.ok(n > 0);
  assert.equal(await stateFingerprint(server.db), before);
});

test(`refused writes over real HTTP (${HTTP_RUNS} broken cases a write tool) change nothing`, async () => {
  const before = await stateFingerprint(server.db);
  for (const tool of compiled.list.tools.filter((t) => !t.annotations.readOnlyHint)) {
    const broken = fc.sample(
      casesFor(tool.inputSchema, interesting).filter((c) => !c.valid),
      HTTP_RUNS,
    );
    for (const [i, { args }] of broken.entries()) {
      const o = await post(server.url, token, call(tool.name, args, i));
      const shown = `${tool.name}(${JSON.stringify(args)?.slice(0, 300)}) → HTTP ${o.status} ${o.text.slice(0, 200)}`;
      assert.equal(o.status, 200, shown);
      assert.ok(o.error?.code === -32602 || o.result?.isError === true, `a broken case must be refused: ${shown}`);
      assert.notEqual(o.code, 'internal', shown);
    }
  }
  assert.equal(await stateFingerprint(server.db), before);
});
