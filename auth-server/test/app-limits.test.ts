// The spending limit and workspaces a person chooses for an app (issue 12 §1–§2), over real HTTP:
// the consent page asks for them and refuses bad input with a specific error, storing nothing;
// the connected-apps page shows what the app spent against its limit and changes both at once,
// which the real MCP server applies from the next call with the same access token.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '@pictor/platform/local-postgres';
import { addTeamMember, createTeam, ensureUser } from '@pictor/mcp-server/pictor/accounts';
import { csrf, field, formAction, type Page } from './support/browser.ts';
import { authorizeUrl, connect, consent, exchangeCode, limitFieldsAsShown, randomEmail, signIn, startHarness, type Harness } from './support/harness.ts';
import { startMcpServer, type McpServer } from './support/mcp.ts';

async function setup(t: TestContext) {
  const h = await startHarness(t, { mcpUrl: `http://127.0.0.1:${await freePort()}/mcp` });
  const mcp = await startMcpServer(h);
  t.after(mcp.close);
  return { h, mcp };
}

/** A person in two teams (Acme as member, Labs as viewer) before they ever connect an app. */
async function personWithTeams(h: Harness) {
  const email = randomEmail();
  const user = await ensureUser(h.db, email);
  const other = await ensureUser(h.db, randomEmail('owner'));
  const acme = await createTeam(h.db, other.id, 'Acme');
  const labs = await createTeam(h.db, other.id, 'Labs');
  await addTeamMember(h.db, acme.id, user.id, 'member');
  await addTeamMember(h.db, labs.id, user.id, 'viewer');
  return { email, user, acme, labs };
}

/** Authorize → sign in → the consent page. */
async function consentPage(h: Harness, email: string, scope: string) {
  const client = await h.register({ client_name: 'Spender' });
  const browser = h.browser();
  const page = await signIn(h, browser, await browser.get(authorizeUrl(h, { client, scope })), email);
  assert.equal(page.status, 200, page.body.slice(0, 500));
  return { client, browser, page };
}

async function toolCall(mcp: McpServer, token: string, name: string, args: Record<string, unknown>) {
  const res = await fetch(mcp.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { result: { isError?: boolean; content: Array<{ text: string }>; _meta?: Record<string, { code: string }> } };
  return { isError: body.result.isError === true, text: body.result.content[0]?.text ?? '', code: body.result._meta?.['network.pictor/error']?.code };
}

const limitsRow = (h: Harness, userId: string) =>
  h.db.selectFrom('app_limits').select(['client_id', 'daily_spend_limit_micro', 'workspaces']).where('user_id', '=', userId).execute();

test('consent asks for a spending limit (50 credits pre-filled) and the workspaces, viewer teams marked read-only', async (t) => {
  const { h } = await setup(t);
  const p = await personWithTeams(h);
  const { page } = await consentPage(h, p.email, 'pictor:read instances:write');
  assert.match(page.body, /<legend>Spending limit<\/legend>/);
  assert.equal(field(page, 'daily_spend_limit'), '50.00');
  assert.match(page.body, /<input type="number" min="0" step="0.000001"[^>]*name="daily_spend_limit"/);
  assert.match(page.body, /name="no_spend_limit" value="1">/); // offered, not ticked
  assert.match(page.body, /name="workspace" value="personal" checked> Personal/);
  assert.match(page.body, new RegExp(`name="workspace" value="${p.acme.id}" checked> Team Acme</label>`));
  assert.match(page.body, new RegExp(`name="workspace" value="${p.labs.id}" checked> Team Labs <span class="muted">\\(read-only: your role is viewer\\)`));

  // Read-only access by a person without teams: nothing to choose.
  const lone = randomEmail();
  const readOnly = await consentPage(h, lone, 'pictor:read');
  assert.doesNotMatch(readOnly.page.body, /Spending limit|name="workspace"/);
});

test('bad input at consent shows the page again with a specific error and stores nothing; good input is stored', async (t) => {
  const { h } = await setup(t);
  const p = await personWithTeams(h);
  const { client, browser, page } = await consentPage(h, p.email, 'pictor:read instances:write');
  const submit = (limits: Record<string, string | string[] | undefined>) =>
    browser.post(formAction(page, '/consent'), {
      _csrf: csrf(page),
      scope: ['pictor:read', 'instances:write'],
      decision: 'allow',
      ...limitFieldsAsShown(page),
      ...limits,
    });
  const cases: Array<[Record<string, string | string[] | undefined>, RegExp]> = [
    [
      { daily_spend_limit: 'ten' },
      /Spending limit: &quot;ten&quot; is not an amount of credits; enter a number such as 50 or 12\.5 \(not negative, at most 6 decimals\), or tick &quot;No limit&quot;\./,
    ],
    [{ daily_spend_limit: '-5' }, /Spending limit: &quot;-5&quot; is not an amount of credits/],
    [{ daily_spend_limit: '1.1234567' }, /Spending limit: &quot;1\.1234567&quot; is not an amount of credits/],
    [{ daily_spend_limit: '' }, /Spending limit: enter how many credits this app may spend per 24 hours, or tick &quot;No limit&quot;\./],
    [{ workspace: [] }, /Workspaces: tick at least one workspace this app may act in\./],
    [
      { workspace: ['personal', '00000000-0000-4000-8000-000000000000'] },
      /Workspaces: &quot;00000000-0000-4000-8000-000000000000&quot; is not one of your workspaces\./,
    ],
  ];
  for (const [limits, error] of cases) {
    const refused = await submit(limits);
    assert.equal(refused.status, 400, JSON.stringify(limits));
    assert.match(refused.body, error);
    assert.match(refused.body, /role="alert"/);
    assert.equal(refused.leftTo, undefined);
  }
  assert.deepEqual(await limitsRow(h, p.user.id), []);
  const grants = await h.db.selectFrom('auth_oidc_payloads').select('id').where('model', '=', 'Grant').execute();
  assert.deepEqual(grants, []);

  // What was typed is kept on the re-shown page.
  const kept = await submit({ daily_spend_limit: 'ten' });
  assert.match(kept.body, /name="daily_spend_limit" value="ten"/);

  const ok = await submit({ daily_spend_limit: '12.5', workspace: ['personal', p.labs.id] });
  assert.ok(ok.leftTo?.startsWith(client.redirect_uris[0]!), ok.body.slice(0, 500));
  assert.deepEqual(await limitsRow(h, p.user.id), [{ client_id: client.client_id, daily_spend_limit_micro: 12_500_000n, workspaces: ['personal', p.labs.id] }]);
});

test('"No limit" at consent stores no limit; a person without teams allows every workspace (a team joined later too)', async (t) => {
  const { h } = await setup(t);
  const email = randomEmail();
  const { page, browser } = await consentPage(h, email, 'pictor:read billing:write');
  await consent(browser, page, { limits: { no_spend_limit: '1', daily_spend_limit: '' } });
  const user = await ensureUser(h.db, email);
  const [row] = await limitsRow(h, user.id);
  assert.deepEqual([row?.daily_spend_limit_micro, row?.workspaces], [null, null]);
});

test('Personal only: a team call is refused with the workspace message; editing the workspaces on the connected-apps page lets the same token through', async (t) => {
  const { h, mcp } = await setup(t);
  const p = await personWithTeams(h);
  const client = await h.register({ client_name: 'Spender' });
  const { callback, pkce, browser } = await connect(h, {
    client,
    email: p.email,
    scope: 'pictor:read instances:write',
    limits: { workspace: ['personal'], daily_spend_limit: '10' },
  });
  const token = (await exchangeCode(h, client, callback, pkce.verifier)).body.access_token ?? '';

  const refused = await toolCall(mcp, token, 'list-my-instances', { team_id: p.acme.id });
  assert.equal(refused.code, 'workspace_not_allowed');
  assert.match(refused.text, /you did not allow this app to act in team Acme \(it may act in your personal account; omit team_id\)/);
  assert.ok(refused.text.endsWith(`under Connected apps: ${h.issuer}/account`), refused.text);
  assert.equal((await toolCall(mcp, token, 'list-my-instances', {})).isError, false);

  let page = await browser.get('/account');
  assert.match(page.body, /Spent in the last 24 h: 0\.00 \/ 10\.00 credits/);
  const form = appForm(page, client.client_id);
  assert.match(form, new RegExp(`name="workspace" value="${p.acme.id}">`)); // not ticked
  assert.match(form, /name="daily_spend_limit" value="10\.00"/);

  // Without the CSRF token, or with bad input, nothing changes.
  const fields = { client_id: client.client_id, daily_spend_limit: '10', workspace: ['personal', p.acme.id] };
  assert.equal((await browser.post('/account/limits', fields)).status, 403);
  const bads: Array<[Record<string, string | string[]>, RegExp]> = [
    [{ daily_spend_limit: '1e3' }, /Spending limit: &quot;1e3&quot; is not an amount of credits/],
    [{ workspace: [] }, /Workspaces: tick at least one workspace/],
  ];
  for (const [bad, error] of bads) {
    const shown = await browser.post('/account/limits', { ...fields, ...bad, _csrf: csrf(page) });
    assert.equal(shown.status, 400);
    assert.match(appForm(shown, client.client_id), error);
  }
  assert.deepEqual(
    (await limitsRow(h, p.user.id)).map((r) => [r.daily_spend_limit_micro, r.workspaces]),
    [[10_000_000n, ['personal']]],
  );
  // An app that is not the person's: not found, nothing stored.
  assert.equal((await browser.post('/account/limits', { ...fields, client_id: 'someone-else', _csrf: csrf(page) })).status, 404);

  page = await browser.post('/account/limits', { ...fields, daily_spend_limit: '25', _csrf: csrf(page) });
  assert.equal(page.status, 200);
  assert.match(page.body, /Saved: Spender's spending limit and workspaces apply from its next call\./);
  assert.match(page.body, /Spent in the last 24 h: 0\.00 \/ 25\.00 credits/);
  const allowed = await toolCall(mcp, token, 'list-my-instances', { team_id: p.acme.id });
  assert.equal(allowed.isError, false, allowed.text);

  // Removing the limit at once: "No limit".
  page = await browser.post('/account/limits', { ...fields, no_spend_limit: '1', _csrf: csrf(page) });
  assert.match(page.body, /Spent in the last 24 h: 0\.00 credits \(no limit\)/);
  const audit = await h.db.selectFrom('auth_audit_events').select('type').where('type', '=', 'app.limits_changed').execute();
  assert.equal(audit.length, 2);

  // Disconnecting the app forgets its limits with its last grant.
  await browser.post('/account/revoke', { client_id: client.client_id, _csrf: csrf(page) });
  assert.deepEqual(await limitsRow(h, p.user.id), []);
});

/** The limits form of one app on the connected-apps page. */
function appForm(page: Page, clientId: string): string {
  const form = [...page.body.matchAll(/<form method="post" action="\/account\/limits"[\s\S]*?<\/form>/g)].find((m) => m[0].includes(`value="${clientId}"`));
  assert.ok(form, page.body.slice(0, 3000));
  return form[0];
}
