// Signing keys: generated at first start, sealed at rest, and rotated so that a key is published
// before it signs and stays published until the tokens it signed have expired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader } from 'jose';
import { createTestDatabase } from '@pictor/migrations/testing';
import { ManualClock } from '@pictor/mcp-server/pictor/clock';
import { loadSigningKeys, publishedJwks, rotateIfDue, type KeyPolicy } from '../src/keys.ts';
import { unseal } from '../src/secrets.ts';
import { startAuthServer } from '../src/server.ts';
import { connect, exchangeCode, randomEmail, startHarness } from './support/harness.ts';

const DAY = 86_400_000;

async function setup(t: import('node:test').TestContext) {
  const database = await createTestDatabase();
  t.after(database.drop);
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  const policy: KeyPolicy = {
    secret: 'a-test-secret-that-is-long-enough-0123456789', clock,
    rotateAfter: 90 * 86_400, publishLead: 86_400, accessTokenTtl: 3600,
  };
  return { db: database.db, clock, policy };
}

const kids = async (db: Parameters<typeof publishedJwks>[0], clock: ManualClock) =>
  (await publishedJwks(db, clock.now(), 3600)).keys.map((k) => k.kid).sort();

test('the first start creates one ES256 key, sealed at rest; later starts reuse it', async (t) => {
  const { db, clock, policy } = await setup(t);
  const first = await loadSigningKeys(db, policy);
  const again = await loadSigningKeys(db, policy);
  assert.equal(first.jwks.keys.length, 1);
  assert.equal(first.signingKid(), again.signingKid());
  const [row] = await db.selectFrom('auth_signing_keys').selectAll().execute();
  assert.ok(row);
  assert.doesNotMatch(row.private_jwk_sealed, /"d"/);
  assert.equal((row.public_jwk as { d?: string }).d, undefined);
  assert.equal(JSON.parse(unseal(policy.secret, 'signing-key', row.private_jwk_sealed, row.kid)).kid, row.kid);
  assert.throws(() => unseal('another-secret-that-is-long-enough-000000000', 'signing-key', row.private_jwk_sealed, row.kid));
  assert.throws(() => unseal(policy.secret, 'signing-key', row.private_jwk_sealed, 'another-kid')); // bound to its row
  assert.deepEqual(await kids(db, clock), [row.kid]);
});

test('rotation: published a day before it signs; the old key stays published until its tokens expire', async (t) => {
  const { db, clock, policy } = await setup(t);
  const original = await loadSigningKeys(db, policy);
  const oldKid = original.signingKid();
  await original.noteSigned(oldKid);

  clock.advance(89 * DAY);
  assert.equal(await rotateIfDue(db, policy), null, 'not due yet');
  clock.advance(2 * DAY);
  const newKid = await rotateIfDue(db, policy);
  assert.ok(newKid);
  assert.equal(await rotateIfDue(db, policy), null, 'one successor at a time');

  // Published at once, not signing yet: a replica loading now keeps signing with the old key.
  assert.deepEqual(await kids(db, clock), [oldKid, newKid].sort());
  const replica = await loadSigningKeys(db, policy);
  assert.equal(replica.signingKid(), oldKid);
  await replica.noteSigned(oldKid);

  // After the lead the same replica switches by itself, without a restart; it signed with the
  // old key until just before.
  clock.advance(DAY - 1000);
  await replica.noteSigned(oldKid);
  clock.advance(2000);
  assert.equal(replica.signingKid(), newKid);
  await replica.noteSigned(newKid);
  // The old key signed within the last access-token lifetime: still published.
  assert.deepEqual(await kids(db, clock), [oldKid, newKid].sort());
  // Once every token it signed has expired (TTL + margin), it is no longer published.
  clock.advance(2 * 3600 * 1000);
  assert.deepEqual(await kids(db, clock), [newKid]);
});

test('a replica that still signs with the old key keeps it published', async (t) => {
  const { db, clock, policy } = await setup(t);
  const stale = await loadSigningKeys(db, policy); // started before the new key existed
  const oldKid = stale.signingKid();
  clock.advance(91 * DAY);
  const newKid = await rotateIfDue(db, policy);
  clock.advance(2 * DAY);
  assert.equal(stale.signingKid(), oldKid); // it never loaded the new key
  await stale.noteSigned(oldKid);
  clock.advance(30 * 60 * 1000);
  assert.deepEqual(await kids(db, clock), [oldKid, newKid].sort());
});

test('end to end: tokens are signed by the active key, and /jwks follows rotation across restarts', async (t) => {
  const clock = new ManualClock(new Date());
  const h = await startHarness(t, { clock });
  const client = await h.register();
  const jwksKids = async () => ((await (await fetch(`${h.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();
  const signedBy = async () => {
    const { callback, pkce } = await connect(h, { client, email: randomEmail() });
    const tokens = await exchangeCode(h, client, callback, pkce.verifier);
    return decodeProtectedHeader(tokens.body.access_token ?? '').kid;
  };
  const k1 = await signedBy();
  assert.deepEqual(await jwksKids(), [k1]);

  clock.advance(91 * DAY);
  await h.server.maintain(); // prepares the successor
  const all = await jwksKids();
  assert.equal(all.length, 2);
  const k2 = all.find((k) => k !== k1);
  assert.equal(await signedBy(), k1, 'the new key does not sign before its lead');

  // Traffic continues on the old key until just before the switch.
  clock.advance(DAY - 60_000);
  assert.equal(await signedBy(), k1);

  // The process restarts (same database, same address) after the lead: it signs with the new key.
  clock.advance(120_000);
  await h.server.close();
  const restarted = await startAuthServer(h.config, { db: h.db, clock, maintenance: false });
  t.after(restarted.close);
  assert.equal(await signedBy(), k2);
  assert.deepEqual(await jwksKids(), [k1, k2].sort(), 'the old key signed within the last hour: still published');
  clock.advance(2 * 3600 * 1000);
  assert.deepEqual(await jwksKids(), [k2]);
});
