// Shared by the InFlow tests: a real Postgres database, the InFlow sandbox on loopback, Pictor's
// real HTTP client pointed at it, and Pictor's webhook route served by a small Koa app that the
// sandbox delivers to. Nothing is mocked.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { sql } from 'kysely';
import pino from 'pino';
import type { Db } from '@pictor/platform/db';
import { createTestDatabase } from '@pictor/platform/testing';
import { startInflowSandbox, type InflowSandbox, type InflowSandboxOptions } from '@pictor/inflow-sandbox/sandbox';
import { signWebhook } from '@pictor/inflow-sandbox/webhooks';
import { inflowRoutes } from '../src/http/inflow-webhook.ts';
import type { Clock } from '@pictor/platform/clock';
import { InflowClient } from '../src/pictor/inflow/client.ts';
import type { InflowDeps } from '../src/pictor/inflow/payments.ts';

export const API_KEY = 'inflow_priv_test_key_do_not_log_0123456789';
export const WEBHOOK_SECRET = `whsec_${Buffer.from('pictor test webhook signing secret').toString('base64')}`;
export const CHROMIUM = '/usr/bin/chromium';

/** Real time plus an offset the test can move (webhook signatures carry the sandbox's real time). */
export class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

export interface InflowWorld {
  db: Db;
  sandbox: InflowSandbox;
  inflow: InflowClient;
  clock: ShiftedClock;
  deps: InflowDeps;
  /** Pictor's webhook endpoint, served from this process. */
  webhookUrl: string;
  close(): Promise<void>;
}

export async function startInflowWorld(sandboxOptions: Partial<InflowSandboxOptions> = {}): Promise<InflowWorld> {
  const { db, drop } = await createTestDatabase();
  const clock = new ShiftedClock();
  const log = pino({ level: 'silent' });
  const services: { db: Db; clock: Clock; log: pino.Logger; inflow?: InflowClient } = { db, clock, log };
  const app = new Koa();
  app.use(inflowRoutes(services, WEBHOOK_SECRET));
  const hookServer: Server = createServer(app.callback());
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}`;
  const webhookUrl = `${origin}/webhooks/inflow`;

  const sandbox = await startInflowSandbox({
    apiKey: API_KEY,
    webhookSecret: WEBHOOK_SECRET,
    webhookUrl,
    retryScheduleMs: [0, 50, 100, 200, 400, 800],
    ...sandboxOptions,
  });
  const inflow = new InflowClient({ apiUrl: sandbox.url, apiKey: API_KEY, successUrl: `${origin}/inflow/return`, backoffMs: 20, timeoutMs: 2_000, log });
  services.inflow = inflow;
  return {
    db,
    sandbox,
    inflow,
    clock,
    deps: { db, inflow, clock, log },
    webhookUrl,
    async close() {
      await sandbox.close();
      await new Promise<void>((resolve) => {
        hookServer.close(() => resolve());
        hookServer.closeAllConnections();
      });
      await drop();
    },
  };
}

/**
 * Pays on the sandbox's hosted checkout page: in Chromium when it is installed (clicking the
 * Pay button a person would click), otherwise by submitting the page's form over HTTP.
 * Returns the text of the page the person lands on.
 */
export async function payOnCheckoutPage(purchaseUrl: string, buttonName: RegExp): Promise<{ landed: string; browser: boolean }> {
  if (existsSync(CHROMIUM)) {
    const { chromium } = await import('@playwright/test');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(purchaseUrl);
      await page.getByRole('button', { name: buttonName }).click();
      await page.waitForURL((url) => !url.pathname.startsWith('/pay/'));
      return { landed: await page.locator('body').innerText(), browser: true };
    } finally {
      await browser.close();
    }
  }
  const html = await (await fetch(purchaseUrl)).text();
  const action = /<form method="post" action="([^"]+\/pay)">/.exec(html)?.[1];
  if (!action) throw new Error('no Pay form on the checkout page');
  const landed = await fetch(new URL(action, purchaseUrl), { method: 'POST' });
  return { landed: await landed.text(), browser: false };
}

export interface Delivery {
  id: string;
  timestamp: number;
  body: string;
  signature: string;
}

/** A delivery signed like Svix signs InFlow's (with the sandbox's signer). */
export function signedDelivery(payment: unknown, options: { id?: string; timestamp?: number; secret?: string } = {}): Delivery {
  const id = options.id ?? `msg_test_${Math.random().toString(16).slice(2)}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ data: [{ eventType: 'payment_status_updated', payload: payment }] });
  return { id, timestamp, body, signature: signWebhook(options.secret ?? WEBHOOK_SECRET, id, timestamp, body) };
}

export async function postDelivery(
  url: string,
  d: Delivery,
  overrides: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'svix-id': d.id,
      'svix-timestamp': String(d.timestamp),
      'svix-signature': d.signature,
      ...overrides,
    },
    body: d.body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function paymentEntries(db: Db, paymentId: string) {
  return db.selectFrom('ledger_entries').selectAll().where('kind', '=', 'payment').where('reference', '=', paymentId).execute();
}

/** The cached balance and the ledger's sum for the balance bucket: they must always agree. */
export async function balanceAndLedger(db: Db, accountId: string): Promise<{ balance: bigint; ledger: bigint }> {
  const account = await db.selectFrom('accounts').select('balance').where('id', '=', accountId).executeTakeFirstOrThrow();
  const sum = await sql<{ sum: string | null }>`
    SELECT sum(amount)::text AS sum FROM ledger_entries WHERE account_id = ${accountId} AND bucket = 'balance'`.execute(db);
  return { balance: account.balance, ledger: BigInt(sum.rows[0]?.sum ?? '0') };
}
