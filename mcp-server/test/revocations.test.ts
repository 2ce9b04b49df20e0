import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordTokenRevocation } from '@pictor/platform/revocations';
import { startTestServer } from './harness.ts';

const listTools = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

test("a disconnected app's earlier tokens are refused at once; its new tokens and other apps keep working", async (t) => {
  const server = await startTestServer();
  t.after(server.close);
  const user = await server.createUser();
  const issuedBefore = Math.floor(Date.now() / 1000) - 5;
  const claude = await server.issueToken({ userId: user.id, clientId: 'claude', iat: issuedBefore });
  const other = await server.issueToken({ userId: user.id, clientId: 'other-app', iat: issuedBefore });
  assert.equal((await server.post(listTools, { token: claude })).status, 200);

  await recordTokenRevocation(server.db, user.id, 'claude');
  // NOTIFY arrives asynchronously; allow it a moment, but it must not wait for the 10 s poll
  assert.ok(await until(async () => (await server.post(listTools, { token: claude })).status === 401, 2000));
  const refused = await server.post(listTools, { token: claude });
  assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  assert.match(refused.headers.get('www-authenticate') ?? '', /resource_metadata="/);
  assert.equal((await server.post(listTools, { token: other })).status, 200);

  const reconnected = await server.issueToken({ userId: user.id, clientId: 'claude', iat: Math.floor(Date.now() / 1000) + 2 });
  assert.equal((await server.post(listTools, { token: reconnected })).status, 200);
});
