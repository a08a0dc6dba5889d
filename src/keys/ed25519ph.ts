/**
 * Ed25519ph (RFC 8032 §5.1, pre-hashed variant with an empty context) over a
 * SHA-512 digest the caller already has.
 *
 * Why this exists: cosign signs with Ed25519 keys as Ed25519ph by default
 * (`GetDefaultLoadOptions` → `WithED25519ph`), and Rekor's hashedrekord
 * verifies Ed25519 signatures over the SHA-512 digest as Ed25519ph
 * (keys.md §6). Node 20 bundles OpenSSL 3.0, whose Ed25519 has no ph
 * instance (OpenSSL ≥ 3.2 has). The curve arithmetic comes from the audited
 * @noble/curves; this module only wires its EdDSA with the RFC 8032 dom2
 * prefix and an identity prehash, because the log verifies a digest without
 * ever seeing the message.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { eddsa } from '@noble/curves/abstract/edwards.js';

const DOM2_PREFIX = Buffer.from('SigEd25519 no Ed25519 collisions', 'ascii');

/** SHA-512 from node:crypto in the shape noble's EdDSA takes. */
const sha512 = Object.assign(
  (data: Uint8Array): Uint8Array => createHash('sha512').update(data).digest(),
  { outputLen: 64, blockLen: 128 }
);

/** RFC 8032 §5.1 dom2(phflag, context). */
function dom2(data: Uint8Array, ctx: Uint8Array, phflag: boolean): Uint8Array {
  if (ctx.length > 255) throw new Error('context is too big');
  return Buffer.concat([
    DOM2_PREFIX,
    Buffer.from([phflag ? 1 : 0, ctx.length]),
    ctx,
    data,
  ]);
}

/** RFC 8032 §5.1.5 step 2: clamp the secret scalar. */
function clamp(bytes: Uint8Array): Uint8Array {
  bytes[0] = (bytes[0] ?? 0) & 248;
  bytes[31] = ((bytes[31] ?? 0) & 127) | 64;
  return bytes;
}

/**
 * Ed25519ph whose "message" is the SHA-512 digest itself: the prehash step
 * is the identity, the ph flag in dom2 is set (noble sets it whenever a
 * prehash function is given). zip215 off: strict RFC 8032 verification, as
 * Go's crypto/ed25519 does.
 */
const ed25519phOverDigest = eddsa(ed25519.Point, sha512, {
  adjustScalarBytes: clamp,
  domain: dom2,
  prehash: (digest: Uint8Array) => digest,
  zip215: false,
});

function seedOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') {
    throw new TypeError('not an Ed25519 private key');
  }
  return Buffer.from(jwk.d, 'base64url');
}

/** Raw 32-byte Ed25519 public key of a public or private KeyObject. */
export function ed25519PublicKeyBytes(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new TypeError('not an Ed25519 key');
  }
  return Buffer.from(jwk.x, 'base64url');
}

/** Ed25519ph signature over a 64-byte SHA-512 digest of the message. */
export function ed25519phSignDigest(
  key: KeyObject,
  digest: Uint8Array
): Buffer {
  if (digest.length !== 64)
    throw new TypeError('SHA-512 digest must be 64 bytes');
  const seed = seedOf(key);
  try {
    return Buffer.from(ed25519phOverDigest.sign(digest, seed));
  } finally {
    seed.fill(0);
  }
}

/** Verifies an Ed25519ph signature over a 64-byte SHA-512 digest. */
export function ed25519phVerifyDigest(
  key: KeyObject,
  digest: Uint8Array,
  signature: Uint8Array
): boolean {
  if (digest.length !== 64 || signature.length !== 64) return false;
  try {
    return ed25519phOverDigest.verify(
      signature,
      digest,
      ed25519PublicKeyBytes(key)
    );
  } catch {
    return false;
  }
}
