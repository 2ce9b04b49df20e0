// Sign-in is bound to the browser that asked (issue 9 §1), in Chromium with two browser contexts:
// an attacker who starts an authorization with a victim's email gets nothing when the victim opens
// the genuine mail and tries to confirm it; a person on two devices types the code the first shows;
// in one browser the link confirms as is and may even finish in its own tab.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { ClaudeConnector } from './support/claude.ts';
import { expect, randomEmail, test } from './support/fixtures.ts';
import { authorize } from './support/person.ts';

/** What oidc-provider issued for a client: grants, codes and tokens. */
function issuedFor(db: Db, clientId: string) {
  return db
    .selectFrom('auth_oidc_payloads')
    .select('model')
    .where(sql<string>`payload->>'clientId'`, '=', clientId)
    .where('model', 'in', ['Grant', 'AuthorizationCode', 'AccessToken', 'RefreshToken'])
    .execute()
    .then((rows) => rows.map((r) => r.model).sort());
}

test("an attacker's \"Claude\" asks for the victim's email; the victim opens the genuine mail and tries to confirm: the attacker's window never completes, no grant", async ({
  world,
  context,
  otherContext,
}) => {
  const connector = await ClaudeConnector.add(world.mcpUrl); // open DCR, named "Claude"
  const request = connector.authorizationRequest();
  const victim = randomEmail('victim');
  const attacker = await context.newPage();
  await attacker.goto(request.url);
  await attacker.getByLabel('Email').fill(victim);
  await attacker.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await expect(attacker.getByRole('heading', { name: 'Check your email' })).toBeVisible();
  const attackerCode = (await attacker.getByLabel('Sign-in code').innerText()).trim();

  const mail = await world.sink.next(victim);
  expect(mail.text).toContain('Claude (unverified: this app named itself)');
  expect(mail.text).toContain('If you did not just try to connect an app to Pictor, ignore this mail');
  const page = await otherContext.newPage();
  await page.goto(mail.link);
  await expect(page.getByRole('heading', { name: `Sign in as ${victim}?` })).toBeVisible();
  await expect(page.getByText('If you did not just try to sign in somewhere, close this page.')).toBeVisible();
  await expect(page.getByText('Claude (unverified: this app named itself)')).toBeVisible();
  // Pressing Sign in: the page wants the code of the window that asked, which the victim cannot know.
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Code from the other window').fill(attackerCode === 'ABC-234' ? 'ABC-236' : 'ABC-234');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText(/That is not the code shown in the window where you asked\. 4 tries left/)).toBeVisible();
  // Forcing the form past the browser's check, with no code at all, is refused by the server too.
  await page.locator('#code').evaluate((input: HTMLInputElement) => {
    input.required = false;
    input.value = '';
    input.form?.submit();
  });
  await expect(page.getByLabel('Code from the other window')).toBeVisible();
  await expect(page.getByText("You're signed in")).toHaveCount(0);

  // The attacker's window keeps polling (every 2 s) and never goes on; Claude's callback never comes.
  const outcome = await connector.callback.next(request.state, 8_000).then(
    () => 'completed',
    () => 'still waiting',
  );
  expect(outcome).toBe('still waiting');
  await expect(attacker.getByRole('heading', { name: 'Check your email' })).toBeVisible();
  await attacker.getByRole('button', { name: 'I opened the link — continue' }).click();
  await expect(attacker.getByText('The link has not been confirmed yet.')).toBeVisible();
  expect(await issuedFor(world.db, connector.client.client_id)).toEqual([]);
  expect(await world.db.selectFrom('users').select('id').where('email', '=', victim).execute()).toEqual([]);
  await connector.close();
});

test('two devices: the link opened in a second browser, with the code the first shows typed in, connects the first', async ({
  world,
  context,
  otherContext,
}) => {
  const email = randomEmail('two-devices');
  const connector = await ClaudeConnector.add(world.mcpUrl);
  const request = connector.authorizationRequest();
  const [authorization, connection] = await Promise.all([
    authorize(context, request.url, { email, sink: world.sink, linkContext: otherContext }),
    connector.complete(request),
  ]);
  expect(authorization.mails).toBe(1);
  expect((await connection.call<{ account: string }>('get-user-balance')).account).toBe('personal');
  expect(await issuedFor(world.db, connector.client.client_id)).toContain('Grant');
  await connection.close();
  await connector.close();
});

test('one browser: the link confirms with no code, and can finish in its own tab when the first was closed', async ({ world, context }) => {
  const email = randomEmail('one-browser');
  const connector = await ClaudeConnector.add(world.mcpUrl);
  const request = connector.authorizationRequest();
  const first = await context.newPage();
  await first.goto(request.url);
  await first.getByLabel('Email').fill(email);
  await first.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await expect(first.getByRole('heading', { name: 'Check your email' })).toBeVisible();
  await first.close();

  const mail = await world.sink.next(email);
  const tab = await context.newPage();
  await tab.goto(mail.link);
  await expect(tab.getByLabel('Code from the other window')).toHaveCount(0);
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await tab.getByRole('button', { name: 'Continue in this window instead' }).click();
  await expect(tab.getByRole('heading', { name: 'Connect Claude to Pictor' })).toBeVisible();
  const [connection] = await Promise.all([connector.complete(request), tab.getByRole('button', { name: 'Allow' }).click()]);
  expect((await connection.call<{ account: string }>('get-user-balance')).account).toBe('personal');
  await connection.close();
  await connector.close();
});
