import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from 'node:crypto';
import {
  ed25519PublicKeyBytes,
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

function sha512(data: Uint8Array | string): Buffer {
  return createHash('sha512').update(data).digest();
}

describe('Ed25519ph over a SHA-512 digest', () => {
  it('matches the RFC 8032 §7.3 Ed25519ph test vector (TEST abc)', () => {
    const key = keyFromSeed(
      '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42'
    );
    assert.equal(
      ed25519PublicKeyBytes(key).toString('hex'),
      'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf'
    );
    const digest = sha512('abc');
    const sig = ed25519phSignDigest(key, digest);
    assert.equal(
      sig.toString('hex'),
      '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41' +
        '31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406'
    );
    assert.equal(ed25519phVerifyDigest(key, digest, sig), true);
  });

  it('round-trips fresh keys and rejects changed digests and signatures', () => {
    for (let i = 0; i < 4; i++) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const digest = sha512(randomBytes(i * 41));
      const sig = ed25519phSignDigest(privateKey, digest);
      assert.equal(ed25519phVerifyDigest(publicKey, digest, sig), true);
      const otherDigest = Buffer.from(digest);
      otherDigest[0] = (otherDigest[0] ?? 0) ^ 1;
      assert.equal(ed25519phVerifyDigest(publicKey, otherDigest, sig), false);
      const bad = Buffer.from(sig);
      bad[5] = (bad[5] ?? 0) ^ 1;
      assert.equal(ed25519phVerifyDigest(publicKey, digest, bad), false);
    }
  });

  it('does not accept a pure Ed25519 signature as Ed25519ph (dom2 separation)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const digest = sha512('payload');
    const pure = sign(null, digest, privateKey);
    assert.equal(ed25519phVerifyDigest(publicKey, digest, pure), false);
  });

  it('rejects a signature with S >= L and wrong lengths', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const digest = sha512('x');
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
