// A spending limit chosen at consent, through the real flow in Chromium (issue 12 §1): the person
// connects Claude with a limit of 10 credits a day; a create costing 6 goes through, a second one
// is refused with the figures and where to raise the limit, and nothing is charged; raising the
// limit on the connected-apps page lets the next call through with the same access token.
import { ensureUserAccount } from '@pictor/mcp-server/pictor/accounts';
import { setCapacity, upsertPlan } from '@pictor/mcp-server/pictor/catalog-admin';
import { postCredit } from '@pictor/mcp-server/pictor/ledger';
import { parseCredits } from '@pictor/platform/money';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectClaude, expect, randomEmail, test } from './support/fixtures.ts';
import { screenshot } from './support/person.ts';

const PLAN = 'six-credit-hour';
// 1 GPU × 6.00 credits per GPU-hour × 1 h, storage free: each create costs exactly 6.00.
const SIX = { plan: PLAN, gpu_count: 1, region: 'us-east', storage_gb: 10, rental_hours: 1 };

test('a limit of 10 credits a day: 6 goes through, 6 more is refused with the figures; raising it lets the same token through', async ({ world, context }) => {
  await upsertPlan(world.db, PLAN, {
    gpu_model: 'Test GPU',
    vram_gb: 24,
    vcpu_per_gpu: 4,
    ram_gb_per_gpu: 16,
    price_per_gpu_hour: parseCredits('6')!,
    allowed_gpu_counts: [1],
    min_storage_gb: 10,
    max_storage_gb: 100,
    storage_price_per_gb_month: 0n,
  });
  await setCapacity(world.db, 'us-east', PLAN, 10);
  const email = randomEmail('limited');

  const { connection } = await connectClaude(world, context, {
    email,
    async onConsent(page) {
      const limit = page.getByLabel('Credits this app may spend per 24 hours');
      await expect(page.getByRole('group', { name: 'Spending limit' })).toBeVisible();
      await expect(limit).toHaveValue('50.00');
      await limit.fill('10');
      await screenshot(page, 'consent-spending-limit');
    },
  });
  const user = await world.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
  const accountId = await ensureUserAccount(world.db, user.id);
  await world.db.transaction().execute((trx) =>
    postCredit(trx, {
      accountId,
      kind: 'payment',
      bucket: 'balance',
      amount: parseCredits('100')!,
      description: 'e2e top-up',
    }),
  );

  // Calls with one access token, captured now: no refresh in between.
  const token = connection.tokens.access_token;
  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await connection.rawToolCall(name, args, token);
    expect(res.status).toBe(200);
    return ((await res.json()) as { result: CallToolResult }).result;
  };

  const quote = await call('create-instance', { ...SIX, name: 'first', dry_run: true });
  expect(quote.structuredContent).toMatchObject({
    cost: { total: '6.00' },
    balance_after: '94.00',
    spending_limit: { limit: '10.00', spent_last_24h: '0.00', headroom_after: '4.00' },
  });
  const first = await call('create-instance', { ...SIX, name: 'first' });
  expect(first.isError, JSON.stringify(first.content)).toBeFalsy();
  expect(first.structuredContent).toMatchObject({ cost: { total: '6.00' }, balance_after: '94.00' });

  const second = await call('create-instance', { ...SIX, name: 'second' });
  expect(second.isError).toBe(true);
  const message = (second.content[0] as { text: string }).text;
  expect(message).toContain(
    'you allowed this app to spend 10.00 credits per 24 hours; it has spent 6.00 in the last 24 hours, so 4.00 are left and this needs 6.00. Nothing was charged.',
  );
  expect(message).toContain(`under Connected apps: ${world.issuer}/account`);
  expect((await call('get-user-balance', {})).structuredContent).toMatchObject({ total: '94.00' });
  const instances = await world.db.selectFrom('instances').select('name').where('account_id', '=', accountId).execute();
  expect(instances.map((i) => i.name)).toEqual(['first']);

  // The connected-apps page (the browser is still signed in from connecting) shows it and raises it.
  const page = await context.newPage();
  await page.goto(`${world.issuer}/account`);
  await expect(page.getByText('Spent in the last 24 h: 6.00 / 10.00 credits')).toBeVisible();
  const form = page.getByRole('form', { name: 'Limits of Claude' });
  await form.getByLabel('Credits this app may spend per 24 hours').fill('20');
  await screenshot(page, 'connected-apps-spending-limit');
  await form.getByRole('button', { name: 'Save limits for Claude' }).click();
  await expect(page.getByText("Saved: Claude's spending limit and workspaces apply from its next call.")).toBeVisible();
  await expect(page.getByText('Spent in the last 24 h: 6.00 / 20.00 credits')).toBeVisible();

  const third = await call('create-instance', { ...SIX, name: 'second' });
  expect(third.isError, JSON.stringify(third.content)).toBeFalsy();
  expect(third.structuredContent).toMatchObject({ cost: { total: '6.00' }, balance_after: '88.00' });
  await connection.close();
});
