// Small cryptographic helpers shared by magic links, CSRF and rate limits: random tokens, hashing
// and constant-time comparison (sealing data at rest is in sealing.ts).
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

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
