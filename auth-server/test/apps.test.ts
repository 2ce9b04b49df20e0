// The connected-apps page: a signed-in person sees each app with its permissions and last use,
// and disconnecting one ends its refresh tokens at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@pictor/platform/clock';
import { ensureUser, ensureUserAccount } from '@pictor/mcp-server/pictor/accounts';
import { recordActivity } from '@pictor/mcp-server/pictor/activity';
import { csrf, formAction } from './support/browser.ts';
import { completeSignin, confirmLink, connect, exchangeCode, randomEmail, refresh, requestLink, shownCode, startHarness } from './support/harness.ts';

test('list, then disconnect: the app’s refresh token stops working at once', async (t) => {
  const h = await startHarness(t);
  const email = randomEmail();
  const writer = await h.register({ client_name: 'Writer App' });
  const reader = await h.register({ client_name: 'Reader App' });
  const first = await connect(h, { client: writer, email, scope: 'pictor:read instances:write' });
  const writerTokens = await exchangeCode(h, writer, first.callback, first.pkce.verifier);
  const second = await connect(h, { client: reader, email, browser: first.browser, scope: 'pictor:read' });
  const readerTokens = await exchangeCode(h, reader, second.callback, second.pkce.verifier);

  const page = await first.browser.get('/account');
  assert.equal(page.status, 200);
  assert.match(page.body, /Connected apps/);
  assert.match(page.body, new RegExp(`Signed in as <strong>${email}</strong>`));
  assert.match(page.body, /Writer App/);
  assert.match(page.body, /Reader App/);
  assert.match(page.body, /<li title="instances:write">Create, start, stop, extend, rename and delete GPU instances \(spends credit\)<\/li>/);
  assert.match(page.body, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/); // last used

  // Without the form's CSRF token nothing happens.
  assert.equal((await first.browser.post('/account/revoke', { client_id: writer.client_id })).status, 403);
  assert.equal((await refresh(h, writer, writerTokens.body.refresh_token ?? '')).status, 200);

  const writerForm = [...page.body.matchAll(/<form method="post" action="\/account\/revoke">[\s\S]*?<\/form>/g)].find((m) => m[0].includes(writer.client_id));
  assert.ok(writerForm);
  const after = await first.browser.post('/account/revoke', { client_id: writer.client_id, _csrf: csrf(page) });
  assert.equal(after.status, 200);
  assert.match(after.body, /Writer App was disconnected/);
  assert.doesNotMatch(after.body, /<strong>Writer App<\/strong>/);
  assert.match(after.body, /Reader App/);

  const refused = await refresh(h, writer, writerTokens.body.refresh_token ?? '');
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error, 'invalid_grant');
  // The other app is untouched.
  assert.equal((await refresh(h, reader, readerTokens.body.refresh_token ?? '')).status, 200);
  const audit = await h.db.selectFrom('auth_audit_events').select('client_id').where('type', '=', 'app.revoked').execute();
  assert.deepEqual(audit, [{ client_id: writer.client_id }]);
  // The MCP server refuses the app's access tokens issued before this (see mcp-server revocations).
  const revoked = await h.db
    .selectFrom('token_revocations')
    .innerJoin('users', 'users.id', 'token_revocations.user_id')
    .select('token_revocations.client_id')
    .where('users.email', '=', email)
    .execute();
  assert.deepEqual(revoked, [{ client_id: writer.client_id }]);
});

test('an app’s last use is recorded by its refreshes, to the minute, and the connection is recorded again if it was missing', async (t) => {
  const clock = new ManualClock(new Date());
  const h = await startHarness(t, { clock });
  const client = await h.register({ client_name: 'Refreshing App' });
  const { callback, pkce: p } = await connect(h, { client, email: randomEmail() });
  let token = (await exchangeCode(h, client, callback, p.verifier)).body.refresh_token ?? '';
  const connection = () =>
    h.db
      .selectFrom('auth_connections')
      .select(['first_authorized_at', 'last_used_at', 'client_name'])
      .where('client_id', '=', client.client_id)
      .executeTakeFirst();
  const refreshed = async () => {
    const res = await refresh(h, client, token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    token = res.body.refresh_token ?? '';
  };
  const connectedAt = clock.now().getTime();
  assert.equal((await connection())?.last_used_at.getTime(), connectedAt);

  clock.advance(30_000);
  await refreshed();
  assert.equal((await connection())?.last_used_at.getTime(), connectedAt, 'within the minute: not rewritten');
  clock.advance(31_000);
  await refreshed();
  assert.equal((await connection())?.last_used_at.getTime(), clock.now().getTime(), 'a minute later: the new last use');

  await h.db.deleteFrom('auth_connections').where('client_id', '=', client.client_id).execute();
  clock.advance(1_000);
  await refreshed();
  const again = await connection();
  assert.equal(again?.first_authorized_at.getTime(), clock.now().getTime());
  assert.equal(again?.last_used_at.getTime(), clock.now().getTime());
  assert.equal(again?.client_name, 'Refreshing App');
});

test('a person can sign in on the connected-apps page with a magic link, from any browser', async (t) => {
  const h = await startHarness(t);
  const email = randomEmail();
  const client = await h.register({ client_name: 'Some App' });
  const { callback, pkce } = await connect(h, { client, email });
  await exchangeCode(h, client, callback, pkce.verifier);

  const laptop = h.browser();
  const login = await laptop.get('/account');
  assert.match(login.body, /see and manage the apps connected/);
  const { waiting, mail } = await requestLink(h, laptop, login, email);
  assert.match(mail.link, /\/account\/signin\/[\w-]+\/link\?token=/);
  await confirmLink(h.browser(), mail.link, shownCode(waiting)); // opened on a phone, the laptop's code typed in
  const apps = await completeSignin(laptop, waiting);
  assert.match(apps.body, /Some App/);

  // Signing out ends it.
  await laptop.post(formAction(apps, '/signout'), { _csrf: csrf(apps) });
  assert.match((await laptop.get('/account')).body, /name="email"/);
});

test('with no connected apps the page says so', async (t) => {
  const h = await startHarness(t);
  const browser = h.browser();
  const login = await browser.get('/account');
  const { waiting, mail } = await requestLink(h, browser, login, randomEmail());
  await confirmLink(browser, mail.link);
  const page = await completeSignin(browser, waiting);
  assert.match(page.body, /No apps are connected/);
});

test("the page shows what each app did and the account's activity, escaped and paginated, and only the person's own", async (t) => {
  const h = await startHarness(t);
  const email = randomEmail();
  const writer = await h.register({ client_name: 'Writer App' });
  const reader = await h.register({ client_name: 'Reader App' });
  const first = await connect(h, { client: writer, email, scope: 'pictor:read instances:write' });
  await exchangeCode(h, writer, first.callback, first.pkce.verifier);
  const second = await connect(h, { client: reader, email, browser: first.browser, scope: 'pictor:read' });
  await exchangeCode(h, reader, second.callback, second.pkce.verifier);
  const me = await h.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
  const account = await ensureUserAccount(h.db, me.id);
  const stranger = await ensureUser(h.db, randomEmail());

  let minute = 0;
  const clock = { now: () => new Date(Date.UTC(2026, 2, 1, 12, minute++)) };
  const entry = { userId: me.id, accountId: account, targetId: null, amountMicro: 0n, outcome: 'ok', detail: {} };
  // 24 by the writer (one refused, one charging, one with markup in its target), 1 by the reader
  for (let i = 0; i < 21; i++) await recordActivity(h.db, clock, { ...entry, clientId: writer.client_id, tool: 'rename-instance' });
  await recordActivity(h.db, clock, { ...entry, clientId: writer.client_id, tool: 'create-instance', outcome: 'insufficient_role' });
  await recordActivity(h.db, clock, { ...entry, clientId: writer.client_id, tool: 'create-instance', amountMicro: -12_500_000n, targetId: 'inst-1' });
  await recordActivity(h.db, clock, { ...entry, clientId: writer.client_id, tool: 'delete-instance', targetId: '<script>x</script>' });
  await recordActivity(h.db, clock, { ...entry, clientId: reader.client_id, tool: 'create-ssh-key' });
  await recordActivity(h.db, clock, { ...entry, userId: stranger.id, accountId: null, clientId: writer.client_id, tool: 'stop-instance' });

  const page = await first.browser.get('/account');
  assert.equal(page.status, 200);
  assert.match(page.body, /Recent activity/);
  const rows = (body: string) => [...body.matchAll(/<tr>\s*<td class="muted small nowrap">/g)].length;
  assert.equal(rows(page.body), 20, 'the first page holds 20 entries');
  // newest first: the reader's, then the writer's latest
  assert.ok(page.body.indexOf('create-ssh-key') < page.body.indexOf('<code>delete-instance</code>'));
  assert.match(page.body, /&lt;script&gt;x&lt;\/script&gt;/);
  assert.doesNotMatch(page.body, /<script>x<\/script>/);
  assert.match(page.body, /−12\.50 credits/);
  assert.match(page.body, /refused: insufficient role/);
  assert.doesNotMatch(page.body, /stop-instance/, "another person's entries never show");
  // each app's row shows its latest entries and links to all of them
  const writerRow = page.body.slice(
    page.body.indexOf('<strong>Writer App</strong>'),
    page.body.indexOf('</tr>', page.body.indexOf('<strong>Writer App</strong>')),
  );
  assert.match(writerRow, /delete-instance done/);
  assert.match(writerRow, /create-instance done, −12\.50 credits/);
  assert.match(writerRow, new RegExp(`href="/account\\?app=${writer.client_id}#activity"`));

  const older = /href="([^"]+)" rel="next"/.exec(page.body)?.[1]?.replace(/&amp;/g, '&');
  assert.ok(older, 'a link to older entries');
  const second2 = await first.browser.get(older);
  assert.equal(rows(second2.body), 5);
  assert.doesNotMatch(second2.body, /rel="next"/, 'the last page has no older link');

  const onlyReader = await first.browser.get(`/account?app=${encodeURIComponent(reader.client_id)}`);
  assert.match(onlyReader.body, /Activity of Reader App/);
  assert.equal(rows(onlyReader.body), 1);
  // a forged cursor starts from the first page; another app's id shows nothing of anyone
  assert.equal(rows((await first.browser.get('/account?before=forged')).body), 20);
  assert.equal(rows((await first.browser.get('/account?app=%3Cb%3Enot-mine')).body), 0);
  assert.doesNotMatch((await first.browser.get('/account?app=%3Cb%3Enot-mine')).body, /<b>not-mine/);
});
