// Signing keys: generated at first start, sealed at rest, and rotated so that a key is published
// before it signs and stays published until the tokens it signed have expired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { createTestDatabase } from '@pictor/platform/testing';
import { ManualClock } from '@pictor/platform/clock';
import { loadSigningKeys, publishedJwks, rotateIfDue, type KeyPolicy } from '../src/keys.ts';
import { unseal } from '../src/sealing.ts';
import { startAuthServer } from '../src/server.ts';
import { connect, exchangeCode, randomEmail, startHarness } from './support/harness.ts';

const DAY = 86_400_000;

async function setup(t: import('node:test').TestContext) {
  const database = await createTestDatabase();
  t.after(database.drop);
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  const policy: KeyPolicy = {
    secret: 'a-test-secret-that-is-long-enough-0123456789',
    clock,
    rotateAfter: 90 * 86_400,
    publishLead: 86_400,
    accessTokenTtl: 3600,
  };
  return { db: database.db, clock, policy };
}

const kids = async (db: Parameters<typeof publishedJwks>[0], clock: ManualClock) => (await publishedJwks(db, clock.now(), 3600)).keys.map((k) => k.kid).sort();

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
  assert.equal(JSON.parse(await unseal(policy.secret, 'signing-key', row.private_jwk_sealed, row.kid)).kid, row.kid);
  await assert.rejects(unseal('another-secret-that-is-long-enough-000000000', 'signing-key', row.private_jwk_sealed, row.kid));
  await assert.rejects(unseal(policy.secret, 'signing-key', row.private_jwk_sealed, 'another-kid')); // bound to its row
  await assert.rejects(unseal(policy.secret, 'another-purpose', row.private_jwk_sealed, row.kid));
  assert.deepEqual(await kids(db, clock), [row.kid]);
});

test('a new key is sealed as a compact JWE (dir + A256GCM) naming its row in the protected header', async (t) => {
  const { db, policy } = await setup(t);
  await loadSigningKeys(db, policy);
  const [row] = await db.selectFrom('auth_signing_keys').selectAll().execute();
  assert.ok(row);
  assert.equal(row.private_jwk_sealed.split('.').length, 5);
  assert.equal(row.private_jwk_sealed.split('.')[1], '', 'dir: no encrypted key');
  assert.deepEqual(decodeProtectedHeader(row.private_jwk_sealed), { alg: 'dir', enc: 'A256GCM', ctx: row.kid });
});

test('a tampered or moved JWE is refused, and start then fails naming the key', async (t) => {
  const { db, clock, policy } = await setup(t);
  const first = await loadSigningKeys(db, policy);
  clock.advance(91 * DAY);
  const secondKid = await rotateIfDue(db, policy);
  const rows = await db.selectFrom('auth_signing_keys').select(['kid', 'private_jwk_sealed']).execute();
  const sealedOf = (kid: string) => rows.find((r) => r.kid === kid)!.private_jwk_sealed;
  const original = sealedOf(first.signingKid());
  const [header, key, iv, ciphertext, tag] = original.split('.') as [string, string, string, string, string];
  const forged = JSON.stringify({ alg: 'dir', enc: 'A256GCM', ctx: secondKid });
  for (const tampered of [
    [header, key, iv, flip(ciphertext), tag].join('.'),
    [header, key, iv, ciphertext, flip(tag)].join('.'),
    [header, key, iv, ciphertext, Buffer.from(tag, 'base64url').subarray(0, 12).toString('base64url')].join('.'), // short tag
    [header, key, flip(iv), ciphertext, tag].join('.'),
    [Buffer.from(forged).toString('base64url'), key, iv, ciphertext, tag].join('.'), // header rewritten
  ]) {
    await assert.rejects(unseal(policy.secret, 'signing-key', tampered, first.signingKid()), `accepted ${tampered}`);
  }
  // The second key's sealed value copied onto the first key's row does not open there.
  await assert.rejects(unseal(policy.secret, 'signing-key', sealedOf(secondKid!), first.signingKid()), /another record/);

  await db
    .updateTable('auth_signing_keys')
    .set({ private_jwk_sealed: [header, key, iv, flip(ciphertext), tag].join('.') })
    .where('kid', '=', first.signingKid())
    .execute();
  await assert.rejects(loadSigningKeys(db, policy), new RegExp(`signing key ${first.signingKid()} does not open with KEY_ENCRYPTION_SECRET`));
  await db.updateTable('auth_signing_keys').set({ private_jwk_sealed: original }).where('kid', '=', first.signingKid()).execute();
  assert.equal((await loadSigningKeys(db, policy)).signingKid(), first.signingKid());
});

/** One bit of a base64url part flipped. */
function flip(part: string): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[0]! ^= 1;
  return bytes.toString('base64url');
}

/** The format keys were sealed in before JWE, written here independently of the server's code. */
function sealV1(secret: string, plaintext: string, context: string, tagBytes = 16): string {
  const key = Buffer.from(hkdfSync('sha256', secret, 'pictor-auth', 'signing-key', 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, body, cipher.getAuthTag().subarray(0, tagBytes)].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

test('a key sealed in the earlier format still loads and signs, and is re-sealed as a JWE at start', async (t) => {
  const { db, clock, policy } = await setup(t);
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const legacy = sealV1(policy.secret, JSON.stringify(privateJwk), kid);
  await db
    .insertInto('auth_signing_keys')
    .values({
      kid,
      alg: 'ES256',
      public_jwk: JSON.stringify({ ...publicJwk, kid, alg: 'ES256', use: 'sig' }),
      private_jwk_sealed: legacy,
      created_at: clock.now(),
      activates_at: clock.now(),
    })
    .execute();
  assert.equal(await unseal(policy.secret, 'signing-key', legacy, kid), JSON.stringify(privateJwk));
  await assert.rejects(unseal(policy.secret, 'signing-key', legacy, 'another-kid'));

  const keys = await loadSigningKeys(db, policy);
  assert.equal(keys.signingKid(), kid, 'the existing key keeps signing; no new key was made');
  assert.deepEqual(keys.jwks.keys, [privateJwk]);
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).sign(await importJWK(keys.jwks.keys[0]!, 'ES256'));
  const [published] = (await publishedJwks(db, clock.now(), 3600)).keys;
  await compactVerify(token, await importJWK(published!, 'ES256'));

  const [row] = await db.selectFrom('auth_signing_keys').selectAll().execute();
  assert.deepEqual(decodeProtectedHeader(row!.private_jwk_sealed), { alg: 'dir', enc: 'A256GCM', ctx: kid });
  assert.deepEqual(JSON.parse(await unseal(policy.secret, 'signing-key', row!.private_jwk_sealed, kid)), privateJwk);
  assert.deepEqual((await loadSigningKeys(db, policy)).jwks.keys, [privateJwk]);
});

test('earlier-format values are refused with a truncated GCM tag or any altered part', async (t) => {
  const { policy } = await setup(t);
  for (const tagBytes of [4, 8, 12, 15]) {
    await assert.rejects(unseal(policy.secret, 'signing-key', sealV1(policy.secret, 'secret', 'kid-1', tagBytes), 'kid-1'), `a ${tagBytes}-byte tag`);
  }
  const good = sealV1(policy.secret, 'secret', 'kid-1');
  assert.equal(await unseal(policy.secret, 'signing-key', good, 'kid-1'), 'secret');
  const parts = good.split('.');
  for (const i of [1, 2, 3]) {
    const altered = parts.map((p, j) => (j === i ? flip(p) : p)).join('.');
    await assert.rejects(unseal(policy.secret, 'signing-key', altered, 'kid-1'), `part ${i} altered`);
  }
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
