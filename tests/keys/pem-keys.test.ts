import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from 'node:crypto';
import { sharedFixtures } from '../support/paths.js';
import {
  importPrivateKeyPem,
  parsePublicKeyPem,
  publicKeyDer,
  publicKeyPem,
} from '../../src/keys/pem-keys.js';
import {
  decryptCosignKey,
  encryptCosignKey,
  parseKeyEnvelope,
} from '../../src/keys/envelope.js';
import { decodePemBlocks } from '../../src/core/pem.js';

const importDir = join(sharedFixtures, 'cosign', 'import');
const readImport = (f: string) => readFileSync(join(importDir, f), 'utf8');

// The table of fixtures/README.md "import/".
const accepted: { file: string; type: string; detail: string }[] = [
  { file: 'validrsa.key', type: 'rsa', detail: '2048' },
  { file: 'validrsapkcs1.key', type: 'rsa', detail: '2048' },
  { file: 'validrsapkcs8.key', type: 'rsa', detail: '2048' },
  { file: 'validecp256.key', type: 'ec', detail: 'prime256v1' },
  { file: 'validecp384.key', type: 'ec', detail: 'secp384r1' },
  { file: 'validecp521.key', type: 'ec', detail: 'secp521r1' },
  { file: 'validecpkcs8.key', type: 'ec', detail: 'prime256v1' },
  { file: 'ed25519.key', type: 'ed25519', detail: '' },
];
const rejected: { file: string; code: string; message: string }[] = [
  {
    file: 'invalidrsawithpubkey.key',
    code: 'KEY_WRONG_KIND',
    message: 'unsupported private key',
  },
  {
    file: 'invalidrsasmallkey.key',
    code: 'KEY_UNSUPPORTED',
    message: 'error validating rsa key: key size not supported: 1024',
  },
  {
    file: 'invalidrsalargekey.key',
    code: 'KEY_UNSUPPORTED',
    message: 'error validating rsa key: key size not supported: 5120',
  },
  {
    file: 'invalidecp224.key',
    code: 'KEY_UNSUPPORTED',
    message: 'error validating ecdsa key: ECDSA curve P-224 not allowed',
  },
  {
    file: 'invalidecunsupported.key',
    code: 'KEY_UNSUPPORTED',
    message: 'error parsing ecdsa private key',
  },
  {
    file: 'invalidkey.key',
    code: 'KEY_MALFORMED',
    message: 'invalid pem block',
  },
];

describe('importPrivateKeyPem: upstream vectors', () => {
  for (const c of accepted) {
    it(`imports ${c.file} and re-encrypts it loadably with "hello"`, () => {
      const text = readImport(c.file);
      const key = importPrivateKeyPem(text);
      assert.equal(key.type, 'private');
      assert.equal(key.asymmetricKeyType, c.type);
      const d = key.asymmetricKeyDetails;
      if (c.type === 'rsa') assert.equal(String(d?.modulusLength), c.detail);
      if (c.type === 'ec') assert.equal(d?.namedCurve, c.detail);
      const want = createPublicKey(createPrivateKey(text)).export({
        format: 'der',
        type: 'spki',
      });
      assert.deepEqual(publicKeyDer(key), want);
      const pem = encryptCosignKey(key, 'hello', { scryptN: 32768 });
      assert.equal(
        parseKeyEnvelope(pem).label,
        'ENCRYPTED SIGSTORE PRIVATE KEY'
      );
      assert.deepEqual(publicKeyDer(decryptCosignKey(pem, 'hello')), want);
    });
  }
  for (const c of rejected) {
    it(`rejects ${c.file}: ${c.message}`, () => {
      assert.throws(() => importPrivateKeyPem(readImport(c.file)), {
        name: 'KeyError',
        code: c.code,
        message: c.message,
      });
    });
  }
});

describe('importPrivateKeyPem: other inputs', () => {
  it('rejects an encrypted PKCS#8 key as cosign does', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const text = privateKey
      .export({
        format: 'pem',
        type: 'pkcs8',
        cipher: 'aes-256-cbc',
        passphrase: 'x',
      })
      .toString();
    assert.match(text, /ENCRYPTED PRIVATE KEY/);
    assert.throws(() => importPrivateKeyPem(text), {
      name: 'KeyError',
      code: 'KEY_UNSUPPORTED',
      message: 'unsupported private key',
    });
  });

  it('rejects a legacy OpenSSL-encrypted PEM with a clear reason', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const text = privateKey
      .export({
        format: 'pem',
        type: 'pkcs1',
        cipher: 'aes-256-cbc',
        passphrase: 'x',
      })
      .toString();
    assert.match(text, /Proc-Type: 4,ENCRYPTED/);
    assert.throws(() => importPrivateKeyPem(text), {
      name: 'KeyError',
      code: 'KEY_UNSUPPORTED',
    });
  });

  it('rejects X25519, Ed448 and DSA PKCS#8 keys', () => {
    const x25519 = generateKeyPairSync('x25519').privateKey;
    const ed448 = generateKeyPairSync('ed448').privateKey;
    const dsa = generateKeyPairSync('dsa', {
      modulusLength: 2048,
      divisorLength: 256,
    }).privateKey;
    for (const [k, message] of [
      [x25519, 'unexpected private key'],
      [ed448, 'error parsing pkcs #8 private key'],
      [dsa, 'error parsing pkcs #8 private key'],
    ] as const) {
      const text = k.export({ format: 'pem', type: 'pkcs8' }).toString();
      assert.throws(() => importPrivateKeyPem(text), {
        name: 'KeyError',
        code: 'KEY_UNSUPPORTED',
        message,
      });
    }
  });

  it('rejects corrupted DER inside a valid PEM label with KEY_MALFORMED', () => {
    for (const label of ['RSA PRIVATE KEY', 'EC PRIVATE KEY', 'PRIVATE KEY']) {
      const text = `-----BEGIN ${label}-----\nAAECAwQF\n-----END ${label}-----\n`;
      assert.throws(() => importPrivateKeyPem(text), {
        name: 'KeyError',
        code: 'KEY_MALFORMED',
      });
    }
  });

  it('takes the first PEM block, skipping text before it', () => {
    const text = `some comment\n${readImport('validecp256.key')}\n${readImport('validrsa.key')}`;
    assert.equal(importPrivateKeyPem(text).asymmetricKeyType, 'ec');
  });
});

describe('parsePublicKeyPem / publicKeyPem', () => {
  it('reads PKIX and PKCS#1 RSA public keys', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const pkcs1 = publicKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    assert.match(pkcs1, /RSA PUBLIC KEY/);
    const want = publicKey.export({ format: 'der', type: 'spki' });
    assert.deepEqual(publicKeyDer(parsePublicKeyPem(spki)), want);
    assert.deepEqual(publicKeyDer(parsePublicKeyPem(pkcs1)), want);
  });

  it('writes PKIX PEM that reads back identically (every key type)', () => {
    const keys = [
      generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      generateKeyPairSync('ec', { namedCurve: 'P-521' }),
      generateKeyPairSync('ed25519'),
      generateKeyPairSync('rsa', { modulusLength: 3072 }),
    ];
    for (const { privateKey, publicKey } of keys) {
      const pem = publicKeyPem(privateKey);
      assert.equal(
        pem,
        publicKey.export({ format: 'pem', type: 'spki' }).toString()
      );
      assert.equal(decodePemBlocks(pem)[0]?.label, 'PUBLIC KEY');
      assert.deepEqual(
        publicKeyDer(parsePublicKeyPem(pem)),
        publicKeyDer(publicKey)
      );
    }
  });

  it('reads the derived .pub fixtures', () => {
    for (const f of ['pemsigstorekey.pub', 'pemcosignkey.pub']) {
      const text = readFileSync(
        join(sharedFixtures, 'cosign', 'keys', f),
        'utf8'
      );
      assert.equal(parsePublicKeyPem(text).asymmetricKeyType, 'ec');
      assert.equal(publicKeyPem(parsePublicKeyPem(text)), text);
    }
  });

  it('rejects a private key (KEY_WRONG_KIND), a bad curve (KEY_UNSUPPORTED), garbage (KEY_MALFORMED)', () => {
    assert.throws(() => parsePublicKeyPem(readImport('validecp256.key')), {
      name: 'KeyError',
      code: 'KEY_WRONG_KIND',
    });
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    assert.throws(
      () =>
        parsePublicKeyPem(
          k1.publicKey.export({ format: 'pem', type: 'spki' }).toString()
        ),
      { name: 'KeyError', code: 'KEY_UNSUPPORTED' }
    );
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(
      () =>
        parsePublicKeyPem(
          small.publicKey.export({ format: 'pem', type: 'spki' }).toString()
        ),
      { name: 'KeyError', code: 'KEY_UNSUPPORTED' }
    );
    for (const t of [
      '',
      'not a key',
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
    ]) {
      assert.throws(() => parsePublicKeyPem(t), {
        name: 'KeyError',
        code: 'KEY_MALFORMED',
      });
    }
  });
});
