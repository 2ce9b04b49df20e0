// Configuration: defaults that make `npm start` work, bounds, and no development secret in production.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.ts';

const DB = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/pictor' };
const PRODUCTION = {
  ...DB,
  NODE_ENV: 'production',
  AUTH_ISSUER: 'https://auth.pictor.example',
  MCP_URL: 'https://apiv2.pictor.network/mcp',
  TRUST_PROXY: 'true',
  SMTP_URL: 'smtps://user:pass@smtp.example:465',
  MAIL_FROM: 'Pictor <no-reply@pictor.example>',
  COOKIE_KEYS: 'k'.repeat(40),
  KEY_ENCRYPTION_SECRET: 's'.repeat(40),
};

test('development defaults', () => {
  const c = loadConfig(DB);
  assert.equal(c.issuer, 'http://localhost:4000');
  assert.equal(c.port, 4000);
  assert.equal(c.mcpUrl, 'http://localhost:3000/mcp');
  assert.equal(c.ttl.accessToken, 3600);
  assert.equal(c.ttl.refreshToken, 4 * 7 * 86_400);
  assert.equal(c.ttl.grant, 26 * 7 * 86_400);
  assert.equal(c.smtpUrl, undefined); // the dev outbox
  assert.equal(c.nodeEnv, 'development');
});

test('production refuses every development default, naming each variable', () => {
  assert.doesNotThrow(() => loadConfig(PRODUCTION));
  const secrets = ['COOKIE_KEYS', 'KEY_ENCRYPTION_SECRET', 'SMTP_URL', 'MAIL_FROM'];
  const missing = Object.fromEntries(Object.entries(PRODUCTION).filter(([name]) => !secrets.includes(name)));
  const error = (() => {
    try {
      loadConfig(missing);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof ConfigError);
  for (const name of secrets) assert.match(error.message, new RegExp(name));
  assert.throws(() => loadConfig({ ...PRODUCTION, AUTH_ISSUER: 'http://auth.pictor.example', TRUST_PROXY: '' }), /https in production/);
});

test('bounds and consistency', () => {
  assert.throws(() => loadConfig({ ...DB, ACCESS_TOKEN_TTL: '7200' }), /ACCESS_TOKEN_TTL must be at most 3600/);
  assert.throws(() => loadConfig({ ...DB, ACCESS_TOKEN_TTL: '10' }), /at least 60/);
  assert.equal(loadConfig({ ...DB, ACCESS_TOKEN_TTL: '900' }).ttl.accessToken, 900);
  assert.throws(() => loadConfig({ ...DB, GRANT_TTL_WEEKS: '2', REFRESH_TOKEN_TTL_WEEKS: '4' }), /cannot outlive its grant/);
  assert.throws(() => loadConfig({ ...DB, AUTH_ISSUER: 'http://localhost:4000/auth' }), /root URL/);
  assert.throws(() => loadConfig({ ...DB, AUTH_ISSUER: 'https://auth.example' }), /TRUST_PROXY/);
  assert.throws(() => loadConfig({ ...DB, COOKIE_KEYS: 'short' }), /at least 32 characters/);
  assert.throws(() => loadConfig({}), /DATABASE_URL is required/);
  assert.equal(loadConfig({ ...DB, AUTH_ISSUER: 'http://localhost:4000/' }).issuer, 'http://localhost:4000');
  assert.deepEqual(loadConfig({ ...DB, COOKIE_KEYS: `${'a'.repeat(32)}, ${'b'.repeat(32)}` }).cookieKeys, ['a'.repeat(32), 'b'.repeat(32)]);
});

test('AUTH_METRICS_PORT: off unless set, a port number when set', () => {
  assert.equal(loadConfig(DB).metricsPort, undefined);
  assert.equal(loadConfig({ ...DB, AUTH_METRICS_PORT: '9465' }).metricsPort, 9465);
  assert.throws(() => loadConfig({ ...DB, AUTH_METRICS_PORT: 'x' }), /AUTH_METRICS_PORT must be a number/);
  assert.throws(() => loadConfig({ ...DB, AUTH_METRICS_PORT: '70000' }), /AUTH_METRICS_PORT must be at most 65535/);
});
