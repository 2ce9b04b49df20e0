// A team: two people in one team (made with the core's team functions, as the admin CLI does),
// each connected to Claude in their own browser. The owner tops up the team through InFlow and
// creates a team instance; the member sees it with team_id and not without; a third person, not in
// the team, sees neither.
import { addTeamMember, createTeam } from '@pictor/mcp-server/pictor/accounts';
import type { Browser } from '@playwright/test';
import type { World } from './support/world.ts';
import { connectClaude, expect, randomEmail, test } from './support/fixtures.ts';
import type { Connection } from './support/claude.ts';

async function personConnects(world: World, browser: Browser, prefix: string): Promise<{ connection: Connection; userId: string; close(): Promise<void> }> {
  const context = await browser.newContext();
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => route.abort('blockedbyclient'),
  );
  const email = randomEmail(prefix);
  const { connector, connection } = await connectClaude(world, context, { email });
  const user = await world.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
  return {
    connection,
    userId: user.id,
    async close() {
      await connection.close();
      await connector.close();
      await context.close();
    },
  };
}

function errorText(result: { isError?: boolean; content: unknown }): string {
  expect(result.isError).toBe(true);
  return JSON.stringify(result.content);
}

test("a team: the member sees the team's instance only with team_id; someone outside the team sees neither", async ({ world, browser }) => {
  const owner = await personConnects(world, browser, 'owner');
  const member = await personConnects(world, browser, 'member');
  const outsider = await personConnects(world, browser, 'outsider');
  const team = await createTeam(world.db, owner.userId, 'Render farm');
  await addTeamMember(world.db, team.id, member.userId);

  // Both members see the team; the outsider does not.
  for (const person of [owner, member]) {
    const { teams } = await person.connection.call<{ teams: Array<{ id: string; name: string }> }>('get-user-balance');
    expect(teams.map((t) => t.id)).toEqual([team.id]);
  }
  expect((await outsider.connection.call<{ teams: unknown[] }>('get-user-balance')).teams).toEqual([]);

  // The owner tops up the team's account on InFlow's page and verifies it.
  const checkout = await owner.connection.call<{ transaction_id: string; purchase_url: string; team_id: string }>('create-inflow-checkout', {
    team_id: team.id,
    amount: '20',
    idempotency_key: `team-${team.id}`,
  });
  expect(checkout.team_id).toBe(team.id);
  const payContext = await browser.newContext();
  const pay = await payContext.newPage();
  await pay.goto(checkout.purchase_url);
  await pay.getByRole('button', { name: /^Pay / }).click();
  await pay.waitForURL((url) => !url.pathname.startsWith('/pay/'));
  await payContext.close();
  await expect
    .poll(
      async () =>
        (
          await owner.connection.call<{ transaction: { credited: boolean } }>('verify-inflow-transaction', {
            team_id: team.id,
            transaction_id: checkout.transaction_id,
          })
        ).transaction.credited,
      { timeout: 20_000 },
    )
    .toBe(true);
  const teamBalance = await member.connection.call<{ account: string; total: string }>('get-user-balance', { team_id: team.id });
  expect(teamBalance).toMatchObject({ account: 'team', total: '20.00' });
  expect((await owner.connection.call<{ total: string }>('get-user-balance')).total).toBe('0.00'); // not the owner's own

  const created = await owner.connection.call<{ instance: { id: string } }>('create-instance', {
    team_id: team.id,
    plan: 'rtx4090-24gb',
    gpu_count: 1,
    region: 'us-east',
    storage_gb: 50,
    rental_hours: 1,
    name: 'team-render',
  });
  const id = created.instance.id;

  // The member: with team_id yes, without no.
  const withTeam = await member.connection.call<{ instances: Array<{ id: string; name: string }> }>('list-my-instances', { team_id: team.id });
  expect(withTeam.instances.map((i) => i.id)).toEqual([id]);
  expect((await member.connection.call<{ name: string }>('get-instance-detail', { team_id: team.id, instance_id: id })).name).toBe('team-render');
  expect((await member.connection.call<{ instances: unknown[] }>('list-my-instances')).instances).toEqual([]);
  expect(errorText(await member.connection.callTool('get-instance-detail', { instance_id: id }))).toMatch(/Instance not found/);

  // The outsider: neither with the team's id nor without.
  expect(errorText(await outsider.connection.callTool('list-my-instances', { team_id: team.id }))).toMatch(/not found/i);
  expect(errorText(await outsider.connection.callTool('get-instance-detail', { team_id: team.id, instance_id: id }))).toMatch(/not found/i);
  expect(errorText(await outsider.connection.callTool('get-instance-detail', { instance_id: id }))).toMatch(/Instance not found/);
  expect(errorText(await outsider.connection.callTool('delete-instance', { instance_id: id }))).toMatch(/Instance not found/);
  expect((await outsider.connection.call<{ instances: unknown[] }>('list-my-instances')).instances).toEqual([]);

  // And the instance is untouched by all that: the member can still act on it for the team.
  const renamed = await member.connection.call<{ instance: { name: string } }>('rename-instance', { team_id: team.id, instance_id: id, name: 'team-render-2' });
  expect(renamed.instance.name).toBe('team-render-2');

  for (const person of [owner, member, outsider]) await person.close();
});
