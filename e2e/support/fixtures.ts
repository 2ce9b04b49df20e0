// The Playwright test object of the e2e suite: `world` is the product started once per worker
// (world.ts); every test's browser context may only reach loopback addresses, so a page that tried
// to load anything from the internet would fail instead of leaking out.
import { randomBytes } from 'node:crypto';
import { test as base, expect, type BrowserContext } from '@playwright/test';
import { ClaudeConnector, type Connection } from './claude.ts';
import { authorize, type AuthorizeOptions, type AuthorizeResult } from './person.ts';
import { startWorld, type World } from './world.ts';

const loopbackOnly = (context: BrowserContext) =>
  context.route(
    (url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname),
    (route) => route.abort('blockedbyclient'),
  );

export const test = base.extend<{ context: BrowserContext; otherContext: BrowserContext }, { world: World }>({
  world: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern
    async ({}, use) => {
      const world = await startWorld();
      await use(world);
      await world.close();
    },
    { scope: 'worker', timeout: 120_000 },
  ],

  context: async ({ context }, use) => {
    await loopbackOnly(context);
    await use(context);
  },

  /** A second browser (no cookies shared with `context`): another device, or another person. */
  otherContext: async ({ browser }, use) => {
    const other = await browser.newContext();
    await loopbackOnly(other);
    await use(other);
    await other.close();
  },
});

export { expect };

export function randomEmail(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@example.test`;
}

export interface Connected {
  connector: ClaudeConnector;
  connection: Connection;
  authorization: AuthorizeResult;
}

/** Adds Pictor as a connector in Claude and authorizes it in `context` as the person with `email`. */
export async function connectClaude(world: World, context: BrowserContext, o: Omit<AuthorizeOptions, 'sink'>): Promise<Connected> {
  const connector = await ClaudeConnector.add(world.mcpUrl);
  const request = connector.authorizationRequest();
  const [authorization, connection] = await Promise.all([authorize(context, request.url, { ...o, sink: world.sink }), connector.complete(request)]);
  return { connector, connection, authorization };
}
