// The InFlow HTTP client against the sandbox on loopback, the Svix signature check (also against
// the standardwebhooks package, an independent implementation), and the settlement rules as a
// pure function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import pino from 'pino';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { startInflowSandbox } from '@pictor/inflow-sandbox/sandbox';
import { signWebhook } from '@pictor/inflow-sandbox/webhooks';
import { InvalidInputError, NotFoundError, UnavailableError } from '../src/pictor/errors.ts';
import { InflowClient, type InflowPayment } from '../src/pictor/inflow/client.ts';
import { verifyWebhookSignature, webhookKey } from '../src/pictor/inflow/signature.ts';
import { planSettlement, type StoredState } from '../src/pictor/inflow/status.ts';
import { API_KEY, WEBHOOK_SECRET } from './inflow-fixtures.ts';

const newPayment = {
  products: [{ name: 'Pictor credit', price: 1500, quantity: 1 }],
  currency: 'USD' as const,
  customerEmail: 'person@example.com',
};

function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { log, text: () => lines.join('') };
}

test('client: creates and reads payments; retries 503, dropped connections and timeouts, then gives up with UnavailableError', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());
  const logs = capture();
  const client = new InflowClient({ apiUrl: `${sandbox.url}/`, apiKey: API_KEY, backoffMs: 10, timeoutMs: 300, retries: 2, log: logs.log });

  const created = await client.createPayment(newPayment);
  assert.match(created.paymentId, /^pay_/);
  const payment = await client.getPayment(created.paymentId);
  assert.equal(payment.status, 'INITIATION');
  assert.equal(payment.amountInCents, 1500);

  sandbox.setFault({ mode: 'unavailable', count: 2 });
  assert.equal((await client.getPayment(created.paymentId)).id, created.paymentId);
  sandbox.setFault({ mode: 'reset', count: 1 });
  assert.equal((await client.getPayment(created.paymentId)).id, created.paymentId);
  sandbox.setFault({ mode: 'slow', delayMs: 800, count: 1 });
  assert.equal((await client.getPayment(created.paymentId)).id, created.paymentId);

  sandbox.setFault({ mode: 'unavailable' });
  const before = sandbox.apiRequests();
  await assert.rejects(client.getPayment(created.paymentId), (e) => e instanceof UnavailableError && /could not be reached \(HTTP 503\)/.test(e.message));
  assert.equal(sandbox.apiRequests() - before, 3); // the first try and two retries
  sandbox.setFault({ mode: 'slow', delayMs: 1_000 });
  await assert.rejects(client.getPayment(created.paymentId, { retries: 0 }), (e) => e instanceof UnavailableError && /no answer within 300 ms/.test(e.message));
  sandbox.setFault({ mode: 'ok' });

  await sandbox.goOffline();
  await assert.rejects(client.createPayment(newPayment), (e) => e instanceof UnavailableError && /ECONNREFUSED/.test(e.message));
  await sandbox.goOnline();
  assert.match(logs.text(), /inflow request failed/);
});

test('client: 4xx answers become domain errors a person can act on', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());
  const client = new InflowClient({ apiUrl: sandbox.url, apiKey: API_KEY, backoffMs: 10 });

  await assert.rejects(client.getPayment('pay_missing'), (e) => e instanceof NotFoundError && e.details.id === 'pay_missing');
  await assert.rejects(
    client.createPayment({ ...newPayment, currency: 'GBP' as 'USD' }),
    (e) => e instanceof InvalidInputError && /currency must be one of the following values: EUR, USD/.test(e.message),
  );
  const before = sandbox.apiRequests();
  const wrongKey = new InflowClient({ apiUrl: sandbox.url, apiKey: 'not-the-key', backoffMs: 10 });
  await assert.rejects(wrongKey.getPayment('pay_x'), (e) => e instanceof UnavailableError && /refused Pictor's API credentials/.test(e.message));
  assert.equal(sandbox.apiRequests() - before, 1); // a 4xx is not retried
});

test('client: the API key never appears in logs, errors, inspect or JSON', async (t) => {
  const sandbox = await startInflowSandbox({ apiKey: API_KEY });
  t.after(() => sandbox.close());
  const logs = capture();
  const client = new InflowClient({ apiUrl: sandbox.url, apiKey: API_KEY, backoffMs: 5, retries: 1, log: logs.log });
  sandbox.setFault({ mode: 'unavailable' });
  const error = await client.getPayment('pay_x').catch((e: unknown) => e as Error);
  await sandbox.goOffline();
  const error2 = await client.createPayment(newPayment).catch((e: unknown) => e as Error);
  await sandbox.goOnline();
  const wrong = new InflowClient({ apiUrl: sandbox.url, apiKey: `${API_KEY}-wrong`, log: logs.log });
  sandbox.setFault({ mode: 'ok' });
  const error3 = await wrong.getPayment('pay_x').catch((e: unknown) => e as Error);
  for (const text of [logs.text(), inspect(client), JSON.stringify(client), inspect(error), inspect(error2), inspect(error3), String(error3)]) {
    assert.ok(!text.includes(API_KEY), `the key leaked into: ${text.slice(0, 200)}`);
  }
  assert.ok(logs.text().length > 0);
});

test('signature: valid, several in one header, forged, tampered, stale both ways, malformed', () => {
  const key = webhookKey(WEBHOOK_SECRET);
  const now = new Date('2026-03-01T12:00:00Z');
  const ts = Math.floor(now.getTime() / 1000);
  const body = '{"data":[{"eventType":"payment_status_updated","payload":{"id":"pay_1"}}]}';
  // computed here independently of both the sandbox's signer and the verifier
  const sig = (id: string, t: number, b: string, k = key) => `v1,${createHmac('sha256', k).update(`${id}.${t}.${b}`).digest('base64')}`;
  const check = (signature: string | undefined, o: { id?: string; t?: number; b?: string; at?: Date } = {}) =>
    verifyWebhookSignature({ id: o.id ?? 'msg_1', timestamp: String(o.t ?? ts), signature, rawBody: Buffer.from(o.b ?? body) }, key, o.at ?? now);

  assert.deepEqual(check(sig('msg_1', ts, body)), { ok: true, id: 'msg_1', timestamp: ts });
  assert.equal(check(`v1,AAAA ${sig('msg_1', ts, body)} v2,zzz`).ok, true);
  assert.deepEqual(check(sig('msg_1', ts, body, Buffer.from('another key of sixteen+ bytes'))), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(check(sig('msg_1', ts, `${body} `)), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(check(sig('msg_2', ts, body)), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(check(sig('msg_1', ts, body).replace('v1,', 'v1a,')), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(check('v1,'), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(check(undefined), { ok: false, reason: 'missing_headers' });
  assert.deepEqual(check(sig('msg_1', ts, body), { at: new Date(now.getTime() + 301_000) }), { ok: false, reason: 'stale' });
  assert.deepEqual(check(sig('msg_1', ts, body), { at: new Date(now.getTime() - 301_000) }), { ok: false, reason: 'stale' });
  assert.equal(check(sig('msg_1', ts, body), { at: new Date(now.getTime() + 299_000) }).ok, true);
  assert.deepEqual(verifyWebhookSignature({ id: 'msg_1', timestamp: '12e3', signature: 'v1,x', rawBody: body }, key, now), {
    ok: false,
    reason: 'bad_timestamp',
  });
  assert.throws(() => webhookKey('whsec_short'), /too short/);
  assert.throws(() => webhookKey('whsec_not base64!'), /base64/);
});

test("signature: ours and standardwebhooks (an independent implementation) accept each other's, and refuse the same tampering", () => {
  const theirs = new Webhook(WEBHOOK_SECRET);
  const key = webhookKey(WEBHOOK_SECRET);
  const now = new Date(); // standardwebhooks checks the timestamp against the real clock
  const ts = Math.floor(now.getTime() / 1000);
  const id = 'msg_2Lx9hH1fYQzY4kG8tP3aN7cR5eW';
  const body = '{"data":[{"eventType":"payment_status_updated","payload":{"id":"pay_1","note":"café ☕ 💳"}}]}';
  const headers = (signature: string, o: { id?: string; t?: number } = {}) => ({
    'webhook-id': o.id ?? id,
    'webhook-timestamp': String(o.t ?? ts),
    'webhook-signature': signature,
  });
  const ours = (signature: string, o: { id?: string; t?: number; b?: string } = {}) =>
    verifyWebhookSignature({ id: o.id ?? id, timestamp: String(o.t ?? ts), signature, rawBody: Buffer.from(o.b ?? body) }, key, now);

  // what the sandbox signs (as InFlow does) verifies with standardwebhooks, and the reverse
  const signed = signWebhook(WEBHOOK_SECRET, id, ts, body);
  assert.deepEqual(theirs.verify(body, headers(signed)), JSON.parse(body));
  const theirSignature = theirs.sign(id, now, body);
  assert.equal(theirSignature, signed);
  assert.deepEqual(ours(theirSignature), { ok: true, id, timestamp: ts });
  assert.equal(ours(`v1,AAAA ${theirSignature}`).ok, true);
  assert.doesNotThrow(() => theirs.verify(body, headers(`v1,AAAA ${signed}`)));

  // tampered: body, id, timestamp, signature bytes; and stale
  const mac = Buffer.from(signed.slice('v1,'.length), 'base64');
  mac[0]! ^= 1;
  const cases: Array<{ what: string; signature: string; b?: string; id?: string; t?: number; reason: string }> = [
    { what: 'body', signature: signed, b: body.replace('pay_1', 'pay_2'), reason: 'bad_signature' },
    { what: 'id', signature: signed, id: 'msg_other', reason: 'bad_signature' },
    { what: 'timestamp', signature: signed, t: ts - 1, reason: 'bad_signature' },
    { what: 'signature', signature: `v1,${mac.toString('base64')}`, reason: 'bad_signature' },
    { what: 'stale', signature: signWebhook(WEBHOOK_SECRET, id, ts - 301, body), t: ts - 301, reason: 'stale' },
  ];
  for (const c of cases) {
    assert.deepEqual(ours(c.signature, c), { ok: false, reason: c.reason }, c.what);
    assert.throws(() => theirs.verify(c.b ?? body, headers(c.signature, c)), WebhookVerificationError, c.what);
  }
  assert.throws(() => theirs.verify(body, headers(theirs.sign(id, now, body), { id: 'msg_other' })), WebhookVerificationError);
  assert.deepEqual(ours(new Webhook(`whsec_${Buffer.from('another secret, sixteen+ bytes').toString('base64')}`).sign(id, now, body)), {
    ok: false,
    reason: 'bad_signature',
  });

  // any id and body (full Unicode): the two implementations sign alike and accept each other
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 300 }), (anyId, anyBody) => {
      const mine = signWebhook(WEBHOOK_SECRET, anyId, ts, anyBody);
      assert.equal(theirs.sign(anyId, now, anyBody), mine);
      assert.equal(ours(mine, { id: anyId, b: anyBody }).ok, true);
      theirs.verify(anyBody, headers(mine, { id: anyId }), { jsonParse: false });
    }),
    { numRuns: 300 },
  );
});

const stored = (over: Partial<StoredState> = {}): StoredState => ({
  status: 'INITIATION',
  inflowUpdatedAt: null,
  credited: false,
  amountMinor: 2500n,
  currency: 'USD',
  refundedMinor: 0n,
  accountedMinor: 0n,
  ...over,
});
const seen = (status: string, over: Partial<InflowPayment> = {}): InflowPayment => ({
  id: 'pay_1',
  status,
  amountInCents: 2500,
  currency: 'USD',
  updatedAt: '2026-01-01T00:00:10Z',
  timeline: [],
  ...over,
});
const success = [{ status: 'PAYMENT_SUCCESS', timestamp: '2026-01-01T00:00:05Z' }];

test('settlement rules: only PAYMENT_SUCCESS credits; refunds reverse once; stale snapshots change nothing', () => {
  for (const status of ['INITIATION', 'CHECKOUT_PENDING', 'CHECKOUT_SUCCESS', 'PAYMENT_RECEIVED', 'CANCELED', 'PAYMENT_FAILED', 'REFUND_PENDING']) {
    assert.equal(planSettlement(stored(), seen(status)).credit, false, status);
  }
  assert.equal(planSettlement(stored(), seen('PAYMENT_SUCCESS')).credit, true);
  assert.equal(planSettlement(stored({ credited: true, status: 'PAYMENT_SUCCESS' }), seen('PAYMENT_SUCCESS')).credit, false);
  // a refund state after a real settlement that was never credited: credit, then take the refund back
  const partial = planSettlement(stored(), seen('PARTIAL_REFUNDED', { timeline: success, refundedAmountInCents: 500 }));
  assert.deepEqual([partial.credit, partial.reverseMinor, partial.refundedMinor], [true, 500n, 500n]);
  // refunded in full before Pictor ever saw it settle: nothing in, nothing out
  const full = planSettlement(stored(), seen('FULLY_REFUNDED', { timeline: success }));
  assert.deepEqual([full.credit, full.reverseMinor, full.refundedMinor], [false, 0n, 2500n]);
  // after credit: the refund is taken back, only the part not yet accounted for
  const after = planSettlement(stored({ credited: true, status: 'PARTIAL_REFUNDED', refundedMinor: 500n, accountedMinor: 500n }), seen('FULLY_REFUNDED'));
  assert.equal(after.reverseMinor, 2000n);
  // a partial refund without its amount: flagged, no guess
  const unknown = planSettlement(stored({ credited: true, status: 'PAYMENT_SUCCESS' }), seen('PARTIAL_REFUNDED', { refundedAmountInCents: null }));
  assert.equal(unknown.reverseMinor, 0n);
  assert.match(unknown.review!, /without its amount/);
  // stale: lower rank, or older updatedAt
  assert.equal(planSettlement(stored({ status: 'FULLY_REFUNDED' }), seen('PAYMENT_SUCCESS')).apply, false);
  assert.equal(planSettlement(stored({ status: 'CHECKOUT_PENDING', inflowUpdatedAt: new Date('2026-01-01T00:00:20Z') }), seen('PAYMENT_SUCCESS')).apply, false);
  // amount or currency mismatch: recorded, not credited
  const mismatch = planSettlement(stored(), seen('PAYMENT_SUCCESS', { currency: 'EUR' }));
  assert.equal(mismatch.credit, false);
  assert.match(mismatch.review!, /not credited/);
  // failure after credit: flagged for a person, no money moves
  const reversed = planSettlement(stored({ credited: true, status: 'PAYMENT_SUCCESS' }), seen('PAYMENT_FAILED'));
  assert.deepEqual([reversed.credit, reversed.reverseMinor], [false, 0n]);
  assert.match(reversed.review!, /already credited/);
  assert.equal(planSettlement(stored(), seen('SOMETHING_NEW')).apply, false);
});
