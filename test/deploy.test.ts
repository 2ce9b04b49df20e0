// No Docker engine runs here: the compose file is validated against the Compose Specification
// (dclint) and the Dockerfiles are checked for the rules we deploy by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

test('docker-compose.yml passes dclint (schema and rules) with no problems', async () => {
  const { stdout, stderr } = await run(path.join(root, 'node_modules/.bin/dclint'), ['docker-compose.yml'], { cwd: root })
    .catch((error: { stdout: string; stderr: string }) => assert.fail(`dclint failed:\n${error.stdout}${error.stderr}`));
  assert.doesNotMatch(stdout + stderr, /error|warning/i);
});

test('compose wires every service with healthchecks and health-gated dependencies', async () => {
  const compose = await readFile(path.join(root, 'docker-compose.yml'), 'utf8');
  for (const service of ['postgres', 'auth-server', 'mcp-server', 'inflow-sandbox', 'mailpit']) {
    assert.match(compose, new RegExp(`^  ${service}:`, 'm'), `service ${service}`);
  }
  assert.match(compose, /image: postgres:18/);
  assert.equal(compose.match(/healthcheck:/g)?.length, 5);
  assert.ok((compose.match(/condition: service_healthy/g)?.length ?? 0) >= 5);
});

for (const service of ['mcp-server', 'auth-server', 'inflow-sandbox']) {
  test(`${service}/Dockerfile is multi-stage, production-only and non-root`, async () => {
    const dockerfile = await readFile(path.join(root, service, 'Dockerfile'), 'utf8');
    assert.equal(dockerfile.match(/^FROM /gm)?.length, 2, 'two stages');
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, new RegExp(`CMD \\["node", "${service}/src/main.ts"\\]`));
  });
}

// The services default to 127.0.0.1 (npm start); in a container the published port decides who connects.
for (const [service, variable] of [['mcp-server', 'MCP_HOST'], ['auth-server', 'AUTH_HOST']] as const) {
  test(`${service}'s image listens on every interface (${variable}=0.0.0.0) and compose sends its mail out`, async () => {
    const dockerfile = await readFile(path.join(root, service, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`^ENV ${variable}=0\\.0\\.0\\.0$`, 'm'));
    const compose = await readFile(path.join(root, 'docker-compose.yml'), 'utf8');
    assert.match(compose, /SMTP_URL: \$\{SMTP_URL:-smtp:\/\/mailpit:1025\}/); // never the dev outbox
  });
}
