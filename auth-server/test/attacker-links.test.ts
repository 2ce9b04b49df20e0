// Links anyone can craft and send to a person: before anyone signs in they never bounce the
// browser to a self-registered client's URI (Pictor is no open redirector, RFC 9700 §4.11.2), and
// no text from the link appears on a Pictor page as if Pictor said it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLAUDE_CLIENT_ID, STATIC_CLIENTS } from '../src/oauth/clients.ts';
import { csrf } from './support/browser.ts';
import { authorizeUrl, connect, exchangeCode, randomEmail, startHarness } from './support/harness.ts';

test("errors at /auth for a self-registered client show Pictor's page; Claude's still go back to Claude", async (t) => {
  const h = await startHarness(t);
  const client = await h.register({ client_name: 'Bouncer', redirect_uris: ['https://attacker.example/cb'] });
  const cases: Array<{ name: string; error: string; o: Partial<Parameters<typeof authorizeUrl>[1]> }> = [
    { name: 'bad scope', error: 'invalid_scope', o: { scope: 'pictor:read "evil' } },
    { name: 'no PKCE', error: 'invalid_request', o: { pkce: null } },
    { name: 'unknown resource', error: 'invalid_target', o: { resource: 'https://elsewhere.example/api' } },
    { name: 'unsupported response_type', error: 'unsupported_response_type', o: { extra: { response_type: 'token' } } },
    { name: 'prompt=none with nobody signed in', error: 'login_required', o: { extra: { prompt: 'none' } } },
  ];
  for (const { name, error, o } of cases) {
    const page = await h.browser().get(authorizeUrl(h, { client, ...o }));
    assert.equal(page.leftTo, undefined, `${name}: redirected to ${page.leftTo}`);
    assert.equal(page.status, 400, name);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/, name);
    assert.match(page.body, new RegExp(`<code>${error}</code>`), name);
    assert.doesNotMatch(page.body, /attacker\.example/, name);
  }

  // Claude is known to Pictor: its errors go back to it, which shows them in its own interface.
  const claude = STATIC_CLIENTS.find((c) => c.client_id === CLAUDE_CLIENT_ID);
  assert.ok(claude?.redirect_uris);
  const claudeClient = { client_id: CLAUDE_CLIENT_ID, redirect_uris: [...claude.redirect_uris] };
  const refused = await h.browser().get(authorizeUrl(h, { client: claudeClient, pkce: null }));
  const back = new URL(refused.leftTo ?? 'x:/');
  assert.equal(`${back.origin}${back.pathname}`, claudeClient.redirect_uris[0]);
  assert.equal(back.searchParams.get('error'), 'invalid_request');
  // After sign-in a refusal (consent denied) still goes back to the app: tokens.test.ts.
});

test("/account?revoked= names only an app of the person's, from the database, never the link's text", async (t) => {
  const h = await startHarness(t);
  const client = await h.register({ client_name: 'Writer App' });
  const mine = await connect(h, { client, email: randomEmail() });
  await exchangeCode(h, client, mine.callback, mine.pkce.verifier);
  const other = await h.register({ client_name: 'Someone Else App' });
  const theirs = await connect(h, { client: other, email: randomEmail() });
  await exchangeCode(h, other, theirs.callback, theirs.pkce.verifier);

  const browser = mine.browser;
  for (const revoked of ['Your account is locked. Call +1 555 0100', other.client_id, CLAUDE_CLIENT_ID, '']) {
    const page = await browser.get(`/account?revoked=${encodeURIComponent(revoked)}`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<strong>Writer App<\/strong>/); // signed in, the page itself shows
    assert.doesNotMatch(page.body, /was disconnected/, revoked);
    assert.doesNotMatch(page.body, /Call \+1|Someone Else App|Claude/, revoked);
  }

  // Disconnecting the person's own app names it, with the name Pictor stored.
  const page = await browser.get('/account');
  const after = await browser.post('/account/revoke', { client_id: client.client_id, _csrf: csrf(page) });
  assert.match(after.body, /<p class="notice" role="status">Writer App was disconnected\./);
  // ... and the same link with the id gives that name, not what follows it in the URL.
  const crafted = await browser.get(`/account?revoked=${encodeURIComponent(client.client_id)}&revoked=Evil`);
  assert.doesNotMatch(crafted.body, /Evil/);
});
