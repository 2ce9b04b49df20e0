// The cross-browser magic link in a real browser (Chromium, two contexts = two browsers): the
// phone types the code the laptop shows, and the laptop's waiting page notices the confirmation
// and carries on to consent by itself.
// Skipped when no Chromium is installed; magic-link.test.ts covers the same at the HTTP level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';
import { authorizeUrl, randomEmail, startHarness } from './support/harness.ts';

const CHROMIUM = '/usr/bin/chromium';

test('a link confirmed in another browser lets the asking window continue by itself', {
  skip: !existsSync(CHROMIUM) && 'no Chromium at /usr/bin/chromium',
}, async (t) => {
  const h = await startHarness(t);
  const client = await h.register({ client_name: 'Browser Test App' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const laptop = await (await browser.newContext()).newPage();
  const phone = await (await browser.newContext()).newPage();
  const email = randomEmail();

  await laptop.goto(authorizeUrl(h, { client, scope: 'pictor:read instances:write' }));
  await laptop.getByLabel('Email').fill(email);
  await laptop.getByRole('button', { name: 'Email me a sign-in link' }).click();
  const laptopCode = (await laptop.getByLabel('Sign-in code').textContent()) ?? '';

  // The phone has none of the laptop's cookies: its confirm page asks for the laptop's code.
  const mail = await h.sink.next(email);
  await phone.goto(mail.link);
  assert.equal(await phone.getByLabel('Sign-in code').count(), 0);
  await phone.getByLabel('Code from the other window').fill(laptopCode);
  await phone.getByRole('button', { name: 'Sign in' }).click();
  await phone.getByText("You're signed in").waitFor();
  assert.equal(await phone.getByText('Continue in this window instead').count(), 0);

  // Nobody touches the laptop: its page polls, sees the confirmation and goes on to consent.
  await laptop.getByRole('heading', { name: 'Connect Browser Test App to Pictor' }).waitFor({ timeout: 15_000 });
  assert.equal(await laptop.getByRole('checkbox', { name: /See GPU plans/ }).isDisabled(), true);
  await laptop.getByRole('checkbox', { name: /Create, start, stop/ }).uncheck();
  const [request] = await Promise.all([
    laptop.waitForRequest((r) => r.url().startsWith('https://client.example/callback')),
    laptop.getByRole('button', { name: 'Allow' }).click(),
  ]);
  const callback = new URL(request.url());
  assert.ok(callback.searchParams.get('code'));
});
