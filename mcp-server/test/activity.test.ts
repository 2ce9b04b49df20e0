// The activity log through MCP: the SDK's Client over real HTTP with signed tokens, real Postgres,
// the InFlow sandbox. Each changing call leaves exactly one entry whose money is what the ledger
// moved; rule refusals are recorded; no secret is; reads record nothing; get-account-activity pages
// and a team's log is invisible to a non-member.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'kysely';
import { startInflowSandbox, type InflowSandbox } from '@pictor/inflow-sandbox/sandbox';
import { addTeamMember, createTeam, resolveAccountId } from '../src/pictor/accounts.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { inflowClientFromConfig } from '../src/pictor/inflow/client.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { fund } from './core-fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { API_KEY, WEBHOOK_SECRET } from './inflow-fixtures.ts';
import { cryptoKey, sshBlob, sshLine } from './ssh-keys-fixtures.ts';

const APP = 'claude-activity-test';
let server: TestServer;
let sandbox: InflowSandbox;
let me: { id: string; email: string };
let myToken: string;
let client: Client;
let accountId: string;

const keyLine = () => sshLine('ssh-ed25519', sshBlob(cryptoKey('ed25519').publicKey), 'me@laptop');
const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

function ok(result: unknown): Record<string, any> {
  const r = result as CallToolResult;
  assert.ok(!r.isError, `tool error: ${text(r)}`);
  return r.structuredContent as Record<string, any>;
}

const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as CallToolResult;

async function marks(account: string): Promise<{ activity: bigint; ledger: bigint }> {
  const {
    rows: [row],
  } = await sql<{ activity: bigint; ledger: bigint }>`
    SELECT (SELECT coalesce(max(id), 0) FROM activity)::bigint AS activity,
      (SELECT coalesce(max(id), 0) FROM ledger_entries)::bigint AS ledger`.execute(server.db);
  void account;
  return row!;
}

interface Entry {
  id: bigint;
  at: Date;
  user_id: string;
  client_id: string | null;
  account_id: string | null;
  tool: string;
  target_id: string | null;
  amount_micro: bigint;
  outcome: string;
  detail: Record<string, unknown>;
}

/** Calls a tool and returns the entries it wrote and what the ledger moved on the account. */
async function traced(c: Client, account: string, name: string, args: Record<string, unknown> = {}) {
  const before = await marks(account);
  const result = await call(c, name, args);
  const entries = (await server.db.selectFrom('activity').selectAll().where('id', '>', before.activity).orderBy('id').execute()) as Entry[];
  const {
    rows: [moved],
  } = await sql<{ sum: bigint }>`SELECT coalesce(sum(amount), 0)::bigint AS sum FROM ledger_entries
    WHERE id > ${before.ledger} AND account_id = ${account}::uuid`.execute(server.db);
  return { result, entries, ledgerMoved: moved!.sum };
}

/** A changing call: exactly one entry, by this person through this app, with the ledger's money. */
async function changes(name: string, args: Record<string, unknown>, target?: string) {
  const t = await traced(client, accountId, name, args);
  const structured = ok(t.result);
  assert.equal(t.entries.length, 1, `${name}: ${t.entries.length} entries`);
  const [e] = t.entries as [Entry];
  assert.equal(e.tool, name);
  assert.equal(e.outcome, 'ok');
  assert.equal(e.user_id, me.id);
  assert.equal(e.client_id, APP);
  assert.equal(e.account_id, accountId);
  assert.equal(e.amount_micro, t.ledgerMoved, `${name}: entry ${e.amount_micro}, ledger ${t.ledgerMoved}`);
  if (target !== undefined) assert.equal(e.target_id, target, name);
  return { entry: e, structured };
}

before(async () => {
  sandbox = await startInflowSandbox({ apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET });
  server = await startTestServer({ now: new Date(), env: { INFLOW_API_URL: sandbox.url, INFLOW_API_KEY: API_KEY, INFLOW_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  server.services.inflow ??= inflowClientFromConfig(server.config.inflow, server.log);
  await seedCatalog(server.db);
  me = await server.createUser();
  myToken = await server.issueToken({ userId: me.id, email: me.email, clientId: APP });
  client = await server.connect(myToken);
  accountId = await resolveAccountId(server.db, { userId: me.id }, 'read');
  await fund(server.db, accountId, { balance: '500', credit: '20' });
});
after(async () => {
  await server.close();
  await sandbox.close();
});

test('each changing tool leaves exactly one entry whose money equals what the ledger moved; dry runs and reads leave none', async () => {
  const publicKey = keyLine();
  const key = await changes('create-ssh-key', { name: 'laptop', public_key: publicKey });
  assert.equal(key.entry.target_id, key.structured.id);
  assert.deepEqual(key.entry.detail, { name: 'laptop', public_key_given: true });
  await changes('update-ssh-key', { ssh_key_id: key.structured.id, public_key: keyLine() }, key.structured.id);
  const second = await changes('create-ssh-key', { name: 'desktop', public_key: keyLine() });

  const spec = { plan: 'rtx4090-24gb', gpu_count: 1, region: 'us-east', storage_gb: 50, rental_hours: 3, name: 'trainer', ssh_key_ids: [key.structured.id] };
  const dry = await traced(client, accountId, 'create-instance', { ...spec, dry_run: true });
  assert.equal(ok(dry.result).dry_run, true);
  assert.equal(dry.entries.length, 0, 'a dry run changes nothing and records nothing');

  const created = await changes('create-instance', spec);
  const id = created.structured.instance.id as string;
  assert.equal(created.entry.target_id, id);
  assert.ok(created.entry.amount_micro < 0n, 'a charge is negative');
  assert.deepEqual(created.entry.detail, { ...spec, auto_renew: false, dry_run: false, env_given: false, startup_script_given: false });

  const dryHours = await traced(client, accountId, 'add-instance-hours', { instance_id: id, hours: 2, dry_run: true });
  assert.equal(dryHours.entries.length, 0);
  const added = await changes('add-instance-hours', { instance_id: id, hours: 2 }, id);
  assert.ok(added.entry.amount_micro < 0n);

  server.clock.advance(10_000);
  await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner: new SimulatedProvisioner() });
  await changes('rename-instance', { instance_id: id, name: 'renamed' }, id);
  await changes('stop-instance', { instance_id: id }, id);
  await changes('start-instance', { instance_id: id }, id);
  await changes('enable-instance-auto-renew', { instance_id: id }, id);
  await changes('disable-instance-auto-renew', { instance_id: id }, id);
  await changes('add-ssh-keys-to-instance', { instance_id: id, ssh_key_ids: [second.structured.id] }, id);
  const deleted = await changes('delete-instance', { instance_id: id }, id);
  assert.ok(deleted.entry.amount_micro > 0n, 'a refund is positive');
  await changes('delete-ssh-key', { ssh_key_id: second.structured.id }, second.structured.id);

  const idempotencyKey = `secret-idem-${randomUUID()}`;
  const checkout = await changes('create-inflow-checkout', { amount: '25', currency: 'USD', idempotency_key: idempotencyKey });
  assert.equal(checkout.entry.amount_micro, 0n);
  assert.deepEqual(checkout.entry.detail, { amount: '25', currency: 'USD' });
  sandbox.pay(checkout.structured.payment_id);
  const verified = await changes('verify-inflow-transaction', { transaction_id: checkout.structured.transaction_id }, checkout.structured.transaction_id);
  assert.equal(verified.entry.amount_micro, 25_000_000n);
  const again = await changes('verify-inflow-transaction', { transaction_id: checkout.structured.transaction_id });
  assert.equal(again.entry.amount_micro, 0n, 'a payment credits once, and the second check records no money');

  const other = ok(await call(client, 'create-inflow-checkout', { amount: '12.50', currency: 'USD', idempotency_key: randomUUID() }));
  sandbox.pay(other.payment_id);
  const synced = await changes('sync-pending-inflow-transactions', {});
  assert.equal(synced.entry.amount_micro, 12_500_000n);

  for (const [name, args] of [
    ['list-gpus', {}],
    ['get-user-balance', {}],
    ['list-my-instances', {}],
    ['list-ssh-keys', {}],
    ['get-account-activity', {}],
    ['get-spending-report', {}],
    ['get-instance-detail', { instance_id: key.structured.id }],
  ] as const) {
    const read = await traced(client, accountId, name, args);
    if (name !== 'get-instance-detail') ok(read.result); // (a refused read is not recorded either)
    assert.equal(read.entries.length, 0, `${name} recorded something`);
  }

  // nothing secret anywhere in the log: no key material, no idempotency key, no token
  const { rows } = await sql<{ all: string }>`SELECT string_agg(concat_ws('|', tool, target_id, outcome, detail::text), '\n') AS all FROM activity`.execute(
    server.db,
  );
  const log = rows[0]!.all;
  const body = publicKey.split(' ')[1]!;
  for (const secret of [body, body.slice(20, 60), idempotencyKey, myToken, myToken.split('.')[2]!, API_KEY]) {
    assert.ok(!log.includes(secret), `the activity log holds a secret: ${secret.slice(0, 20)}…`);
  }
});

test('refusals by a role and by the balance are recorded (once, no money); other refusals are not', async () => {
  const owner = await server.createUser();
  const team = await createTeam(server.db, owner.id, 'Acme');
  await fund(server.db, team.accountId, { balance: '100' });
  await addTeamMember(server.db, team.id, me.id, 'viewer');
  const spec = { plan: 'rtx4090-24gb', gpu_count: 1, region: 'us-east', storage_gb: 50, rental_hours: 1, name: 'x' };

  const byRole = await traced(client, team.accountId, 'create-instance', { ...spec, team_id: team.id });
  assert.equal(byRole.result.isError, true);
  assert.equal(byRole.entries.length, 1);
  assert.equal(byRole.ledgerMoved, 0n);
  assert.deepEqual({ ...byRole.entries[0]!, id: 0n }, {
    id: 0n,
    user_id: me.id,
    client_id: APP,
    account_id: team.accountId,
    tool: 'create-instance',
    target_id: null,
    amount_micro: 0n,
    outcome: 'insufficient_role',
    at: byRole.entries[0]!.at as never,
    detail: {
      ...spec,
      ssh_key_ids: [],
      auto_renew: false,
      dry_run: false,
      env_given: false,
      startup_script_given: false,
      reason: 'your role in team Acme is viewer; creating instances needs member or above',
    },
  } as never);

  const poor = await server.createUser();
  const poorClient = await server.connect(await server.issueToken({ userId: poor.id, clientId: APP }));
  const poorAccount = await resolveAccountId(server.db, { userId: poor.id }, 'read');
  const byBalance = await traced(poorClient, poorAccount, 'create-instance', spec);
  assert.equal(byBalance.result.isError, true);
  assert.equal(byBalance.entries.length, 1);
  assert.equal(byBalance.entries[0]!.outcome, 'insufficient_balance');
  assert.equal(byBalance.entries[0]!.account_id, poorAccount);
  assert.equal(byBalance.entries[0]!.amount_micro, 0n);

  const missing = await traced(client, accountId, 'stop-instance', { instance_id: randomUUID() });
  assert.equal(missing.result.isError, true);
  assert.equal(missing.entries.length, 0, "a not-found is nobody's rule: not recorded");
  const strangerTeam = await traced(poorClient, team.accountId, 'create-instance', { ...spec, team_id: team.id });
  assert.match(text(strangerTeam.result), /Team not found/);
  assert.equal(strangerTeam.entries.length, 0);

  // the viewer sees the team's log, with their refusal in it
  const seen = ok(await call(client, 'get-account-activity', { team_id: team.id }));
  assert.deepEqual(
    seen.entries.map((e: any) => [e.tool, e.outcome, e.person, e.team_id]),
    [['create-instance', 'insufficient_role', me.email, team.id]],
  );

  // to a non-member, the team's log is exactly a missing team's
  const theirs = await call(poorClient, 'get-account-activity', { team_id: team.id });
  const nobody = await call(poorClient, 'get-account-activity', { team_id: randomUUID() });
  assert.equal(theirs.isError, true);
  assert.equal(text(theirs).replace(team.id, 'ID'), text(nobody).replace(/[0-9a-f-]{36}/, 'ID'));
  assert.deepEqual(theirs._meta, {
    ...nobody._meta,
    'network.pictor/error': { ...(nobody._meta as any)['network.pictor/error'], details: { resource: 'Team', id: team.id } },
  });
});

test('get-account-activity pages newest first without gaps or repeats, and since/until bound the time', async () => {
  const all = await server.db
    .selectFrom('activity')
    .select(['id', 'at'])
    .where('account_id', '=', accountId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  assert.ok(all.length >= 18, `${all.length} entries`);
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = ok(await call(client, 'get-account-activity', { limit: 5, ...(cursor ? { cursor } : {}) }));
    seen.push(...page.entries.map((e: any) => e.id));
    for (const e of page.entries) assert.equal(e.app, APP, 'the app is named (its client id when the authorization server has no name)');
    cursor = page.next_cursor ?? undefined;
    pages += 1;
  } while (cursor);
  assert.deepEqual(
    seen,
    all.map((r) => String(r.id)),
  );
  assert.equal(pages, Math.ceil(all.length / 5));

  const bad = await call(client, 'get-account-activity', { cursor: 'not-a-cursor' });
  assert.equal(bad.isError, true);
  assert.match(text(bad), /cursor/);

  // entries made an hour later fall inside since, the earlier ones do not
  const mark = new Date(server.clock.now().getTime() + 1_000);
  server.clock.advance(3_600_000);
  ok(await call(client, 'create-ssh-key', { name: 'later', public_key: keyLine() }));
  const since = ok(await call(client, 'get-account-activity', { since: mark.toISOString() }));
  assert.deepEqual(
    since.entries.map((e: any) => e.tool),
    ['create-ssh-key'],
  );
  const until = ok(await call(client, 'get-account-activity', { until: mark.toISOString(), limit: 100 }));
  assert.equal(until.entries.length, all.length);
  const reversed = await call(client, 'get-account-activity', { since: mark.toISOString(), until: mark.toISOString() });
  assert.equal(reversed.isError, true);
});
