// Confirmation the person gives in their MCP client (issue 11 §2), through executeTool with a
// per-request interaction as the protocol layer builds it, on real Postgres: the form and its
// exact sentence, accept (once), decline, every kind of bad requestState, a price that moved,
// clients without forms, REQUIRE_CONFIRMATION, and concurrent retries of one confirmation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { sql } from 'kysely';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { type ConfirmationSettings, DEV_INSTANCE_SECRETS_KEY } from '../src/config.ts';
import { SecretBox } from '../src/pictor/sealing.ts';
import { addTeamMember } from '../src/pictor/accounts.ts';
import { catalogChanged } from '../src/pictor/caches.ts';
import { saveAppLimits } from '@pictor/platform/app-limits';
import { createInstance } from '../src/pictor/instances/index.ts';
import { argumentsDigest, signState, verifyState } from '../src/tools/confirmation-state.ts';
import { confirmationForm } from '../src/tools/confirm.ts';
import type { Services, ToolDefinition } from '../src/tools/define.ts';
import { executeTool, isInputRequired, type InputRequired, type Interaction } from '../src/tools/execute.ts';
import { addInstanceHoursTool, createInstanceTool, deleteInstanceTool, startInstanceTool } from '../src/tools/instances.ts';
import { createInflowCheckoutTool, verifyInflowTransactionTool } from '../src/tools/inflow.ts';
import { compileTool } from '../src/tools/public.ts';
import { deleteSshKeyTool } from '../src/tools/ssh-keys.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { addKey, fingerprint, fund, HOUR, newTeam, newUser, setupCore, type Core, type TestUser } from './core-fixtures.ts';
import { startInflowWorld } from './inflow-fixtures.ts';

const SECRET = 'confirmation-test-secret-0123456789abcdef';
const OLD_SECRET = 'confirmation-test-secret-rotated-out-000000';
const SCOPES = ['pictor:read', 'instances:write', 'ssh_keys:write', 'billing:write'];
const log = pino({ level: 'silent' });
const ACCEPT = { confirm: { action: 'accept', content: { confirm: true } } };
const H100_2H = { plan: 'h100-80gb', gpu_count: 1, region: 'us-east', storage_gb: 100, rental_hours: 2, name: 'trainer' };
// 1 × 2.49 × 2 h + ⌈100 GB × 0.10 × 2 / 730⌉ micro-credits
const H100_2H_COST = '5.007398';

type Result = CallToolResult | InputRequired;

function servicesOf(core: Pick<Core, 'db' | 'clock'>, settings: Partial<ConfirmationSettings> = {}): Services {
  return {
    db: core.db,
    clock: core.clock,
    log,
    secrets: new SecretBox([DEV_INSTANCE_SECRETS_KEY]),
    confirmation: { secrets: [SECRET], ttlMinutes: 10, required: false, ...settings },
  };
}

function call(
  services: Services,
  tool: ToolDefinition,
  args: Record<string, unknown>,
  who: { user: TestUser; clientId?: string },
  interaction?: Interaction,
): Promise<Result> {
  return executeTool(compileTool(tool), args, {
    services,
    caller: { userId: who.user.id, scopes: SCOPES, clientId: who.clientId ?? 'claude' },
    requestId: 'req',
    log,
    interaction,
  });
}

const canElicit = (more: Partial<Interaction> = {}): Interaction => ({ canElicit: true, ...more });

function asked(result: Result): InputRequired {
  if (!isInputRequired(result)) assert.fail(`expected input_required, got ${JSON.stringify(result)}`);
  return result;
}

function messageOf(result: Result): string {
  const form = asked(result).inputRequests.confirm as ReturnType<typeof confirmationForm>;
  assert.deepEqual(form, confirmationForm(form.params.message), 'one form-mode elicitation with a Confirm boolean');
  return form.params.message;
}

function done(result: Result): Record<string, any> {
  if (isInputRequired(result)) assert.fail('expected a final result');
  assert.ok(!result.isError, JSON.stringify(result.content));
  return result.structuredContent as Record<string, any>;
}

function refusal(result: Result): { code: string; reason?: string; text: string } {
  if (isInputRequired(result)) assert.fail('expected a final result');
  assert.equal(result.isError, true, JSON.stringify(result));
  const info = result._meta?.['network.pictor/error'] as { code: string; details?: { reason?: string } };
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ');
  return { code: info.code, ...(info.details?.reason ? { reason: info.details.reason } : {}), text };
}

async function charges(core: Core, accountId: string): Promise<number> {
  const r = await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_entries WHERE account_id = ${accountId} AND kind = 'charge'`.execute(core.db);
  return Number(r.rows[0]!.n);
}

async function funded(t: Parameters<typeof setupCore>[0]) {
  const core = await setupCore(t);
  const me = await newUser(core.db);
  await fund(core.db, me.accountId, { balance: '100' });
  return { core, me };
}

test('create-instance: a form with the exact sentence and price; accept runs it once; the same state again is refused', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core);
  const before = await fingerprint(core.db);

  const ask = asked(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit()));
  assert.equal(messageOf(ask), `Create 1 × H100 80GB in us-east for 2 h: ${H100_2H_COST} credits; 94.992602 left.`);
  assert.equal(verifyState(ask.requestState, [SECRET])?.amountMicro, 5_007_398n, 'the quoted price is in the signed state');
  assert.equal(await fingerprint(core.db), before, 'asking changes nothing');

  const out = done(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState: ask.requestState, inputResponses: ACCEPT })));
  assert.equal(out.cost.total, H100_2H_COST);
  assert.equal(out.balance_after, '94.992602');
  assert.equal(await charges(core, me.accountId), 1);

  const after = await fingerprint(core.db);
  const replay = refusal(
    await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState: ask.requestState, inputResponses: ACCEPT })),
  );
  assert.deepEqual([replay.code, replay.reason], ['confirmation_invalid', 'used']);
  assert.match(replay.text, /already used.*Nothing was done/);
  assert.equal(await fingerprint(core.db), after, 'a replay changes nothing');
  assert.equal(await charges(core, me.accountId), 1);
  const logged = await core.db.selectFrom('activity').select(['tool', 'outcome']).where('user_id', '=', me.id).orderBy('id').execute();
  assert.deepEqual(logged, [
    { tool: 'create-instance', outcome: 'ok' },
    { tool: 'create-instance', outcome: 'confirmation_invalid' },
  ]);
});

test('used nonces are purged a few at a time once their state is long expired', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core);
  const at = (minutes: number) => new Date(core.clock.now().getTime() + minutes * 60_000);
  const rows = (names: string[], expiresAt: Date) =>
    names.map((nonce) => ({ nonce, user_id: me.id, tool: 'create-instance', used_at: expiresAt, expires_at: expiresAt }));
  const old = Array.from({ length: 25 }, (_, i) => `old-${i}`);
  await core.db
    .insertInto('used_confirmations')
    .values([...rows(old, at(-61)), ...rows(['recent'], at(-59))])
    .execute();
  const { requestState } = asked(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit()));
  done(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState, inputResponses: ACCEPT })));
  const left = (await core.db.selectFrom('used_confirmations').select('nonce').execute()).map((r) => r.nonce);
  assert.equal(left.filter((n) => n.startsWith('old-')).length, 5, 'at most 20 purged per use');
  assert.ok(left.includes('recent'), 'a state expired less than an hour ago is kept (a replica whose clock lags still refuses it)');
  assert.ok(left.includes(verifyState(requestState, [SECRET])!.nonce));
});

test('declined, cancelled, or accepted without ticking Confirm: nothing is done', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core);
  const before = await fingerprint(core.db);
  const { requestState } = asked(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit()));
  for (const answer of [{ action: 'decline' }, { action: 'cancel' }, { action: 'accept', content: { confirm: false } }, { action: 'accept', content: {} }]) {
    const r = refusal(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState, inputResponses: { confirm: answer } })));
    assert.equal(r.code, 'confirmation_declined', JSON.stringify(answer));
    assert.match(r.text, /^Nothing was done: the person did not confirm create-instance/);
  }
  assert.equal(await fingerprint(core.db), before);
  // the state was not spent by declining: the person may still accept it
  done(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState, inputResponses: ACCEPT })));
  assert.equal(await charges(core, me.accountId), 1);
});

test('a tampered, foreign, expired or mismatched requestState is refused and changes nothing', async (t) => {
  const { core, me } = await funded(t);
  const other = await newUser(core.db);
  await fund(core.db, other.accountId, { balance: '100' });
  const services = servicesOf(core);
  const { requestState } = asked(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit()));
  const before = await fingerprint(core.db);
  const retry = (
    state: string,
    args: Record<string, unknown> = H100_2H,
    who: { user: TestUser; clientId?: string } = { user: me },
    tool: ToolDefinition = createInstanceTool,
  ) => call(services, tool, args, who, canElicit({ requestState: state, inputResponses: ACCEPT })).then(refusal);

  const [prefix, body, mac] = requestState.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
  const cheaper = Buffer.from(JSON.stringify({ ...payload, p: '1' })).toString('base64url');
  // what the server binds: the validated arguments, defaults included
  const parsed = { ...H100_2H, ssh_key_ids: [], auto_renew: false, wait_seconds: 0, dry_run: false };
  const bound = { userId: me.id, clientId: 'claude', tool: 'create-instance', args: argumentsDigest(parsed), amountMicro: 5_007_398n, nonce: 'A'.repeat(22) };
  const tampered = [
    `${prefix}.${cheaper}.${mac}`, // a cheaper price, same signature
    `${prefix}.${body}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`,
    `${prefix}.${body}`,
    'not-a-state',
    `${requestState}x`,
    signState({ ...bound, expiresAt: core.clock.now().getTime() + HOUR }, ['some-other-server-secret-0123456789abcdef']),
  ];
  for (const state of tampered) assert.deepEqual((await retry(state)).reason, 'tampered', state);

  const mismatch = [
    await retry(requestState, H100_2H, { user: other }), // another person
    await retry(requestState, H100_2H, { user: me, clientId: 'other-app' }), // another app
    await retry(requestState, { ...H100_2H, rental_hours: 3 }), // other arguments
    await retry(requestState, { ...H100_2H, dry_run: false, auto_renew: true }),
    // a state for another tool with these very arguments, signed with the server's key
    await retry(signState({ ...bound, tool: 'add-instance-hours', expiresAt: core.clock.now().getTime() + HOUR }, [SECRET])),
  ];
  for (const r of mismatch) assert.deepEqual([r.code, r.reason], ['confirmation_invalid', 'mismatch']);
  assert.match(mismatch[0]!.text, /given for another call.*Nothing was done\. Call create-instance again without it/);

  core.clock.advance(10 * 60_000);
  const expired = await retry(requestState);
  assert.deepEqual([expired.code, expired.reason], ['confirmation_invalid', 'expired']);
  assert.match(expired.text, /expired \(a confirmation is valid for 10 minutes\)/);
  assert.equal(await fingerprint(core.db), before);
  assert.equal(await charges(core, me.accountId), 0);
  const refusals = await core.db.selectFrom('activity').select('outcome').where('outcome', '=', 'confirmation_invalid').execute();
  assert.equal(refusals.length, tampered.length + mismatch.length + 1, 'each refusal is in the activity log');
  // control: the same forged-with-the-key state, bound to this very call, is accepted (so each case above failed on its one field)
  done(
    await call(
      services,
      createInstanceTool,
      { ...H100_2H, dry_run: false },
      { user: me },
      canElicit({ requestState: signState({ ...bound, expiresAt: core.clock.now().getTime() + HOUR }, [SECRET]), inputResponses: ACCEPT }),
    ),
  );
});

test('rotation: a state signed with an older secret still verifies; the newest signs', async (t) => {
  const { core, me } = await funded(t);
  const { requestState } = asked(await call(servicesOf(core, { secrets: [OLD_SECRET] }), createInstanceTool, H100_2H, { user: me }, canElicit()));
  const rotated = servicesOf(core, { secrets: [SECRET, OLD_SECRET] });
  const fresh = asked(await call(rotated, createInstanceTool, H100_2H, { user: me }, canElicit()));
  assert.ok(verifyState(fresh.requestState, [SECRET]), 'signed with the first secret');
  assert.equal(verifyState(fresh.requestState, [OLD_SECRET]), null);
  done(await call(rotated, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState, inputResponses: ACCEPT })));
  // once the old secret is dropped, its states no longer verify
  const { requestState: again } = asked(await call(servicesOf(core, { secrets: [OLD_SECRET] }), createInstanceTool, H100_2H, { user: me }, canElicit()));
  assert.equal(
    refusal(await call(servicesOf(core), createInstanceTool, H100_2H, { user: me }, canElicit({ requestState: again, inputResponses: ACCEPT }))).reason,
    'tampered',
  );
});

test('a price that changed between the form and the retry asks again with the new price', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core);
  const first = asked(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit()));
  await core.db.updateTable('gpu_plans').set({ price_per_gpu_hour: 2_990_000n }).where('id', '=', 'h100-80gb').execute();
  catalogChanged(core.db);
  const before = await fingerprint(core.db);
  const second = asked(
    await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState: first.requestState, inputResponses: ACCEPT })),
  );
  assert.equal(messageOf(second), 'Create 1 × H100 80GB in us-east for 2 h: 6.007398 credits; 93.992602 left.');
  assert.equal(await fingerprint(core.db), before, 'nothing charged at the old price');
  const out = done(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState: second.requestState, inputResponses: ACCEPT })));
  assert.equal(out.cost.total, '6.007398');
  // a retry carrying the state but no answer is asked again too
  const third = asked(await call(services, createInstanceTool, { ...H100_2H, name: 'b' }, { user: me }, canElicit()));
  asked(await call(services, createInstanceTool, { ...H100_2H, name: 'b' }, { user: me }, canElicit({ requestState: third.requestState })));
});

test('concurrent retries with one accepted state: exactly one does the work', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core);
  const { requestState } = asked(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit()));
  const results = await Promise.all(
    Array.from({ length: 6 }, () => call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState, inputResponses: ACCEPT }))),
  );
  const succeeded = results.filter((r) => !isInputRequired(r) && !r.isError);
  assert.equal(succeeded.length, 1);
  for (const r of results.filter((x) => !succeeded.includes(x))) assert.equal(refusal(r).reason, 'used');
  assert.equal(await charges(core, me.accountId), 1);
  const n = await core.db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  assert.equal(Number(n.n), 1);
});

test('clients without forms keep today’s behaviour; a dry run is never asked about', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core);
  const dry = done(await call(services, createInstanceTool, { ...H100_2H, dry_run: true }, { user: me }, canElicit()));
  assert.equal(dry.dry_run, true);
  assert.equal(await charges(core, me.accountId), 0);
  done(await call(services, createInstanceTool, H100_2H, { user: me })); // no interaction at all (2025-11-25 as today)
  done(await call(services, createInstanceTool, { ...H100_2H, name: 'two' }, { user: me }, { canElicit: false }));
  assert.equal(await charges(core, me.accountId), 2);
});

test('REQUIRE_CONFIRMATION: a client that cannot confirm is refused for spending calls, not for dry runs or reads', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core, { required: true });
  const before = await fingerprint(core.db);
  const r = refusal(await call(services, createInstanceTool, H100_2H, { user: me }));
  assert.equal(r.code, 'confirmation_required');
  assert.match(r.text, /^create-instance needs the person's confirmation, and this app cannot show a confirmation form/);
  assert.equal(refusal(await call(services, createInstanceTool, H100_2H, { user: me }, { canElicit: false })).code, 'confirmation_required');
  assert.equal(await fingerprint(core.db), before);
  assert.equal(done(await call(services, createInstanceTool, { ...H100_2H, dry_run: true }, { user: me })).would_succeed, true);
  // a client that can confirm goes through the form
  const { requestState } = asked(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit()));
  done(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState, inputResponses: ACCEPT })));
  const outcomes = await core.db.selectFrom('activity').select('outcome').where('user_id', '=', me.id).orderBy('id').execute();
  assert.deepEqual(
    outcomes.map((o) => o.outcome),
    ['confirmation_required', 'confirmation_required', 'ok'],
  );
});

test('the refusal the call would meet comes before any form (balance, spending limit, role)', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core);
  const before = await fingerprint(core.db);
  const balance = refusal(await call(services, createInstanceTool, { ...H100_2H, rental_hours: 48 }, { user: me }, canElicit()));
  assert.equal(balance.code, 'insufficient_balance');

  await saveAppLimits(core.db, me.id, 'limited-app', { dailyLimit: 1_000_000n, workspaces: null });
  const limited = refusal(await call(services, createInstanceTool, H100_2H, { user: me, clientId: 'limited-app' }, canElicit()));
  assert.equal(limited.code, 'spending_limit');
  assert.equal(await fingerprint(core.db), before);

  const owner = await newUser(core.db);
  const team = await newTeam(core.db, owner, 'Acme');
  await fund(core.db, team.accountId, { balance: '100' });
  await addTeamMember(core.db, team.id, me.id, 'viewer');
  const made = await createInstance(
    core.db,
    team.actor,
    { plan: 'h100-80gb', gpuCount: 1, region: 'us-east', storageGb: 100, rentalHours: 2, name: 'team-box' },
    core.clock,
  );
  const after = await fingerprint(core.db);
  for (const [tool, args] of [
    [createInstanceTool, { ...H100_2H, team_id: team.id }],
    [deleteInstanceTool, { instance_id: made.id, team_id: team.id }],
  ] as const) {
    assert.equal(refusal(await call(services, tool, args, { user: me }, canElicit())).code, 'insufficient_role', tool.name);
  }
  const missing = refusal(await call(services, deleteInstanceTool, { instance_id: made.id }, { user: me }, canElicit()));
  assert.equal(missing.code, 'not_found', "another account's instance looks missing, with no form");
  assert.equal(await fingerprint(core.db), after);
});

test('the sentences of add-instance-hours, delete-instance (with its refund) and delete-ssh-key, personal and team', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core, { ttlMinutes: 60 });
  core.clock.set(new Date('2026-03-01T00:00:00.000Z'));
  const key = await addKey(core.db, me.accountId, 'laptop');
  const made = await createInstance(
    core.db,
    me.actor,
    { plan: 'h100-80gb', gpuCount: 1, region: 'us-east', storageGb: 100, rentalHours: 2, name: 'trainer', sshKeyIds: [key] },
    core.clock,
  );
  const left = (await core.db.selectFrom('accounts').select(['balance', 'credit']).where('id', '=', me.accountId).executeTakeFirstOrThrow()).balance;
  assert.equal(left, 94_992_602n);

  const hours = messageOf(await call(services, addInstanceHoursTool, { instance_id: made.id, hours: 1 }, { user: me }, canElicit()));
  assert.equal(hours, 'Add 1 h to "trainer", prepaid until 2026-03-01T03:00:00.000Z: 2.503699 credits; 92.488903 left.');

  core.clock.advance(30 * 60_000);
  const del = await call(services, deleteInstanceTool, { instance_id: made.id }, { user: me }, canElicit());
  assert.equal(
    messageOf(del),
    'Delete "trainer", 1 × H100 80GB in us-east: its disk is wiped for good and its GPUs are released. 2.503698 credits are refunded for 1 unused hour.',
  );
  assert.equal(verifyState(asked(del).requestState, [SECRET])?.amountMicro, 2_503_698n, 'the refund is the bound amount');

  const sshKey = messageOf(await call(services, deleteSshKeyTool, { ssh_key_id: key }, { user: me }, canElicit()));
  const fp = (await core.db.selectFrom('ssh_keys').select('fingerprint').where('id', '=', key).executeTakeFirstOrThrow()).fingerprint;
  assert.equal(
    sshKey,
    `Delete SSH key "laptop" (${fp}) from your personal account. It is detached from 1 instance, where logging in with it stops working. This cannot be undone.`,
  );

  // when the hour turns before the retry, the refund shrinks: asked again
  core.clock.advance(31 * 60_000);
  const again = asked(
    await call(
      services,
      deleteInstanceTool,
      { instance_id: made.id },
      { user: me },
      canElicit({ requestState: asked(del).requestState, inputResponses: ACCEPT }),
    ),
  );
  assert.match(messageOf(again), /Nothing is refunded \(no unused whole hours\)\.$/);
  done(
    await call(services, deleteInstanceTool, { instance_id: made.id }, { user: me }, canElicit({ requestState: again.requestState, inputResponses: ACCEPT })),
  );

  const team = await newTeam(core.db, me, 'Acme');
  await fund(core.db, team.accountId, { balance: '50' });
  const teamAsk = messageOf(await call(services, createInstanceTool, { ...H100_2H, team_id: team.id, auto_renew: true }, { user: me }, canElicit()));
  assert.equal(
    teamAsk,
    `Create 1 × H100 80GB in us-east for 2 h, paid from team "Acme"'s account: ${H100_2H_COST} credits; 44.992602 left. Renews every 2 h for ${H100_2H_COST} credits while the balance covers it.`,
  );
  // the team is part of the bound arguments: the same state is no confirmation for the personal account
  const { requestState } = asked(await call(services, createInstanceTool, { ...H100_2H, team_id: team.id }, { user: me }, canElicit()));
  assert.equal(
    refusal(await call(services, createInstanceTool, H100_2H, { user: me }, canElicit({ requestState, inputResponses: ACCEPT }))).reason,
    'mismatch',
  );
});

test('create-inflow-checkout and verify-inflow-transaction: the sentences, and a confirmed checkout is created once', async (t) => {
  const world = await startInflowWorld();
  world.sandbox.setWebhookUrl(undefined); // only the API is needed here; no delivery may outlive the test's database
  t.after(() => world.close());
  const me = await newUser(world.db);
  const services: Services = {
    db: world.db,
    clock: world.clock,
    log,
    secrets: new SecretBox([DEV_INSTANCE_SECRETS_KEY]),
    inflow: world.inflow,
    confirmation: { secrets: [SECRET], ttlMinutes: 10, required: false },
  };
  const args = { amount: '25', currency: 'EUR', idempotency_key: 'k-1' };
  const ask = asked(await call(services, createInflowCheckoutTool, args, { user: me }, canElicit()));
  assert.equal(messageOf(ask), "Add 25.00 credits to your personal account: you pay 25.00 EUR on InFlow's checkout page; nothing is charged before that.");
  assert.equal(await world.db.selectFrom('inflow_transactions').select('id').executeTakeFirst(), undefined, 'no checkout before the confirmation');
  const made = done(await call(services, createInflowCheckoutTool, args, { user: me }, canElicit({ requestState: ask.requestState, inputResponses: ACCEPT })));
  assert.equal(made.created, true);
  assert.equal(
    refusal(await call(services, createInflowCheckoutTool, args, { user: me }, canElicit({ requestState: ask.requestState, inputResponses: ACCEPT }))).reason,
    'used',
  );

  const verify = messageOf(await call(services, verifyInflowTransactionTool, { transaction_id: made.transaction_id }, { user: me }, canElicit()));
  assert.equal(verify, `Check top-up ${made.transaction_id} (25.00 EUR) with InFlow and, if it is paid, add 25.00 credits to your personal account.`);
});

test('start-instance: starting a paused instance asks with its price like a creation; accept starts it once; a stopped start is not asked about', async (t) => {
  const { core, me } = await funded(t);
  const services = servicesOf(core, { ttlMinutes: 60 });
  core.clock.set(new Date('2026-03-01T00:00:00.000Z'));
  const made = await createInstance(
    core.db,
    me.actor,
    { plan: 'h100-80gb', gpuCount: 1, region: 'us-east', storageGb: 100, rentalHours: 2, name: 'trainer', sshKeyIds: [] },
    core.clock,
  );
  // prepaid time ends with auto-renew off: the worker pauses it
  core.clock.advance(2 * HOUR);
  assert.equal((await runLifecycleOnce({ db: core.db, clock: core.clock, provisioner: new SimulatedProvisioner() })).paused, 1);
  const before = await fingerprint(core.db);

  const ask = await call(services, startInstanceTool, { instance_id: made.id, rental_hours: 2 }, { user: me }, canElicit());
  assert.match(
    messageOf(ask),
    new RegExp(
      `^Start the paused instance "trainer" \\(1 GPU in us-east\\) for 2 h, prepaid until 2026-03-01T04:00:00\\.\\d{3}Z: ${H100_2H_COST} credits; 89\\.985204 left\\.$`,
    ),
  );
  assert.equal(verifyState(asked(ask).requestState, [SECRET])?.amountMicro, 5_007_398n);
  assert.equal(await fingerprint(core.db), before, 'asking changes nothing');
  const chargesBefore = await charges(core, me.accountId);

  const out = done(
    await call(
      services,
      startInstanceTool,
      { instance_id: made.id, rental_hours: 2 },
      { user: me },
      canElicit({ requestState: asked(ask).requestState, inputResponses: ACCEPT }),
    ),
  );
  assert.equal(out.changed, true);
  assert.equal(out.charge.cost.total, H100_2H_COST);
  assert.equal(await charges(core, me.accountId), chargesBefore + 1);

  // a dry run, and starting a stopped (not paused) instance, are never asked about
  assert.ok(!isInputRequired(await call(services, startInstanceTool, { instance_id: made.id, rental_hours: 2, dry_run: true }, { user: me }, canElicit())));
  assert.ok(!isInputRequired(await call(services, startInstanceTool, { instance_id: made.id }, { user: me }, canElicit())));
});
