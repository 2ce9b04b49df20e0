// A sign-in link is bound to the browser that asked for it (issue 9 §1): a genuine mail opened by
// its owner cannot finish someone else's request for their address. From another browser the
// link needs the code shown in the asking window, within CODE_TRIES tries; the mail never holds
// the code, and names the app (unverified when it registered itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE_TRIES } from '../src/signin/magic-links.ts';
import { CLAUDE_CLIENT_ID, STATIC_CLIENTS } from '../src/oauth/clients.ts';
import { csrf, formAction, type Browser, type Page } from './support/browser.ts';
import {
  authorizeUrl,
  completeSignin,
  confirmLink,
  randomEmail,
  requestLink,
  shownCode,
  startHarness,
  type Harness,
  type Registered,
  TEST_WINDOW_SECONDS,
} from './support/harness.ts';

/** The attacker's (or the person's own) window: authorization started, email submitted. */
async function asked(h: Harness, email: string, client?: Registered) {
  const browser = h.browser();
  const login = await browser.get(authorizeUrl(h, { client: client ?? (await h.register({ client_name: 'Claude' })) }));
  const { waiting, mail } = await requestLink(h, browser, login, email);
  const uid = new URL(waiting.url).pathname.split('/')[2] ?? '';
  return { browser, waiting, mail, uid, code: shownCode(waiting), token: new URL(mail.link).searchParams.get('token') ?? '' };
}

/** Posts the confirm page of `link` in `browser` with `code` (or none). */
async function submit(browser: Browser, link: string, code?: string): Promise<Page> {
  const page = await browser.get(link);
  return browser.post(formAction(page, '/link'), { token: new URL(link).searchParams.get('token') ?? '', _csrf: csrf(page), code });
}

async function linkRow(h: Harness, uid: string) {
  return h.db
    .selectFrom('auth_magic_links')
    .select(['confirmed_at', 'code_attempts', 'expires_at', 'browser_hash'])
    .where('flow_id', '=', uid)
    .executeTakeFirstOrThrow();
}

test("the owner of the address opening the genuine mail of someone else's request and pressing Sign in signs in nobody", async (t) => {
  const h = await startHarness(t);
  const victim = randomEmail('victim');
  const attacker = await asked(h, victim);

  const victimBrowser = h.browser();
  const confirmPage = await victimBrowser.get(attacker.mail.link);
  assert.match(confirmPage.body, /If you did not just try to sign in somewhere, close this page/);
  assert.match(confirmPage.body, /Type the code that window shows/);
  const pressed = await submit(victimBrowser, attacker.mail.link);
  assert.equal(pressed.status, 200);
  assert.match(pressed.body, /name="code"/); // asked again; nothing happened
  assert.doesNotMatch(pressed.body, /You're signed in/);

  const row = await linkRow(h, attacker.uid);
  assert.equal(row.confirmed_at, null);
  assert.equal(row.code_attempts, 0, 'an empty submission uses no try');
  assert.deepEqual(await (await attacker.browser.fetch(`/interaction/${attacker.uid}/status`)).json(), { status: 'pending' });
  const stillWaiting = await completeSignin(attacker.browser, attacker.waiting);
  assert.match(stillWaiting.body, /has not been confirmed yet/);
  assert.equal(await h.db.selectFrom('users').select('id').where('email', '=', victim).executeTakeFirst(), undefined);
});

test(`a wrong code uses one of ${CODE_TRIES} tries; the last one kills the link for everyone, the right code included`, async (t) => {
  const h = await startHarness(t);
  const { browser: asking, waiting, mail, uid, code } = await asked(h, randomEmail());
  const other = h.browser();
  const form = await other.get(mail.link);
  const wrong = code === 'ZZZ-ZZZ' ? 'YYY-YYY' : 'ZZZ-ZZZ';
  for (let left = CODE_TRIES - 1; left > 0; left--) {
    const page = await submit(other, mail.link, wrong);
    assert.equal(page.status, 400);
    assert.match(page.body, new RegExp(`${left} tr(y|ies) left`));
    assert.equal((await linkRow(h, uid)).code_attempts, CODE_TRIES - left);
  }
  const last = await submit(other, mail.link, wrong);
  assert.equal(last.status, 400);
  assert.match(last.body, /This link no longer works/);

  const row = await linkRow(h, uid);
  assert.equal(row.code_attempts, CODE_TRIES);
  assert.equal(row.confirmed_at, null);
  for (const browser of [other, asking]) {
    const refused = await browser.get(mail.link);
    assert.equal(refused.status, 400);
    assert.match(refused.body, /no longer works/);
  }
  // The confirm POST with the right code, or from the asking browser itself, is refused too.
  const token = new URL(mail.link).searchParams.get('token') ?? '';
  const late = await other.post(new URL(mail.link).pathname, { token, code, _csrf: csrf(form) });
  assert.match(late.body, /no longer works/);
  assert.equal((await linkRow(h, uid)).confirmed_at, null);
  // The asking window goes back to the email form.
  assert.match((await asking.get(new URL(waiting.url).pathname)).body, /name="email"/);
});

test('parallel guesses get no more than the tries: the count is taken atomically', async (t) => {
  const h = await startHarness(t, {
    tweak: (c) => {
      c.limits.linkConfirmPerLink = { limit: 100, windowSeconds: TEST_WINDOW_SECONDS };
    },
  });
  const { mail, uid, code } = await asked(h, randomEmail());
  const other = h.browser();
  const page = await other.get(mail.link);
  const token = new URL(mail.link).searchParams.get('token') ?? '';
  const guesses = Array.from({ length: 3 * CODE_TRIES }, (_, i) => `Q${String(i).padStart(2, '2')}-ZZZ`).filter((g) => g !== code);
  const answers = await Promise.all(guesses.map((guess) => other.post(formAction(page, '/link'), { token, code: guess, _csrf: csrf(page) })));
  assert.equal(answers.filter((a) => /tr(y|ies) left/.test(a.body)).length, CODE_TRIES - 1);
  assert.ok(answers.every((a) => a.status === 400));
  assert.equal((await linkRow(h, uid)).code_attempts, CODE_TRIES);
  assert.match((await other.post(formAction(page, '/link'), { token, code, _csrf: csrf(page) })).body, /no longer works/);
});

test('the confirmation is claimed only by the browser that asked, never by the one that typed the code', async (t) => {
  const h = await startHarness(t);
  const { browser: asking, waiting, mail, uid, code } = await asked(h, randomEmail());
  const phone = h.browser();
  const form = await phone.get(mail.link);
  const confirmed = await confirmLink(phone, mail.link, code);
  assert.match(confirmed.body, /You're signed in/);
  assert.doesNotMatch(confirmed.body, /Continue in this window/);
  assert.deepEqual(await (await phone.fetch(`/interaction/${uid}/status`)).json(), { status: 'ended' });
  const stolen = await phone.post(`/interaction/${uid}/complete`, { _csrf: csrf(form) });
  assert.equal(stolen.status, 400);
  assert.match((await completeSignin(asking, waiting)).body, /Connect Claude to Pictor/);
  // The binding cookie is cleared once used.
  assert.equal(asking.hasCookie(`pictor_bind_${uid}`), false);
});

test('the sign-in link and code are stored as designed: the browser secret only as a hash, the code never mailed', async (t) => {
  const h = await startHarness(t);
  const email = randomEmail();
  const { mail, uid, code } = await asked(h, email);
  const row = await linkRow(h, uid);
  assert.equal(row.browser_hash.length, 32);
  for (const part of [mail.subject, mail.text, mail.html]) assert.ok(!part.includes(code), `the mail shows the code: ${part}`);
  assert.ok(!mail.text.includes(code.replace('-', '')));
});

test('the mail names the app, says unverified for a self-registered one, and says to ignore it otherwise', async (t) => {
  const h = await startHarness(t);
  const { mail } = await asked(h, randomEmail());
  assert.match(mail.text, /connect the app Claude \(unverified: this app named itself\) to the Pictor account/);
  assert.match(mail.text, /If you did not just try to connect an app to Pictor, ignore this mail/);
  assert.match(mail.html, /unverified: this app named itself/);
  assert.doesNotMatch(mail.subject, /Claude/); // a self-chosen name stays out of the subject

  // Claude's pre-registered client is verified: no "unverified".
  const claude = STATIC_CLIENTS.find((c) => c.client_id === CLAUDE_CLIENT_ID)!;
  const verified = await asked(h, randomEmail(), { client_id: claude.client_id, redirect_uris: [...(claude.redirect_uris ?? [])] });
  assert.match(verified.mail.text, /connect the app Claude to the Pictor account/);
  assert.doesNotMatch(verified.mail.text, /unverified/);

  // The connected-apps page's sign-in says what it is for.
  const browser = h.browser();
  const accountMail = await requestLink(h, browser, await browser.get('/account'), randomEmail());
  assert.match(accountMail.mail.text, /sign in to the Connected apps page/);
  assert.match(accountMail.mail.text, /If you did not just try to sign in to Pictor, ignore this mail/);
  assert.ok(!accountMail.mail.text.includes(shownCode(accountMail.waiting)));
});

test('the confirm endpoint is rate limited per link and per IP', async (t) => {
  const h = await startHarness(t, {
    tweak: (c) => {
      c.limits.linkConfirmPerLink = { limit: 3, windowSeconds: TEST_WINDOW_SECONDS };
      c.limits.linkConfirmPerIp = { limit: 5, windowSeconds: TEST_WINDOW_SECONDS };
    },
  });
  const first = await asked(h, randomEmail());
  const other = h.browser();
  for (let i = 0; i < 3; i++) assert.equal((await submit(other, first.mail.link)).status, 200); // empty: asked again
  const limited = await submit(other, first.mail.link, first.code);
  assert.equal(limited.status, 429);
  assert.match(limited.body, /Too many attempts/);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  assert.equal((await linkRow(h, first.uid)).confirmed_at, null, 'the limited try did nothing');

  // Per IP: another link from the same address runs out after the IP's budget (5, 4 used).
  const second = await asked(h, randomEmail());
  assert.match((await submit(other, second.mail.link, second.code === 'ZZZ-ZZZ' ? 'YYY-YYY' : 'ZZZ-ZZZ')).body, /tries left/);
  assert.equal((await submit(other, second.mail.link, second.code)).status, 429);
});

test("the connected-apps sign-in is bound the same way: the victim confirming the attacker's request signs in nobody", async (t) => {
  const h = await startHarness(t);
  const victim = randomEmail('victim');
  const attacker = h.browser();
  const { waiting, mail } = await requestLink(h, attacker, await attacker.get('/account'), victim);
  const code = shownCode(waiting);
  const pressed = await submit(h.browser(), mail.link);
  assert.match(pressed.body, /name="code"/);
  assert.match(pressed.body, /the Connected apps page of your Pictor account/);
  const stillWaiting = await completeSignin(attacker, waiting);
  assert.match(stillWaiting.body, /has not been confirmed yet/);
  assert.deepEqual(await (await attacker.fetch(`${new URL(waiting.url).pathname}/status`)).json(), { status: 'pending' });
  // With the code (the person's own two devices) it works.
  assert.match((await confirmLink(h.browser(), mail.link, code)).body, /You're signed in/);
  assert.match((await completeSignin(attacker, waiting)).body, /No apps are connected/);
});
