// OpenSSH public keys: the one-line `type base64 [comment]` form of a .pub file (sshd(8),
// AUTHORIZED_KEYS FILE FORMAT, without options). The base64 part is the key's wire blob
// (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4), which is parsed in full: a key is accepted only
// when every byte is accounted for and the key itself is valid.
//
// Error messages never quote what was pasted (beyond a recognised type name): a private key or
// some other secret pasted by mistake must not travel back into a conversation or a log.
import { createHash, createPublicKey } from 'node:crypto';
import { InvalidInputError } from './errors.ts';

export const SSH_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
export type SshKeyType = (typeof SSH_KEY_TYPES)[number];

/** RSA below this is refused (NIST SP 800-131A; OpenSSH itself still allows 1024). */
export const MIN_RSA_BITS = 2048;
/** OpenSSH's own ceiling (SSHBUF_MAX_BIGNUM). */
export const MAX_RSA_BITS = 16384;
/** Far above any supported key line (a 16384-bit RSA key line is about 2,800 characters). */
export const MAX_PUBLIC_KEY_LENGTH = 8192;
export const MAX_COMMENT_LENGTH = 1024;

export interface ParsedPublicKey {
  type: SshKeyType;
  /** Key size in bits, as `ssh-keygen -l` prints it. */
  bits: number;
  /** The decoded wire blob. */
  blob: Buffer;
  /** Empty when the line had none. */
  comment: string;
  /** `SHA256:` + unpadded base64 of sha256(blob), exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The normalised line: `type base64` plus ` comment` when there is one. */
  line: string;
}

const FIELD = 'public_key';

const EXPECTED =
  'expected an OpenSSH public key on one line, like "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… you@laptop" ' +
  '(the contents of a .pub file such as ~/.ssh/id_ed25519.pub). Supported types: ssh-ed25519 (recommended), ' +
  `ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa (${MIN_RSA_BITS} bits or more)`;

export const PRIVATE_KEY_MESSAGE =
  'this looks like a PRIVATE key, so it was refused and nothing was saved. ' +
  'A private key must never be shared with anyone — not with Pictor and not in a chat. ' +
  'Paste the PUBLIC key instead: the contents of the matching .pub file (for example ~/.ssh/id_ed25519.pub), ' +
  'one line starting with ssh-ed25519, ecdsa-sha2-… or ssh-rsa. ' +
  'If this private key has been pasted or sent anywhere else, treat it as exposed and make a new key pair (ssh-keygen -t ed25519).';

function invalid(message: string, reason = 'malformed'): InvalidInputError {
  return new InvalidInputError(FIELD, message, { reason });
}

// Signs of private key material in any of the formats people keep keys in.
const PRIVATE_KEY_MARKERS: readonly RegExp[] = [
  // PEM and PEM-like armour: OpenSSH, PKCS#1 (RSA), SEC1 (EC), DSA, PKCS#8 (also encrypted),
  // SSH.com "SSH2 ENCRYPTED PRIVATE KEY", PGP "PRIVATE KEY BLOCK" — header or footer alone.
  /(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY/i,
  // PuTTY .ppk (versions 2 and 3).
  /PuTTY-User-Key-File-\d/i,
  /^\s*Private-(?:Lines|MAC)\s*:/im,
  // base64 of "openssh-key-v1\0": the body of an OpenSSH private key without its armour lines.
  /b3BlbnNzaC1rZXktdjE/,
];

/** True when the text contains private key material (with or without its armour lines). */
export function looksLikePrivateKey(text: string): boolean {
  if (PRIVATE_KEY_MARKERS.some((marker) => marker.test(text))) return true;
  if (/"kty"\s*:/.test(text) && /"d"\s*:\s*"/.test(text)) return true; // a private JWK
  return isHeaderlessDerPrivateKey(text);
}

/**
 * The base64 body of a PEM private key pasted without its BEGIN/END lines: DER PKCS#1, PKCS#8
 * and SEC1 private keys are a SEQUENCE whose first element is a one-byte INTEGER version (0 or
 * 1). Public encodings (SPKI, PKCS#1 RSAPublicKey) start with a SEQUENCE or a large INTEGER.
 */
function isHeaderlessDerPrivateKey(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return false;
  const der = Buffer.from(compact.slice(0, 64), 'base64');
  if (der[0] !== 0x30) return false;
  let at = 2;
  const lengthByte = der[1] ?? 0;
  if (lengthByte & 0x80) at += lengthByte & 0x7f;
  return der[at] === 0x02 && der[at + 1] === 0x01 && (der[at + 2] === 0x00 || der[at + 2] === 0x01);
}

/** `SHA256:` + unpadded base64 of sha256(blob), the form `ssh-keygen -lf` prints. */
export function fingerprintOf(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Parses and validates one OpenSSH public key line. Throws InvalidInputError('public_key', …)
 * naming what was expected; a private key gets PRIVATE_KEY_MESSAGE (details.reason 'private_key').
 */
export function parsePublicKey(text: string): ParsedPublicKey {
  if (typeof text !== 'string') throw invalid(EXPECTED);
  if (looksLikePrivateKey(text)) throw invalid(PRIVATE_KEY_MESSAGE, 'private_key');
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(`is empty; ${EXPECTED}`);
  if (trimmed.length > MAX_PUBLIC_KEY_LENGTH) throw invalid(`is too long for a public key; ${EXPECTED}`);
  if (/BEGIN SSH2 PUBLIC KEY/i.test(trimmed)) {
    throw invalid(
      'this is an RFC 4716 ("---- BEGIN SSH2 PUBLIC KEY ----") public key; convert it to the OpenSSH one-line form with `ssh-keygen -i -f key.pub` and paste that line',
    );
  }
  if (/BEGIN (?:RSA |EC )?PUBLIC KEY/i.test(trimmed)) {
    throw invalid('this is a PEM public key; convert it to the OpenSSH one-line form with `ssh-keygen -i -m PKCS8 -f key.pem` and paste that line');
  }
  if (/[\r\n]/.test(trimmed)) {
    throw invalid(`must be a single line holding one key (if it was wrapped when copied, join the pieces without spaces); ${EXPECTED}`);
  }
  // Tabs and spaces separate fields; any other control character has no place in a key line.
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(trimmed)) throw invalid(`contains control characters; ${EXPECTED}`);

  const match = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(trimmed);
  const first = match?.[1] ?? trimmed.split(/[ \t]/)[0] ?? '';
  if (!match || !isSupportedType(first)) throw invalid(describeBadStart(first));
  const type = first;
  const base64 = match[2]!;
  const comment = (match[3] ?? '').trim();
  if (comment.length > MAX_COMMENT_LENGTH) throw invalid(`has a comment longer than ${MAX_COMMENT_LENGTH} characters`);

  const blob = decodeBase64Strict(base64);
  const bits = parseBlob(type, blob);
  const canonical = blob.toString('base64');
  return {
    type,
    bits,
    blob,
    comment,
    fingerprint: fingerprintOf(blob),
    line: comment === '' ? `${type} ${canonical}` : `${type} ${canonical} ${comment}`,
  };
}

function isSupportedType(value: string): value is SshKeyType {
  return (SSH_KEY_TYPES as readonly string[]).includes(value);
}

function describeBadStart(first: string): string {
  if (first === 'ssh-dss')
    return 'DSA (ssh-dss) keys are no longer accepted by OpenSSH or Pictor; make an ssh-ed25519 key with `ssh-keygen -t ed25519` and paste its .pub file';
  if (first.startsWith('sk-')) return 'security-key (FIDO, sk-…) SSH keys are not supported yet; use an ssh-ed25519, ECDSA or RSA key';
  if (first.includes('-cert-v01@openssh.com'))
    return 'this is an OpenSSH certificate, not a plain public key; paste the key itself (the .pub file without -cert)';
  if (first.startsWith('AAAA')) return `is missing the key type before the key data; ${EXPECTED}`;
  if (/^(?:from|command|environment|permitopen|permitlisten|principals|tunnel|expiry-time)=|^(?:no-|restrict|cert-authority)/i.test(first)) {
    return `must not include authorized_keys options before the key type; paste just the key line. ${EXPECTED}`;
  }
  return EXPECTED;
}

function decodeBase64Strict(text: string): Buffer {
  // Buffer.from(…, 'base64') skips invalid characters silently; accept only exact canonical base64.
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw invalid(`the key data is not valid base64 (it may have been cut off or changed when copied); ${EXPECTED}`);
  }
  const blob = Buffer.from(text, 'base64');
  if (blob.toString('base64') !== text) {
    throw invalid('the key data is not valid base64 (it may have been cut off or changed when copied)');
  }
  return blob;
}

/** Reads the SSH wire encoding (RFC 4251 §5): uint32 lengths, strings, mpints. */
class WireReader {
  readonly buf: Buffer;
  #at = 0;
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  string(what: string): Buffer {
    if (this.#at + 4 > this.buf.length) throw truncated(what);
    const length = this.buf.readUInt32BE(this.#at);
    this.#at += 4;
    if (length > this.buf.length - this.#at) throw truncated(what);
    const value = this.buf.subarray(this.#at, this.#at + length);
    this.#at += length;
    return value;
  }

  /** A positive mpint, minimally encoded; returns its magnitude bytes (no leading zero). */
  positiveMpint(what: string): Buffer {
    const raw = this.string(what);
    if (raw.length === 0) throw invalid(`the key's ${what} is zero`);
    if (raw[0]! & 0x80) throw invalid(`the key's ${what} is negative`);
    if (raw[0] === 0 && (raw.length === 1 || !(raw[1]! & 0x80))) {
      throw invalid(`the key's ${what} is not minimally encoded (it was altered)`);
    }
    return raw[0] === 0 ? raw.subarray(1) : raw;
  }

  end(): void {
    if (this.#at !== this.buf.length) throw invalid('the key data has extra bytes after the key (it was altered or two keys were joined)');
  }
}

function truncated(what: string): InvalidInputError {
  return invalid(`the key data ends before its ${what} (it may have been cut off when copied)`);
}

/** Validates the blob for the declared type; returns the key size in bits. */
function parseBlob(type: SshKeyType, blob: Buffer): number {
  const reader = new WireReader(blob);
  const embedded = reader.string('type').toString('latin1');
  if (embedded !== type) {
    const actual = isSupportedType(embedded) ? `an ${embedded} key` : 'something else';
    throw invalid(`the line says ${type} but the key data is ${actual}; paste the .pub file's line unchanged`, 'type_mismatch');
  }
  let bits: number;
  if (type === 'ssh-ed25519') bits = parseEd25519(reader);
  else if (type === 'ssh-rsa') bits = parseRsa(reader);
  else bits = parseEcdsa(type, reader);
  reader.end();
  return bits;
}

function parseEd25519(reader: WireReader): number {
  const key = reader.string('Ed25519 public key');
  if (key.length !== 32) throw invalid(`an Ed25519 public key is 32 bytes, this one is ${key.length}`);
  importOrThrow({ kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') });
  return 256;
}

function parseRsa(reader: WireReader): number {
  const e = reader.positiveMpint('RSA exponent');
  const n = reader.positiveMpint('RSA modulus');
  if (e.length > 8 || !(e[e.length - 1]! & 1) || (e.length === 1 && e[0]! < 3)) {
    throw invalid('the RSA public exponent is not valid (it must be an odd number from 3 up to 64 bits)');
  }
  if (!(n[n.length - 1]! & 1)) throw invalid('the RSA modulus is not valid (it is even)');
  const bits = (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
  if (bits < MIN_RSA_BITS) {
    throw invalid(
      `this is a ${bits}-bit RSA key, which is too weak: Pictor needs RSA keys of at least ${MIN_RSA_BITS} bits. ` +
        'Make a new key with `ssh-keygen -t ed25519` (recommended) or `ssh-keygen -t rsa -b 4096` and paste its .pub file',
      'rsa_too_small',
    );
  }
  if (bits > MAX_RSA_BITS) throw invalid(`this is a ${bits}-bit RSA key; the largest supported is ${MAX_RSA_BITS} bits`);
  importOrThrow({ kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') });
  return bits;
}

const CURVES = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', jwk: 'P-256', bytes: 32, bits: 256, p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n },
  'ecdsa-sha2-nistp384': { name: 'nistp384', jwk: 'P-384', bytes: 48, bits: 384, p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n },
  'ecdsa-sha2-nistp521': { name: 'nistp521', jwk: 'P-521', bytes: 66, bits: 521, p: 2n ** 521n - 1n },
} as const;

function parseEcdsa(type: keyof typeof CURVES, reader: WireReader): number {
  const curve = CURVES[type];
  const name = reader.string('curve name').toString('latin1');
  if (name !== curve.name) throw invalid(`the key data names a different curve than ${type}; paste the .pub file's line unchanged`, 'type_mismatch');
  const point = reader.string('ECDSA public point');
  // Only the uncompressed form (SEC 1 §2.3.3, 0x04 ‖ X ‖ Y) is valid in SSH, as in OpenSSH.
  if (point.length !== 1 + 2 * curve.bytes || point[0] !== 0x04) {
    throw invalid(`the ECDSA public point has the wrong length or encoding for ${curve.name}`);
  }
  const x = point.subarray(1, 1 + curve.bytes);
  const y = point.subarray(1 + curve.bytes);
  if (toBigInt(x) >= curve.p || toBigInt(y) >= curve.p) throw invalid('the ECDSA public point is not on the curve');
  // Importing checks the point lies on the curve (all three curves have cofactor 1, so it is in the group).
  importOrThrow({ kty: 'EC', crv: curve.jwk, x: x.toString('base64url'), y: y.toString('base64url') }, 'the ECDSA public point is not on the curve');
  return curve.bits;
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function importOrThrow(jwk: Record<string, string>, message = 'the key data does not hold a valid public key'): void {
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw invalid(message);
  }
}
