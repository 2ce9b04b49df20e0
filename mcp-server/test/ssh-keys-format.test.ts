// The OpenSSH public key parser: real ssh-keygen keys (fingerprints compared with `ssh-keygen -lf`),
// node:crypto keys encoded here, tampered and mismatched blobs, and private keys of many formats.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { InvalidInputError } from '../src/pictor/errors.ts';
import { fingerprintOf, looksLikePrivateKey, parsePublicKey, PRIVATE_KEY_MESSAGE } from '../src/pictor/ssh-key-format.ts';
import { cryptoKey, keygen, keygenConvert, keygenFingerprintOfLine, SSH_KEYGEN, sshBlob, sshLine, sshMpint, sshString } from './ssh-keys-fixtures.ts';

const noKeygen = SSH_KEYGEN ? false : 'ssh-keygen is not installed';

/** Asserts parsing fails with InvalidInputError on public_key; returns the message. */
function refused(text: string, pattern?: RegExp, reason?: string): string {
  let caught: unknown;
  try {
    parsePublicKey(text);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidInputError, `expected InvalidInputError, got ${String(caught)}`);
  assert.equal(caught.details.field, 'public_key');
  assert.match(caught.message, /^public_key: /);
  if (pattern) assert.match(caught.message, pattern);
  if (reason) assert.equal(caught.details.reason, reason);
  return caught.message;
}

/** No run of 12 or more non-space characters of the input appears in the message or details. */
function assertNotEchoed(input: string, message: string, details: unknown = {}): void {
  const haystack = message + JSON.stringify(details);
  for (const token of input.split(/\s+/)) {
    for (let i = 0; i + 12 <= token.length; i += 6) {
      const piece = token.slice(i, i + 12);
      if (/^[-A-Za-z ]+$/.test(piece)) continue; // words of the armour (BEGIN, PRIVATE…) are not secret
      assert.ok(!haystack.includes(piece), `echoed part of the input: ${piece}`);
    }
  }
}

describe('keys made by ssh-keygen', { skip: noKeygen }, () => {
  const cases: Array<[string, string[], string, number]> = [
    ['ed25519', ['-t', 'ed25519'], 'ssh-ed25519', 256],
    ['ecdsa 256', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256', 256],
    ['ecdsa 384', ['-t', 'ecdsa', '-b', '384'], 'ecdsa-sha2-nistp384', 384],
    ['ecdsa 521', ['-t', 'ecdsa', '-b', '521'], 'ecdsa-sha2-nistp521', 521],
    ['rsa 2048', ['-t', 'rsa', '-b', '2048'], 'ssh-rsa', 2048],
    ['rsa 3072', ['-t', 'rsa', '-b', '3072'], 'ssh-rsa', 3072],
  ];
  for (const [label, args, type, bits] of cases) {
    test(`${label}: accepted, fingerprint and size equal ssh-keygen -lf`, () => {
      const key = keygen(args, 'dev@laptop');
      const parsed = parsePublicKey(key.pub);
      assert.equal(parsed.type, type);
      assert.equal(parsed.bits, bits);
      assert.equal(key.bits, bits);
      assert.equal(parsed.fingerprint, key.fingerprint);
      assert.equal(parsed.comment, 'dev@laptop');
      assert.equal(parsed.line, key.pub.trim());
    });
  }

  test('a 1024-bit RSA key is refused with a clear reason', () => {
    const key = keygen(['-t', 'rsa', '-b', '1024']);
    const message = refused(key.pub, /1024-bit RSA key.*at least 2048 bits.*ssh-keygen -t ed25519/, 'rsa_too_small');
    assertNotEchoed(key.pub.split(' ')[1]!, message);
  });

  test('a key without a comment, and one with spaces in its comment', () => {
    const bare = keygen(['-t', 'ed25519'], '');
    const parsed = parsePublicKey(bare.pub);
    assert.equal(parsed.comment, '');
    assert.equal(parsed.line, bare.pub.trim());
    assert.doesNotMatch(parsed.line, / $/);
    const spaced = keygen(['-t', 'ed25519'], 'work laptop (2026)');
    assert.equal(parsePublicKey(spaced.pub).comment, 'work laptop (2026)');
  });

  test('RFC 4716 and PEM exports of a public key get conversion advice', () => {
    const key = keygen(['-t', 'ed25519']);
    refused(keygenConvert(key.pub, ['-e']), /RFC 4716.*ssh-keygen -i -f/);
    const rsa = keygen(['-t', 'rsa', '-b', '2048']);
    refused(keygenConvert(rsa.pub, ['-e', '-m', 'PKCS8']), /PEM public key.*ssh-keygen -i -m PKCS8/);
  });

  test('private keys in every format ssh-keygen writes are refused and never echoed', () => {
    const formats: Array<[string, string[], string?]> = [
      ['openssh ed25519', ['-t', 'ed25519']],
      ['openssh ed25519 with passphrase', ['-t', 'ed25519'], 'correct horse'],
      ['openssh ecdsa', ['-t', 'ecdsa']],
      ['PEM RSA (PKCS#1)', ['-t', 'rsa', '-b', '2048', '-m', 'PEM']],
      ['PEM EC (SEC1)', ['-t', 'ecdsa', '-m', 'PEM']],
      ['PKCS#8', ['-t', 'rsa', '-b', '2048', '-m', 'PKCS8']],
    ];
    for (const [label, args, passphrase] of formats) {
      const key = keygen(args, 'dev@laptop', passphrase);
      for (const variant of [key.priv, `  ${key.priv}\n\n`, key.priv.replace(/\n/g, '\r\n'), `${key.pub}\n${key.priv}`]) {
        let caught: unknown;
        try {
          parsePublicKey(variant);
        } catch (error) {
          caught = error;
        }
        assert.ok(caught instanceof InvalidInputError, label);
        assert.equal(caught.details.reason, 'private_key', label);
        assert.equal(caught.message, `public_key: ${PRIVATE_KEY_MESSAGE}`, label);
        assertNotEchoed(key.priv, caught.message, caught.details);
      }
      // The body alone, without the BEGIN/END lines, is still recognised.
      const body = key.priv
        .split('\n')
        .filter((line) => line && !line.startsWith('-----'))
        .join('\n');
      assert.ok(looksLikePrivateKey(body), `${label} without armour`);
    }
  });
});

describe('keys made with node:crypto and encoded here', () => {
  for (const kind of ['ed25519', 'P-256', 'P-384', 'P-521', 'rsa2048'] as const) {
    test(`${kind}: accepted with the sha256 fingerprint of its blob`, () => {
      const blob = sshBlob(cryptoKey(kind).publicKey);
      const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
      const parsed = parsePublicKey(sshLine(type, blob, 'ci@runner'));
      assert.equal(parsed.type, type);
      assert.deepEqual(parsed.blob, blob);
      const expected = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
      assert.equal(parsed.fingerprint, expected);
      if (SSH_KEYGEN) assert.equal(keygenFingerprintOfLine(parsed.line).fingerprint, expected);
    });
  }

  test('fingerprintOf drops base64 padding like ssh-keygen', () => {
    assert.equal(fingerprintOf(Buffer.from('')), 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU');
  });

  test('a 1024-bit RSA key is refused', () => {
    const blob = sshBlob(cryptoKey('rsa1024').publicKey);
    refused(sshLine('ssh-rsa', blob), /1024-bit RSA key/, 'rsa_too_small');
  });

  test('normalises surrounding whitespace, tabs and line endings, keeping the comment', () => {
    const blob = sshBlob(cryptoKey('ed25519').publicKey);
    const b64 = blob.toString('base64');
    const parsed = parsePublicKey(`\uFEFF \n ssh-ed25519\t ${b64}  my  laptop \r\n\n`);
    assert.equal(parsed.line, `ssh-ed25519 ${b64} my  laptop`);
    assert.equal(parsed.comment, 'my  laptop');
    assert.equal(parsePublicKey(`ssh-ed25519 ${b64}`).line, `ssh-ed25519 ${b64}`);
    // "private key" in a comment is just words, not key material.
    assert.equal(parsePublicKey(`ssh-ed25519 ${b64} not my private key`).comment, 'not my private key');
  });
});

describe('tampered and malformed blobs', () => {
  const ed = sshBlob(cryptoKey('ed25519').publicKey);
  const p256 = sshBlob(cryptoKey('P-256').publicKey);
  const rsa = sshBlob(cryptoKey('rsa2048').publicKey);
  const rsaParts = (() => {
    const jwk = cryptoKey('rsa2048').publicKey.export({ format: 'jwk' });
    return { e: Buffer.from(jwk.e!, 'base64url'), n: Buffer.from(jwk.n!, 'base64url') };
  })();

  test('type on the line differs from the type inside the blob', () => {
    refused(sshLine('ssh-rsa', ed), /says ssh-rsa but the key data is an ssh-ed25519 key/, 'type_mismatch');
    refused(sshLine('ecdsa-sha2-nistp384', p256), /says ecdsa-sha2-nistp384 but the key data is an ecdsa-sha2-nistp256 key/, 'type_mismatch');
    const wrongCurve = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp384'), p256.subarray(4 + 19 + 4 + 8)]);
    refused(sshLine('ecdsa-sha2-nistp256', wrongCurve), /different curve/, 'type_mismatch');
    refused(sshLine('ssh-ed25519', Buffer.concat([sshString('ssh-foo'), sshString(Buffer.alloc(32))])), /key data is something else/, 'type_mismatch');
  });

  test('trailing bytes, truncation and wrong lengths', () => {
    refused(sshLine('ssh-ed25519', Buffer.concat([ed, Buffer.from([0])])), /extra bytes/);
    refused(sshLine('ssh-ed25519', Buffer.concat([ed, sshString('x')])), /extra bytes/);
    refused(sshLine('ssh-ed25519', ed.subarray(0, ed.length - 3)), /ends before/);
    refused(sshLine('ssh-rsa', rsa.subarray(0, 200)), /ends before/);
    refused(sshLine('ssh-ed25519', Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31, 7))])), /32 bytes, this one is 31/);
    refused(sshLine('ssh-ed25519', Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(33, 7))])), /32 bytes, this one is 33/);
    // A length prefix larger than the blob.
    const lying = Buffer.from(ed);
    lying.writeUInt32BE(0xffffffff, 4 + 11);
    refused(sshLine('ssh-ed25519', lying), /ends before/);
  });

  test('an ECDSA point off the curve, compressed, or out of range', () => {
    const head = p256.subarray(0, 4 + 19 + 4 + 8);
    const point = p256.subarray(head.length + 4);
    const flipped = Buffer.from(point);
    flipped[flipped.length - 1]! ^= 0x01;
    refused(sshLine('ecdsa-sha2-nistp256', Buffer.concat([head, sshString(flipped)])), /not on the curve/);
    const compressed = Buffer.concat([Buffer.from([0x02]), point.subarray(1, 33)]);
    refused(sshLine('ecdsa-sha2-nistp256', Buffer.concat([head, sshString(compressed)])), /wrong length or encoding/);
    const ffx = Buffer.concat([Buffer.from([4]), Buffer.alloc(32, 0xff), point.subarray(33)]);
    refused(sshLine('ecdsa-sha2-nistp256', Buffer.concat([head, sshString(ffx)])), /not on the curve/);
    refused(sshLine('ecdsa-sha2-nistp256', Buffer.concat([head, sshString(Buffer.from([0]))])), /wrong length or encoding/);
  });

  test('RSA exponent and modulus are checked', () => {
    const build = (e: Buffer, n: Buffer) => sshLine('ssh-rsa', Buffer.concat([sshString('ssh-rsa'), e, n]));
    refused(build(sshMpint(Buffer.from([0x01, 0x00, 0x00])), sshMpint(rsaParts.n)), /exponent is not valid/); // even
    refused(build(sshMpint(Buffer.from([0x01])), sshMpint(rsaParts.n)), /exponent is not valid/);
    refused(build(sshMpint(Buffer.alloc(9, 0x01)), sshMpint(rsaParts.n)), /exponent is not valid/);
    refused(build(sshString(Buffer.alloc(0)), sshMpint(rsaParts.n)), /exponent is zero/);
    refused(build(sshMpint(rsaParts.e), sshString(rsaParts.n)), /modulus is negative/); // high bit without sign byte
    refused(build(sshString(Buffer.concat([Buffer.from([0, 0]), rsaParts.e])), sshMpint(rsaParts.n)), /not minimally encoded/);
    const even = Buffer.from(rsaParts.n);
    even[even.length - 1]! &= 0xfe;
    refused(build(sshMpint(rsaParts.e), sshMpint(even)), /modulus is not valid/);
    assert.equal(parsePublicKey(build(sshMpint(rsaParts.e), sshMpint(rsaParts.n))).bits, 2048);
  });

  test('base64 that is not exact is refused', () => {
    const b64 = p256.toString('base64'); // 104 bytes: ends in one '='
    assert.match(b64, /[^=]=$/);
    const type = 'ecdsa-sha2-nistp256';
    assert.equal(parsePublicKey(`${type} ${b64}`).type, type);
    refused(`${type} ${b64.slice(0, -1)}`, /not valid base64/);
    refused(`${type} ${b64.slice(0, 20)}*${b64.slice(21)}`, /not valid base64/);
    refused(`${type} ${b64.slice(0, 20)}-${b64.slice(21)}`, /not valid base64/);
    refused(`${type} ${b64}=`, /not valid base64/);
    // Non-zero padding bits decode to the same bytes but are not what ssh-keygen writes.
    const last = b64.length - 2;
    const sloppy = `${b64.slice(0, last)}${String.fromCharCode(b64.charCodeAt(last) + 1)}${b64.slice(last + 1)}`;
    assert.notEqual(sloppy, b64);
    refused(`${type} ${sloppy}`, /not valid base64/);
  });
});

describe('private keys pasted by mistake', () => {
  const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const samples: Record<string, string> = {
    'PKCS#8 PEM': pkcs8,
    'encrypted PKCS#8 PEM': rsa.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(),
    'PKCS#1 RSA PEM': rsa.export({ format: 'pem', type: 'pkcs1' }).toString(),
    'SEC1 EC PEM': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    'PKCS#1 body without armour': rsa
      .export({ format: 'pem', type: 'pkcs1' })
      .toString()
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('\n'),
    'PKCS#8 body on one line': pkcs8
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join(''),
    'private JWK': JSON.stringify(rsa.export({ format: 'jwk' })),
    'PuTTY v3': [
      'PuTTY-User-Key-File-3: ssh-ed25519',
      'Encryption: none',
      'Comment: eddsa-key-20260101',
      'Public-Lines: 2',
      'AAAAC3NzaC1lZDI1NTE5AAAAIKhV2bNfKZB3Gq0Z6cyyYkFv3n3mJ2p4WJxXvP1a',
      'nE8r',
      'Private-Lines: 1',
      'AAAAIE9Xb4zY0q8kq2mZp5X1c3VtQ9rTgH2yW8sLdKfJ6aPo',
      'Private-MAC: 3c1f0e9a7b5d4c2e8f6a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e',
    ].join('\n'),
    'PuTTY v2 private lines only': 'Private-Lines: 1\nAAAAIE9Xb4zY0q8kq2mZp5X1c3VtQ9rTgH2yW8sLdKfJ6aPo',
    'SSH.com encrypted':
      '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key"\nP2/56wAAA+QAAAA3aWYtbW9kbntzaWdue3JzYS1wa2NzMS1zaGExfSxlbmNyeXB0\n---- END SSH2 ENCRYPTED PRIVATE KEY ----',
    'PGP secret key': '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXr4mQBCAC5uZ0f7y8vQ1b2n3m4k5j6h7g8f9d0s1a2\n-----END PGP PRIVATE KEY BLOCK-----',
    'only the END line and body':
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBQej9uVRqlHXbC01vBRqH80fzNspdPATR/+xIZj2lcNwAAAJBvQ1pQb0Na\n-----END OPENSSH PRIVATE KEY-----',
  };
  for (const [label, text] of Object.entries(samples)) {
    test(`${label}: refused, with the private-key explanation and no echo`, () => {
      let caught: unknown;
      try {
        parsePublicKey(text);
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof InvalidInputError);
      assert.equal(caught.details.reason, 'private_key');
      assert.match(caught.message, /PRIVATE key.*never be shared.*\.pub file/);
      assertNotEchoed(text, caught.message, caught.details);
    });
  }

  test('public keys and SPKI public bodies are not mistaken for private keys', () => {
    const spki = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'pkcs1' }).toString('base64');
    assert.equal(looksLikePrivateKey(spki), false);
    assert.equal(looksLikePrivateKey(pkcs1), false);
    for (const kind of ['ed25519', 'P-256', 'P-521', 'rsa2048'] as const) {
      const blob = sshBlob(cryptoKey(kind).publicKey);
      assert.equal(looksLikePrivateKey(sshLine('x', blob, 'me@host')), false);
      assert.equal(looksLikePrivateKey(blob.toString('base64')), false);
    }
  });
});

describe('other input that is not a public key', () => {
  const ed = sshBlob(cryptoKey('ed25519').publicKey).toString('base64');
  const expected = /expected an OpenSSH public key on one line/;

  test('empty, blank and plain garbage name what was expected', () => {
    refused('', /is empty; expected/);
    refused(' \n\t ', /is empty; expected/);
    refused('hello world', expected);
    refused('ssh-ed25519', expected);
    refused('ssh-ed25519 ', expected);
    refused('x'.repeat(9000), /too long/);
  });

  test('a secret-looking token is not echoed back', () => {
    const secret = 'sk_live_51HqTzXKz9pQ2mN8vR4wL7yB3cD6fG0hJ';
    const message = refused(secret, expected);
    assertNotEchoed(secret, message);
    const message2 = refused(`ssh-ed25519 ${secret}`, /not valid base64/);
    assertNotEchoed(secret, message2);
  });

  test('known-but-unsupported forms get specific advice', () => {
    refused(`ssh-dss ${ed}`, /DSA \(ssh-dss\).*ssh-keygen -t ed25519/);
    refused(`sk-ssh-ed25519@openssh.com ${ed}`, /security-key/);
    refused(`ssh-ed25519-cert-v01@openssh.com ${ed}`, /certificate/);
    refused(ed, /missing the key type/);
    refused(`from="10.0.0.1" ssh-ed25519 ${ed}`, /authorized_keys options/);
    refused(`no-pty ssh-ed25519 ${ed}`, /authorized_keys options/);
  });

  test('several lines or control characters are refused', () => {
    refused(`ssh-ed25519 ${ed} a\nssh-ed25519 ${ed} b`, /single line/);
    refused(`ssh-ed25519 ${ed.slice(0, 30)}\n${ed.slice(30)}`, /single line/);
    refused(`ssh-ed25519 ${ed} bell\u0007`, /control characters/);
  });
});
