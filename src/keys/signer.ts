/**
 * Signer and Verifier: the two small interfaces sign and verify code uses.
 * The scheme follows the key as in cosign (keys.md §6):
 *   ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512 (ASN.1 DER signatures);
 *   RSA PKCS#1 v1.5 with SHA-256;
 *   Ed25519 as Ed25519ph (SHA-512 pre-hash), cosign's default since it
 *   supports tlog uploads of Ed25519 signatures; verification also accepts
 *   pure Ed25519, which older cosign releases produced.
 */
import {
  constants,
  createHash,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { KeyError } from '../errors.js';
import {
  describeKey,
  type HashAlgorithm,
  type KeyInfo,
  type SigningAlgorithm,
} from './key-type.js';
import { ed25519phSignDigest, ed25519phVerifyDigest } from './ed25519ph.js';

export interface Signer {
  readonly publicKey: KeyObject;
  /** Signs the message (not a digest); the hash follows the key. */
  sign(data: Uint8Array): Promise<Buffer>;
  /** cosign's name of the scheme, e.g. `ecdsa-sha2-256-nistp256`. */
  readonly algorithm: SigningAlgorithm;
  /** Hash the scheme applies to the message (hashedrekord `data.hash`). */
  readonly hashAlgorithm: HashAlgorithm;
}

export interface Verifier {
  readonly publicKey: KeyObject;
  /** True iff the signature is valid over the message. Never throws. */
  verify(data: Uint8Array, signature: Uint8Array): boolean;
  readonly algorithm: SigningAlgorithm;
  readonly hashAlgorithm: HashAlgorithm;
}

export interface SignerOptions {
  /**
   * Ed25519 only: `ph` (default, current cosign) or `pure` (cosign before
   * Ed25519ph support; such signatures cannot go to a Rekor hashedrekord).
   */
  readonly ed25519?: 'ph' | 'pure';
}

function signWith(
  info: KeyInfo,
  key: KeyObject,
  data: Uint8Array,
  ed25519: 'ph' | 'pure'
): Buffer {
  switch (info.kind) {
    case 'ecdsa':
      return cryptoSign(info.hash, data, { key, dsaEncoding: 'der' });
    case 'rsa':
      return cryptoSign(info.hash, data, {
        key,
        padding: constants.RSA_PKCS1_PADDING,
      });
    case 'ed25519':
      return ed25519 === 'pure'
        ? cryptoSign(null, data, key)
        : ed25519phSignDigest(key, createHash('sha512').update(data).digest());
  }
}

/**
 * A Signer for a supported private key. Throws KeyError KEY_WRONG_KIND for a
 * public key, KEY_UNSUPPORTED for other key types.
 */
export function signerFromPrivateKey(
  key: KeyObject,
  opts: SignerOptions = {}
): Signer {
  if (key.type !== 'private') {
    throw new KeyError(
      'KEY_WRONG_KIND',
      'a public key was given where a private key is needed'
    );
  }
  const info = describeKey(key);
  const mode = opts.ed25519 ?? 'ph';
  const algorithm: SigningAlgorithm =
    info.kind === 'ed25519' && mode === 'pure' ? 'ed25519' : info.algorithm;
  const publicKey = createPublicKey(key);
  return {
    publicKey,
    algorithm,
    hashAlgorithm: info.hash,
    sign(data: Uint8Array): Promise<Buffer> {
      try {
        return Promise.resolve(signWith(info, key, data, mode));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
  };
}

/**
 * A Verifier for a supported public key (a private key is reduced to its
 * public half). Throws KeyError KEY_UNSUPPORTED for other key types.
 */
export function verifierFromPublicKey(key: KeyObject): Verifier {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.type !== 'public') {
    throw new KeyError('KEY_WRONG_KIND', 'not an asymmetric public key');
  }
  const info = describeKey(publicKey);
  return {
    publicKey,
    algorithm: info.algorithm,
    hashAlgorithm: info.hash,
    verify(data: Uint8Array, signature: Uint8Array): boolean {
      try {
        switch (info.kind) {
          case 'ecdsa':
            return cryptoVerify(
              info.hash,
              data,
              { key: publicKey, dsaEncoding: 'der' },
              signature
            );
          case 'rsa':
            return cryptoVerify(
              info.hash,
              data,
              { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
              signature
            );
          case 'ed25519':
            // Ed25519ph and pure Ed25519 are domain-separated (dom2), so
            // accepting either cannot turn one into a forgery of the other.
            // Native pure Ed25519 first (fast); then Ed25519ph.
            return (
              cryptoVerify(null, data, publicKey, signature) ||
              ed25519phVerifyDigest(
                publicKey,
                createHash('sha512').update(data).digest(),
                signature
              )
            );
        }
      } catch {
        // Malformed signature bytes: not valid.
        return false;
      }
    },
  };
}
