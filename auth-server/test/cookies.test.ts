// Cookie names: with an https issuer every cookie the server sets is `__Host-` (Secure, Path=/, no
// Domain), except oidc-provider's two cookies scoped to one authorization request's path, which
// are `__Secure-`. The server runs behind a TLS-terminating proxy there, so the test speaks plain
// HTTP to it with X-Forwarded-Proto: https, as that proxy would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '@pictor/platform/local-postgres';
import { ownCookie, providerCookieNames } from '../src/cookies.ts';
import { csrf, formAction } from './support/browser.ts';
import { authorizeUrl, confirmLink, randomEmail, requestLink, startHarness } from './support/harness.ts';

test('cookie names: unprefixed and path-scoped over http; __Host- with Path=/ over https', () => {
  assert.deepEqual(ownCookie('pictor_account', { secure: false, path: '/account', signed: true }), {
    name: 'pictor_account',
    options: { httpOnly: true, sameSite: 'lax', secure: false, path: '/account', overwrite: true, signed: true },
  });
  assert.deepEqual(ownCookie('pictor_account', { secure: true, path: '/account', signed: true }), {
    name: '__Host-pictor_account',
    options: { httpOnly: true, sameSite: 'lax', secure: true, path: '/', overwrite: true, signed: true },
  });
  assert.deepEqual(providerCookieNames(false), { session: 'pictor_session', interaction: 'pictor_interaction', resume: 'pictor_resume' });
  assert.deepEqual(providerCookieNames(true), {
    session: '__Host-pictor_session',
    interaction: '__Secure-pictor_interaction',
    resume: '__Secure-pictor_resume',
  });
});

test('https issuer: every Set-Cookie of a whole sign-in (OAuth and connected apps) is __Host- or, path-scoped, __Secure-', async (t) => {
  const port = await freePort();
  const https = `https://127.0.0.1:${port}`;
  const h = await startHarness(t, { port, env: { AUTH_ISSUER: https, TRUST_PROXY: 'true' } });
  const viaProxy = { 'x-forwarded-proto': 'https' };
  const reachable = (url: string) => url.replace(https, h.issuer); // the proxy's public URL → this process

  // OAuth: authorize → email → link (same browser) → continue → resume at /auth/:uid (session cookie).
  const browser = h.browser(viaProxy);
  const login = await browser.get(authorizeUrl(h, { client: await h.register() }));
  const email = randomEmail();
  const { waiting, mail } = await requestLink(h, browser, login, email);
  assert.ok(mail.link.startsWith(`${https}/interaction/`));
  const uid = new URL(waiting.url).pathname.split('/')[2];
  assert.match((await confirmLink(browser, reachable(mail.link))).body, /You're signed in/);
  const resumed = await browser.post(formAction(waiting, '/complete'), { _csrf: csrf(waiting) });
  assert.ok(resumed.leftTo?.startsWith(`${https}/auth/`), 'hands back to oidc-provider');
  assert.match((await browser.get(reachable(resumed.leftTo ?? ''))).body, /Connect Test Client to Pictor/);

  // The connected-apps page's own sign-in.
  const other = h.browser(viaProxy);
  const accountLogin = await other.get('/account');
  const attempt = new URL(accountLogin.url).pathname.split('/')[3];
  const account = await requestLink(h, other, accountLogin, email);
  await confirmLink(other, reachable(account.mail.link));
  const apps = await other.post(formAction(account.waiting, '/complete'), { _csrf: csrf(account.waiting) });
  assert.match(apps.body, /Connected apps|No apps are connected/);

  const lines = [...browser.setCookies, ...other.setCookies];
  const names = new Set(lines.map((line) => line.slice(0, line.indexOf('='))));
  for (const expected of [
    '__Host-pictor_csrf',
    `__Host-pictor_bind_${uid}`,
    '__Host-pictor_session',
    '__Secure-pictor_interaction',
    '__Secure-pictor_resume',
    '__Host-pictor_signin',
    `__Host-pictor_bind_${attempt}`,
    '__Host-pictor_account',
  ])
    assert.ok(names.has(expected), `${expected} among ${[...names].join(', ')}`);
  for (const line of lines) {
    const [name = '', ...attributes] = line.split(';').map((part) => part.trim().toLowerCase());
    assert.ok(attributes.includes('secure'), `Secure: ${line}`);
    assert.ok(!attributes.some((a) => a.startsWith('domain=')), `no Domain: ${line}`);
    if (/^__secure-pictor_(interaction|resume)(\.sig)?=/.test(name)) continue;
    assert.ok(name.startsWith('__host-'), `__Host- prefix: ${line}`);
    assert.ok(attributes.includes('path=/'), `Path=/: ${line}`);
  }
});
