// The SSH key tools end to end: the SDK's real Client over HTTP, real signed tokens, real Postgres.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createTeam } from '../src/pictor/accounts.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { cryptoKey, keygen, SSH_KEYGEN, sshBlob, sshLine } from './ssh-keys-fixtures.ts';

const TOOL_NAMES = ['list-ssh-keys', 'create-ssh-key', 'update-ssh-key', 'delete-ssh-key'];

let server: TestServer;
let alice: Client;
let bob: Client;
let aliceTeamId: string;

function edLine(comment = 'dev@laptop'): string {
  return sshLine('ssh-ed25519', sshBlob(cryptoKey('ed25519').publicKey), comment);
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

function ok(result: CallToolResult): Record<string, unknown> {
  assert.ok(!result.isError, `tool error: ${text(result)}`);
  assert.ok(result.structuredContent);
  return result.structuredContent;
}

function refused(result: CallToolResult, pattern: RegExp): string {
  assert.equal(result.isError, true, 'expected a tool error');
  assert.match(text(result), pattern);
  return text(result);
}

before(async () => {
  server = await startTestServer();
  const a = await server.signIn();
  const b = await server.signIn();
  alice = await server.connect(a.token);
  bob = await server.connect(b.token);
  aliceTeamId = (await createTeam(server.db, a.user.id, 'Alice Lab')).id;
});
after(async () => server.close());

test('the four tools are listed with truthful annotations', async () => {
  const { tools } = await alice.listTools();
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  for (const name of TOOL_NAMES) {
    const tool = byName.get(name);
    assert.ok(tool, name);
    assert.ok(tool.title && tool.description && tool.outputSchema, name);
    assert.equal(tool.annotations?.openWorldHint, false, name);
    for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
      assert.ok((schema as { description?: string }).description, `${name}.${field} is described`);
    }
  }
  assert.equal(byName.get('list-ssh-keys')!.annotations?.readOnlyHint, true);
  assert.equal(byName.get('create-ssh-key')!.annotations?.readOnlyHint, false);
  assert.equal(byName.get('delete-ssh-key')!.annotations?.destructiveHint, true);
  assert.match(byName.get('create-ssh-key')!.description!, /id_ed25519\.pub.*never/s);
  assert.match(byName.get('delete-ssh-key')!.description!, /confirm with the person/i);
});

test('create, list, rename and delete a key', async () => {
  const key = SSH_KEYGEN ? keygen(['-t', 'ed25519'], 'alice@laptop') : undefined;
  const publicKey = key?.pub ?? edLine('alice@laptop');
  const created = ok((await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'laptop', public_key: publicKey } })) as CallToolResult);
  assert.deepEqual(Object.keys(created).sort(), ['created_at', 'fingerprint', 'id', 'name', 'type']);
  assert.equal(created.name, 'laptop');
  assert.equal(created.type, 'ssh-ed25519');
  if (key) assert.equal(created.fingerprint, key.fingerprint);

  const listed = ok((await alice.callTool({ name: 'list-ssh-keys', arguments: {} })) as CallToolResult);
  assert.deepEqual(listed, { ssh_keys: [created], next_cursor: null });

  const renamed = ok((await alice.callTool({ name: 'update-ssh-key', arguments: { ssh_key_id: created.id, name: 'old laptop' } })) as CallToolResult);
  assert.equal(renamed.name, 'old laptop');
  assert.equal(renamed.fingerprint, created.fingerprint);

  const deleted = ok((await alice.callTool({ name: 'delete-ssh-key', arguments: { ssh_key_id: created.id } })) as CallToolResult);
  assert.deepEqual(deleted, { id: created.id, name: 'old laptop', fingerprint: created.fingerprint, detached_instances: 0 });
  assert.deepEqual(ok((await alice.callTool({ name: 'list-ssh-keys', arguments: {} })) as CallToolResult).ssh_keys, []);
});

test('a private key is refused, not echoed and not stored', async () => {
  const privateKeys = [
    cryptoKey('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    cryptoKey('rsa2048').privateKey.export({ format: 'pem', type: 'pkcs1' }).toString(),
  ];
  if (SSH_KEYGEN) privateKeys.push(keygen(['-t', 'ed25519']).priv);
  const before = await server.db.selectFrom('ssh_keys').select('id').execute();
  for (const priv of privateKeys) {
    const result = (await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'oops', public_key: priv } })) as CallToolResult;
    refused(result, /PRIVATE key.*never be shared.*\.pub/s);
    const whole = JSON.stringify(result);
    for (const line of priv.split('\n').filter((l) => l && !l.startsWith('-----'))) {
      assert.ok(!whole.includes(line.slice(0, 16)), 'no part of the private key comes back');
    }
  }
  assert.deepEqual(await server.db.selectFrom('ssh_keys').select('id').execute(), before);
});

test("another account's key is not found, exactly like a missing or malformed id", async () => {
  const mine = ok((await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'mine', public_key: edLine() } })) as CallToolResult);
  const answers = new Set<string>();
  for (const id of [mine.id, randomUUID(), 'not-an-id']) {
    answers.add(refused((await bob.callTool({ name: 'delete-ssh-key', arguments: { ssh_key_id: id } })) as CallToolResult, /^SSH key not found$/));
    answers.add(
      refused((await bob.callTool({ name: 'update-ssh-key', arguments: { ssh_key_id: id, name: 'taken' } })) as CallToolResult, /^SSH key not found$/),
    );
  }
  assert.equal(answers.size, 1);
  // Alice's own key under her team's account is not there either.
  refused(
    (await alice.callTool({ name: 'delete-ssh-key', arguments: { ssh_key_id: mine.id, team_id: aliceTeamId } })) as CallToolResult,
    /^SSH key not found$/,
  );
  const still = ok((await alice.callTool({ name: 'list-ssh-keys', arguments: {} })) as CallToolResult);
  assert.deepEqual(
    (still.ssh_keys as Array<{ id: string }>).map((k) => k.id),
    [mine.id],
  );
});

test('team keys need team_id and membership', async () => {
  const teamKey = ok(
    (await alice.callTool({ name: 'create-ssh-key', arguments: { team_id: aliceTeamId, name: 'team', public_key: edLine() } })) as CallToolResult,
  );
  const teamList = ok((await alice.callTool({ name: 'list-ssh-keys', arguments: { team_id: aliceTeamId } })) as CallToolResult);
  assert.deepEqual(
    (teamList.ssh_keys as Array<{ id: string }>).map((k) => k.id),
    [teamKey.id],
  );
  refused((await bob.callTool({ name: 'list-ssh-keys', arguments: { team_id: aliceTeamId } })) as CallToolResult, /Team not found/);
  refused((await bob.callTool({ name: 'delete-ssh-key', arguments: { team_id: aliceTeamId, ssh_key_id: teamKey.id } })) as CallToolResult, /Team not found/);
});

test('duplicates and bad input name the field and change nothing', async () => {
  const line = edLine();
  const first = ok((await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'dup', public_key: line } })) as CallToolResult);
  const before = await server.db.selectFrom('ssh_keys').selectAll().orderBy('id').execute();
  refused(
    (await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'dup 2', public_key: line } })) as CallToolResult,
    new RegExp(`already saved as the SSH key "dup" \\(id ${first.id}`),
  );
  refused((await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'dup', public_key: edLine() } })) as CallToolResult, /named "dup" already exists/);
  refused((await alice.callTool({ name: 'create-ssh-key', arguments: { name: '', public_key: edLine() } })) as CallToolResult, /name/);
  refused((await alice.callTool({ name: 'create-ssh-key', arguments: { name: '   ', public_key: edLine() } })) as CallToolResult, /^name: must not be empty/);
  refused(
    (await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'x', public_key: 'hello' } })) as CallToolResult,
    /^public_key: expected an OpenSSH public key/,
  );
  const weak = sshLine('ssh-rsa', sshBlob(cryptoKey('rsa1024').publicKey));
  refused((await alice.callTool({ name: 'create-ssh-key', arguments: { name: 'x', public_key: weak } })) as CallToolResult, /1024-bit RSA key.*at least 2048/);
  refused((await alice.callTool({ name: 'update-ssh-key', arguments: { ssh_key_id: first.id } })) as CallToolResult, /nothing to change/);
  refused((await alice.callTool({ name: 'list-ssh-keys', arguments: { cursor: 'bogus' } })) as CallToolResult, /^cursor: /);
  assert.deepEqual(await server.db.selectFrom('ssh_keys').selectAll().orderBy('id').execute(), before);
});

test('writing keys needs the ssh_keys:write scope; reading does not', async () => {
  const user = await server.createUser();
  const readOnly = await server.connect(await server.issueToken({ userId: user.id, scopes: ['pictor:read'] }));
  ok((await readOnly.callTool({ name: 'list-ssh-keys', arguments: {} })) as CallToolResult);
  await assert.rejects(readOnly.callTool({ name: 'create-ssh-key', arguments: { name: 'x', public_key: edLine() } }));
  assert.equal((await server.db.selectFrom('ssh_keys').select('id').where('created_by', '=', user.id).execute()).length, 0);
});
