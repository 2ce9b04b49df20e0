// Sealing data at rest (the signing keys' private halves) under KEY_ENCRYPTION_SECRET, as a
// compact JWE (RFC 7516): `dir` + `A256GCM`, with a key derived (HKDF-SHA256) from the secret for
// one `purpose`, so one configured secret can serve several uses without key reuse. `context`
// (the row the value belongs to) is carried in the protected header, which GCM authenticates:
// a sealed value copied to another row does not open.
//
// Values sealed before JWE (`v1.<iv>.<ciphertext>.<tag>`: AES-256-GCM, the context as associated
// data) still open, so existing databases keep working; their owner re-seals them as JWE
// (keys.ts does at start), after which this legacy path can go.
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

const ALG = 'dir';
const ENC = 'A256GCM';
/** GCM's full tag: a shorter one would be accepted by Node and is far easier to forge. */
const GCM_TAG_BYTES = 16;

export async function seal(secret: string, purpose: string, plaintext: string, context: string): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader({ alg: ALG, enc: ENC, ctx: context }).encrypt(deriveKey(secret, purpose));
}

/** Opens a value sealed by `seal` (or in the legacy format); throws if it does not open as `context`'s. */
export async function unseal(secret: string, purpose: string, sealed: string, context: string): Promise<string> {
  if (isLegacySealed(sealed)) return unsealLegacy(deriveKey(secret, purpose), sealed, context);
  const { plaintext, protectedHeader } = await compactDecrypt(sealed, deriveKey(secret, purpose), {
    keyManagementAlgorithms: [ALG],
    contentEncryptionAlgorithms: [ENC],
  });
  if (protectedHeader.ctx !== context) throw new Error('the sealed value belongs to another record');
  return new TextDecoder().decode(plaintext);
}

/** True for a value sealed in the pre-JWE format, which should be re-sealed with `seal`. */
export function isLegacySealed(sealed: string): boolean {
  return sealed.startsWith('v1.');
}

function unsealLegacy(key: Uint8Array, sealed: string, context: string): string {
  const [, iv, body, tag, extra] = sealed.split('.');
  if (!iv || !body || !tag || extra !== undefined) throw new Error('unknown sealed value format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url')); // throws unless exactly GCM_TAG_BYTES
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

function deriveKey(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'pictor-auth', purpose, 32));
}
