// Browser end-to-end tests: the real product in-process (support/world.ts), Debian's Chromium
// (never a downloaded browser), one worker (the machine is shared), `npm test` reads the JSON report.
import path from 'node:path';
import { defineConfig } from '@playwright/test';

const dir = import.meta.dirname;

export default defineConfig({
  testDir: dir,
  testMatch: '*.spec.ts',
  outputDir: path.join(dir, 'test-results'),
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 120_000,
  expect: { timeout: 10_000 },
  reporter: [
    ['list'],
    // scripts/test.ts sets PLAYWRIGHT_JSON_OUTPUT_NAME; run alone, the report goes next to the results.
    ['json', process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? {} : { outputFile: path.join(dir, 'test-results', 'report.json') }],
  ],
  use: {
    browserName: 'chromium',
    viewport: { width: 1100, height: 800 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        // Every name but loopback is unresolvable: no page (or redirect, which routes do not see) can reach the internet.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
