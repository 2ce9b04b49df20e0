// Test keys: an independent OpenSSH wire encoder for node:crypto keys (RFC 4253 §6.6,
// RFC 5656 §3.1, RFC 8709 §4), and real keys from ssh-keygen when it is installed.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SSH_KEYGEN = ['/usr/bin/ssh-keygen', '/usr/local/bin/ssh-keygen', '/opt/homebrew/bin/ssh-keygen'].find((p) => existsSync(p));

export function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A positive mpint from big-endian magnitude bytes (leading zeros stripped, sign byte added). */
export function sshMpint(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start += 1;
  const trimmed = magnitude.subarray(start);
  return sshString(trimmed.length > 0 && trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

const CURVE_NAMES: Record<string, string> = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' };

/** The wire blob of a node:crypto public key. */
export function sshBlob(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(jwk.x!, 'base64url'))]);
  }
  if (jwk.kty === 'EC') {
    const curve = CURVE_NAMES[jwk.crv!]!;
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    return Buffer.concat([sshString(`ecdsa-sha2-${curve}`), sshString(curve), sshString(point)]);
  }
  if (jwk.kty === 'RSA') {
    return Buffer.concat([sshString('ssh-rsa'), sshMpint(Buffer.from(jwk.e!, 'base64url')), sshMpint(Buffer.from(jwk.n!, 'base64url'))]);
  }
  throw new Error(`no SSH encoding for ${jwk.kty}`);
}

export function sshLine(type: string, blob: Buffer, comment?: string): string {
  return comment === undefined ? `${type} ${blob.toString('base64')}` : `${type} ${blob.toString('base64')} ${comment}`;
}

export function cryptoKey(kind: 'ed25519' | 'P-256' | 'P-384' | 'P-521' | 'rsa2048' | 'rsa1024' | 'rsa3072'): { publicKey: KeyObject; privateKey: KeyObject } {
  if (kind === 'ed25519') return generateKeyPairSync('ed25519');
  if (kind.startsWith('rsa')) return generateKeyPairSync('rsa', { modulusLength: Number(kind.slice(3)) });
  return generateKeyPairSync('ec', { namedCurve: kind });
}

export interface KeygenKey {
  /** The .pub file's content. */
  pub: string;
  /** The private key file's content. */
  priv: string;
  /** What `ssh-keygen -lf key.pub` prints: bits, fingerprint, type label. */
  bits: number;
  fingerprint: string;
}

/** Generates a key pair with ssh-keygen in a temporary directory (removed before returning). */
export function keygen(args: string[], comment = 'dev@laptop', passphrase = ''): KeygenKey {
  if (!SSH_KEYGEN) throw new Error('ssh-keygen is not installed');
  const dir = mkdtempSync(path.join(tmpdir(), 'pictor-ssh-'));
  try {
    const file = path.join(dir, 'key');
    execFileSync(SSH_KEYGEN, ['-q', ...args, '-N', passphrase, '-C', comment, '-f', file], { stdio: 'pipe' });
    const listed = keygenFingerprint(`${file}.pub`);
    return { pub: readFileSync(`${file}.pub`, 'utf8'), priv: readFileSync(file, 'utf8'), ...listed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `ssh-keygen -lf` on a public key line and returns its bits and fingerprint. */
export function keygenFingerprintOfLine(line: string): { bits: number; fingerprint: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictor-ssh-'));
  try {
    const file = path.join(dir, 'key.pub');
    writeFileSync(file, `${line}\n`);
    return keygenFingerprint(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function keygenFingerprint(file: string): { bits: number; fingerprint: string } {
  const out = execFileSync(SSH_KEYGEN!, ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' });
  const [bits, fingerprint] = out.trim().split(/\s+/);
  return { bits: Number(bits), fingerprint: fingerprint! };
}

/** Runs ssh-keygen with extra arguments on a key file made from `content` and returns stdout. */
export function keygenConvert(content: string, args: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictor-ssh-'));
  try {
    const file = path.join(dir, 'key');
    writeFileSync(file, content, { mode: 0o600 });
    return execFileSync(SSH_KEYGEN!, [...args, '-f', file], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
