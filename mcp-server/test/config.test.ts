import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEV_INFLOW_WEBHOOK_SECRET, loadConfig } from '../src/config.ts';

const DATABASE_URL = 'postgres://u:p@127.0.0.1:5432/pictor';

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
  const config = loadConfig({ DATABASE_URL, NODE_ENV: 'production', MCP_URL: 'https://mcp.example.com/mcp', AUTH_ISSUER: 'https://auth.example.com' });
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
  };
  assert.throws(() => loadConfig({ ...production, INFLOW_API_URL: 'http://inflow-sandbox:4100' }), /INFLOW_API_URL must be https in production/);
  assert.throws(
    () => loadConfig({ ...production, INFLOW_API_URL: 'https://api.inflowpay.xyz', INFLOW_WEBHOOK_SECRET: DEV_INFLOW_WEBHOOK_SECRET }),
    /INFLOW_WEBHOOK_SECRET must be set in production \(the development secret is public\)/,
  );
  assert.equal(loadConfig({ ...production, INFLOW_API_URL: 'https://api.inflowpay.xyz' }).inflow?.apiUrl, 'https://api.inflowpay.xyz');
  // Nothing set: InFlow is off, never pointed at a sandbox by default.
  assert.equal(
    loadConfig({ DATABASE_URL, NODE_ENV: 'production', MCP_URL: 'https://mcp.example.com/mcp', AUTH_ISSUER: 'https://auth.example.com' }).inflow,
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

test('PAUSED_RETENTION_HOURS: 72 by default, whole hours from 1 to 8760', () => {
  assert.equal(loadConfig({ DATABASE_URL }).worker.pausedRetentionHours, 72);
  assert.equal(loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '24' }).worker.pausedRetentionHours, 24);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '0' }), /PAUSED_RETENTION_HOURS must be at least 1 hour/);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '1.5' }), /PAUSED_RETENTION_HOURS must be a whole number of hours/);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: 'three days' }), /PAUSED_RETENTION_HOURS must be a whole number of hours/);
  assert.throws(() => loadConfig({ DATABASE_URL, PAUSED_RETENTION_HOURS: '9000' }), /PAUSED_RETENTION_HOURS must be at most 8760 hours/);
});
