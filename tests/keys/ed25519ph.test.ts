import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  sign,
  randomBytes,
} from 'node:crypto';
import {
  ed25519PublicKeyBytes,
  ed25519SignRaw,
  ed25519VerifyRaw,
  ed25519phSignDigest,
  ed25519phVerifyDigest,
} from '../../src/keys/ed25519ph.js';

/** PKCS#8 wrapper of a raw Ed25519 seed (RFC 8410). */
function keyFromSeed(seedHex: string) {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({
    key: Buffer.concat([prefix, Buffer.from(seedHex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
}

describe('Ed25519 arithmetic', () => {
  it('reproduces node:crypto pure Ed25519 signatures byte for byte', () => {
    for (let i = 0; i < 8; i++) {
      const { privateKey } = generateKeyPairSync('ed25519');
      const seed = Buffer.from(
        privateKey.export({ format: 'jwk' }).d ?? '',
        'base64url'
      );
      const msg = randomBytes(i * 37);
      assert.deepEqual(
        ed25519SignRaw(seed, msg, false),
        sign(null, msg, privateKey)
      );
    }
  });

  it('verifies node:crypto pure Ed25519 signatures and rejects changed ones', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pub = ed25519PublicKeyBytes(publicKey);
    const msg = Buffer.from('payload');
    const sig = sign(null, msg, privateKey);
    assert.equal(ed25519VerifyRaw(pub, msg, sig, false), true);
    assert.equal(
      ed25519VerifyRaw(pub, Buffer.from('payloaD'), sig, false),
      false
    );
    const bad = Buffer.from(sig);
    bad[5] = (bad[5] ?? 0) ^ 1;
    assert.equal(ed25519VerifyRaw(pub, msg, bad, false), false);
    // A pure signature is not an Ed25519ph signature (dom2 separation).
    assert.equal(ed25519VerifyRaw(pub, msg, sig, true), false);
  });

  it('matches the RFC 8032 §7.3 Ed25519ph test vector (TEST abc)', () => {
    const key = keyFromSeed(
      '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42'
    );
    assert.equal(
      ed25519PublicKeyBytes(key).toString('hex'),
      'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf'
    );
    const digest = createHash('sha512').update('abc').digest();
    const sig = ed25519phSignDigest(key, digest);
    assert.equal(
      sig.toString('hex'),
      '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41' +
        '31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406'
    );
    assert.equal(ed25519phVerifyDigest(key, digest, sig), true);
  });

  it('rejects a signature with S >= L and a wrong-length digest', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const digest = createHash('sha512').update('x').digest();
    const sig = ed25519phSignDigest(privateKey, digest);
    const high = Buffer.from(sig);
    high.fill(0xff, 32);
    assert.equal(ed25519phVerifyDigest(publicKey, digest, high), false);
    assert.equal(
      ed25519phVerifyDigest(publicKey, digest.subarray(0, 32), sig),
      false
    );
    assert.equal(
      ed25519phVerifyDigest(publicKey, digest, sig.subarray(1)),
      false
    );
  });
});
