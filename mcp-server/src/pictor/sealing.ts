// Sealing what an instance is launched with and nobody may read back (environment values, the
// startup script): AES-256-GCM under INSTANCE_SECRETS_KEYS. Each configured secret gives a key
// (HKDF-SHA256, this purpose only) and a key id; the newest seals, any configured one opens what it
// sealed, so rotating is: put the new secret first, keep the old one until every instance sealed
// under it has ended (its secrets are deleted when the machine is released). `context` (the instance
// and field) is authenticated data: a sealed value copied to another instance does not open.
//
// Format: `v1.<key id>.<iv>.<ciphertext>.<tag>`, base64url parts.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const PURPOSE = 'pictor-mcp:instance-secrets';
const GCM_TAG_BYTES = 16;

interface Key {
  id: string;
  key: Buffer;
}

export class SecretBox {
  readonly #keys: Key[];

  /** `secrets`: newest first, as configured (config.ts checks their length). */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('SecretBox needs at least one secret');
    this.#keys = secrets.map((secret) => {
      const key = Buffer.from(hkdfSync('sha256', secret, 'pictor-mcp', PURPOSE, 32));
      return { id: createHash('sha256').update(key).digest('base64url').slice(0, 8), key };
    });
  }

  seal(plaintext: string, context: string): string {
    const { id, key } = this.#keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', id, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** Throws (never with the plaintext) when the value is malformed, under no configured key, or another record's. */
  open(sealed: string, context: string): string {
    const [version, id, iv, body, tag, extra] = sealed.split('.');
    if (version !== 'v1' || !id || !iv || body === undefined || !tag || extra !== undefined) throw new Error('unknown sealed value format');
    const entry = this.#keys.find((k) => k.id === id);
    if (!entry) throw new Error(`sealed under key ${id}, which is not in INSTANCE_SECRETS_KEYS`);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'), { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
