// `npm start` as a person runs it: a fresh data directory (with a stale postmaster.pid, as a killed
// run leaves behind), real processes, the printed URLs answering, the admin CLI on the same database,
// and a clean stop on Ctrl+C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@pictor/platform/local-postgres';
import { createTestDatabase } from '@pictor/platform/testing';

const root = path.resolve(import.meta.dirname, '..');

function run(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

test('npm start runs the whole product on embedded defaults and prints the URLs', { timeout: 180_000 }, async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pictor-start-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const [mcpPort, authPort, sandboxPort, pgPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  // a postmaster.pid left by a killed run, naming a process that no longer exists
  await mkdir(path.join(dataDir, 'pg'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PICTOR_DATA_DIR: dataDir,
    PICTOR_PG_PORT: String(pgPort),
    MCP_PORT: String(mcpPort),
    AUTH_PORT: String(authPort),
    INFLOW_SANDBOX_PORT: String(sandboxPort),
    LOG_LEVEL: 'warn',
    DATABASE_URL: '',
    MCP_URL: '',
    AUTH_ISSUER: '',
    INFLOW_API_URL: '',
  };
  const first = run('scripts/start.ts', [], env);
  await waitFor(() => first.output().includes('Pictor MCP is running'), first, 120_000);
  // says what it is doing on a first run
  for (const doing of [
    'Setting up local Postgres',
    'Migrating the database…',
    'migrations applied',
    'Seeding the GPU catalog',
    'Starting the authorization server',
  ]) {
    assert.ok(first.output().includes(doing), `prints "${doing}"`);
  }
  // stop it, then fake the leftovers of a crash: a stale pid file
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0);
  await writeFile(path.join(dataDir, 'pg', 'postmaster.pid'), `999999\n${path.join(dataDir, 'pg')}\n0\n${pgPort}\n`);

  const start = run('scripts/start.ts', [], { ...env, LOG_LEVEL: 'info' });
  t.after(() => {
    start.child.kill('SIGINT');
  });
  await waitFor(() => start.output().includes('Pictor MCP is running'), start, 120_000);
  assert.ok(start.output().includes('Starting the local Postgres…'), 'the cluster is reused');
  assert.ok(!start.output().includes('Setting up local Postgres'));
  // stdout is not a terminal here: the services' log lines stay JSON
  assert.match(start.output(), /^\[mcp\] \{"level":30,.*"msg":"MCP server listening"/m);
  const mcpUrl = `http://localhost:${mcpPort}/mcp`;
  assert.ok(start.output().includes(mcpUrl), 'prints the URL to paste into Claude');
  assert.match(start.output(), /default catalog seeded|kept as it was/);

  const unauthorized = await fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(unauthorized.status, 401);
  assert.match(
    unauthorized.headers.get('www-authenticate') ?? '',
    new RegExp(`resource_metadata="http://localhost:${mcpPort}/.well-known/oauth-protected-resource/mcp"`),
  );
  assert.equal((await fetch(mcpUrl)).status, 405);
  const resource = (await (await fetch(`http://localhost:${mcpPort}/.well-known/oauth-protected-resource/mcp`)).json()) as {
    resource: string;
    authorization_servers: string[];
  };
  assert.equal(resource.resource, mcpUrl);
  const as = (await (await fetch(`${resource.authorization_servers[0]}/.well-known/oauth-authorization-server`)).json()) as { registration_endpoint: string };
  assert.ok(as.registration_endpoint);
  assert.equal((await fetch(`http://127.0.0.1:${sandboxPort}/healthz`)).status, 200);

  // only this machine can reach the services (AUTH_HOST/MCP_HOST unset): not via another address
  assert.match(start.output(), /Listening on: +127\.0\.0\.1 only/);
  const lan = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  for (const port of lan ? [authPort, mcpPort] : []) {
    assert.equal(
      await fetch(`http://${lan}:${port}/healthz`).then(
        () => 'reachable',
        () => 'refused',
      ),
      'refused',
      `${lan}:${port}`,
    );
  }

  // the admin CLI finds the running local database
  const admin = run('scripts/admin.ts', ['plan:list'], env);
  assert.equal(await admin.exited, 0, admin.output());
  assert.match(admin.output(), /H100/);
  // ... and with another (stopped) data directory on the port npm start's Postgres holds, it says
  // what to set instead of failing to start a second Postgres there
  await mkdir(path.join(dataDir, 'other', 'pg'), { recursive: true });
  await writeFile(path.join(dataDir, 'other', 'pg', 'PG_VERSION'), '18\n');
  const elsewhere = run('scripts/admin.ts', ['plan:list'], { ...env, PICTOR_DATA_DIR: path.join(dataDir, 'other') });
  assert.equal(await elsewhere.exited, 2, elsewhere.output());
  assert.match(
    elsewhere.output(),
    new RegExp(`Port ${pgPort} \\(PICTOR_PG_PORT\\) is in use .*same PICTOR_DATA_DIR and PICTOR_PG_PORT as \`npm start\`.*DATABASE_URL`, 's'),
  );

  start.child.kill('SIGINT');
  assert.equal(await start.exited, 0);
  assert.equal(
    await fetch(mcpUrl).then(
      () => 'up',
      () => 'down',
    ),
    'down',
  );
});

async function waitFor(ready: () => boolean, proc: { output(): string; exited: Promise<number | null> }, ms: number): Promise<void> {
  let exit: number | null | undefined;
  void proc.exited.then((code) => {
    exit = code;
  });
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (exit !== undefined) assert.fail(`exited with ${exit}:\n${proc.output()}`);
    if (Date.now() > deadline) assert.fail(`not ready within ${ms} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('killed outright (SIGKILL, nothing passed on), npm start leaves no service running', { timeout: 120_000 }, async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const [mcpPort, authPort, sandboxPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const start = run('scripts/start.ts', [], {
    ...process.env,
    DATABASE_URL: database.url,
    MCP_PORT: String(mcpPort),
    AUTH_PORT: String(authPort),
    INFLOW_SANDBOX_PORT: String(sandboxPort),
    LOG_LEVEL: 'warn',
    MCP_URL: '',
    AUTH_ISSUER: '',
    INFLOW_API_URL: '',
  });
  await waitFor(() => start.output().includes('Pictor MCP is running'), start, 90_000);
  const ports = { mcp: mcpPort, auth: authPort, inflow: sandboxPort };
  // any answer at all means the service still listens
  const up = (port: number) =>
    fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
  for (const [name, port] of Object.entries(ports)) assert.ok(await up(port), `${name} answers before the kill`);
  start.child.kill('SIGKILL');
  await start.exited;
  const deadline = Date.now() + 15_000;
  let still: string[] = [];
  do {
    await new Promise((r) => setTimeout(r, 200));
    still = [];
    for (const [name, port] of Object.entries(ports)) if (await up(port)) still.push(name);
  } while (still.length > 0 && Date.now() < deadline);
  assert.deepEqual(still, [], 'services still listening after npm start was killed');
});

test('npm run admin without a usable local database says which variables to set, and creates nothing', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pictor-admin-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PICTOR_DATA_DIR: dataDir, PICTOR_PG_PORT: String(port), DATABASE_URL: '' };

  // nothing was ever started with these settings: no empty cluster is created for the CLI
  const none = run('scripts/admin.ts', ['plan:list'], env);
  assert.equal(await none.exited, 2, none.output());
  assert.match(none.output(), /No local database in .*`npm start` creates it.*same PICTOR_DATA_DIR and PICTOR_PG_PORT as `npm start`.*DATABASE_URL/s);
  assert.deepEqual(await readdir(dataDir), []);

  // a database that is not running, and its port taken by something else (another npm start's
  // Postgres, another app): said before any Postgres is started
  await mkdir(path.join(dataDir, 'pg'));
  await writeFile(path.join(dataDir, 'pg', 'PG_VERSION'), '18\n');
  const squatter = createServer().listen(port, '127.0.0.1');
  t.after(() => {
    squatter.close();
  });
  await new Promise((resolve) => squatter.once('listening', resolve));
  const taken = run('scripts/admin.ts', ['plan:list'], env);
  assert.equal(await taken.exited, 2, taken.output());
  assert.match(taken.output(), new RegExp(`Port ${port} \\(PICTOR_PG_PORT\\) is in use .*PICTOR_DATA_DIR and PICTOR_PG_PORT .*DATABASE_URL`, 's'));
  assert.deepEqual(await readdir(path.join(dataDir, 'pg')), ['PG_VERSION']);
});
