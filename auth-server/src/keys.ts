// Access-token signing keys (ES256), generated at first start and kept in Postgres with the
// private half sealed under KEY_ENCRYPTION_SECRET (a JWE, see sealing.ts; keys sealed in the
// earlier format are re-sealed at start).
//
// Rotation (RFC 7517 §5 key sets; the resource server caches our JWKS):
//   1. a new key is created `publishLead` ahead of its activation and published at once,
//      so every cached JWKS knows it before the first token it signs;
//   2. from `activates_at` the newest activated key signs (chosen per token, no restart needed);
//   3. an older key stays published while tokens it signed can still be valid: it is the current
//      key, or it signed something within the access-token lifetime (`last_signed_at`, kept by
//      every replica that still signs with it, e.g. one started before the new key existed).
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import type { AuthConfig } from './config.ts';
import { isLegacySealed, seal, unseal } from './sealing.ts';

export const SIGNING_ALG = 'ES256';
const SEAL_PURPOSE = 'signing-key';
/** Slack for clock skew and in-flight requests when deciding a retired key's tokens have expired. */
const RETIRE_MARGIN_SECONDS = 5 * 60;
/** How often a replica refreshes `last_signed_at` for the key it signs with. */
const NOTE_SIGNED_EVERY_MS = 60_000;

export interface KeyPolicy {
  secret: string;
  clock: Clock;
  /** Seconds after activation at which a replacement key is prepared. */
  rotateAfter: number;
  /** Seconds a new key is published before it signs. */
  publishLead: number;
  /** Seconds an access token lives: how long a retired key must stay published. */
  accessTokenTtl: number;
}

export function keyPolicy(config: AuthConfig, clock: Clock): KeyPolicy {
  return {
    secret: config.keyEncryptionSecret,
    clock,
    rotateAfter: config.keys.rotateAfter,
    publishLead: config.keys.publishLead,
    accessTokenTtl: config.ttl.accessToken,
  };
}

export interface SigningKeys {
  /** Private JWKs for oidc-provider's keystore: every key this process may sign with. */
  jwks: { keys: JWK[] };
  /** The key to sign with now: the newest loaded key that has activated. */
  signingKid(): string;
  /** Records (at most once a minute) that `kid` is signing, so it stays published. */
  noteSigned(kid: string): Promise<void>;
}

interface KeyRow {
  kid: string;
  public_jwk: unknown;
  private_jwk_sealed: string;
  activates_at: Date;
  last_signed_at: Date | null;
}

/** Creates the first key, or the next one when rotation is due. Safe on every replica at once. */
export async function rotateIfDue(db: Db, policy: KeyPolicy): Promise<string | null> {
  return db.transaction().execute(async (trx) => {
    // One replica at a time decides; the others then see its key.
    await sql`SELECT pg_advisory_xact_lock(hashtext('auth_signing_keys'))`.execute(trx);
    const now = policy.clock.now();
    const newest = await trx.selectFrom('auth_signing_keys').select(['activates_at']).orderBy('activates_at', 'desc').limit(1).executeTakeFirst();
    let activatesAt: Date;
    if (!newest) {
      activatesAt = now; // first start: nobody has cached a key set yet, so no lead is needed
    } else if (newest.activates_at > now || now.getTime() - newest.activates_at.getTime() < policy.rotateAfter * 1000) {
      return null; // a successor is already published, or the current key is young enough
    } else {
      activatesAt = new Date(now.getTime() + policy.publishLead * 1000);
    }
    const { publicJwk, privateJwk, kid } = await generateKey();
    await trx
      .insertInto('auth_signing_keys')
      .values({
        kid,
        alg: SIGNING_ALG,
        public_jwk: JSON.stringify(publicJwk),
        private_jwk_sealed: await seal(policy.secret, SEAL_PURPOSE, JSON.stringify(privateJwk), kid),
        created_at: now,
        activates_at: activatesAt,
      })
      .execute();
    return kid;
  });
}

/** Loads (creating or rotating first if due) the keys this process signs with. */
export async function loadSigningKeys(db: Db, policy: KeyPolicy): Promise<SigningKeys> {
  await rotateIfDue(db, policy);
  const all = await allKeys(db);
  await resealLegacy(db, policy, all);
  const rows = publishedAt(all, policy.clock.now(), policy.accessTokenTtl);
  const loaded = await Promise.all(
    rows.map(async (row) => ({
      kid: row.kid,
      activatesAt: row.activates_at,
      jwk: JSON.parse(await openPrivateKey(policy, row)) as JWK,
    })),
  );
  const byActivation = [...loaded].sort((a, b) => b.activatesAt.getTime() - a.activatesAt.getTime());
  // oidc-provider signs anything without an explicit kid (ID tokens) with the first key: put the
  // active one first.
  const now = policy.clock.now();
  const keystoreOrder = [...byActivation].sort((a, b) => Number(b.activatesAt <= now) - Number(a.activatesAt <= now));
  const lastNoted = new Map<string, number>();

  return {
    jwks: { keys: keystoreOrder.map((k) => k.jwk) },
    signingKid() {
      const at = policy.clock.now();
      const key = byActivation.find((k) => k.activatesAt <= at);
      if (!key) throw new Error('no activated signing key is loaded');
      return key.kid;
    },
    async noteSigned(kid) {
      const nowMs = policy.clock.now().getTime();
      if (nowMs - (lastNoted.get(kid) ?? 0) < NOTE_SIGNED_EVERY_MS) return;
      lastNoted.set(kid, nowMs);
      await db
        .updateTable('auth_signing_keys')
        .set({ last_signed_at: new Date(nowMs) })
        .where('kid', '=', kid)
        .execute();
    },
  };
}

/** The public JWKS to serve at /jwks: computed from the database so every replica agrees. */
export async function publishedJwks(db: Db, now: Date, accessTokenTtl: number): Promise<{ keys: JWK[] }> {
  const rows = publishedAt(await allKeys(db), now, accessTokenTtl);
  return { keys: rows.map((row) => row.public_jwk as JWK) };
}

function publishedAt(rows: KeyRow[], now: Date, accessTokenTtl: number): KeyRow[] {
  const current = rows.filter((r) => r.activates_at <= now).sort((a, b) => b.activates_at.getTime() - a.activates_at.getTime())[0];
  const recentlySigned = now.getTime() - (accessTokenTtl + RETIRE_MARGIN_SECONDS) * 1000;
  return rows.filter((r) => r.activates_at > now || r === current || (r.last_signed_at?.getTime() ?? -Infinity) > recentlySigned);
}

async function openPrivateKey(policy: KeyPolicy, row: KeyRow): Promise<string> {
  try {
    return await unseal(policy.secret, SEAL_PURPOSE, row.private_jwk_sealed, row.kid);
  } catch (cause) {
    throw new Error(`signing key ${row.kid} does not open with KEY_ENCRYPTION_SECRET (another secret, or the stored value was altered)`, { cause });
  }
}

/**
 * Re-seals keys stored in the pre-JWE format (every key, published or not, so the legacy format
 * can later be dropped). Replicas starting together may all try: the write is conditional on the
 * old value, and either result opens.
 */
async function resealLegacy(db: Db, policy: KeyPolicy, rows: KeyRow[]): Promise<void> {
  for (const row of rows) {
    if (!isLegacySealed(row.private_jwk_sealed)) continue;
    const resealed = await seal(policy.secret, SEAL_PURPOSE, await openPrivateKey(policy, row), row.kid);
    await db
      .updateTable('auth_signing_keys')
      .set({ private_jwk_sealed: resealed })
      .where('kid', '=', row.kid)
      .where('private_jwk_sealed', '=', row.private_jwk_sealed)
      .execute();
  }
}

async function allKeys(db: Db): Promise<KeyRow[]> {
  return db
    .selectFrom('auth_signing_keys')
    .select(['kid', 'public_jwk', 'private_jwk_sealed', 'activates_at', 'last_signed_at'])
    .orderBy('activates_at', 'desc')
    .execute();
}

async function generateKey(): Promise<{ kid: string; publicJwk: JWK; privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk); // RFC 7638: the kid names the key itself
  const meta = { kid, alg: SIGNING_ALG, use: 'sig' };
  return { kid, publicJwk: { ...publicJwk, ...meta }, privateJwk: { ...(await exportJWK(privateKey)), ...meta } };
}
