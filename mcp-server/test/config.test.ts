import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  DEV_CONFIRMATION_SECRET,
  DEV_INFLOW_WEBHOOK_SECRET,
  DEV_INSTANCE_PROXY_DOMAIN,
  DEV_INSTANCE_SECRETS_KEY,
  loadConfig,
} from '../src/config.ts';

const DATABASE_URL = 'postgres://u:p@127.0.0.1:5432/pictor';
const CONFIRMATION_SECRETS = 'confirmation-secret-of-this-deployment-0001';
/** What production needs besides the URLs for instances: its own sealing secret and proxy domain. */
const INSTANCES = { INSTANCE_SECRETS_KEYS: 'production-instance-secrets-key-0123456789', INSTANCE_PROXY_DOMAIN: 'proxy.example.com' };

test('defaults: local MCP URL and issuer, JWKS under the issuer, InFlow off', () => {
  const config = loadConfig({ DATABASE_URL });
  assert.equal(config.mcpUrl, 'http://localhost:3000/mcp');
  assert.equal(config.authIssuer, 'http://localhost:4000');
  assert.equal(config.authJwksUrl, 'http://localhost:4000/jwks');
  assert.equal(config.port, 3000);
  assert.equal(config.inflow, null);
  assert.equal(config.accessTokenMaxTtl, 3600, "the authorization server's longest ACCESS_TOKEN_TTL");
  assert.equal(loadConfig({ DATABASE_URL, ACCESS_TOKEN_MAX_TTL: '600' }).accessTokenMaxTtl, 600);
});

test('each bad variable is named with what was expected', () => {
  assert.throws(
    () => loadConfig({}),
    (e: Error) => e instanceof ConfigError && /DATABASE_URL is required/.test(e.message),
  );
  assert.throws(() => loadConfig({ DATABASE_URL, MCP_PORT: 'abc' }), /MCP_PORT must be a port number/);
  assert.throws(() => loadConfig({ DATABASE_URL, MCP_URL: 'ftp://x/mcp' }), /MCP_URL must be an absolute http\(s\) URL/);
  assert.throws(() => loadConfig({ DATABASE_URL, INFLOW_API_URL: 'http://127.0.0.1:1' }), /INFLOW_API_KEY is required/);
  assert.throws(() => loadConfig({ DATABASE_URL, ACCESS_TOKEN_MAX_TTL: '10' }), /ACCESS_TOKEN_MAX_TTL must be at least 60 seconds/);
  assert.throws(() => loadConfig({ DATABASE_URL, ACCESS_TOKEN_MAX_TTL: 'an hour' }), /ACCESS_TOKEN_MAX_TTL must be a number of seconds/);
});

test('production refuses the localhost/http development defaults', () => {
  assert.throws(
    () => loadConfig({ DATABASE_URL, NODE_ENV: 'production' }),
    (e: Error) => /MCP_URL must be set in production/.test(e.message) && /AUTH_ISSUER must be set in production/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ DATABASE_URL, NODE_ENV: 'production', MCP_URL: 'http://mcp.example.com/mcp', AUTH_ISSUER: 'https://auth.example.com' }),
    /MCP_URL must be https in production/,
  );
  assert.throws(
    () =>
      loadConfig({
        DATABASE_URL,
        NODE_ENV: 'production',
        MCP_URL: 'https://mcp.example.com/mcp',
        AUTH_ISSUER: 'https://auth.example.com',
        INFLOW_API_URL: 'https://api.inflowpay.xyz',
        INFLOW_API_KEY: 'k',
      }),
    /INFLOW_WEBHOOK_SECRET must be set in production/,
  );
  const config = loadConfig({
    DATABASE_URL,
    NODE_ENV: 'production',
    MCP_URL: 'https://mcp.example.com/mcp',
    AUTH_ISSUER: 'https://auth.example.com',
    CONFIRMATION_SECRETS,
    ...INSTANCES,
  });
  assert.equal(config.mcpUrl, 'https://mcp.example.com/mcp');
});

test('production: InFlow only over https, never with the public development webhook secret', () => {
  const production = {
    DATABASE_URL,
    NODE_ENV: 'production',
    MCP_URL: 'https://mcp.example.com/mcp',
    AUTH_ISSUER: 'https://auth.example.com',
    INFLOW_API_KEY: 'k',
    INFLOW_WEBHOOK_SECRET: 'whsec_c2VjcmV0LW9mLXRoaXMtZGVwbG95bWVudA==',
    CONFIRMATION_SECRETS,
    ...INSTANCES,
  };
  assert.throws(() => loadConfig({ ...production, INFLOW_API_URL: 'http://inflow-sandbox:4100' }), /INFLOW_API_URL must be https in production/);
  assert.throws(
    () => loadConfig({ ...production, INFLOW_API_URL: 'https://api.inflowpay.xyz', INFLOW_WEBHOOK_SECRET: DEV_INFLOW_WEBHOOK_SECRET }),
    /INFLOW_WEBHOOK_SECRET must be set in production \(the development secret is public\)/,
  );
  assert.equal(loadConfig({ ...production, INFLOW_API_URL: 'https://api.inflowpay.xyz' }).inflow?.apiUrl, 'https://api.inflowpay.xyz');
  // Nothing set: InFlow is off, never pointed at a sandbox by default.
  assert.equal(
    loadConfig({
      DATABASE_URL,
      NODE_ENV: 'production',
      MCP_URL: 'https://mcp.example.com/mcp',
      AUTH_ISSUER: 'https://auth.example.com',
      CONFIRMATION_SECRETS,
      ...INSTANCES,
    }).inflow,
    null,
  );
  // In development both are what `npm start` uses.
  assert.equal(
    loadConfig({ DATABASE_URL, INFLOW_API_URL: 'http://127.0.0.1:4100', INFLOW_API_KEY: 'k', INFLOW_WEBHOOK_SECRET: DEV_INFLOW_WEBHOOK_SECRET }).inflow
      ?.webhookSecret,
    DEV_INFLOW_WEBHOOK_SECRET,
  );
});

test('MCP_METRICS_PORT: off unless set, a port number when set', () => {
  assert.equal(loadConfig({ DATABASE_URL }).metricsPort, undefined);
  assert.equal(loadConfig({ DATABASE_URL, MCP_METRICS_PORT: '' }).metricsPort, undefined);
  assert.equal(loadConfig({ DATABASE_URL, MCP_METRICS_PORT: '9464' }).metricsPort, 9464);
  assert.throws(() => loadConfig({ DATABASE_URL, MCP_METRICS_PORT: 'metrics' }), /MCP_METRICS_PORT must be a port number/);
  assert.throws(() => loadConfig({ DATABASE_URL, MCP_METRICS_PORT: '70000' }), ConfigError);
});

test('confirmations: development key and policy by default; keys rotate newest first; TTL and REQUIRE_CONFIRMATION parsed', () => {
  assert.deepEqual(loadConfig({ DATABASE_URL }).confirmation, { secrets: [DEV_CONFIRMATION_SECRET], ttlMinutes: 10, required: false });
  const older = 'an-older-confirmation-secret-still-verifying';
  const config = loadConfig({
    DATABASE_URL,
    CONFIRMATION_SECRETS: ` ${CONFIRMATION_SECRETS} , ${older},`,
    CONFIRMATION_TTL_MINUTES: '5',
    REQUIRE_CONFIRMATION: 'true',
  });
  assert.deepEqual(config.confirmation, { secrets: [CONFIRMATION_SECRETS, older], ttlMinutes: 5, required: true });
  assert.throws(
    () => loadConfig({ DATABASE_URL, CONFIRMATION_SECRETS: `${CONFIRMATION_SECRETS},short` }),
    /CONFIRMATION_SECRETS: each key must be at least 32 characters/,
  );
  assert.throws(() => loadConfig({ DATABASE_URL, CONFIRMATION_SECRETS: ',' }), /CONFIRMATION_SECRETS: each key must be at least 32 characters/);
  assert.throws(() => loadConfig({ DATABASE_URL, CONFIRMATION_TTL_MINUTES: '0' }), /CONFIRMATION_TTL_MINUTES must be at least 1 minute/);
  assert.throws(() => loadConfig({ DATABASE_URL, CONFIRMATION_TTL_MINUTES: '61' }), /CONFIRMATION_TTL_MINUTES must be at most 60 minutes/);
  assert.throws(() => loadConfig({ DATABASE_URL, CONFIRMATION_TTL_MINUTES: 'soon' }), /CONFIRMATION_TTL_MINUTES must be a number of minutes/);
  assert.throws(() => loadConfig({ DATABASE_URL, REQUIRE_CONFIRMATION: 'maybe' }), /REQUIRE_CONFIRMATION must be true or false/);
});

test('production: confirmation keys must be set, and never include the public development key', () => {
  const production = { DATABASE_URL, NODE_ENV: 'production', MCP_URL: 'https://mcp.example.com/mcp', AUTH_ISSUER: 'https://auth.example.com' };
  assert.throws(() => loadConfig(production), /CONFIRMATION_SECRETS must be set in production \(the development secret is public\)/);
  assert.throws(
    () => loadConfig({ ...production, CONFIRMATION_SECRETS: `${CONFIRMATION_SECRETS},${DEV_CONFIRMATION_SECRET}` }),
    /CONFIRMATION_SECRETS must be set in production/,
  );
  assert.deepEqual(loadConfig({ ...production, ...INSTANCES, CONFIRMATION_SECRETS }).confirmation.secrets, [CONFIRMATION_SECRETS]);
});

test('instances: the sealing secrets (newest first, ≥ 32 characters) and the proxy domain; their dev defaults refused in production', () => {
  const dev = loadConfig({ DATABASE_URL });
  assert.deepEqual(dev.instances, { secretsKeys: [DEV_INSTANCE_SECRETS_KEY], proxyDomain: DEV_INSTANCE_PROXY_DOMAIN });
  const rotated = loadConfig({ DATABASE_URL, INSTANCE_SECRETS_KEYS: `${'n'.repeat(32)}, ${'o'.repeat(40)}`, INSTANCE_PROXY_DOMAIN: 'Proxy.Example.com' });
  assert.deepEqual(rotated.instances, { secretsKeys: ['n'.repeat(32), 'o'.repeat(40)], proxyDomain: 'proxy.example.com' });
  assert.throws(
    () => loadConfig({ DATABASE_URL, INSTANCE_SECRETS_KEYS: `${'n'.repeat(32)},short` }),
    /INSTANCE_SECRETS_KEYS must be comma-separated secrets of at least 32 characters/,
  );
  assert.throws(() => loadConfig({ DATABASE_URL, INSTANCE_PROXY_DOMAIN: 'https://proxy.example.com' }), /INSTANCE_PROXY_DOMAIN must be a DNS domain/);
  const production = { DATABASE_URL, NODE_ENV: 'production', MCP_URL: 'https://mcp.example.com/mcp', AUTH_ISSUER: 'https://auth.example.com' };
  assert.throws(
    () => loadConfig(production),
    (e: Error) =>
      /INSTANCE_SECRETS_KEYS must be set in production \(the development secret is public\)/.test(e.message) &&
      /INSTANCE_PROXY_DOMAIN must be set in production/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ ...production, ...INSTANCES, INSTANCE_SECRETS_KEYS: `${INSTANCES.INSTANCE_SECRETS_KEYS},${DEV_INSTANCE_SECRETS_KEY}` }),
    /INSTANCE_SECRETS_KEYS must be set in production/,
  );
});

test('PAUSED_RETENTION_HOURS: 72 by default, whole hours from 1 to 8760', () => {
  assert.equal(loadConfig({ DATABASE_URL }).worker.pausedRetentionHours, 72);
  assert.equal(loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '24' }).worker.pausedRetentionHours, 24);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '0' }), /PAUSED_RETENTION_HOURS must be at least 1 hour/);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '1.5' }), /PAUSED_RETENTION_HOURS must be a whole number of hours/);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: 'three days' }), /PAUSED_RETENTION_HOURS must be a whole number of hours/);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '9000' }), /PAUSED_RETENTION_HOURS must be at most 8760 hours/);
});
