import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { sharedFixtures } from '../support/paths.js';
import {
  COSIGN_PRIVATE_KEY_LABEL,
  SIGSTORE_PRIVATE_KEY_LABEL,
  decryptCosignKey,
  decryptCosignKeyAsync,
  encryptCosignKey,
  encryptCosignKeyDer,
  parseKeyEnvelope,
} from '../../src/keys/envelope.js';
import { publicKeyDer } from '../../src/keys/pem-keys.js';
import { decodePemBlocks, encodePem } from '../../src/core/pem.js';

const keysDir = join(sharedFixtures, 'cosign', 'keys');
const read = (name: string) => readFileSync(join(keysDir, name), 'utf8');
const pubDer = (name: string) => decodePemBlocks(read(name))[0]?.der;

interface Env {
  kdf: { name: string; params?: Record<string, unknown>; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

/** Rewrites the JSON envelope of a key file (for hostile-input cases). */
function mutate(
  pemText: string,
  edit: (env: Env) => void,
  label = SIGSTORE_PRIVATE_KEY_LABEL
): string {
  const block = decodePemBlocks(pemText)[0];
  assert.ok(block);
  const env = JSON.parse(block.der.toString('utf8')) as Env;
  edit(env);
  return encodePem(label, Buffer.from(JSON.stringify(env)));
}

describe('decryptCosignKey: upstream vectors', () => {
  for (const name of ['pemsigstorekey', 'pemcosignkey']) {
    it(`${name}.key loads with "hello" and matches ${name}.pub`, () => {
      const key = decryptCosignKey(read(`${name}.key`), 'hello');
      assert.equal(key.type, 'private');
      assert.equal(key.asymmetricKeyType, 'ec');
      assert.deepEqual(publicKeyDer(key), pubDer(`${name}.pub`));
    });
  }

  it('reads N, r, p from the file (N=32768 legacy vectors)', () => {
    const env = parseKeyEnvelope(read('pemsigstorekey.key'));
    assert.equal(env.label, SIGSTORE_PRIVATE_KEY_LABEL);
    assert.deepEqual(env.scrypt, { N: 32768, r: 8, p: 1 });
    assert.equal(env.salt.length, 32);
    assert.equal(env.nonce.length, 24);
    assert.equal(
      parseKeyEnvelope(read('pemcosignkey.key')).label,
      COSIGN_PRIVATE_KEY_LABEL
    );
  });

  it('rejects the SEC1 plaintext of pemcosigneckey.key (N=65536) as cosign does', () => {
    assert.equal(parseKeyEnvelope(read('pemcosigneckey.key')).scrypt.N, 65536);
    assert.throws(() => decryptCosignKey(read('pemcosigneckey.key'), 'hello'), {
      name: 'KeyError',
      code: 'KEY_MALFORMED',
      message:
        'parsing private key: x509: failed to parse private key (use ParseECPrivateKey instead for this key format)',
    });
  });

  it('rejects a wrong password with KEY_INCORRECT_PASSWORD', () => {
    assert.throws(() => decryptCosignKey(read('pemsigstorekey.key'), 'hell'), {
      name: 'KeyError',
      code: 'KEY_INCORRECT_PASSWORD',
    });
    assert.throws(() => decryptCosignKey(read('pemsigstorekey.key'), ''), {
      name: 'KeyError',
      code: 'KEY_INCORRECT_PASSWORD',
    });
  });

  it('decrypts asynchronously too, and accepts the password as bytes', async () => {
    const key = await decryptCosignKeyAsync(
      read('pemsigstorekey.key'),
      Buffer.from('hello')
    );
    assert.deepEqual(publicKeyDer(key), pubDer('pemsigstorekey.pub'));
    await assert.rejects(
      decryptCosignKeyAsync(read('pemsigstorekey.key'), 'nope'),
      { name: 'KeyError', code: 'KEY_INCORRECT_PASSWORD' }
    );
  });

  it('accepts the PEM with or without a final newline and with CRLF', () => {
    const text = read('pemsigstorekey.key');
    assert.ok(!text.endsWith('\n'));
    for (const t of [`${text}\n`, text.replace(/\n/g, '\r\n')]) {
      assert.deepEqual(
        publicKeyDer(decryptCosignKey(t, 'hello')),
        pubDer('pemsigstorekey.pub')
      );
    }
  });
});

describe('decryptCosignKey: hostile and broken files', () => {
  const good = read('pemsigstorekey.key');
  const cases: { name: string; text: string; code: string }[] = [
    { name: 'empty input', text: '', code: 'KEY_MALFORMED' },
    { name: 'not PEM', text: 'hello world', code: 'KEY_MALFORMED' },
    {
      name: 'truncated PEM (no END line)',
      text: good.slice(0, good.length - 60),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'PEM with invalid base64',
      text: good.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'unknown PEM label',
      text: good.replace(/ENCRYPTED SIGSTORE PRIVATE KEY/g, 'FOO KEY'),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'a public key',
      text: read('pemsigstorekey.pub'),
      code: 'KEY_WRONG_KIND',
    },
    {
      name: 'an unencrypted PKCS#8 key',
      text: generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
      code: 'KEY_UNSUPPORTED',
    },
    {
      name: 'envelope that is not JSON',
      text: encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from('{"kdf":')),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'envelope that is a JSON array',
      text: encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from('[]')),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'unknown kdf',
      text: mutate(good, (e) => (e.kdf.name = 'pbkdf2')),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'unknown cipher',
      text: mutate(good, (e) => (e.cipher.name = 'aes-gcm')),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'scrypt N=16384',
      text: mutate(good, (e) => (e.kdf.params!['N'] = 16384)),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'scrypt r=16',
      text: mutate(good, (e) => (e.kdf.params!['r'] = 16)),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'scrypt p=2',
      text: mutate(good, (e) => (e.kdf.params!['p'] = 2)),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'hostile scrypt N=2^30 (would need 1 TiB)',
      text: mutate(good, (e) => (e.kdf.params!['N'] = 2 ** 30)),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'hostile scrypt r=2^20',
      text: mutate(good, (e) => (e.kdf.params!['r'] = 2 ** 20)),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'scrypt N as a string',
      text: mutate(good, (e) => (e.kdf.params!['N'] = '65536')),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'missing params',
      text: mutate(good, (e) => delete e.kdf.params),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'nonce of 12 bytes',
      text: mutate(good, (e) => (e.cipher.nonce = 'AAAAAAAAAAAAAAAA')),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'salt not base64',
      text: mutate(good, (e) => (e.kdf.salt = 'not base64!')),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'ciphertext truncated to the tag',
      text: mutate(
        good,
        (e) =>
          (e.ciphertext = Buffer.from(e.ciphertext, 'base64')
            .subarray(0, 16)
            .toString('base64'))
      ),
      code: 'KEY_MALFORMED',
    },
    {
      name: 'ciphertext with its last bytes cut off',
      text: mutate(
        good,
        (e) =>
          (e.ciphertext = Buffer.from(e.ciphertext, 'base64')
            .subarray(0, 100)
            .toString('base64'))
      ),
      code: 'KEY_INCORRECT_PASSWORD',
    },
    {
      name: 'ciphertext with a flipped bit',
      text: mutate(good, (e) => {
        const b = Buffer.from(e.ciphertext, 'base64');
        b[40] = (b[40] ?? 0) ^ 1;
        e.ciphertext = b.toString('base64');
      }),
      code: 'KEY_INCORRECT_PASSWORD',
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.name} with ${c.code}`, () => {
      assert.throws(() => decryptCosignKey(c.text, 'hello'), {
        name: 'KeyError',
        code: c.code,
      });
    });
  }

  it('rejects an envelope over 64 KiB before parsing it', () => {
    const big = encodePem(
      SIGSTORE_PRIVATE_KEY_LABEL,
      Buffer.alloc(70 * 1024, 0x20)
    );
    assert.throws(() => parseKeyEnvelope(big), {
      name: 'KeyError',
      code: 'KEY_MALFORMED',
    });
  });
});

describe('encryptCosignKey', () => {
  it('writes the cosign envelope: N=65536 r=8 p=1, 32-byte salt, 24-byte nonce, PKCS#8 plaintext', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = encryptCosignKey(privateKey, 'pw');
    const block = decodePemBlocks(pem)[0];
    assert.ok(block);
    assert.equal(block.label, SIGSTORE_PRIVATE_KEY_LABEL);
    const json = block.der.toString('utf8');
    assert.match(
      json,
      /^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]{43}="\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]{32}"\},"ciphertext":"[A-Za-z0-9+/=]+"\}$/
    );
    const env = parseKeyEnvelope(pem);
    // secretbox: 16-byte tag ‖ PKCS#8 DER (138 bytes for P-256).
    assert.equal(env.ciphertext.length, 16 + 138);
    // Go pem.EncodeToMemory: no headers, 64 columns, final newline.
    const lines = pem.split('\n');
    assert.equal(lines[0], `-----BEGIN ${SIGSTORE_PRIVATE_KEY_LABEL}-----`);
    assert.equal(lines.at(-1), '');
    assert.equal(lines.at(-2), `-----END ${SIGSTORE_PRIVATE_KEY_LABEL}-----`);
    for (const l of lines.slice(1, -3)) assert.equal(l.length, 64);
    assert.ok((lines.at(-3) ?? '').length <= 64);
  });

  it('uses fresh salt and nonce each time', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const a = parseKeyEnvelope(encryptCosignKey(privateKey, 'pw'));
    const b = parseKeyEnvelope(encryptCosignKey(privateKey, 'pw'));
    assert.notDeepEqual(a.salt, b.salt);
    assert.notDeepEqual(a.nonce, b.nonce);
  });

  it('round-trips with the empty password, a unicode password, the legacy label and other N', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const want = publicKeyDer(privateKey);
    for (const [pw, opts] of [
      ['', {}],
      ['pässwörd ✓', { scryptN: 32768 as const }],
      ['x', { label: COSIGN_PRIVATE_KEY_LABEL, scryptN: 131072 as const }],
    ] as const) {
      const pem = encryptCosignKey(privateKey, pw, opts);
      assert.deepEqual(publicKeyDer(decryptCosignKey(pem, pw)), want);
    }
  });

  it('refuses a public key with KEY_WRONG_KIND and an unsupported key with KEY_UNSUPPORTED', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', {
      namedCurve: 'secp256k1',
    });
    assert.throws(() => encryptCosignKey(publicKey, 'pw'), {
      name: 'KeyError',
      code: 'KEY_WRONG_KIND',
    });
    assert.throws(() => encryptCosignKey(privateKey, 'pw'), {
      name: 'KeyError',
      code: 'KEY_UNSUPPORTED',
    });
  });

  it('an envelope holding an unsupported key decrypts but is refused', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-224' });
    const pem = encryptCosignKeyDer(
      privateKey.export({ format: 'der', type: 'pkcs8' }),
      'pw',
      { scryptN: 32768 }
    );
    assert.throws(() => decryptCosignKey(pem, 'pw'), {
      name: 'KeyError',
      code: 'KEY_UNSUPPORTED',
    });
  });

  it('an envelope holding garbage plaintext is KEY_MALFORMED', () => {
    const pem = encryptCosignKeyDer(Buffer.from('not a key'), 'pw', {
      scryptN: 32768,
    });
    assert.throws(() => decryptCosignKey(pem, 'pw'), {
      name: 'KeyError',
      code: 'KEY_MALFORMED',
    });
  });

  it('the decrypted key is the same private key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const back = decryptCosignKey(encryptCosignKey(privateKey, 'pw'), 'pw');
    assert.deepEqual(
      back.export({ format: 'der', type: 'pkcs8' }),
      createPrivateKey(
        privateKey.export({ format: 'pem', type: 'pkcs8' })
      ).export({ format: 'der', type: 'pkcs8' })
    );
  });
});
