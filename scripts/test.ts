// `npm test`: one real Postgres for the run, then every unit and integration test file
// (node's test runner, a fresh database per file), then the browser end-to-end tests.
// Ends with the line `N passed, N failed` that CI reads.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalPostgres } from '@pictor/platform/local-postgres';
import { prepareTemplate, TEST_CLUSTER_ENV } from '@pictor/platform/testing';

const root = path.resolve(import.meta.dirname, '..');
const only = process.argv.slice(2);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'pictor-test-pg-')), 'data');
const cluster = await startLocalPostgres({ dataDir, port: 0, ephemeral: true });
let passed = 0;
let failed = 0;
try {
  await prepareTemplate(cluster.url());
  const env = { ...process.env, [TEST_CLUSTER_ENV]: cluster.url(), LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' };
  await mkdir(path.join(root, '.tmp'), { recursive: true });
  const tap = path.join(root, '.tmp', `node-tests-${process.pid}.tap`);
  const patterns = only.length > 0 ? only : ['test/*.test.ts', '{migrations,platform,mcp-server,auth-server,inflow-sandbox}/test/**/*.test.ts'];
  await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=3',
      '--test-timeout=180000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...patterns,
    ],
    env,
  );
  const summary = await readFile(tap, 'utf8');
  passed += Number(/^# pass (\d+)/m.exec(summary)?.[1] ?? 0);
  failed += Number(/^# fail (\d+)/m.exec(summary)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(summary)?.[1] ?? 0);

  if (only.length === 0 && existsSync(path.join(root, 'e2e', 'playwright.config.ts'))) {
    const report = path.join(root, '.tmp', `e2e-${process.pid}.json`);
    await run(path.join(root, 'node_modules', '.bin', 'playwright'), ['test', '-c', 'e2e/playwright.config.ts'], {
      ...env,
      PLAYWRIGHT_JSON_OUTPUT_NAME: report,
    });
    const stats = existsSync(report) ? JSON.parse(await readFile(report, 'utf8')).stats : { expected: 0, unexpected: 1 };
    passed += stats.expected ?? 0;
    failed += (stats.unexpected ?? 0) + (stats.flaky ?? 0);
  }
} finally {
  await cluster.stop();
  await rm(path.dirname(dataDir), { recursive: true, force: true });
}
if (passed === 0) failed += 1; // a run that executed nothing is a failure
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
