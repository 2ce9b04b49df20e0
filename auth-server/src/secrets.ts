// Small cryptographic helpers shared by keys, magic links and CSRF: random tokens, hashing,
// constant-time comparison and sealing data at rest.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** A URL-safe random token of `bytes` random bytes (magic links use 32, i.e. 256 bits). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** A short hex digest for rate-limit buckets and logs: identifies a value without revealing it. */
export function fingerprint(value: string): string {
  return sha256(value).subarray(0, 12).toString('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

// No 0/O, 1/I/L, 5/S, 8/B: the code is read by eye from one screen and typed on another.
const CODE_ALPHABET = '234679ACDEFGHJKMNPQRTUVWXYZ';

/**
 * A code like "K7Q-4MX", shown only in the window that asked to sign in and typed on the link's
 * confirm page when the link is opened in another browser. 27^6 ≈ 3.9·10^8 codes (28.5 bits): with
 * CODE_TRIES (5) tries per link, and the link itself a 256-bit secret, a guess succeeds with odds
 * of about 1 in 77 million.
 */
export function shortCode(): string {
  const pick = () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${pick()}${pick()}${pick()}-${pick()}${pick()}${pick()}`;
}

/**
 * Seals with AES-256-GCM under a key derived (HKDF-SHA256) from `secret` for one `purpose`, so one
 * configured secret can serve several uses without key reuse. `context` is bound as associated
 * data: a sealed value copied to another row does not open.
 */
export function seal(secret: string, purpose: string, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret, purpose), iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function unseal(secret: string, purpose: string, sealed: string, context: string): string {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== 'v1' || !iv || !body || !tag) throw new Error('unknown sealed value format');
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(secret, purpose), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'pictor-auth', purpose, 32));
}
