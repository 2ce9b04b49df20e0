// Magic-link sign-in: single use, bound to its sign-in request, expiring, safe against mail
// scanners, working across browsers (with the asking window's code), the same answer for every
// address, rate limited, and honest when mail cannot be sent. signin-binding.test.ts covers the
// binding to the asking browser and the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ManualClock } from '@pictor/platform/clock';
import { csrf, formAction, type Page } from './support/browser.ts';
import {
  authorizeUrl,
  completeSignin,
  confirmLink,
  randomEmail,
  requestLink,
  shownCode,
  startHarness,
  type Harness,
  TEST_WINDOW_SECONDS,
} from './support/harness.ts';

const codeOn = (page: Page) => /aria-label="Sign-in code">([^<]+)</.exec(page.body)?.[1];

async function loginPage(h: Harness, browser = h.browser()) {
  const client = await h.register();
  const page = await browser.get(authorizeUrl(h, { client }));
  assert.match(page.body, /name="email"/);
  return { browser, page, client };
}

test('cross-browser: the link opened in another browser, with the code the asking window shows typed in, signs in that window, which carries on by itself', async (t) => {
  const h = await startHarness(t);
  const { browser: asking, page } = await loginPage(h);
  const email = randomEmail();
  const { waiting, mail } = await requestLink(h, asking, page, email);
  assert.ok(mail.link.startsWith(`${h.issuer}/interaction/`));
  assert.equal(new URL(mail.link).searchParams.get('token')?.length, 43); // 32 random bytes

  // Only the asking window shows the code; the phone's confirm page asks for it.
  const code = shownCode(waiting);
  assert.match(code, /^[2-9A-Z]{3}-[2-9A-Z]{3}$/);
  const phone = h.browser();
  const confirmPage = await phone.get(mail.link);
  assert.equal(confirmPage.status, 200);
  assert.equal(codeOn(confirmPage), undefined);
  assert.ok(!confirmPage.body.includes(code));
  assert.match(confirmPage.body, /name="code"/);

  // The asking window's poll says pending until the link is confirmed.
  const statusUrl = `${new URL(waiting.url).pathname}/status`;
  assert.deepEqual(await (await asking.fetch(statusUrl)).json(), { status: 'pending' });
  const signedIn = await confirmLink(phone, mail.link, code.toLowerCase().replace('-', ' ')); // typed loosely
  assert.equal(signedIn.status, 200);
  assert.match(signedIn.body, /You're signed in/);
  assert.doesNotMatch(signedIn.body, /Continue in this window/); // the phone is not the asking browser
  assert.deepEqual(await (await asking.fetch(statusUrl)).json(), { status: 'confirmed' });
  // The phone cannot see or finish the asking window's sign-in.
  assert.deepEqual(await (await phone.fetch(statusUrl)).json(), { status: 'ended' });
  const stolen = await phone.post(`${new URL(waiting.url).pathname}/complete`, { _csrf: csrf(confirmPage) });
  assert.equal(stolen.status, 400);

  // The asking window carries on (what its script does on "confirmed"): on to consent.
  const next = await completeSignin(asking, waiting);
  assert.equal(next.status, 200);
  assert.match(next.body, /Connect Test Client to Pictor/);
  assert.match(next.body, new RegExp(`Signed in as <strong>${email}</strong>`));
});

test('same browser: the confirm page asks for no code, and may continue right there', async (t) => {
  const h = await startHarness(t);
  const { browser, page } = await loginPage(h);
  const { waiting, mail } = await requestLink(h, browser, page, randomEmail());
  const confirmPage = await browser.get(mail.link);
  assert.doesNotMatch(confirmPage.body, /name="code"/);
  assert.ok(!confirmPage.body.includes(shownCode(waiting)));
  const signedIn = await confirmLink(browser, mail.link);
  assert.match(signedIn.body, /Continue in this window instead/);
  const next = await browser.post(formAction(signedIn, '/complete'), { _csrf: csrf(signedIn) });
  assert.match(next.body, /Connect Test Client to Pictor/);
});

test('mail scanners opening the link do not use it; a replayed link is refused', async (t) => {
  const h = await startHarness(t);
  const { browser, page } = await loginPage(h);
  const { waiting, mail } = await requestLink(h, browser, page, randomEmail());
  const scanner = h.browser();
  for (let i = 0; i < 3; i++) assert.equal((await scanner.get(mail.link)).status, 200);
  assert.match((await confirmLink(h.browser(), mail.link, shownCode(waiting))).body, /You're signed in/);

  const replayGet = await h.browser().get(mail.link);
  assert.equal(replayGet.status, 400);
  assert.match(replayGet.body, /already used/);
  // Replaying the confirm POST (with a fresh page's CSRF token) is refused the same way.
  const attacker = h.browser();
  const attackerPage = await attacker.get(`${h.issuer}/account`);
  const replayPost = await attacker.post(new URL(mail.link).pathname, {
    token: new URL(mail.link).searchParams.get('token') ?? '',
    _csrf: csrf(attackerPage),
  });
  assert.equal(replayPost.status, 400);
  assert.match(replayPost.body, /already used/);
  // The asking window still finishes once, and only once.
  assert.match((await completeSignin(browser, waiting)).body, /Connect Test Client/);
});

test('an expired link is refused with a clear page', async (t) => {
  const clock = new ManualClock(new Date());
  const h = await startHarness(t, { clock });
  const { browser, page } = await loginPage(h);
  const { mail } = await requestLink(h, browser, page, randomEmail());
  clock.advance(16 * 60 * 1000);
  const expired = await h.browser().get(mail.link);
  assert.equal(expired.status, 400);
  assert.match(expired.body, /expired/);
  const confirmAnyway = await confirmLink(h.browser(), mail.link).catch((e: Error) => e);
  assert.ok(confirmAnyway instanceof Error); // no confirm page to press
});

test('a link from another sign-in request is refused', async (t) => {
  const h = await startHarness(t);
  const a = await loginPage(h);
  const b = await loginPage(h);
  const { mail } = await requestLink(h, a.browser, a.page, randomEmail());
  const otherUid = new URL(formAction(b.page, '/login'), h.issuer).pathname.split('/')[2];
  const foreign = new URL(mail.link);
  foreign.pathname = `/interaction/${otherUid}/link`;
  const refusedGet = await b.browser.get(foreign.href);
  assert.equal(refusedGet.status, 400);
  assert.match(refusedGet.body, /belongs to another sign-in/);
  const refusedPost = await b.browser.post(foreign.pathname, { token: foreign.searchParams.get('token') ?? '', _csrf: csrf(b.page) });
  assert.equal(refusedPost.status, 400);
  assert.match(refusedPost.body, /belongs to another sign-in/);
  // ... and it did not sign in B.
  const status = await b.browser.fetch(`/interaction/${otherUid}/status`);
  assert.deepEqual(await status.json(), { status: 'none' });
});

test('an unknown or truncated token gets a clear page', async (t) => {
  const h = await startHarness(t);
  const { browser, page } = await loginPage(h);
  const { mail } = await requestLink(h, browser, page, randomEmail());
  const page2 = await h.browser().get(mail.link.slice(0, -5));
  assert.equal(page2.status, 400);
  assert.match(page2.body, /not valid/);
});

test('a newer link replaces the older one', async (t) => {
  const h = await startHarness(t);
  const { browser, page } = await loginPage(h);
  const email = randomEmail();
  const first = await requestLink(h, browser, page, email);
  const restart = await browser.get(`${new URL(first.waiting.url).pathname}?restart=1`);
  const second = await requestLink(h, browser, restart, email);
  assert.notEqual(shownCode(first.waiting), shownCode(second.waiting));
  assert.match((await h.browser().get(first.mail.link)).body, /expired/);
  assert.equal((await h.browser().get(second.mail.link)).status, 200);
});

test('only a hash of the token is stored', async (t) => {
  const h = await startHarness(t);
  const { browser, page } = await loginPage(h);
  const { mail } = await requestLink(h, browser, page, randomEmail());
  const token = new URL(mail.link).searchParams.get('token') ?? '';
  const rows = await h.db.selectFrom('auth_magic_links').selectAll().execute();
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0]?.token_hash, createHash('sha256').update(token).digest());
  assert.doesNotMatch(JSON.stringify(rows), new RegExp(token));
});

test('the same answer whether or not the address has an account; the account is created at first sign-in', async (t) => {
  const h = await startHarness(t);
  const known = randomEmail('known');
  await h.db.insertInto('users').values({ email: known }).execute();
  const unknown = randomEmail('unknown');
  const normalize = (body: string, email: string, code: string) =>
    body
      .replace(email, 'EMAIL')
      .replace(code, 'CODE')
      .replace(/value="[\w-]{43}"/g, 'value="CSRF"')
      .replace(/\/interaction\/[\w-]+/g, '/interaction/UID');

  const a = await loginPage(h);
  const knownReply = await requestLink(h, a.browser, a.page, known);
  const b = await loginPage(h);
  const unknownReply = await requestLink(h, b.browser, b.page, unknown);
  assert.equal(knownReply.waiting.status, unknownReply.waiting.status);
  assert.equal(
    normalize(knownReply.waiting.body, known, shownCode(knownReply.waiting)),
    normalize(unknownReply.waiting.body, unknown, shownCode(unknownReply.waiting)),
  );

  assert.equal(await h.db.selectFrom('users').select('id').where('email', '=', unknown).executeTakeFirst(), undefined);
  await confirmLink(h.browser(), unknownReply.mail.link, shownCode(unknownReply.waiting));
  const created = await h.db
    .selectFrom('users')
    .innerJoin('accounts', 'accounts.user_id', 'users.id')
    .select('users.id')
    .where('users.email', '=', unknown)
    .executeTakeFirst();
  assert.ok(created, 'user and account created at first sign-in');
});

test('links are rate limited per email and per IP', async (t) => {
  const h = await startHarness(t, {
    tweak: (c) => {
      c.limits.magicLinkPerEmail = { limit: 2, windowSeconds: TEST_WINDOW_SECONDS };
      c.limits.magicLinkPerIp = { limit: 4, windowSeconds: TEST_WINDOW_SECONDS };
    },
  });
  const email = randomEmail();
  const send = async (to: string) => {
    const { browser, page } = await loginPage(h);
    return browser.post(formAction(page, '/login'), { email: to, _csrf: csrf(page) });
  };
  assert.equal((await send(email)).status, 200);
  assert.equal((await send(email.toUpperCase())).status, 200);
  const limited = await send(email);
  assert.equal(limited.status, 429);
  assert.match(limited.body, /Too many sign-in emails/);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  // Per IP: other addresses from the same address run out too.
  assert.equal((await send(randomEmail())).status, 200);
  assert.equal((await send(randomEmail())).status, 429);
  assert.equal(h.sink.mails.length, 3);
});

test('the per-inbox limit counts spelling variants of one address as one: case, a +tag, a root dot', async (t) => {
  const h = await startHarness(t, {
    tweak: (c) => {
      c.limits.magicLinkPerEmail = { limit: 2, windowSeconds: TEST_WINDOW_SECONDS };
    },
  });
  const local = `ada${Date.now()}`;
  const send = async (to: string) => {
    const { browser, page } = await loginPage(h);
    return (await browser.post(formAction(page, '/login'), { email: to, _csrf: csrf(page) })).status;
  };
  assert.equal(await send(`${local}@example.com`), 200);
  // Allowed by the limit (the test's strict SMTP sink then refuses the root dot: "not sent").
  assert.equal(await send(`${local.replace('a', 'A')}+x@Example.com.`), 503);
  assert.equal(await send(`${local.toUpperCase()}+other@EXAMPLE.COM`), 429);
  assert.equal(await send(`${local}x@example.com`), 200); // another inbox has its own budget
  const buckets = await h.db.selectFrom('auth_rate_limits').select(['hits']).where('bucket', 'like', 'signin:email:%').orderBy('hits').execute();
  assert.deepEqual(
    buckets.map((b) => b.hits),
    [1, 3],
  );
  // The address is mailed as typed; only the limit's key is normalized.
  assert.deepEqual(
    h.sink.mails.map((m) => m.to),
    [`${local}@example.com`, `${local}x@example.com`],
  );
});

test('mail service down: the page says so, nothing is used up, and a retry works', async (t) => {
  const h = await startHarness(t);
  const { browser, page } = await loginPage(h);
  const email = randomEmail();
  h.sink.down = true;
  const failed = await browser.post(formAction(page, '/login'), { email, _csrf: csrf(page) });
  assert.equal(failed.status, 503);
  assert.match(failed.body, /couldn't send the email/);
  assert.equal(await h.db.selectFrom('auth_magic_links').select('id').executeTakeFirst(), undefined);

  h.sink.down = false;
  const again = await browser.get(new URL(formAction(page, '/login'), h.issuer).pathname.replace(/\/login$/, ''));
  assert.match(again.body, /name="email"/);
  const { waiting, mail } = await requestLink(h, browser, again, email);
  await confirmLink(browser, mail.link);
  assert.match((await completeSignin(browser, waiting)).body, /Connect Test Client/);
});

test('an invalid email is asked again, with no mail sent', async (t) => {
  const h = await startHarness(t);
  const { browser, page } = await loginPage(h);
  const res = await browser.post(formAction(page, '/login'), { email: 'not-an-email', _csrf: csrf(page) });
  assert.equal(res.status, 400);
  assert.match(res.body, /Enter a valid email/);
  assert.equal(h.sink.mails.length, 0);
});
