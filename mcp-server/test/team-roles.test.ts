// Team roles through the MCP tools, the whole table: each role (viewer, member, admin, owner) ×
// each tool kind (reads, instance writes, SSH key writes, billing writes) on the team's account.
// An allowed call succeeds; a refused one names the team, the person's role and the role it
// needs, and changes nothing (instances, keys, top-ups, ledger and balances all as before). A
// person outside the team gets exactly what a team that does not exist gets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { sql } from 'kysely';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { TeamRole } from '@pictor/migrations/schema';
import { startInflowSandbox, type InflowSandbox } from '@pictor/inflow-sandbox/sandbox';
import { actInTeam, addTeamMember, createTeam, setTeamRole } from '../src/pictor/accounts.ts';
import type { Actor } from '../src/pictor/actor.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { InflowClient } from '../src/pictor/inflow/client.ts';
import { createCheckout } from '../src/pictor/inflow/payments.ts';
import { createInstance, stopInstance } from '../src/pictor/instances/index.ts';
import { SimulatedProvisioner } from '../src/pictor/provisioner.ts';
import { createSshKey } from '../src/pictor/ssh-keys.ts';
import { ERROR_META_KEY } from '../src/tools/errors.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { fund } from './core-fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { stateFingerprint } from './hostile-support.ts';
import { cryptoKey, sshBlob, sshLine } from './ssh-keys-fixtures.ts';

type Kind = 'read' | 'instances' | 'ssh keys' | 'billing';
const LEAST: Record<Kind, TeamRole> = { read: 'viewer', instances: 'member', 'ssh keys': 'admin', billing: 'admin' };
const ROLES: TeamRole[] = ['viewer', 'member', 'admin', 'owner'];
const RANK = (role: TeamRole) => ROLES.indexOf(role);

let server: TestServer;
let sandbox: InflowSandbox;
let teamId: string;
let owner: Actor; // the team's owner, acting in the team (through the core), to make fixtures
const clients = new Map<TeamRole | 'outsider', Client>();
const userIds = new Map<TeamRole | 'outsider', string>();

const keyLine = () => sshLine('ssh-ed25519', sshBlob(cryptoKey('ed25519').publicKey), 'roles@test');
const small = { plan: 'rtx4090-24gb', gpu_count: 1, region: 'us-east', storage_gb: 50, rental_hours: 2 };

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

async function call(who: TeamRole | 'outsider', name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await clients.get(who)!.callTool({ name, arguments: args })) as CallToolResult;
}

/** A team instance made by the owner through the core, provisioned (running), optionally with auto-renew. */
async function teamInstance(autoRenew = false): Promise<string> {
  const created = await createInstance(
    server.db,
    owner,
    {
      plan: small.plan,
      gpuCount: 1,
      region: small.region,
      storageGb: small.storage_gb,
      rentalHours: 24,
      name: 'fixture',
      autoRenew,
    },
    server.clock,
  );
  server.clock.advance(10_000);
  await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner: new SimulatedProvisioner() });
  return created.id;
}

/** A team instance whose prepaid time ended with auto-renew off: paused by the worker. */
async function pausedTeamInstance(): Promise<string> {
  const id = await teamInstance();
  await server.db.updateTable('instances').set({ expires_at: server.clock.now() }).where('id', '=', id).execute();
  await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner: new SimulatedProvisioner() });
  return id;
}

async function teamKey(): Promise<string> {
  return (await createSshKey(server.db, owner, { name: `key-${randomUUID().slice(0, 8)}`, publicKey: keyLine() })).id;
}

async function teamCheckout(): Promise<string> {
  const deps = { db: server.db, inflow: server.services.inflow!, clock: server.clock };
  return (await createCheckout(deps, owner, { amount: '10', currency: 'USD', idempotencyKey: randomUUID() })).transaction.id;
}

interface Case {
  tool: string;
  kind: Kind;
  /** How the refusal names the action; the example from the issue is checked word for word. */
  doing?: string;
  /** Fresh arguments (and fixtures) for one call, so every allowed call has something to change. */
  args(): Promise<Record<string, unknown>>;
}

const CASES: Case[] = [
  { tool: 'get-user-balance', kind: 'read', args: async () => ({}) },
  { tool: 'list-my-instances', kind: 'read', args: async () => ({}) },
  { tool: 'get-instance-detail', kind: 'read', args: async () => ({ instance_id: await teamInstance() }) },
  { tool: 'get-instance-logs', kind: 'read', args: async () => ({ instance_id: await teamInstance() }) },
  { tool: 'list-ssh-keys', kind: 'read', args: async () => ({}) },
  { tool: 'create-instance', kind: 'instances', doing: 'creating instances', args: async () => ({ ...small, name: 'by-role' }) },
  { tool: 'create-instance', kind: 'instances', doing: 'creating instances', args: async () => ({ ...small, name: 'price-check', dry_run: true }) },
  {
    tool: 'start-instance',
    kind: 'instances',
    doing: 'starting instances',
    args: async () => {
      const id = await teamInstance();
      await stopInstance(server.db, owner, id, server.clock);
      return { instance_id: id };
    },
  },
  {
    tool: 'start-instance',
    kind: 'instances',
    doing: 'starting instances',
    args: async () => ({ instance_id: await pausedTeamInstance(), rental_hours: 2 }),
  },
  { tool: 'start-instance', kind: 'instances', args: async () => ({ instance_id: await pausedTeamInstance(), rental_hours: 2, dry_run: true }) },
  { tool: 'stop-instance', kind: 'instances', doing: 'stopping instances', args: async () => ({ instance_id: await teamInstance() }) },
  { tool: 'restart-instance', kind: 'instances', doing: 'restarting instances', args: async () => ({ instance_id: await teamInstance() }) },
  { tool: 'enable-instance-auto-renew', kind: 'instances', args: async () => ({ instance_id: await teamInstance(false) }) },
  { tool: 'disable-instance-auto-renew', kind: 'instances', args: async () => ({ instance_id: await teamInstance(true) }) },
  { tool: 'add-instance-hours', kind: 'instances', doing: 'adding hours to instances', args: async () => ({ instance_id: await teamInstance(), hours: 1 }) },
  { tool: 'add-instance-hours', kind: 'instances', args: async () => ({ instance_id: await teamInstance(), hours: 1, dry_run: true }) },
  { tool: 'rename-instance', kind: 'instances', doing: 'renaming instances', args: async () => ({ instance_id: await teamInstance(), name: 'renamed' }) },
  { tool: 'delete-instance', kind: 'instances', doing: 'deleting instances', args: async () => ({ instance_id: await teamInstance() }) },
  {
    tool: 'add-ssh-keys-to-instance',
    kind: 'instances',
    doing: 'attaching SSH keys to instances',
    args: async () => ({ instance_id: await teamInstance(), ssh_key_ids: [await teamKey()] }),
  },
  {
    tool: 'create-ssh-key',
    kind: 'ssh keys',
    doing: "adding the team's SSH keys",
    args: async () => ({ name: `new-${randomUUID().slice(0, 8)}`, public_key: keyLine() }),
  },
  {
    tool: 'update-ssh-key',
    kind: 'ssh keys',
    doing: "changing the team's SSH keys",
    args: async () => ({ ssh_key_id: await teamKey(), name: `renamed-${randomUUID().slice(0, 8)}` }),
  },
  { tool: 'delete-ssh-key', kind: 'ssh keys', doing: "deleting the team's SSH keys", args: async () => ({ ssh_key_id: await teamKey() }) },
  {
    tool: 'create-inflow-checkout',
    kind: 'billing',
    doing: "topping up the team's account",
    args: async () => ({ amount: '10', idempotency_key: randomUUID() }),
  },
  { tool: 'verify-inflow-transaction', kind: 'billing', doing: "verifying the team's top-ups", args: async () => ({ transaction_id: await teamCheckout() }) },
  { tool: 'sync-pending-inflow-transactions', kind: 'billing', doing: "syncing the team's top-ups", args: async () => ({}) },
];

before(async () => {
  server = await startTestServer({ now: '2026-03-01T00:00:00Z' });
  sandbox = await startInflowSandbox({ apiKey: 'roles-inflow-key' });
  server.services.inflow = new InflowClient({
    apiUrl: sandbox.url,
    apiKey: 'roles-inflow-key',
    successUrl: `${server.origin}/inflow/return`,
    backoffMs: 10,
    timeoutMs: 2_000,
  });
  await seedCatalog(server.db);
  await server.db.updateTable('region_capacity').set({ total_gpus: 10_000, free_gpus: 10_000 }).execute();
  for (const who of ['owner', 'admin', 'member', 'viewer', 'outsider'] as const) {
    const { user, token } = await server.signIn();
    userIds.set(who, user.id);
    clients.set(who, await server.connect(token));
  }
  const team = await createTeam(server.db, userIds.get('owner')!, 'Acme');
  teamId = team.id;
  for (const role of ['admin', 'member', 'viewer'] as const) await addTeamMember(server.db, teamId, userIds.get(role)!, role);
  await fund(server.db, team.accountId, { balance: '100000' });
  owner = await actInTeam(server.db, { userId: userIds.get('owner')! }, teamId);
});
after(async () => {
  await server.close();
  await sandbox.close();
});

describe("each role × each tool on the team's account", () => {
  for (const role of ROLES) {
    for (const c of CASES) {
      const allowed = RANK(role) >= RANK(LEAST[c.kind]);
      const cases = CASES.filter((other) => other.tool === c.tool).length;
      const label = `${role} ${allowed ? 'may' : 'may not'} ${c.tool}${cases > 1 ? ` (case ${CASES.filter((o) => o.tool === c.tool).indexOf(c) + 1} of ${cases})` : ''}`;
      test(label, async () => {
        const args: Record<string, unknown> = { team_id: teamId, ...(await c.args()) };
        const before = await stateFingerprint(server.db);
        const result = await call(role, c.tool, args);
        if (allowed) {
          assert.ok(!result.isError, `${c.tool}: ${text(result)}`);
          const quote = result.structuredContent as { would_succeed?: boolean; charge?: { would_succeed: boolean } };
          if (args.dry_run === true) assert.equal(quote.would_succeed ?? quote.charge?.would_succeed, true);
          return;
        }
        assert.equal(result.isError, true, `${role} ${c.tool} should be refused: ${text(result)}`);
        const needs = LEAST[c.kind];
        assert.match(text(result), new RegExp(`^your role in team Acme is ${role}; [a-zA-Z' -]+ needs ${needs} or above$`));
        if (c.doing) assert.equal(text(result), `your role in team Acme is ${role}; ${c.doing} needs ${needs} or above`);
        assert.deepEqual(result._meta?.[ERROR_META_KEY], {
          code: 'insufficient_role',
          details: {
            team_id: teamId,
            team: 'Acme',
            role,
            needs,
            action: (result._meta?.[ERROR_META_KEY] as { details: { action: string } } | undefined)?.details.action,
          },
        });
        assert.equal(await stateFingerprint(server.db), before, `${role} ${c.tool} changed something`);
      });
    }
  }
});

test("the issue's example, word for word", async () => {
  const result = await call('viewer', 'create-instance', { team_id: teamId, ...small, name: 'nope' });
  assert.equal(text(result), 'your role in team Acme is viewer; creating instances needs member or above');
});

test('someone outside the team gets exactly what a missing team gets, from every tool, and nothing changes', async () => {
  const before = await stateFingerprint(server.db);
  const missing = randomUUID();
  for (const c of CASES) {
    const args = await c.args();
    const fingerprint = await stateFingerprint(server.db);
    const outsider = await call('outsider', c.tool, { ...args, team_id: teamId });
    const nowhere = await call('owner', c.tool, { ...args, team_id: missing });
    assert.equal(outsider.isError, true, c.tool);
    assert.equal(text(outsider), 'Team not found', c.tool);
    assert.equal(text(nowhere), 'Team not found', c.tool);
    assert.deepEqual(outsider._meta?.[ERROR_META_KEY], { code: 'not_found', details: { resource: 'Team', id: teamId } }, c.tool);
    assert.deepEqual(nowhere._meta?.[ERROR_META_KEY], { code: 'not_found', details: { resource: 'Team', id: missing } }, c.tool);
    assert.equal(await stateFingerprint(server.db), fingerprint, `${c.tool} changed something`);
  }
  assert.notEqual(await stateFingerprint(server.db), before, 'the fixtures themselves were made');
});

test('a viewer still does everything on their own account', async () => {
  const created = await call('viewer', 'create-ssh-key', { name: 'mine', public_key: keyLine() });
  assert.ok(!created.isError, text(created));
  const listed = await call('viewer', 'list-ssh-keys', {});
  assert.deepEqual(
    (listed.structuredContent as { ssh_keys: Array<{ name: string }> }).ssh_keys.map((k) => k.name),
    ['mine'],
  );
});

test("get-user-balance lists each team with the person's role", async () => {
  for (const role of ROLES) {
    const result = await call(role, 'get-user-balance', {});
    const structured = result.structuredContent as { teams: Array<{ id: string; name: string; role: string }> };
    assert.deepEqual(structured.teams, [{ id: teamId, name: 'Acme', role }], role);
    assert.match(text(result), new RegExp(`Acme \\(${teamId}, ${role}\\)`));
  }
  assert.deepEqual((await call('outsider', 'get-user-balance', {})).structuredContent!.teams, []);
});

test('a role change applies to the very next call', async () => {
  const userId = userIds.get('viewer')!;
  const dryRun = { team_id: teamId, ...small, name: 'promoted', dry_run: true };
  assert.equal((await call('viewer', 'create-instance', dryRun)).isError, true);
  await setTeamRole(server.db, teamId, userId, 'member');
  try {
    const allowed = await call('viewer', 'create-instance', dryRun);
    assert.ok(!allowed.isError, text(allowed));
    const teams = (await call('viewer', 'get-user-balance', {})).structuredContent!.teams as Array<{ role: string }>;
    assert.equal(teams[0]!.role, 'member');
    assert.match(
      text(await call('viewer', 'create-ssh-key', { team_id: teamId, name: 'x', public_key: keyLine() })),
      /^your role in team Acme is member; adding the team's SSH keys needs admin or above$/,
    );
  } finally {
    await setTeamRole(server.db, teamId, userId, 'viewer');
  }
  assert.equal((await call('viewer', 'create-instance', dryRun)).isError, true);
});

test('a call without team_id never reads team membership (the hot path stays one query); one with team_id does', async () => {
  let teamCall: Promise<CallToolResult> | undefined;
  let teamCallDone = false;
  await server.db.transaction().execute(async (trx) => {
    // Hold team memberships locked: anything that reads them waits until this transaction ends.
    await sql`LOCK TABLE team_members IN ACCESS EXCLUSIVE MODE`.execute(trx);
    teamCall = call('member', 'list-ssh-keys', { team_id: teamId }).finally(() => {
      teamCallDone = true;
    });
    for (const [name, args] of [
      ['list-ssh-keys', {}],
      ['list-my-instances', {}],
      ['create-ssh-key', { name: 'hot path', public_key: keyLine() }],
    ] as const) {
      // Were it to wait on the lock, it would wait for ever: fail after a few seconds instead.
      const personal = await Promise.race([call('member', name, args), setTimeout(5_000).then(() => assert.fail(`${name} waited on team_members`))]);
      assert.ok(!personal.isError, `${name}: ${text(personal)}`);
    }
    assert.equal(teamCallDone, false, 'the team call waits for the membership it must read');
  });
  assert.ok(!(await teamCall!).isError);
});
