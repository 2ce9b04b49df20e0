// What the MCP server shows to the network: it listens on loopback unless told otherwise, and the
// URLs it hands out (RFC 9728 metadata, the 401 challenge) come from MCP_URL and AUTH_ISSUER
// only, whatever Host, X-Forwarded-Host or the request target say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.ts';
import { startTestServer } from './harness.ts';
import { rawRequest } from '@pictor/platform/testing';

test('by default the server listens on 127.0.0.1 only', () => {
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1/db' }).host, '127.0.0.1');
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1/db', MCP_HOST: '0.0.0.0' }).host, '0.0.0.0');
});

const FORGED: Array<{ name: string; headers: Record<string, string>; path?: (path: string) => string }> = [
  { name: 'Host', headers: { host: 'evil.test' } },
  { name: 'X-Forwarded-Host and -Proto', headers: { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' } },
  { name: 'an absolute request target', headers: {}, path: (path) => `http://evil.test${path}` },
];

for (const trustProxy of ['false', 'true']) {
  test(`metadata and the 401 challenge come from MCP_URL under a forged Host (TRUST_PROXY=${trustProxy})`, async (t) => {
    const server = await startTestServer({ env: { TRUST_PROXY: trustProxy } });
    t.after(server.close);
    const metadataUrl = `${server.origin}/.well-known/oauth-protected-resource/mcp`;
    for (const forged of FORGED) {
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
        const res = await rawRequest(`${server.origin}${path}`, { path: forged.path?.(path), headers: forged.headers });
        assert.equal(res.status, 200, `${forged.name} ${path}`);
        const document = JSON.parse(res.body) as { resource: string; authorization_servers: string[] };
        assert.equal(document.resource, server.url, forged.name);
        assert.deepEqual(document.authorization_servers, [server.issuer], forged.name);
      }

      // No token: either the challenge, pointing at MCP_URL's metadata, or refused as addressed
      // to another host (DNS-rebinding check); never a URL on the forged host.
      const res = await rawRequest(server.url, {
        method: 'POST',
        path: forged.path?.('/mcp'),
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
        headers: { ...forged.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      });
      assert.ok(res.status === 401 || res.status === 403, `${forged.name}: ${res.status}`);
      if (res.status === 401) assert.match(String(res.headers['www-authenticate']), new RegExp(`resource_metadata="${metadataUrl}"`));
      assert.doesNotMatch(JSON.stringify(res.headers), /evil\.test/);
    }

    // A loopback alias is served, and still gets MCP_URL's own name back.
    const port = new URL(server.url).port;
    const alias = await rawRequest(server.url, {
      method: 'POST',
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
      headers: { host: `localhost:${port}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    });
    assert.equal(alias.status, 401);
    assert.match(String(alias.headers['www-authenticate']), new RegExp(`resource_metadata="${metadataUrl}"`));
  });
}
