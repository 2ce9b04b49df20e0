// The connection itself: Claude's pre-registered client id (CIMD), a read-only grant and stepping
// up, an access token that expires and is refreshed, and disconnecting the app on the
// connected-apps page.
import { authorize, screenshot } from './support/person.ts';
import { SCOPES, type Scope } from '@pictor/platform/scopes';
import { challengeParams, ClaudeConnector, TokenRequestError } from './support/claude.ts';
import { connectClaude, expect, randomEmail, test } from './support/fixtures.ts';
import { pkce } from '../auth-server/test/support/harness.ts';
import { ACCESS_TOKEN_TTL_SECONDS, TOKEN_LEEWAY_SECONDS } from './support/world.ts';

const CLAUDE_CLIENT_ID = 'https://claude.ai/oauth/mcp-oauth-client-metadata';
const CLAUDE_CALLBACK = 'https://claude.ai/api/mcp/auth_callback';

test("Claude's pre-stored client id (CIMD): sign-in, consent as verified Claude, the redirect to claude.ai carries a code that works; a foreign redirect_uri is refused", async ({
  world,
  context,
}) => {
  // The browser never reaches claude.ai: names other than loopback do not resolve in it
  // (playwright.config.ts), so the redirect is seen as a request and goes nowhere. Nor does the
  // authorization server fetch the metadata document: it is stored, and there is no internet here.
  const redirects: URL[] = [];
  context.on('request', (request) => {
    if (request.url().startsWith(CLAUDE_CALLBACK)) redirects.push(new URL(request.url()));
  });
  const p = pkce();
  const url = new URL('/auth', world.issuer);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLAUDE_CLIENT_ID,
    redirect_uri: CLAUDE_CALLBACK,
    scope: 'pictor:read instances:write ssh_keys:write billing:write',
    state: 'cimd-state',
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    resource: world.mcpUrl,
  }).toString();

  // A redirect URI that is not one of Claude's is refused before any page: nothing to sign in to.
  const wrong = new URL(url);
  wrong.searchParams.set('redirect_uri', 'https://evil.example/api/mcp/auth_callback');
  const refused = await context.request.get(wrong.href, { maxRedirects: 0 });
  expect(refused.status()).toBe(400);
  expect(await refused.text()).toMatch(/redirect_uri/);

  const email = 'lin@example.com'; // the screenshot's person
  await authorize(context, url.href, {
    email,
    sink: world.sink,
    async onConsent(consent) {
      await expect(consent.getByText('Sends you back to claude.ai')).toBeVisible();
      await expect(consent.getByText(/unverified/)).toHaveCount(0);
      await screenshot(consent, '4-consent-claude-ai');
    },
  });
  await expect.poll(() => redirects.length).toBe(1);
  const callback = redirects[0]!;
  expect(`${callback.origin}${callback.pathname}`).toBe(CLAUDE_CALLBACK);
  expect(callback.searchParams.get('state')).toBe('cimd-state');
  expect(callback.searchParams.get('iss')).toBe(world.issuer);

  // What Claude's backend then does: a public client (no secret) with the verifier and resource.
  const res = await fetch(new URL('/token', world.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code') ?? '',
      redirect_uri: CLAUDE_CALLBACK,
      code_verifier: p.verifier,
      client_id: CLAUDE_CLIENT_ID,
      resource: world.mcpUrl,
    }),
  });
  expect(res.status).toBe(200);
  const tokens = (await res.json()) as { access_token: string; refresh_token?: string; scope: string };
  expect(tokens.refresh_token).toBeTruthy();
  const listed = await fetch(world.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tokens.access_token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get-user-balance', arguments: {} } }),
  });
  expect(listed.status).toBe(200);
  expect(JSON.stringify(await listed.json())).toContain('"account":"personal"');
});

test('Claude on the 2026-07-28 revision: after the browser sign-in and consent, the token serves server/discover, tools/list and tools/call', async ({
  world,
  context,
}) => {
  const { connector, connection } = await connectClaude(world, context, { email: randomEmail('modern') });
  const client = await connection.mcp2026();
  try {
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const discovered = await client.discover();
    expect(discovered.supportedVersions).toEqual(['2026-07-28']);
    expect(client.getServerVersion()?.name).toBe('pictor');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['get-user-balance', 'list-gpus', 'create-instance']));
    const balance = await client.callTool({ name: 'get-user-balance', arguments: {} });
    expect(balance.isError).not.toBe(true);
    expect(balance.structuredContent).toMatchObject({ total: expect.any(String) });
  } finally {
    await client.close();
    await connection.close();
    await connector.close();
  }
});

test('read-only consent: a write tool gets HTTP 403 insufficient_scope; reconnecting with the permission approved fixes it, without a new email', async ({
  world,
  context,
}) => {
  const email = randomEmail('readonly');
  const { connector, connection } = await connectClaude(world, context, { email, approve: ['pictor:read'] });
  expect(connection.scopes).toEqual(['pictor:read']);
  expect((await connection.call<{ ssh_keys: unknown[] }>('list-ssh-keys')).ssh_keys).toEqual([]);

  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl laptop';
  const forbidden = await connection.rawToolCall('create-ssh-key', { name: 'laptop', public_key: key });
  expect(forbidden.status).toBe(403);
  const challenge = challengeParams(forbidden.headers.get('www-authenticate'));
  expect(forbidden.headers.get('www-authenticate')).toMatch(/^Bearer /);
  expect(challenge.error).toBe('insufficient_scope');
  expect(challenge.resource_metadata).toBe(connector.discovery.challenge.resource_metadata);
  expect(challenge.scope?.split(' ')).toEqual(expect.arrayContaining(['pictor:read', 'ssh_keys:write']));
  expect(((await forbidden.json()) as { error: { message: string } }).error.message).toMatch(/ssh_keys:write/);
  // Through the SDK client the call fails too, and nothing was created.
  await expect(connection.call('create-ssh-key', { name: 'laptop', public_key: key })).rejects.toMatchObject({ code: 403 });
  expect((await connection.call<{ ssh_keys: unknown[] }>('list-ssh-keys')).ssh_keys).toEqual([]);

  // Claude reconnects asking for what the challenge named; the browser's session skips the email.
  const again = connector.authorizationRequest(challenge.scope);
  const [step, upgraded] = await Promise.all([authorize(context, again.url, { email, sink: world.sink, signIn: false }), connector.complete(again)]);
  expect(step.mails).toBe(0);
  expect(upgraded.scopes).toEqual(expect.arrayContaining(['pictor:read', 'ssh_keys:write']));
  const created = await upgraded.call<{ name: string }>('create-ssh-key', { name: 'laptop', public_key: key });
  expect(created.name).toBe('laptop');
  await connection.close();
  await upgraded.close();
  await connector.close();
});

test('the access token expires: the MCP server answers 401, Claude refreshes and carries on', async ({ world, context }) => {
  test.setTimeout(120_000);
  const { connector, connection } = await connectClaude(world, context, { email: randomEmail('expiry') });
  const first = connection.tokens;
  expect(first.expires_in).toBe(ACCESS_TOKEN_TTL_SECONDS);
  await connection.call('list-gpus');
  expect(connection.refreshes).toBe(0);

  // Wait (real time) until the MCP server itself refuses the token: its lifetime plus the skew leeway.
  await expect
    .poll(async () => (await connection.rawToolCall('list-gpus', {}, first.access_token)).status, {
      timeout: (ACCESS_TOKEN_TTL_SECONDS + TOKEN_LEEWAY_SECONDS + 15) * 1000,
      intervals: [1000],
    })
    .toBe(401);
  const expired = await connection.rawToolCall('list-gpus', {}, first.access_token);
  const challenge = challengeParams(expired.headers.get('www-authenticate'));
  expect(challenge.error).toBe('invalid_token');
  expect(challenge.error_description).toMatch(/expired/);

  // The same SDK client session keeps working: one refresh, a new access token.
  const balance = await connection.call<{ account: string }>('get-user-balance');
  expect(balance.account).toBe('personal');
  expect(connection.refreshes).toBe(1);
  expect(connection.tokens.access_token).not.toBe(first.access_token);
  expect((await connection.rawToolCall('list-gpus')).status).toBe(200);
  await connection.close();
  await connector.close();
});

test('disconnecting Claude on the connected-apps page: the next call gets 401 and the refresh token is dead', async ({ world, context }) => {
  const email = 'grace@example.com'; // the screenshot's person
  const { connector, connection } = await connectClaude(world, context, { email });
  await connection.call('list-gpus');

  // The same browser is still signed in from connecting: the page shows the app right away.
  const page = await context.newPage();
  await page.goto(new URL('/account', world.issuer).href);
  await expect(page.getByRole('heading', { name: 'Connected apps' })).toBeVisible();
  await expect(page.getByText(`Signed in as ${email}`)).toBeVisible();
  const row = page.getByRole('row', { name: /Claude/ });
  await expect(row).toHaveCount(1);
  // each permission in the consent page's plain words, its code in the tooltip
  for (const scope of Object.keys(SCOPES) as Scope[]) await expect(row.getByTitle(scope)).toHaveText(SCOPES[scope]);
  await screenshot(page, '5-connected-apps');
  await row.getByRole('button', { name: 'Disconnect' }).click();
  await expect(page.getByText('Claude was disconnected. It can no longer get new access.')).toBeVisible();
  await expect(page.getByText('No apps are connected to your Pictor account.')).toBeVisible();

  // The access token is refused at once (not only after it expires), and the refresh fails.
  await expect.poll(async () => (await connection.rawToolCall('list-gpus')).status, { timeout: 15_000 }).toBe(401);
  const refused = challengeParams((await connection.rawToolCall('list-gpus')).headers.get('www-authenticate'));
  expect(refused.error).toBe('invalid_token');
  expect(refused.error_description).toMatch(/disconnected/);
  await expect(connection.call('list-gpus')).rejects.toMatchObject({ code: 401 });
  expect(connection.refreshError).toBeInstanceOf(TokenRequestError);
  expect(connection.refreshError?.body.error).toBe('invalid_grant');
  expect(connection.refreshes).toBe(0);
  await connection.close();
  await connector.close();
});

test('a connector added again after disconnecting works (the person reconnects)', async ({ world, context }) => {
  const email = randomEmail('reconnect');
  const first = await connectClaude(world, context, { email });
  const page = await context.newPage();
  await page.goto(new URL('/account', world.issuer).href);
  await page
    .getByRole('row', { name: /Claude/ })
    .getByRole('button', { name: 'Disconnect' })
    .click();
  await expect(page.getByText('No apps are connected to your Pictor account.')).toBeVisible();
  await first.connector.close();

  const connector = await ClaudeConnector.add(world.mcpUrl);
  const request = connector.authorizationRequest();
  const [, connection] = await Promise.all([authorize(context, request.url, { email, sink: world.sink, signIn: false }), connector.complete(request)]);
  expect((await connection.call<{ account: string }>('get-user-balance')).account).toBe('personal');
  await connection.close();
  await connector.close();
});
