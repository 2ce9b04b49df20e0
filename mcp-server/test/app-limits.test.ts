// What a person allowed an app, enforced by the MCP server on every call (issue 12 §1–§2): the daily
// spending limit (creations, added hours and renewals the app turned on all count; refused before
// anything changes; holds under 50 parallel creates; dry runs show the headroom; a change holds from
// the next call with the same token) and the workspaces it may act in. Real HTTP, real Postgres;
// the limits are written with the core function the auth server's pages call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'kysely';
import { addTeamMember, createTeam, ensureUserAccount } from '../src/pictor/accounts.ts';
import { PERSONAL, saveAppLimits } from '../src/pictor/app-limits.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { formatCredits } from '@pictor/platform/money';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { ERROR_META_KEY } from '../src/tools/errors.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { credits, fund } from './core-fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { stateFingerprint } from './hostile-support.ts';

const APP = 'limited-app';
const small = { plan: 'rtx4090-24gb', gpu_count: 1, region: 'us-east', storage_gb: 50, rental_hours: 2 };

let server: TestServer;

before(async () => {
  server = await startTestServer({ now: '2026-03-01T00:00:00Z' });
  await seedCatalog(server.db);
  await server.db.updateTable('region_capacity').set({ total_gpus: 10_000, free_gpus: 10_000 }).execute();
});
after(() => server.close());

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}
const errorOf = (r: CallToolResult) => r._meta?.[ERROR_META_KEY] as { code: string; details: Record<string, unknown> } | undefined;

/** A funded person whose calls come through APP (the token's client_id), with the limit set. */
async function person(limit: string | null, workspaces: string[] = [PERSONAL]) {
  const user = await server.createUser();
  const accountId = await ensureUserAccount(server.db, user.id);
  await fund(server.db, accountId, { balance: '100000' });
  if (limit !== undefined) await saveAppLimits(server.db, user.id, APP, { dailyLimit: limit === null ? null : credits(limit), workspaces });
  const token = await server.issueToken({ userId: user.id, clientId: APP });
  return { user, accountId, token, client: await server.connect(token) };
}

async function charged(userId: string): Promise<bigint> {
  const row = await server.db
    .selectFrom('ledger_entries')
    .select(sql<bigint>`coalesce(-sum(amount), 0)::bigint`.as('spent'))
    .where('kind', '=', 'charge')
    .where('created_by', '=', userId)
    .executeTakeFirstOrThrow();
  return row.spent;
}

/** The cost of one `small` create, from a dry run of a person without a limit. */
async function costOfSmall(): Promise<bigint> {
  const p = await person(null);
  const q = await server.callTool(p.client, 'create-instance', { ...small, name: 'quote', dry_run: true });
  return credits((q.structuredContent as { cost: { total: string } }).cost.total);
}

describe('spending limit', () => {
  test('a charge that would pass the limit is refused with the figures and where to raise it; nothing changes', async () => {
    const cost = await costOfSmall();
    const limit = cost + cost / 2n; // room for one
    const p = await person(formatCredits(limit));
    const first = await server.callTool(p.client, 'create-instance', { ...small, name: 'one' });
    assert.equal(first.isError, undefined, text(first));

    const before = await stateFingerprint(server.db);
    const second = await server.callTool(p.client, 'create-instance', { ...small, name: 'two' });
    assert.equal(second.isError, true);
    assert.equal(errorOf(second)?.code, 'spending_limit');
    const message = text(second);
    assert.match(message, new RegExp(`spend ${formatCredits(limit)} credits per 24 hours; it has spent ${formatCredits(cost)} in the last 24 hours`));
    assert.match(message, new RegExp(`this needs ${formatCredits(cost)}\\. Nothing was charged`));
    assert.ok(message.endsWith(`under Connected apps: ${server.issuer}/account`), message);
    assert.equal(errorOf(second)?.details.connected_apps_url, `${server.issuer}/account`);
    assert.equal(errorOf(second)?.details.limit_micro, limit.toString());
    assert.equal(await stateFingerprint(server.db), before);

    // Added hours count too, and are refused the same way.
    const instanceId = (first.structuredContent as { instance: { id: string } }).instance.id;
    const more = await server.callTool(p.client, 'add-instance-hours', { instance_id: instanceId, hours: 2 });
    assert.equal(errorOf(more)?.code, 'spending_limit');
    assert.equal(await charged(p.user.id), cost);
    // The charge is attributed to the app.
    const entries = await server.db
      .selectFrom('ledger_entries')
      .select(['client_id', 'created_by'])
      .where('kind', '=', 'charge')
      .where('account_id', '=', p.accountId)
      .execute();
    assert.deepEqual(entries, [{ client_id: APP, created_by: p.user.id }]);
  });

  test('dry runs show the headroom next to the balance after, and a refusal when it would pass', async () => {
    const cost = await costOfSmall();
    const limit = cost * 3n;
    const p = await person(formatCredits(limit));
    const q = await server.callTool(p.client, 'create-instance', { ...small, name: 'q', dry_run: true });
    const s = q.structuredContent as { would_succeed: boolean; spending_limit: { limit: string; spent_last_24h: string; headroom_after: string | null } };
    assert.equal(s.would_succeed, true);
    assert.deepEqual(s.spending_limit, { limit: formatCredits(limit), spent_last_24h: '0.00', headroom_after: formatCredits(limit - cost) });
    assert.match(text(q), new RegExp(`leaves ${formatCredits(limit - cost)} after this`));

    const created = await server.callTool(p.client, 'create-instance', { ...small, name: 'real', rental_hours: 4 });
    assert.equal(created.isError, undefined, text(created));
    const id = (created.structuredContent as { instance: { id: string } }).instance.id;
    const h = await server.callTool(p.client, 'add-instance-hours', { instance_id: id, hours: 4, dry_run: true });
    const hs = h.structuredContent as { would_succeed: boolean; reason: string; spending_limit: { spent_last_24h: string; headroom_after: string | null } };
    assert.equal(hs.would_succeed, false);
    assert.match(hs.reason, /^spending limit:/);
    assert.deepEqual([hs.spending_limit.spent_last_24h, hs.spending_limit.headroom_after], [formatCredits(cost * 2n), null]);
    // Without a limit the field is null.
    const free = await person(null);
    const fq = await server.callTool(free.client, 'create-instance', { ...small, name: 'q', dry_run: true });
    assert.equal((fq.structuredContent as { spending_limit: unknown }).spending_limit, null);
  });

  test('50 parallel creates from one app: the sum charged never passes the limit', async () => {
    const cost = await costOfSmall();
    const limit = cost * 5n + cost / 2n;
    const p = await person(formatCredits(limit));
    // Half in the person's team: the limit counts every workspace, and serializes across accounts.
    const team = await createTeam(server.db, p.user.id, 'Racers');
    await fund(server.db, team.accountId, { balance: '100000' });
    await saveAppLimits(server.db, p.user.id, APP, { dailyLimit: limit, workspaces: [PERSONAL, team.id] });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        server.callTool(p.client, 'create-instance', {
          ...small,
          name: `race-${i}`,
          ...(i % 2 === 1 ? { team_id: team.id } : {}),
        }),
      ),
    );
    const ok = results.filter((r) => !r.isError);
    const refused = results.filter((r) => errorOf(r)?.code === 'spending_limit');
    assert.equal(ok.length, 5);
    assert.equal(
      refused.length,
      45,
      results
        .filter((r) => r.isError && errorOf(r)?.code !== 'spending_limit')
        .map(text)
        .join('\n'),
    );
    const total = await charged(p.user.id);
    assert.equal(total, cost * 5n);
    assert.ok(total <= limit);
  });

  test('a change on the connected-apps page holds from the next call with the same token', async () => {
    const cost = await costOfSmall();
    const p = await person(formatCredits(cost - 1n));
    assert.equal(errorOf(await server.callTool(p.client, 'create-instance', { ...small, name: 'a' }))?.code, 'spending_limit');
    await saveAppLimits(server.db, p.user.id, APP, { dailyLimit: cost, workspaces: [PERSONAL] });
    assert.equal((await server.callTool(p.client, 'create-instance', { ...small, name: 'b' })).isError, undefined);
    await saveAppLimits(server.db, p.user.id, APP, { dailyLimit: null, workspaces: [PERSONAL] });
    assert.equal((await server.callTool(p.client, 'create-instance', { ...small, name: 'c' })).isError, undefined);
    // Another app of the same person has its own (no) limit; a token of an app without a row has none.
    const other = await server.connect(await server.issueToken({ userId: p.user.id, clientId: 'other-app' }));
    assert.equal((await server.callTool(other, 'create-instance', { ...small, name: 'd' })).isError, undefined);
  });
});

describe('renewals count against the app that turned auto-renew on', () => {
  async function dueRun() {
    server.clock.advance(3 * 3_600_000);
    return runLifecycleOnce({ db: server.db, clock: server.clock, provisioner: new SimulatedProvisioner() });
  }

  test('a renewal past the limit does not happen and is logged on the instance; one within it is charged to the app', async () => {
    const cost = await costOfSmall();
    const p = await person(formatCredits(cost + cost / 2n));
    const created = await server.callTool(p.client, 'create-instance', { ...small, name: 'renews', auto_renew: true });
    assert.equal(created.isError, undefined, text(created));
    const id = (created.structuredContent as { instance: { id: string } }).instance.id;
    const row = await server.db.selectFrom('instances').select(['auto_renew_client_id', 'auto_renew_user_id']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(row, { auto_renew_client_id: APP, auto_renew_user_id: p.user.id });

    await dueRun();
    const after = await server.db.selectFrom('instances').select(['state', 'end_reason']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(after.state, 'paused');
    assert.match(after.end_reason ?? '', /spending limit of the app that turned auto-renew on/);
    assert.equal(await charged(p.user.id), cost); // no renewal charge
    const logs = await server.callTool(p.client, 'get-instance-logs', { instance_id: id });
    assert.match(
      text(logs),
      new RegExp(
        `Paused: auto-renew for 2 h needs ${formatCredits(cost)} credits but the app that turned auto-renew on may spend only ${formatCredits(cost / 2n)} more`,
      ),
    );

    // Within the limit: renewed, and the renewal is the app's charge.
    const q = await person(formatCredits(cost * 3n));
    const made = await server.callTool(q.client, 'create-instance', { ...small, name: 'renews-ok', auto_renew: true });
    const okId = (made.structuredContent as { instance: { id: string } }).instance.id;
    await dueRun();
    const renewed = await server.db.selectFrom('instances').select('state').where('id', '=', okId).executeTakeFirstOrThrow();
    assert.equal(renewed.state, 'running');
    const charges = await server.db
      .selectFrom('ledger_entries')
      .select(['client_id', 'created_by', 'description'])
      .where('instance_id', '=', okId)
      .where('kind', '=', 'charge')
      .orderBy('id')
      .execute();
    assert.equal(charges.length, 2);
    assert.deepEqual(
      charges.map((c) => [c.client_id, c.created_by]),
      [
        [APP, q.user.id],
        [APP, q.user.id],
      ],
    );
    assert.match(charges[1]!.description, /auto-renewed/);
  });

  test('an app no longer connected (its limits gone with its grant) imposes no limit on the renewals it turned on', async () => {
    const cost = await costOfSmall();
    const p = await person(formatCredits(cost + cost / 2n));
    const created = await server.callTool(p.client, 'create-instance', { ...small, name: 'orphan', auto_renew: true });
    const id = (created.structuredContent as { instance: { id: string } }).instance.id;
    await server.db.deleteFrom('app_limits').where('user_id', '=', p.user.id).execute();
    await dueRun();
    const row = await server.db.selectFrom('instances').select('state').where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.state, 'running');
    assert.equal(await charged(p.user.id), cost * 2n);
  });

  test('turning auto-renew off forgets the app; turning it on through another app moves the renewals to it', async () => {
    const p = await person('1000');
    const created = await server.callTool(p.client, 'create-instance', { ...small, name: 'toggle' });
    const id = (created.structuredContent as { instance: { id: string } }).instance.id;
    const by = () => server.db.selectFrom('instances').select(['auto_renew_client_id', 'auto_renew_user_id']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(await by(), { auto_renew_client_id: null, auto_renew_user_id: null });
    await server.callTool(p.client, 'enable-instance-auto-renew', { instance_id: id });
    assert.deepEqual(await by(), { auto_renew_client_id: APP, auto_renew_user_id: p.user.id });
    await server.callTool(p.client, 'disable-instance-auto-renew', { instance_id: id });
    assert.deepEqual(await by(), { auto_renew_client_id: null, auto_renew_user_id: null });
    const other = await server.connect(await server.issueToken({ userId: p.user.id, clientId: 'other-app' }));
    await server.callTool(other, 'enable-instance-auto-renew', { instance_id: id });
    assert.deepEqual(await by(), { auto_renew_client_id: 'other-app', auto_renew_user_id: p.user.id });
  });
});

describe('workspaces', () => {
  test('an app allowed Personal only is refused in a team, naming it and where to change it; reads too; allowing the team lets it through', async () => {
    const p = await person(null, [PERSONAL]);
    const team = await createTeam(server.db, p.user.id, 'Acme');
    await fund(server.db, team.accountId, { balance: '1000' });
    for (const [tool, args] of [
      ['list-my-instances', {}],
      ['get-user-balance', {}],
      ['create-instance', { ...small, name: 't' }],
    ] as const) {
      const before = await stateFingerprint(server.db);
      const r = await server.callTool(p.client, tool, { ...args, team_id: team.id });
      assert.equal(errorOf(r)?.code, 'workspace_not_allowed', `${tool}: ${text(r)}`);
      assert.match(text(r), /you did not allow this app to act in team Acme/);
      assert.ok(text(r).endsWith(`under Connected apps: ${server.issuer}/account`));
      assert.equal(await stateFingerprint(server.db), before);
    }
    // Personal is fine; a team the person is not in still looks missing.
    assert.equal((await server.callTool(p.client, 'list-my-instances', {})).isError, undefined);
    const stranger = await person(null);
    const theirs = await createTeam(server.db, stranger.user.id, 'Theirs');
    assert.match(text(await server.callTool(p.client, 'list-my-instances', { team_id: theirs.id })), /^Team not found/);

    await saveAppLimits(server.db, p.user.id, APP, { dailyLimit: null, workspaces: [PERSONAL, team.id] });
    const allowed = await server.callTool(p.client, 'create-instance', { ...small, name: 't', team_id: team.id });
    assert.equal(allowed.isError, undefined, text(allowed));
  });

  test('workspaces chosen with no team to choose from (null) allow every workspace, a team joined later included', async () => {
    const p = await person(null);
    await saveAppLimits(server.db, p.user.id, APP, { dailyLimit: null, workspaces: null });
    const team = await createTeam(server.db, p.user.id, 'Later');
    assert.equal((await server.callTool(p.client, 'list-my-instances', { team_id: team.id })).isError, undefined);
    assert.equal((await server.callTool(p.client, 'list-my-instances', {})).isError, undefined);
  });

  test('an app allowed only a team is refused on the personal account; tools without a workspace still answer', async () => {
    const owner = await server.createUser();
    const team = await createTeam(server.db, owner.id, 'Shared');
    const p = await person(null);
    await addTeamMember(server.db, team.id, p.user.id, 'viewer');
    await saveAppLimits(server.db, p.user.id, APP, { dailyLimit: null, workspaces: [team.id] });
    const r = await server.callTool(p.client, 'list-my-instances', {});
    assert.equal(errorOf(r)?.code, 'workspace_not_allowed');
    assert.match(text(r), /you did not allow this app to act in your personal account/);
    assert.equal((await server.callTool(p.client, 'list-my-instances', { team_id: team.id })).isError, undefined);
    assert.equal((await server.callTool(p.client, 'list-gpus', {})).isError, undefined);
  });
});

describe('starting a paused instance is a charge like a creation', () => {
  test("it counts against the app's limit: past it, refused with the figures and nothing changes; the dry run says so; short funds are refused too", async () => {
    const cost = await costOfSmall();
    const p = await person(formatCredits(cost + cost / 2n)); // room for the creation only
    const created = await server.callTool(p.client, 'create-instance', { ...small, name: 'to-pause' });
    const id = (created.structuredContent as { instance: { id: string } }).instance.id;
    await server.db.updateTable('instances').set({ expires_at: server.clock.now() }).where('id', '=', id).execute();
    await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner: new SimulatedProvisioner() });
    assert.equal((await server.db.selectFrom('instances').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state, 'paused');

    const quote = await server.callTool(p.client, 'start-instance', { instance_id: id, rental_hours: 2, dry_run: true });
    const charge = (quote.structuredContent as { charge: { would_succeed: boolean; reason: string; spending_limit: { headroom_after: string | null } } })
      .charge;
    assert.equal(charge.would_succeed, false);
    assert.match(charge.reason, /^spending limit: you allowed this app to spend/);
    assert.equal(charge.spending_limit.headroom_after, null);

    const before = await stateFingerprint(server.db);
    const r = await server.callTool(p.client, 'start-instance', { instance_id: id, rental_hours: 2 });
    assert.equal(r.isError, true);
    assert.equal((r._meta?.[ERROR_META_KEY] as { code: string } | undefined)?.code, 'spending_limit');
    assert.match(text(r), /Nothing was charged/);
    assert.equal(await stateFingerprint(server.db), before);
    assert.equal(await charged(p.user.id), cost);

    // Without a limit but without the funds: the shortfall, nothing changes.
    await saveAppLimits(server.db, p.user.id, APP, { dailyLimit: null, workspaces: [PERSONAL] });
    await server.db.updateTable('accounts').set({ balance: 0n }).where('id', '=', p.accountId).execute();
    await server.db
      .insertInto('ledger_entries')
      .values({ account_id: p.accountId, kind: 'charge', bucket: 'balance', amount: -(credits('100000') - cost), description: 'drained by the test' })
      .execute();
    const poor = await server.callTool(p.client, 'start-instance', { instance_id: id, rental_hours: 2 });
    assert.equal((poor._meta?.[ERROR_META_KEY] as { code: string } | undefined)?.code, 'insufficient_balance');
    assert.match(text(poor), /^insufficient balance: this needs \S+ credits, the account has 0\.00, short by/);
    assert.equal((await server.db.selectFrom('instances').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state, 'paused');
  });
});
