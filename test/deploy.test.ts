// No Docker engine runs here: the compose file is validated against the Compose Specification
// (dclint) and the Dockerfiles are checked for the rules we deploy by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { SHUTDOWN_GRACE_MS } from '@pictor/platform/shutdown';

const root = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

test('docker-compose.yml passes dclint (schema and rules) with no problems', async () => {
  const { stdout, stderr } = await run(path.join(root, 'node_modules/.bin/dclint'), ['docker-compose.yml'], { cwd: root }).catch(
    (error: { stdout: string; stderr: string }) => assert.fail(`dclint failed:\n${error.stdout}${error.stderr}`),
  );
  assert.doesNotMatch(stdout + stderr, /error|warning/i);
});

interface Service {
  image?: string;
  profiles?: string[];
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[]; start_period?: string; timeout?: string };
  init?: boolean;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  stop_grace_period?: string;
}

const services = async () => (parse(await readFile(path.join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> }).services;
const seconds = (duration = '') => Number(/^(\d+)s$/.exec(duration)?.[1] ?? Number.NaN);

test('compose wires every service with readiness healthchecks and health-gated dependencies', async () => {
  const all = await services();
  assert.deepEqual(Object.keys(all).sort(), ['auth-server', 'inflow-sandbox', 'mailpit', 'mcp-server', 'postgres']);
  assert.equal(all.postgres!.image, 'postgres:18');
  for (const [name, service] of Object.entries(all)) {
    assert.ok(service.healthcheck, `${name}: healthcheck`);
    assert.ok(seconds(service.healthcheck.start_period) > 0, `${name}: healthcheck start_period`);
    for (const dependency of Object.values(service.depends_on ?? {})) assert.equal(dependency.condition, 'service_healthy');
  }
  for (const [name, port] of [
    ['auth-server', 4000],
    ['mcp-server', 3000],
  ] as const) {
    assert.match(all[name]!.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${port}/readyz`), `${name} is checked for readiness`);
  }
  assert.equal(all['mcp-server']!.depends_on!['auth-server']!.condition, 'service_healthy', 'the MCP server needs the JWKS');
  assert.equal(all['mcp-server']!.environment!.MCP_METRICS_PORT, '9464');
  assert.equal(all['auth-server']!.environment!.AUTH_METRICS_PORT, '9465');
});

test('compose hardens every container: init, read-only root, no capabilities, no privilege gain, a grace period past the drain', async () => {
  for (const [name, service] of Object.entries(await services())) {
    assert.equal(service.init, true, `${name}: init`);
    assert.equal(service.read_only, true, `${name}: read_only`);
    assert.ok(service.tmpfs?.includes('/tmp'), `${name}: a tmpfs for /tmp`);
    assert.deepEqual(service.cap_drop, ['ALL'], `${name}: cap_drop ALL`);
    assert.deepEqual(service.security_opt, ['no-new-privileges:true'], `${name}: no-new-privileges`);
    assert.ok(seconds(service.stop_grace_period) > SHUTDOWN_GRACE_MS / 1000, `${name}: stop_grace_period above the ${SHUTDOWN_GRACE_MS} ms drain`);
    // a readiness check gives up after 2 s; the healthcheck waits a little longer
    assert.ok(seconds(service.healthcheck?.timeout) > 2, `${name}: healthcheck timeout`);
  }
});

test('compose: the InFlow sandbox and mailpit are dev-profile only, and nothing points at them by default', async () => {
  const all = await services();
  assert.deepEqual(all['inflow-sandbox']!.profiles, ['dev']);
  assert.deepEqual(all.mailpit!.profiles, ['dev']);
  for (const [name, service] of Object.entries(all)) {
    if (name === 'inflow-sandbox' || name === 'mailpit') continue;
    assert.equal(service.profiles, undefined, `${name} runs without a profile`);
    // a dependency on a dev-only service must not be required, or production would not start
    for (const [dependency, how] of Object.entries(service.depends_on ?? {})) {
      if (all[dependency]!.profiles) assert.equal(how.required, false, `${name} → ${dependency}`);
    }
  }
  // Without an .env, no variable names a stand-in or carries its public secret.
  const app = { ...all['auth-server']!.environment, ...all['mcp-server']!.environment };
  for (const variable of ['SMTP_URL', 'MAIL_FROM', 'INFLOW_API_URL', 'INFLOW_API_KEY', 'INFLOW_WEBHOOK_SECRET']) {
    assert.equal(app[variable], `\${${variable}:-}`, `${variable} has no default`);
  }
  assert.doesNotMatch(JSON.stringify(app), /mailpit|inflow-sandbox|whsec_/);
  // The dev env file turns the profile on and points at both.
  const dev = await readFile(path.join(root, 'compose.dev.env'), 'utf8');
  assert.match(dev, /^COMPOSE_PROFILES=dev$/m);
  assert.match(dev, /^SMTP_URL=smtp:\/\/mailpit:1025$/m);
  assert.match(dev, /^INFLOW_API_URL=http:\/\/inflow-sandbox:4100$/m);
});

for (const service of ['mcp-server', 'auth-server', 'inflow-sandbox']) {
  test(`${service}/Dockerfile is multi-stage, production-only and non-root`, async () => {
    const dockerfile = await readFile(path.join(root, service, 'Dockerfile'), 'utf8');
    assert.equal(dockerfile.match(/^FROM /gm)?.length, 2, 'two stages');
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, new RegExp(`CMD \\["node", "${service}/src/main.ts"\\]`));
    if (service !== 'inflow-sandbox') assert.match(dockerfile, /^HEALTHCHECK .*\\\n.*\/readyz/m, 'the image checks readiness');
  });
}

// The services default to 127.0.0.1 (npm start); in a container the published port decides who connects.
for (const [service, variable] of [
  ['mcp-server', 'MCP_HOST'],
  ['auth-server', 'AUTH_HOST'],
] as const) {
  test(`${service}'s image listens on every interface (${variable}=0.0.0.0); compose takes its mail server from SMTP_URL`, async () => {
    const dockerfile = await readFile(path.join(root, service, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`^ENV ${variable}=0\\.0\\.0\\.0$`, 'm'));
    const compose = await readFile(path.join(root, 'docker-compose.yml'), 'utf8');
    // no default: production requires SMTP_URL; the dev profile's env file points it at mailpit
    assert.match(compose, /SMTP_URL: \$\{SMTP_URL:-\}/);
  });
}
