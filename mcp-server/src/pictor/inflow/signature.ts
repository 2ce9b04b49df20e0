// Svix webhook signatures, as InFlow delivers them: svix-signature holds one or more
// space-separated `v1,<base64 HMAC-SHA256>` of "{svix-id}.{svix-timestamp}.{raw body}", keyed by
// the base64-decoded part of the `whsec_` secret. The timestamp must be within 5 minutes of now
// (both ways), so a captured delivery cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type SignatureFailure = 'missing_headers' | 'bad_timestamp' | 'stale' | 'bad_signature';

export type SignatureCheck = { ok: true; id: string; timestamp: number } | { ok: false; reason: SignatureFailure };

export interface SignedDelivery {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  /** The body exactly as received: a re-serialized JSON body would not match. */
  rawBody: Buffer | string;
}

/** Decodes a `whsec_<base64>` secret (the prefix is optional); throws on an unusable one. */
export function webhookKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('the webhook secret must be whsec_ followed by base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 16) throw new Error('the webhook secret is too short (needs at least 16 bytes)');
  return key;
}

export function verifyWebhookSignature(delivery: SignedDelivery, key: Buffer, now: Date): SignatureCheck {
  const { id, timestamp, signature } = delivery;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const seconds = Number(timestamp);
  if (Math.abs(now.getTime() / 1000 - seconds) > WEBHOOK_TOLERANCE_SECONDS) return { ok: false, reason: 'stale' };

  const body = typeof delivery.rawBody === 'string' ? Buffer.from(delivery.rawBody, 'utf8') : delivery.rawBody;
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  for (const part of signature.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue; // other schemes (v1a…) are not ours
    const given = Buffer.from(part.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true, id, timestamp: seconds };
  }
  return { ok: false, reason: 'bad_signature' };
}
