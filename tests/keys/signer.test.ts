import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createHash,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';
import { sharedFixtures } from '../support/paths.js';
import {
  signerFromPrivateKey,
  verifierFromPublicKey,
} from '../../src/keys/signer.js';
import { decryptCosignKey, encryptCosignKey } from '../../src/keys/envelope.js';
import { parsePublicKeyPem, publicKeyDer } from '../../src/keys/pem-keys.js';
import { generatePrivateKey } from '../../src/keys/generate.js';
import {
  SIGNING_ALGORITHMS,
  describeKey,
  type SigningAlgorithm,
} from '../../src/keys/key-type.js';
import { ed25519phVerifyDigest } from '../../src/keys/ed25519ph.js';

const fx = (...p: string[]) =>
  readFileSync(join(sharedFixtures, 'cosign', ...p), 'utf8');

const expected: Record<
  SigningAlgorithm,
  { type: string; hash: string; algorithm: SigningAlgorithm }
> = {
  'ecdsa-sha2-256-nistp256': {
    type: 'ec',
    hash: 'sha256',
    algorithm: 'ecdsa-sha2-256-nistp256',
  },
  'ecdsa-sha2-384-nistp384': {
    type: 'ec',
    hash: 'sha384',
    algorithm: 'ecdsa-sha2-384-nistp384',
  },
  'ecdsa-sha2-512-nistp521': {
    type: 'ec',
    hash: 'sha512',
    algorithm: 'ecdsa-sha2-512-nistp521',
  },
  'ed25519-ph': { type: 'ed25519', hash: 'sha512', algorithm: 'ed25519-ph' },
  ed25519: { type: 'ed25519', hash: 'sha512', algorithm: 'ed25519-ph' },
  'rsa-sign-pkcs1-2048-sha256': {
    type: 'rsa',
    hash: 'sha256',
    algorithm: 'rsa-sign-pkcs1-2048-sha256',
  },
  'rsa-sign-pkcs1-3072-sha256': {
    type: 'rsa',
    hash: 'sha256',
    algorithm: 'rsa-sign-pkcs1-3072-sha256',
  },
  'rsa-sign-pkcs1-4096-sha256': {
    type: 'rsa',
    hash: 'sha256',
    algorithm: 'rsa-sign-pkcs1-4096-sha256',
  },
};

describe('Signer / Verifier round trips for every key type', () => {
  for (const alg of SIGNING_ALGORITHMS) {
    it(`${alg}: generate → encrypt → decrypt → sign → verify`, async () => {
      const key = generatePrivateKey(alg);
      const want = expected[alg];
      assert.equal(key.asymmetricKeyType, want.type);
      const back = decryptCosignKey(
        encryptCosignKey(key, 'pw', { scryptN: 32768 }),
        'pw'
      );
      const signer = signerFromPrivateKey(back);
      assert.equal(signer.algorithm, want.algorithm);
      assert.equal(signer.hashAlgorithm, want.hash);
      const data = Buffer.from(`{"critical":{"alg":"${alg}"}}`);
      const sig = await signer.sign(data);
      const verifier = verifierFromPublicKey(signer.publicKey);
      assert.equal(verifier.algorithm, want.algorithm);
      assert.equal(verifier.verify(data, sig), true);
      assert.equal(verifier.verify(Buffer.from('other'), sig), false);
      const flipped = Buffer.from(sig);
      flipped[flipped.length - 1] = (flipped.at(-1) ?? 0) ^ 1;
      assert.equal(verifier.verify(data, flipped), false);
      assert.equal(verifier.verify(data, Buffer.alloc(0)), false);
      assert.equal(verifier.verify(data, Buffer.from('garbage')), false);
      // A different key of the same type does not verify it.
      const other = verifierFromPublicKey(generatePrivateKey(alg));
      assert.equal(other.verify(data, sig), false);
    });
  }
});

describe('hash follows the key as in cosign', () => {
  it('ECDSA signatures are DER over SHA-256/384/512 by curve', async () => {
    for (const [curve, hash] of [
      ['P-256', 'sha256'],
      ['P-384', 'sha384'],
      ['P-521', 'sha512'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', {
        namedCurve: curve,
      });
      const data = Buffer.from('payload');
      const sig = await signerFromPrivateKey(privateKey).sign(data);
      assert.equal(sig[0], 0x30); // ASN.1 SEQUENCE
      assert.equal(
        cryptoVerify(hash, data, { key: publicKey, dsaEncoding: 'der' }, sig),
        true
      );
    }
  });

  it('RSA is PKCS#1 v1.5 with SHA-256 (deterministic)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const data = Buffer.from('payload');
    assert.deepEqual(
      await signerFromPrivateKey(privateKey).sign(data),
      cryptoSign('sha256', data, privateKey)
    );
  });

  it('Ed25519 signs as Ed25519ph by default, pure on request; verify accepts both', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const data = Buffer.from('payload');
    const ph = await signerFromPrivateKey(privateKey).sign(data);
    const digest = createHash('sha512').update(data).digest();
    assert.equal(ed25519phVerifyDigest(publicKey, digest, ph), true);
    assert.equal(cryptoVerify(null, data, publicKey, ph), false);
    const pureSigner = signerFromPrivateKey(privateKey, { ed25519: 'pure' });
    assert.equal(pureSigner.algorithm, 'ed25519');
    const pure = await pureSigner.sign(data);
    assert.deepEqual(pure, cryptoSign(null, data, privateKey));
    const v = verifierFromPublicKey(publicKey);
    assert.equal(v.verify(data, ph), true);
    assert.equal(v.verify(data, pure), true);
  });

  it('describeKey names the scheme', () => {
    assert.equal(
      describeKey(generatePrivateKey('ecdsa-sha2-384-nistp384')).hash,
      'sha384'
    );
  });
});

describe('legacy-signature fixture', () => {
  it('the upstream signature verifies with pemsigstorekey.pub and not with pemcosignkey.pub', () => {
    const payload = Buffer.from(fx('legacy-signature', 'payload.json'));
    const sig = Buffer.from(fx('legacy-signature', 'signature.b64'), 'base64');
    const v = verifierFromPublicKey(
      parsePublicKeyPem(fx('keys', 'pemsigstorekey.pub'))
    );
    assert.equal(v.verify(payload, sig), true);
    const w = verifierFromPublicKey(
      parsePublicKeyPem(fx('keys', 'pemcosignkey.pub'))
    );
    assert.equal(w.verify(payload, sig), false);
  });

  it('a signature by the decrypted pemsigstorekey verifies with its .pub', async () => {
    const key = decryptCosignKey(fx('keys', 'pemsigstorekey.key'), 'hello');
    const pub = parsePublicKeyPem(fx('keys', 'pemsigstorekey.pub'));
    assert.deepEqual(publicKeyDer(key), publicKeyDer(pub));
    const data = Buffer.from(fx('legacy-signature', 'payload.json'));
    const sig = await signerFromPrivateKey(key).sign(data);
    assert.equal(verifierFromPublicKey(pub).verify(data, sig), true);
  });
});

describe('wrong kinds of key', () => {
  it('signerFromPrivateKey refuses a public key', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(() => signerFromPrivateKey(publicKey), {
      name: 'KeyError',
      code: 'KEY_WRONG_KIND',
    });
  });

  it('both refuse unsupported keys', () => {
    for (const k of [
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }),
      generateKeyPairSync('ed448'),
      generateKeyPairSync('rsa', { modulusLength: 1024 }),
    ]) {
      assert.throws(() => signerFromPrivateKey(k.privateKey), {
        name: 'KeyError',
        code: 'KEY_UNSUPPORTED',
      });
      assert.throws(() => verifierFromPublicKey(k.publicKey), {
        name: 'KeyError',
        code: 'KEY_UNSUPPORTED',
      });
    }
  });
});
