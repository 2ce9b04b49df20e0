import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startInflowSandbox, type InflowSandbox } from '../src/sandbox.ts';
import { signWebhook } from '../src/webhooks.ts';

const API_KEY = 'inflow_priv_sandbox_test';
const SECRET = `whsec_${Buffer.from('a sandbox signing secret, 32 b!').toString('base64')}`;

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver whose answers the test scripts (status codes in order, then 200). */
async function receiver(script: Array<number | 'hang'> = []): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    const next = script.shift() ?? 200;
    if (next === 'hang') return; // never answers
    res.writeHead(next).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function call(sandbox: InflowSandbox, method: string, path: string, body?: unknown, key: string | null = API_KEY) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { ...(key === null ? {} : { 'x-inflow-api-key': key }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
}

const newPayment = (cents = 2500, currency = 'USD') => ({
  products: [{ name: 'Pictor credit', price: cents, quantity: 1 }],
  currency,
  customerEmail: 'person@example.com',
  metadatas: { pictorTransactionId: 't1' },
});

test('the API wants the key and answers errors as { statusCode, message, error }', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());

  const missing = await call(sandbox, 'POST', '/api/payment', newPayment(), null);
  assert.equal(missing.status, 401);
  assert.deepEqual(missing.json, { statusCode: 401, message: 'Invalid or missing API key', error: 'Unauthorized' });
  assert.equal((await call(sandbox, 'GET', '/api/payment/pay_x', undefined, 'wrong')).status, 401);

  const invalid = await call(sandbox, 'POST', '/api/payment', { products: [{ name: '', price: 1.5, quantity: 0 }], currency: 'GBP', customerEmail: 'nope' });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.json.error, 'Bad Request');
  assert.ok(Array.isArray(invalid.json.message));
  assert.ok(invalid.json.message.includes('currency must be one of the following values: EUR, USD'));
  assert.ok(invalid.json.message.some((m: string) => m.startsWith('products.0.price')));

  const unknown = await call(sandbox, 'GET', '/api/payment/pay_nope');
  assert.deepEqual(unknown.json, { statusCode: 404, message: 'Payment not found', error: 'Not Found' });
  assert.equal(sandbox.payments.all().length, 0);
});

test('create and read a payment shaped like InFlow getPayment', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());
  const created = await call(sandbox, 'POST', '/api/payment', {
    ...newPayment(),
    products: [
      { name: 'Pictor credit', price: 1000, quantity: 2 },
      { name: 'extra', price: 550, quantity: 1 },
    ],
  });
  assert.equal(created.status, 201);
  assert.match(created.json.paymentId, /^pay_[0-9a-f]{24}$/);
  assert.equal(created.json.purchaseUrl, `${sandbox.url}/pay/${created.json.paymentId}`);
  const payment = (await call(sandbox, 'GET', `/api/payment/${created.json.paymentId}`)).json;
  assert.equal(payment.id, created.json.paymentId);
  assert.equal(payment.amountInCents, 2550);
  assert.equal(payment.currency, 'USD');
  assert.equal(payment.status, 'INITIATION');
  assert.deepEqual(payment.metadatas, { pictorTransactionId: 't1' });
  assert.deepEqual(
    payment.timeline.map((s: { status: string }) => s.status),
    ['INITIATION'],
  );
});

test('the checkout page: opening it, Pay, and Cancel move the payment; a closed checkout refuses', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());
  const { paymentId, purchaseUrl } = (await call(sandbox, 'POST', '/api/payment', newPayment(4200, 'EUR'))).json;

  const page = await fetch(purchaseUrl);
  const html = await page.text();
  assert.equal(page.status, 200);
  assert.match(html, /<button type="submit" class="pay">Pay 42\.00 EUR<\/button>/);
  assert.match(html, />Cancel</);
  assert.equal(sandbox.payments.get(paymentId)!.status, 'CHECKOUT_PENDING');

  const paid = await fetch(`${sandbox.url}/pay/${paymentId}/pay`, { method: 'POST', redirect: 'manual' });
  assert.equal(paid.status, 303);
  const payment = sandbox.payments.get(paymentId)!;
  assert.equal(payment.status, 'PAYMENT_SUCCESS');
  assert.deepEqual(
    payment.timeline.map((s) => s.status),
    ['INITIATION', 'CHECKOUT_PENDING', 'CHECKOUT_SUCCESS', 'PAYMENT_RECEIVED', 'PAYMENT_SUCCESS'],
  );
  assert.match(await (await fetch(purchaseUrl)).text(), /Payment complete/);

  const second = (await call(sandbox, 'POST', '/api/payment', newPayment())).json;
  await fetch(`${sandbox.url}/pay/${second.paymentId}/cancel`, { method: 'POST', redirect: 'manual' });
  assert.equal(sandbox.payments.get(second.paymentId)!.status, 'CANCELED');
  const late = await fetch(`${sandbox.url}/pay/${second.paymentId}/pay`, { method: 'POST', redirect: 'manual' });
  assert.equal(late.status, 409);
  assert.match(await late.text(), /already closed/);
  assert.equal(sandbox.payments.get(second.paymentId)!.status, 'CANCELED');

  assert.equal((await fetch(`${sandbox.url}/pay/pay_missing`)).status, 404);
});

test('Pay redirects to the successUrl with the payment id', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());
  const { paymentId } = (await call(sandbox, 'POST', '/api/payment', { ...newPayment(), successUrl: 'https://pictor.example/inflow/return?x=1' })).json;
  const paid = await fetch(`${sandbox.url}/pay/${paymentId}/pay`, { method: 'POST', redirect: 'manual' });
  assert.equal(paid.status, 303);
  assert.equal(paid.headers.get('location'), `https://pictor.example/inflow/return?x=1&paymentId=${paymentId}`);
});

test('webhooks are signed Svix-style: v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")> with the decoded whsec_ key', async (t) => {
  const hook = await receiver();
  const sandbox = await startInflowSandbox({ apiKey: API_KEY, webhookUrl: hook.url, webhookSecret: SECRET });
  t.after(async () => {
    await sandbox.close();
    await hook.close();
  });
  const { paymentId } = (await call(sandbox, 'POST', '/api/payment', newPayment())).json;
  sandbox.pay(paymentId);
  await sandbox.webhooks.idle();

  assert.equal(hook.received.length, 4); // created, CHECKOUT_SUCCESS, PAYMENT_RECEIVED, PAYMENT_SUCCESS
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  for (const { headers, body } of hook.received) {
    const id = headers['svix-id'] as string;
    const timestamp = headers['svix-timestamp'] as string;
    assert.match(id, /^msg_/);
    assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 30);
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
    assert.equal(headers['svix-signature'], `v1,${expected}`);
    const parsed = JSON.parse(body);
    assert.equal(parsed.data.length, 1);
    assert.equal(parsed.data[0].payload.id, paymentId);
  }
  const statuses = hook.received.map((r) => JSON.parse(r.body).data[0]);
  assert.deepEqual(statuses.map((e) => e.eventType).sort(), ['payment_created', 'payment_status_updated', 'payment_status_updated', 'payment_status_updated']);
  assert.ok(statuses.some((e) => e.payload.status === 'PAYMENT_SUCCESS'));
  // the exported signer agrees with the independent computation above
  assert.equal(signWebhook(SECRET, 'msg_1', 1700000000, '{}'), `v1,${createHmac('sha256', key).update('msg_1.1700000000.{}').digest('base64')}`);
});

test('webhooks are retried with backoff until a 2xx, keeping the svix-id and re-signing each attempt', async (t) => {
  const hook = await receiver([500, 503, 200]);
  const sandbox = await startInflowSandbox({ apiKey: API_KEY, webhookUrl: hook.url, webhookSecret: SECRET, retryScheduleMs: [0, 40, 80, 160] });
  t.after(async () => {
    await sandbox.close();
    await hook.close();
  });
  await call(sandbox, 'POST', '/api/payment', newPayment());
  await sandbox.webhooks.idle();
  const [delivery] = sandbox.webhooks.deliveries;
  assert.equal(delivery!.state, 'delivered');
  assert.deepEqual(
    delivery!.attempts.map((a) => a.status),
    [500, 503, 200],
  );
  const ids = new Set(hook.received.map((r) => r.headers['svix-id']));
  assert.equal(ids.size, 1);
  const gaps = delivery!.attempts
    .map((a) => Date.parse(a.at))
    .slice(1)
    .map((at, i) => at - Date.parse(delivery!.attempts[i]!.at));
  assert.ok(gaps[0]! >= 35 && gaps[1]! >= 75, `backoff grows: ${gaps.join(', ')}`);
});

test('a receiver that does not answer within the timeout counts as failed; the schedule running out marks the delivery failed', async (t) => {
  const hook = await receiver(['hang', 500, 500]);
  const sandbox = await startInflowSandbox({ apiKey: API_KEY, webhookUrl: hook.url, retryScheduleMs: [0, 20, 20], webhookTimeoutMs: 150 });
  t.after(async () => {
    await sandbox.close();
    await hook.close();
  });
  await call(sandbox, 'POST', '/api/payment', newPayment());
  await sandbox.webhooks.idle();
  const [delivery] = sandbox.webhooks.deliveries;
  assert.equal(delivery!.state, 'failed');
  assert.equal(delivery!.attempts.length, 3);
  assert.equal(delivery!.attempts[0]!.status, null);
  assert.match(delivery!.attempts[0]!.error!, /no answer within 150 ms/);
});

test('faults on demand: 503, dropped connections, a count, offline and back with state kept', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());
  const { paymentId } = (await call(sandbox, 'POST', '/api/payment', newPayment())).json;

  sandbox.setFault({ mode: 'unavailable' });
  const down = await call(sandbox, 'GET', `/api/payment/${paymentId}`);
  assert.deepEqual(down.json, { statusCode: 503, message: 'Service temporarily unavailable', error: 'Service Unavailable' });
  assert.equal((await fetch(`${sandbox.url}/healthz`)).status, 200);

  sandbox.setFault({ mode: 'reset' });
  await assert.rejects(fetch(`${sandbox.url}/api/payment/${paymentId}`, { headers: { 'x-inflow-api-key': API_KEY } }), /fetch failed/);

  // the control endpoint flips it over HTTP too (for a sandbox in another process)
  const set = await call(sandbox, 'POST', '/_sandbox/fault', { mode: 'unavailable', count: 2 });
  assert.equal(set.status, 200);
  assert.equal((await call(sandbox, 'GET', `/api/payment/${paymentId}`)).status, 503);
  assert.equal((await call(sandbox, 'GET', `/api/payment/${paymentId}`)).status, 503);
  assert.equal((await call(sandbox, 'GET', `/api/payment/${paymentId}`)).status, 200);

  await sandbox.goOffline();
  await assert.rejects(fetch(`${sandbox.url}/healthz`), /fetch failed/);
  await sandbox.goOnline();
  assert.equal((await call(sandbox, 'GET', `/api/payment/${paymentId}`)).json.status, 'INITIATION');
});

test('refunds: the API refunds in full; the controls refund in part, fail and settle', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY, settlement: 'manual' });
  t.after(() => sandbox.close());
  const a = (await call(sandbox, 'POST', '/api/payment', newPayment(3000))).json.paymentId;
  assert.equal((await call(sandbox, 'POST', `/api/payment/${a}/refund`, { reason: 'test' })).status, 400);
  sandbox.pay(a);
  assert.equal(sandbox.payments.get(a)!.status, 'PAYMENT_RECEIVED');
  assert.equal((await call(sandbox, 'POST', `/_sandbox/payments/${a}/settle`)).json.status, 'PAYMENT_SUCCESS');
  const partial = await call(sandbox, 'POST', `/_sandbox/payments/${a}/refund`, { amountInCents: 1000 });
  assert.equal(partial.json.status, 'PARTIAL_REFUNDED');
  assert.equal(partial.json.refundedAmountInCents, 1000);
  const full = await call(sandbox, 'POST', `/api/payment/${a}/refund`, {});
  assert.equal(full.status, 400); // PARTIAL_REFUNDED is not refundable through the API
  const rest = await call(sandbox, 'POST', `/_sandbox/payments/${a}/refund`, {});
  assert.equal(rest.json.status, 'FULLY_REFUNDED');
  assert.equal(rest.json.refundedAmountInCents, 3000);

  const b = (await call(sandbox, 'POST', '/api/payment', newPayment())).json.paymentId;
  sandbox.pay(b);
  sandbox.settle(b);
  const refunded = await call(sandbox, 'POST', `/api/payment/${b}/refund`, {});
  assert.equal(refunded.json.status, 'FULLY_REFUNDED');

  const c = (await call(sandbox, 'POST', '/api/payment', newPayment())).json.paymentId;
  sandbox.pay(c);
  assert.equal((await call(sandbox, 'POST', `/_sandbox/payments/${c}/fail`)).json.status, 'PAYMENT_FAILED');
  assert.equal((await call(sandbox, 'POST', `/_sandbox/payments/${c}/settle`)).status, 409);
});
