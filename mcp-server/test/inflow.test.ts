// InFlow top-ups end to end through the core: real Postgres, the real HTTP client, the sandbox
// on loopback, its checkout page in Chromium and its signed webhooks into Pictor's route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addTeamMember, createTeam, ensureUser, resolveAccountId } from '../src/pictor/accounts.ts';
import type { Actor } from '../src/pictor/actor.ts';
import { ConflictError, InsufficientRoleError, InvalidInputError, NotFoundError, UnavailableError } from '../src/pictor/errors.ts';
import { applyPaymentSnapshot } from '../src/pictor/inflow/settle.ts';
import { createCheckout, listTransactions, syncAllPendingPayments, syncPending, verifyTransaction } from '../src/pictor/inflow/payments.ts';
import { getFunds, lockAccount, postCharge } from '../src/pictor/ledger.ts';
import { balanceAndLedger, payOnCheckoutPage, paymentEntries, postDelivery, signedDelivery, startInflowWorld, type InflowWorld } from './inflow-fixtures.ts';

let world: InflowWorld;
before(async () => {
  world = await startInflowWorld();
});
after(() => world.close());

let users = 0;
async function person(): Promise<{ actor: Actor; accountId: string }> {
  users += 1;
  const user = await ensureUser(world.db, `payer-${users}-${Date.now()}@example.com`);
  return { actor: { userId: user.id, email: user.email }, accountId: await resolveAccountId(world.db, { userId: user.id }, 'read') };
}

const key = () => `key-${Math.random().toString(36).slice(2)}`;

async function checkout(actor: Actor, amount = '25', currency: 'USD' | 'EUR' = 'USD') {
  return (await createCheckout(world.deps, actor, { amount, currency, idempotencyKey: key() })).transaction;
}

/** Runs fn with the sandbox's webhooks off, so only what the test calls can credit. */
async function withoutWebhooks<T>(fn: () => Promise<T>): Promise<T> {
  world.sandbox.webhooks.setEnabled(false);
  try {
    return await fn();
  } finally {
    world.sandbox.webhooks.setEnabled(true);
  }
}

test('a full top-up: checkout, paid on the hosted page in Chromium, verify → the balance rises by exactly the amount', async () => {
  await withoutWebhooks(async () => {
    const { actor, accountId } = await person();
    const before = await getFunds(world.db, accountId);
    const t = await checkout(actor, '25.50');
    assert.equal(t.status, 'INITIATION');
    assert.equal(t.amountMicro, 25_500_000n);
    assert.equal(t.credited, false);
    assert.match(t.purchaseUrl!, new RegExp(`^${world.sandbox.url}/pay/pay_`));
    const sent = world.sandbox.payments.get(t.paymentId)!;
    assert.equal(sent.amountInCents, 2550);
    assert.equal(sent.customerEmail, actor.email);
    assert.deepEqual(sent.metadatas, { pictorTransactionId: t.id, pictorAccountId: accountId });

    const early = await verifyTransaction(world.deps, actor, t.id);
    assert.equal(early.creditedNow, false);
    assert.equal(early.transaction.status, 'INITIATION');
    assert.match(early.summary, /not paid yet/);

    const { landed } = await payOnCheckoutPage(t.purchaseUrl!, /^Pay 25\.50 USD$/);
    assert.match(landed, /go back to Claude/);
    assert.equal(world.sandbox.payments.get(t.paymentId)!.status, 'PAYMENT_SUCCESS');

    const verified = await verifyTransaction(world.deps, actor, t.id);
    assert.equal(verified.creditedNow, true);
    assert.equal(verified.transaction.status, 'PAYMENT_SUCCESS');
    assert.equal(verified.transaction.credited, true);
    assert.equal(verified.balanceMicro, before.balance + 25_500_000n);
    assert.match(verified.summary, /^Credited 25\.50 credits just now\./);

    const again = await verifyTransaction(world.deps, actor, t.paymentId); // by InFlow's id too
    assert.equal(again.creditedNow, false);
    assert.equal(again.balanceMicro, before.balance + 25_500_000n);
    const entries = await paymentEntries(world.db, t.paymentId);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.amount, 25_500_000n);
    assert.equal(entries[0]!.bucket, 'balance');
    assert.equal(entries[0]!.account_id, accountId);
    const { balance, ledger } = await balanceAndLedger(world.db, accountId);
    assert.equal(balance, ledger);
  });
});

test('20 concurrent verifies, 5 replays of a webhook, and both syncs racing on one payment → exactly one ledger entry', async () => {
  const { actor, accountId } = await person();
  const t = await withoutWebhooks(async () => {
    const created = await checkout(actor, '40');
    world.sandbox.pay(created.paymentId);
    return created;
  });
  const delivery = signedDelivery(world.sandbox.payments.get(t.paymentId));
  const results = await Promise.all([
    ...Array.from({ length: 20 }, () => verifyTransaction(world.deps, actor, t.id)),
    ...Array.from({ length: 5 }, () => postDelivery(world.webhookUrl, delivery)),
    syncPending(world.deps, actor),
    syncAllPendingPayments(world.deps, { minIntervalMs: 0 }),
  ]);
  const verifies = results.slice(0, 20) as Awaited<ReturnType<typeof verifyTransaction>>[];
  const hooks = results.slice(20, 25) as Array<{ status: number; body: Record<string, unknown> }>;
  assert.ok(
    hooks.every((h) => h.status === 200),
    JSON.stringify(hooks),
  );
  assert.ok(verifies.filter((v) => v.creditedNow).length <= 1);
  assert.ok(verifies.every((v) => v.transaction.credited && v.transaction.status === 'PAYMENT_SUCCESS'));

  assert.equal((await paymentEntries(world.db, t.paymentId)).length, 1);
  const { balance, ledger } = await balanceAndLedger(world.db, accountId);
  assert.equal(balance, 40_000_000n);
  assert.equal(ledger, 40_000_000n);
  const recorded = await world.db.selectFrom('inflow_webhook_deliveries').selectAll().where('svix_id', '=', delivery.id).execute();
  assert.equal(recorded.length, 1);
  assert.deepEqual(recorded[0]!.payment_ids, [t.paymentId]);
});

test("the sandbox's own signed webhooks credit a payment with no verify call; resending them changes nothing", async () => {
  const { actor, accountId } = await person();
  const t = await checkout(actor, '12');
  world.sandbox.pay(t.paymentId); // CHECKOUT_SUCCESS, PAYMENT_RECEIVED, PAYMENT_SUCCESS: three deliveries, in any order
  await world.sandbox.webhooks.idle();
  const row = await world.db.selectFrom('inflow_transactions').selectAll().where('id', '=', t.id).executeTakeFirstOrThrow();
  assert.equal(row.status, 'PAYMENT_SUCCESS');
  assert.notEqual(row.credited_entry_id, null);
  assert.equal((await getFunds(world.db, accountId)).balance, 12_000_000n);

  const mine = world.sandbox.webhooks.deliveries.filter((d) => d.paymentIds.includes(t.paymentId));
  assert.ok(mine.length >= 4 && mine.every((d) => d.state === 'delivered'));
  for (let i = 0; i < 5; i += 1) {
    const attempt = await world.sandbox.webhooks.resend(mine.at(-1)!.id);
    assert.equal(attempt.status, 200);
  }
  assert.equal((await paymentEntries(world.db, t.paymentId)).length, 1);
  assert.equal((await getFunds(world.db, accountId)).balance, 12_000_000n);
});

test('forged, tampered, stale and replayed webhook deliveries are refused and credit nothing', async () => {
  const { actor, accountId } = await person();
  const t = await withoutWebhooks(async () => {
    const created = await checkout(actor, '30');
    world.sandbox.pay(created.paymentId);
    return created;
  });
  const payment = world.sandbox.payments.get(t.paymentId);
  const otherSecret = `whsec_${Buffer.from("someone else's secret, not ours").toString('base64')}`;

  const forged = await postDelivery(world.webhookUrl, signedDelivery(payment, { secret: otherSecret }));
  assert.deepEqual(forged, { status: 401, body: { error: 'invalid_signature' } });

  const genuine = signedDelivery(payment);
  const tampered = await postDelivery(world.webhookUrl, { ...genuine, body: genuine.body.replace('PAYMENT_SUCCESS', 'PAYMENT_SUCCESS ') });
  assert.equal(tampered.status, 401);
  const otherId = await postDelivery(world.webhookUrl, { ...genuine, id: 'msg_swapped' });
  assert.equal(otherId.status, 401);
  const noSignature = await postDelivery(world.webhookUrl, genuine, { 'svix-signature': '' });
  assert.deepEqual(noSignature, { status: 400, body: { error: 'invalid_headers' } });
  const wrongScheme = await postDelivery(world.webhookUrl, { ...genuine, signature: genuine.signature.replace('v1,', 'v1a,') });
  assert.equal(wrongScheme.status, 401);

  const old = signedDelivery(payment, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
  assert.deepEqual(await postDelivery(world.webhookUrl, old), { status: 400, body: { error: 'stale_timestamp' } });
  const future = signedDelivery(payment, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 });
  assert.equal((await postDelivery(world.webhookUrl, future)).status, 400);

  // A captured genuine delivery replayed later than the 5-minute tolerance is refused.
  world.clock.offsetMs = 5 * 60_000 + 2_000;
  try {
    assert.deepEqual(await postDelivery(world.webhookUrl, genuine), { status: 400, body: { error: 'stale_timestamp' } });
  } finally {
    world.clock.offsetMs = 0;
  }
  assert.equal((await paymentEntries(world.db, t.paymentId)).length, 0);
  assert.equal((await getFunds(world.db, accountId)).balance, 0n);

  // The genuine one, in time, is applied once; replaying it (same svix-id) is acknowledged, not applied.
  assert.deepEqual(await postDelivery(world.webhookUrl, genuine), { status: 200, body: { ok: true, applied: 1 } });
  assert.deepEqual(await postDelivery(world.webhookUrl, genuine), { status: 200, body: { ok: true, duplicate: true } });
  // Several signatures in the header (a rotated secret): any one valid v1 signature is enough.
  const rotated = signedDelivery(payment);
  const both = `v1,${Buffer.alloc(32).toString('base64')} ${rotated.signature}`;
  assert.equal((await postDelivery(world.webhookUrl, { ...rotated, signature: both })).status, 200);
  assert.equal((await paymentEntries(world.db, t.paymentId)).length, 1);
  assert.equal((await getFunds(world.db, accountId)).balance, 30_000_000n);
});

test('canceled and failed payments credit nothing; authorized or received but unsettled ones are not credited yet', async () => {
  await withoutWebhooks(async () => {
    const { actor, accountId } = await person();
    const canceled = await checkout(actor, '10');
    await fetch(canceled.purchaseUrl!); // the person opens the page…
    await fetch(`${world.sandbox.url}/pay/${canceled.paymentId}/cancel`, { method: 'POST', redirect: 'manual' }); // …and cancels
    const c = await verifyTransaction(world.deps, actor, canceled.id);
    assert.equal(c.transaction.status, 'CANCELED');
    assert.equal(c.creditedNow, false);
    assert.match(c.summary, /canceled/);

    const failing = await checkout(actor, '15', 'EUR');
    world.sandbox.payments.walk(failing.paymentId, ['CHECKOUT_SUCCESS']);
    const authorized = await verifyTransaction(world.deps, actor, failing.id);
    assert.equal(authorized.transaction.status, 'CHECKOUT_SUCCESS');
    assert.equal(authorized.transaction.credited, false);
    world.sandbox.payments.move(failing.paymentId, 'PAYMENT_RECEIVED');
    const received = await verifyTransaction(world.deps, actor, failing.id);
    assert.equal(received.transaction.status, 'PAYMENT_RECEIVED');
    assert.equal(received.transaction.credited, false);
    assert.match(received.summary, /not reached Pictor's account yet/);
    world.sandbox.fail(failing.paymentId);
    const failed = await verifyTransaction(world.deps, actor, failing.id);
    assert.equal(failed.transaction.status, 'PAYMENT_FAILED');
    assert.equal(failed.transaction.credited, false);

    const sync = await syncPending(world.deps, actor);
    assert.equal(sync.results.length, 0); // nothing left pending
    assert.equal((await paymentEntries(world.db, canceled.paymentId)).length, 0);
    assert.equal((await paymentEntries(world.db, failing.paymentId)).length, 0);
    assert.equal((await getFunds(world.db, accountId)).balance, 0n);
  });
});

test('a team top-up credits the team; someone outside the team can neither see nor verify it', async () => {
  await withoutWebhooks(async () => {
    const owner = await person();
    const member = await person();
    const outsider = await person();
    const team = await createTeam(world.db, owner.actor.userId, 'Render farm');
    await addTeamMember(world.db, team.id, member.actor.userId);

    const t = await checkout({ ...owner.actor, teamId: team.id }, '100');
    assert.equal(t.teamId, team.id);
    assert.equal(t.accountId, team.accountId);
    world.sandbox.pay(t.paymentId);

    await assert.rejects(
      verifyTransaction(world.deps, { ...outsider.actor, teamId: team.id }, t.id),
      (e) => e instanceof NotFoundError && /Team not found/.test(e.message),
    );
    await assert.rejects(
      verifyTransaction(world.deps, outsider.actor, t.id),
      (e) => e instanceof NotFoundError && /InFlow transaction not found/.test(e.message),
    );
    await assert.rejects(verifyTransaction(world.deps, outsider.actor, t.paymentId), NotFoundError);
    await assert.rejects(verifyTransaction(world.deps, member.actor, t.id), NotFoundError); // personal context, not the team's
    assert.deepEqual(await listTransactions(world.db, outsider.actor), []);
    assert.deepEqual((await syncPending(world.deps, outsider.actor)).results, []);
    assert.equal((await paymentEntries(world.db, t.paymentId)).length, 0);

    // A plain member may not verify the team's top-ups (admin or owner may); nothing is credited.
    await assert.rejects(verifyTransaction(world.deps, { ...member.actor, teamId: team.id }, t.id), InsufficientRoleError);
    assert.equal((await paymentEntries(world.db, t.paymentId)).length, 0);

    const verified = await verifyTransaction(world.deps, { ...owner.actor, teamId: team.id }, t.id);
    assert.equal(verified.creditedNow, true);
    assert.equal((await getFunds(world.db, team.accountId)).balance, 100_000_000n);
    assert.equal((await getFunds(world.db, owner.accountId)).balance, 0n);
    assert.equal((await getFunds(world.db, member.accountId)).balance, 0n);
    assert.equal((await listTransactions(world.db, { ...owner.actor, teamId: team.id }))[0]!.id, t.id);
  });
});

test('InFlow unreachable: a clear error and nothing lost; the sync job credits the payment later', async () => {
  await withoutWebhooks(async () => {
    const { actor, accountId } = await person();
    const t = await checkout(actor, '20');
    world.sandbox.pay(t.paymentId);

    await world.sandbox.goOffline();
    try {
      await assert.rejects(
        verifyTransaction(world.deps, actor, t.id),
        (e) => e instanceof UnavailableError && /Could not reach InFlow to check payment pay_/.test(e.message) && /not lost/.test(e.message),
      );
      await assert.rejects(syncPending(world.deps, actor), (e) => e instanceof UnavailableError && /none of the 1 pending top-ups/.test(e.message));
      const k = key();
      await assert.rejects(
        createCheckout(world.deps, actor, { amount: '10', currency: 'USD', idempotencyKey: k }),
        (e) => e instanceof UnavailableError && /could not be reached/.test(e.message),
      );
      assert.equal((await world.db.selectFrom('inflow_transactions').select('id').where('idempotency_key', '=', k).execute()).length, 0);
      const offline = await syncAllPendingPayments(world.deps, { minIntervalMs: 0 });
      assert.equal(offline.credited, 0);
      assert.ok(offline.failed >= 1);
    } finally {
      await world.sandbox.goOnline();
    }
    const row = await world.db.selectFrom('inflow_transactions').selectAll().where('id', '=', t.id).executeTakeFirstOrThrow();
    assert.equal(row.credited_entry_id, null);
    assert.equal(row.status, 'INITIATION'); // what we last knew; nothing was lost or invented

    const sync = await syncAllPendingPayments(world.deps, { minIntervalMs: 0 });
    assert.ok(sync.credited >= 1);
    assert.equal((await getFunds(world.db, accountId)).balance, 20_000_000n);
    assert.equal((await paymentEntries(world.db, t.paymentId)).length, 1);
    // a pass right after does not re-check what it just checked
    assert.equal((await syncAllPendingPayments(world.deps)).checked, 0);
  });
});

test('5xx and dropped connections are retried by the client; a short outage is invisible', async () => {
  await withoutWebhooks(async () => {
    const { actor, accountId } = await person();
    const t = await checkout(actor, '10');
    world.sandbox.pay(t.paymentId);
    let before = world.sandbox.apiRequests();
    world.sandbox.setFault({ mode: 'unavailable', count: 2 });
    const verified = await verifyTransaction(world.deps, actor, t.id);
    assert.equal(verified.creditedNow, true);
    assert.equal(world.sandbox.apiRequests() - before, 3); // two 503s, then the answer
    before = world.sandbox.apiRequests();
    world.sandbox.setFault({ mode: 'reset', count: 1 });
    assert.equal((await verifyTransaction(world.deps, actor, t.paymentId)).transaction.status, 'PAYMENT_SUCCESS');
    assert.equal(world.sandbox.apiRequests() - before, 2); // a dropped connection, then the answer
    assert.equal((await getFunds(world.db, accountId)).balance, 10_000_000n);
  });
});

test('idempotency key: the same key twice, or 10 times at once, makes one checkout and one InFlow payment', async () => {
  await withoutWebhooks(async () => {
    const { actor } = await person();
    const k = key();
    const first = await createCheckout(world.deps, actor, { amount: '10', currency: 'USD', idempotencyKey: k });
    const second = await createCheckout(world.deps, actor, { amount: '10.00', currency: 'USD', idempotencyKey: k });
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.transaction.id, first.transaction.id);
    assert.equal(second.transaction.purchaseUrl, first.transaction.purchaseUrl);
    await assert.rejects(createCheckout(world.deps, actor, { amount: '11', currency: 'USD', idempotencyKey: k }), ConflictError);
    await assert.rejects(createCheckout(world.deps, actor, { amount: '10', currency: 'EUR', idempotencyKey: k }), ConflictError);

    const k2 = key();
    const paymentsBefore = world.sandbox.payments.all().length;
    const racing = await Promise.all(
      Array.from({ length: 10 }, () => createCheckout(world.deps, actor, { amount: '42', currency: 'EUR', idempotencyKey: k2 })),
    );
    assert.equal(new Set(racing.map((r) => r.transaction.id)).size, 1);
    assert.equal(racing.filter((r) => r.created).length, 1);
    assert.equal(world.sandbox.payments.all().length - paymentsBefore, 1);

    // keys are per account: someone else's identical key is their own checkout
    const other = await person();
    const theirs = await createCheckout(world.deps, other.actor, { amount: '42', currency: 'EUR', idempotencyKey: k2 });
    assert.equal(theirs.created, true);
    assert.notEqual(theirs.transaction.id, racing[0]!.transaction.id);
  });
});

test('amounts: at least 10 credits, whole cents, within the guard; USD and EUR only', async () => {
  const { actor } = await person();
  const tryAmount = (amount: string) => createCheckout(world.deps, actor, { amount, currency: 'USD', idempotencyKey: key() });
  await assert.rejects(tryAmount('9.99'), (e) => e instanceof InvalidInputError && /smallest top-up is 10 credits/.test(e.message));
  await assert.rejects(tryAmount('10.001'), (e) => e instanceof InvalidInputError && /at most 2 decimals/.test(e.message));
  await assert.rejects(tryAmount('-10'), InvalidInputError);
  await assert.rejects(tryAmount('1e3'), InvalidInputError);
  await assert.rejects(tryAmount('100000.01'), InvalidInputError);
  await assert.rejects(createCheckout(world.deps, actor, { amount: '10', currency: 'GBP' as 'USD', idempotencyKey: key() }), InvalidInputError);
  const ok = await tryAmount('10');
  assert.equal(ok.transaction.amountMicro, 10_000_000n);
});

test('a refund after credit is taken back; what was already spent is recorded as uncovered, and the balance stays the ledger sum', async () => {
  await withoutWebhooks(async () => {
    const { actor, accountId } = await person();
    const t = await checkout(actor, '50');
    world.sandbox.pay(t.paymentId);
    await verifyTransaction(world.deps, actor, t.id);
    assert.equal((await getFunds(world.db, accountId)).balance, 50_000_000n);

    world.sandbox.refund(t.paymentId, { amountInCents: 2000 });
    const partial = await verifyTransaction(world.deps, actor, t.id);
    assert.equal(partial.transaction.status, 'PARTIAL_REFUNDED');
    assert.equal(partial.reversedNowMicro, 20_000_000n);
    assert.equal(partial.balanceMicro, 30_000_000n);
    assert.equal((await verifyTransaction(world.deps, actor, t.id)).reversedNowMicro, 0n); // once

    world.sandbox.refund(t.paymentId);
    const full = await verifyTransaction(world.deps, actor, t.id);
    assert.equal(full.transaction.status, 'FULLY_REFUNDED');
    assert.equal(full.transaction.refundedMicro, 50_000_000n);
    assert.equal(full.transaction.reversedMicro, 50_000_000n);
    assert.equal(full.balanceMicro, 0n);
    assert.match(full.summary, /refunded to the person in full/);

    // Spent before the refund: the balance goes to zero, never below, and the rest is recorded.
    const spent = await checkout(actor, '10');
    world.sandbox.pay(spent.paymentId);
    await verifyTransaction(world.deps, actor, spent.id);
    await world.db.transaction().execute(async (trx) => {
      const funds = await lockAccount(trx, accountId);
      await postCharge(trx, funds, 8_000_000n, { accountId, description: 'GPU time' });
    });
    world.sandbox.refund(spent.paymentId);
    const refunded = await verifyTransaction(world.deps, actor, spent.id);
    assert.equal(refunded.reversedNowMicro, 2_000_000n);
    assert.equal(refunded.uncoveredNowMicro, 8_000_000n);
    assert.equal(refunded.transaction.uncoveredMicro, 8_000_000n);
    assert.match(refunded.summary, /8\.00 refunded credits had already been spent/);
    assert.equal(refunded.balanceMicro, 0n);
    const row = await world.db.selectFrom('inflow_transactions').select('review_reason').where('id', '=', spent.id).executeTakeFirstOrThrow();
    assert.match(row.review_reason!, /already spent/);
    const { balance, ledger } = await balanceAndLedger(world.db, accountId);
    assert.equal(balance, 0n);
    assert.equal(ledger, 0n);
    const refunds = await world.db
      .selectFrom('ledger_entries')
      .select(['amount', 'reference'])
      .where('account_id', '=', accountId)
      .where('kind', '=', 'refund')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      refunds.map((r) => r.amount),
      [-20_000_000n, -30_000_000n, -2_000_000n],
    );
  });
});

test('a late, older snapshot never undoes a newer one (a refunded payment is not credited by a stale PAYMENT_SUCCESS)', async () => {
  await withoutWebhooks(async () => {
    const { actor, accountId } = await person();
    const t = await checkout(actor, '10');
    world.sandbox.pay(t.paymentId);
    const settled = world.sandbox.payments.get(t.paymentId)!;
    await new Promise((r) => setTimeout(r, 5));
    world.sandbox.refund(t.paymentId);
    // the refund is seen first (never credited), then the stale success arrives
    await verifyTransaction(world.deps, actor, t.id);
    const late = await applyPaymentSnapshot(world.db, t.id, settled, world.clock.now());
    assert.equal(late.stale, true);
    assert.equal(late.creditedNow, false);
    assert.equal(late.row.status, 'FULLY_REFUNDED');
    assert.equal((await getFunds(world.db, accountId)).balance, 0n);
    assert.equal((await paymentEntries(world.db, t.paymentId)).length, 0);
  });
});

test('an amount InFlow reports differently from the checkout is not credited and is flagged', async () => {
  await withoutWebhooks(async () => {
    const { actor, accountId } = await person();
    const t = await checkout(actor, '10');
    world.sandbox.pay(t.paymentId);
    const payment = { ...world.sandbox.payments.get(t.paymentId)!, amountInCents: 100 };
    const applied = await applyPaymentSnapshot(world.db, t.id, payment, world.clock.now());
    assert.equal(applied.creditedNow, false);
    assert.match(applied.row.review_reason!, /not credited/);
    assert.equal((await getFunds(world.db, accountId)).balance, 0n);
  });
});

test('the sync job forgets processed webhook ids once Svix can no longer retry them', async () => {
  const old = new Date(Date.now() - 15 * 24 * 3600 * 1000);
  await world.db
    .insertInto('inflow_webhook_deliveries')
    .values([
      { svix_id: 'msg_old', event_types: ['payment_status_updated'], payment_ids: ['pay_old'], received_at: old },
      { svix_id: 'msg_recent', event_types: ['payment_status_updated'], payment_ids: ['pay_recent'], received_at: new Date() },
    ])
    .execute();
  const summary = await syncAllPendingPayments(world.deps);
  assert.equal(summary.pruned, 1);
  const left = await world.db.selectFrom('inflow_webhook_deliveries').select('svix_id').where('svix_id', 'in', ['msg_old', 'msg_recent']).execute();
  assert.deepEqual(
    left.map((r) => r.svix_id),
    ['msg_recent'],
  );
});
