// A local stand-in for InFlow (Inflow Pay): the same API shape, a hosted checkout page, and
// Svix-style signed webhooks with retries. Dev and tests run Pictor's real HTTP client against
// it. State is in memory: it stands for a network outside Pictor, not for Pictor's data.
//
//   POST /api/payment            create a payment → 201 { paymentId, purchaseUrl }
//   GET  /api/payment/:id        the payment, shaped like InFlow's getPayment
//   POST /api/payment/:id/refund full refund (as InFlow's API offers)
//   GET  /pay/:id                the hosted checkout page (Pay / Cancel)
//   /_sandbox/…                  test controls: settle, fail, refund, faults, webhook log
//   GET  /healthz
import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import { checkoutPage, notFoundPage } from './checkout-page.ts';
import { PaymentStore, STATUSES, TransitionError, type NewPayment, type Payment, type PaymentStatus } from './payments.ts';
import { WebhookSender, generateWebhookSecret, type Delivery } from './webhooks.ts';

export interface InflowSandboxOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** The one API key the sandbox accepts in X-Inflow-Api-Key. */
  apiKey: string;
  /** Where webhooks go; none are sent while unset. */
  webhookUrl?: string;
  /** `whsec_…` signing secret; generated when omitted (read it back from the result). */
  webhookSecret?: string;
  /** Base of purchaseUrl as a browser reaches it. Default the listening URL. */
  publicUrl?: string;
  /** Delays before each webhook attempt (ms). Default 0, 1 s, 5 s, 30 s, 2 min, 10 min. */
  retryScheduleMs?: number[];
  /** A webhook attempt without a 2xx answer within this many ms has failed. Default 15000. */
  webhookTimeoutMs?: number;
  /**
   * What Pay does: 'instant' (default) walks CHECKOUT_SUCCESS → PAYMENT_RECEIVED → PAYMENT_SUCCESS;
   * 'manual' stops at PAYMENT_RECEIVED until settle() is called.
   */
  settlement?: 'instant' | 'manual';
}

/** How the API (/api/*) misbehaves; the checkout page, controls and /healthz are unaffected. */
export interface Fault {
  /** ok; unavailable → 503; reset → the connection is dropped without an answer; slow → delayMs, then ok. */
  mode: 'ok' | 'unavailable' | 'reset' | 'slow';
  delayMs?: number;
  /** Fail only the next N API requests (with `mode`), then behave again. */
  count?: number;
}

export interface InflowSandbox {
  url: string;
  apiKey: string;
  webhookSecret: string;
  payments: PaymentStore;
  webhooks: WebhookSender;
  setFault(fault: Fault): void;
  setWebhookUrl(url: string | undefined): void;
  /** Stops listening (callers get connection refused) while keeping every payment. */
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  /** What the checkout page's buttons do. */
  pay(id: string): Payment;
  cancel(id: string): Payment;
  settle(id: string): Payment;
  fail(id: string): Payment;
  refund(id: string, options?: { amountInCents?: number; outcome?: 'complete' | 'pending' | 'failed' }): Payment;
  /** Number of /api requests answered so far (a test can see whether a retry happened). */
  apiRequests(): number;
  close(): Promise<void>;
}

class ApiError extends Error {
  readonly statusCode: number;
  readonly messages: string | string[];
  constructor(statusCode: number, messages: string | string[]) {
    super(Array.isArray(messages) ? messages.join('; ') : messages);
    this.statusCode = statusCode;
    this.messages = messages;
  }
}

export async function startInflowSandbox(options: InflowSandboxOptions): Promise<InflowSandbox> {
  const host = options.host ?? '127.0.0.1';
  const webhookSecret = options.webhookSecret ?? generateWebhookSecret();
  const webhooks = new WebhookSender({
    url: options.webhookUrl,
    secret: webhookSecret,
    ...(options.retryScheduleMs ? { retryScheduleMs: options.retryScheduleMs } : {}),
    ...(options.webhookTimeoutMs ? { timeoutMs: options.webhookTimeoutMs } : {}),
  });
  const payments = new PaymentStore((payment, created) => {
    webhooks.send([{ eventType: created ? 'payment_created' : 'payment_status_updated', payload: payment }]);
  });
  let fault: Fault = { mode: 'ok' };
  let apiRequests = 0;
  let publicUrl = options.publicUrl?.replace(/\/+$/, '') ?? '';

  const settlement = options.settlement ?? 'instant';
  const control = {
    pay: (id: string) =>
      payments.walk(id, settlement === 'instant' ? ['CHECKOUT_SUCCESS', 'PAYMENT_RECEIVED', 'PAYMENT_SUCCESS'] : ['CHECKOUT_SUCCESS', 'PAYMENT_RECEIVED']),
    cancel: (id: string) => payments.move(id, 'CANCELED'),
    settle: (id: string) => payments.move(id, 'PAYMENT_SUCCESS'),
    fail: (id: string) => payments.move(id, 'PAYMENT_FAILED'),
    refund: (id: string, o?: { amountInCents?: number; outcome?: 'complete' | 'pending' | 'failed' }) => payments.refund(id, o),
  };

  const app = new Koa();
  app.use(apiErrors);
  app.use(async (ctx, next) => {
    if (ctx.path === '/healthz') {
      ctx.body = { ok: true };
      return;
    }
    await next();
  });

  const api = new Router({ prefix: '/api' });
  api.use(async (ctx, next) => {
    apiRequests += 1;
    const active = fault;
    if (active.mode === 'ok') return next();
    if (active.count !== undefined) {
      active.count -= 1;
      if (active.count <= 0) fault = { mode: 'ok' };
    }
    if (active.mode === 'reset') {
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    if (active.mode === 'unavailable') throw new ApiError(503, 'Service temporarily unavailable');
    await new Promise((r) => setTimeout(r, active.delayMs ?? 1_000));
    return next();
  });
  api.use(requireApiKey(options.apiKey));

  api.post('/payment', async (ctx) => {
    const input = validateNewPayment(await readJson(ctx));
    const payment = payments.create(input);
    ctx.status = 201;
    ctx.body = { paymentId: payment.id, purchaseUrl: `${publicUrl}/pay/${payment.id}` };
  });
  api.get('/payment/:id', (ctx) => {
    const payment = payments.get(ctx.params.id!);
    if (!payment) throw new ApiError(404, 'Payment not found');
    ctx.body = payment;
  });
  api.post('/payment/:id/refund', async (ctx) => {
    await readJson(ctx);
    const payment = payments.get(ctx.params.id!);
    if (!payment) throw new ApiError(404, 'Payment not found');
    if (!['CHECKOUT_SUCCESS', 'PAYMENT_RECEIVED', 'PAYMENT_SUCCESS'].includes(payment.status)) {
      throw new ApiError(400, `A payment in ${payment.status} cannot be refunded`);
    }
    ctx.body = asApi(() => control.refund(payment.id));
  });

  const page = new Router({ prefix: '/pay' });
  page.get('/:id', (ctx) => {
    const payment = payments.get(ctx.params.id!);
    ctx.type = 'html';
    if (!payment) {
      ctx.status = 404;
      ctx.body = notFoundPage();
      return;
    }
    // Opening the page is "the user is in the checkout".
    ctx.body = checkoutPage(payment.status === 'INITIATION' ? payments.move(payment.id, 'CHECKOUT_PENDING') : payment);
  });
  for (const action of ['pay', 'cancel'] as const) {
    page.post(`/:id/${action}`, (ctx) => {
      const id = ctx.params.id!;
      const payment = payments.get(id);
      ctx.type = 'html';
      if (!payment) {
        ctx.status = 404;
        ctx.body = notFoundPage();
        return;
      }
      try {
        const after = control[action](id);
        if (action === 'pay' && after.successUrl) {
          const target = new URL(after.successUrl);
          target.searchParams.set('paymentId', id);
          ctx.redirect(target.toString());
        } else {
          ctx.redirect(`/pay/${id}`);
        }
        ctx.status = 303;
      } catch (error) {
        if (!(error instanceof TransitionError)) throw error;
        ctx.status = 409;
        ctx.body = checkoutPage(payments.get(id)!, 'This checkout is already closed.');
      }
    });
  }

  const admin = new Router({ prefix: '/_sandbox' });
  admin.use(requireApiKey(options.apiKey));
  for (const action of ['pay', 'cancel', 'settle', 'fail'] as const) {
    admin.post(`/payments/:id/${action}`, (ctx) => {
      ctx.body = asApi(() => control[action](ctx.params.id!));
    });
  }
  admin.post('/payments/:id/refund', async (ctx) => {
    const body = (await readJson(ctx)) as { amountInCents?: number; outcome?: 'complete' | 'pending' | 'failed' };
    ctx.body = asApi(() => control.refund(ctx.params.id!, body));
  });
  admin.post('/payments/:id/status', async (ctx) => {
    const body = (await readJson(ctx)) as { status?: string };
    if (!STATUSES.includes(body.status as PaymentStatus)) throw new ApiError(400, `status must be one of ${STATUSES.join(', ')}`);
    ctx.body = asApi(() => payments.move(ctx.params.id!, body.status as PaymentStatus));
  });
  admin.post('/fault', async (ctx) => {
    const body = (await readJson(ctx)) as Partial<Fault>;
    if (!['ok', 'unavailable', 'reset', 'slow'].includes(String(body.mode))) {
      throw new ApiError(400, 'mode must be ok, unavailable, reset or slow');
    }
    if (body.count !== undefined && !(Number.isInteger(body.count) && body.count >= 1)) throw new ApiError(400, 'count must be a positive integer');
    fault = {
      mode: body.mode!,
      ...(body.delayMs !== undefined ? { delayMs: Number(body.delayMs) } : {}),
      ...(body.count !== undefined ? { count: Number(body.count) } : {}),
    };
    ctx.body = fault;
  });
  admin.post('/webhooks', async (ctx) => {
    const body = (await readJson(ctx)) as { enabled?: boolean; url?: string | null };
    if (body.enabled !== undefined) webhooks.setEnabled(Boolean(body.enabled));
    if (body.url !== undefined) webhooks.setUrl(body.url ?? undefined);
    ctx.body = { url: webhooks.url ?? null };
  });
  admin.get('/deliveries', (ctx) => {
    ctx.body = webhooks.deliveries.map(describeDelivery);
  });
  admin.post('/deliveries/:id/resend', async (ctx) => {
    try {
      ctx.body = await webhooks.resend(ctx.params.id!);
    } catch {
      throw new ApiError(404, 'Delivery not found');
    }
  });

  for (const router of [api, page, admin]) app.use(router.routes()).use(router.allowedMethods());

  const server: Server = createServer(app.callback());
  const port = await listen(server, options.port ?? 0, host);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (!publicUrl) publicUrl = url;

  return {
    url,
    apiKey: options.apiKey,
    webhookSecret,
    payments,
    webhooks,
    setFault: (next) => {
      fault = { ...next };
    },
    setWebhookUrl: (next) => webhooks.setUrl(next),
    goOffline: () => stop(server),
    goOnline: async () => {
      await listen(server, port, host);
    },
    ...control,
    apiRequests: () => apiRequests,
    close: async () => {
      webhooks.close();
      await stop(server);
    },
  };
}

function describeDelivery(d: Delivery) {
  return { id: d.id, state: d.state, eventTypes: d.eventTypes, paymentIds: d.paymentIds, attempts: d.attempts };
}

function asApi(fn: () => Payment): Payment {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TransitionError) throw new ApiError(/not found/.test(error.message) ? 404 : 409, error.message);
    throw error;
  }
}

/** Errors as InFlow sends them: { statusCode, message, error }. */
async function apiErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) throw new ApiError(404, `Cannot ${ctx.method} ${ctx.path}`);
  } catch (error) {
    const status = error instanceof ApiError ? error.statusCode : 500;
    const message = error instanceof ApiError ? error.messages : 'Internal server error';
    ctx.status = status;
    ctx.type = 'json';
    ctx.body = { statusCode: status, message, error: STATUS_CODES[status] ?? 'Error' };
  }
}

function requireApiKey(expected: string) {
  const want = createHash('sha256').update(expected).digest();
  return async (ctx: Context, next: Next) => {
    const given = ctx.get('x-inflow-api-key');
    const got = createHash('sha256').update(given).digest();
    if (!given || !timingSafeEqual(want, got)) throw new ApiError(401, 'Invalid or missing API key');
    await next();
  };
}

async function readJson(ctx: Context, limit = 100_000): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError(413, 'Request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'Request body is not valid JSON');
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function validateNewPayment(body: unknown): NewPayment {
  const problems: string[] = [];
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const products = Array.isArray(b.products) ? b.products : [];
  if (!Array.isArray(b.products) || products.length === 0) problems.push('products must contain at least 1 elements');
  products.forEach((p, i) => {
    const product = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof product.name !== 'string' || product.name.trim() === '') problems.push(`products.${i}.name must be a non-empty string`);
    if (!Number.isSafeInteger(product.price) || (product.price as number) < 1) problems.push(`products.${i}.price must be a positive integer (minor units)`);
    if (!Number.isSafeInteger(product.quantity) || (product.quantity as number) < 1) problems.push(`products.${i}.quantity must be a positive integer`);
  });
  if (b.currency !== 'USD' && b.currency !== 'EUR') problems.push('currency must be one of the following values: EUR, USD');
  if (typeof b.customerEmail !== 'string' || !EMAIL.test(b.customerEmail)) problems.push('customerEmail must be an email');
  if (b.successUrl !== undefined && (typeof b.successUrl !== 'string' || !URL.canParse(b.successUrl))) problems.push('successUrl must be a URL address');
  if (b.metadatas !== undefined && (typeof b.metadatas !== 'object' || b.metadatas === null || Array.isArray(b.metadatas))) {
    problems.push('metadatas must be an object');
  }
  if (problems.length > 0) throw new ApiError(400, problems);
  return {
    products: products as NewPayment['products'],
    currency: b.currency as NewPayment['currency'],
    customerEmail: b.customerEmail as string,
    ...(typeof b.successUrl === 'string' ? { successUrl: b.successUrl } : {}),
    ...(b.metadatas ? { metadatas: b.metadatas as Record<string, unknown> } : {}),
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
