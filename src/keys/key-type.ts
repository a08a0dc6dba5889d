/**
 * Key-type policy: which keys Signet accepts and which signature scheme each
 * one uses. Mirrors cosign (`pkg/cosign/keys.go` `SupportedKeyDetails`) and
 * the sigstore key policy (`cryptoutils/goodkey` `ValidatePubKey`): ECDSA
 * P-256/P-384/P-521, RSA 2048/3072/4096, Ed25519. keys.md §4, §6.
 */
import type { KeyObject } from 'node:crypto';
import { KeyError } from '../errors.js';

/**
 * Signing algorithms, named as cosign's `--signing-algorithm` names them
 * (sigstore protobuf-specs `PublicKeyDetails`, lower-case kebab form).
 */
export const SIGNING_ALGORITHMS = [
  'ecdsa-sha2-256-nistp256',
  'ecdsa-sha2-384-nistp384',
  'ecdsa-sha2-512-nistp521',
  'ed25519-ph',
  'ed25519',
  'rsa-sign-pkcs1-2048-sha256',
  'rsa-sign-pkcs1-3072-sha256',
  'rsa-sign-pkcs1-4096-sha256',
] as const;

export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

export function isSigningAlgorithm(s: string): s is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly string[]).includes(s);
}

/** What a supported key is, and how cosign signs with it. */
export type KeyInfo =
  | {
      readonly kind: 'ecdsa';
      readonly curve: 'P-256' | 'P-384' | 'P-521';
      readonly hash: HashAlgorithm;
      readonly algorithm: SigningAlgorithm;
    }
  | {
      readonly kind: 'rsa';
      readonly bits: 2048 | 3072 | 4096;
      readonly hash: 'sha256';
      readonly algorithm: SigningAlgorithm;
    }
  | {
      readonly kind: 'ed25519';
      /** Hash of Ed25519ph, which cosign uses by default (keys.md §6). */
      readonly hash: 'sha512';
      readonly algorithm: SigningAlgorithm;
    };

/** OpenSSL curve names as node:crypto reports them → Go's names. */
const EC_CURVES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  secp224r1: 'P-224',
};

/**
 * Go's crypto/x509 name for the key's curve, or undefined when Go (and so
 * cosign) cannot parse a key on that curve at all (e.g. secp256k1).
 */
export function goCurveName(key: KeyObject): string | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? undefined : EC_CURVES[curve];
}

/**
 * Describes a supported key, or throws KeyError KEY_UNSUPPORTED with the
 * reason cosign gives (`error validating … key: …`).
 */
export function describeKey(key: KeyObject): KeyInfo {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = goCurveName(key);
    if (curve === 'P-256') {
      return {
        kind: 'ecdsa',
        curve,
        hash: 'sha256',
        algorithm: 'ecdsa-sha2-256-nistp256',
      };
    }
    if (curve === 'P-384') {
      return {
        kind: 'ecdsa',
        curve,
        hash: 'sha384',
        algorithm: 'ecdsa-sha2-384-nistp384',
      };
    }
    if (curve === 'P-521') {
      return {
        kind: 'ecdsa',
        curve,
        hash: 'sha512',
        algorithm: 'ecdsa-sha2-512-nistp521',
      };
    }
    const name = curve ?? key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    throw new KeyError(
      'KEY_UNSUPPORTED',
      `error validating ecdsa key: ECDSA curve ${name} not allowed`
    );
  }
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits === 2048 || bits === 3072 || bits === 4096) {
      return {
        kind: 'rsa',
        bits,
        hash: 'sha256',
        algorithm: `rsa-sign-pkcs1-${bits}-sha256`,
      };
    }
    throw new KeyError(
      'KEY_UNSUPPORTED',
      `error validating rsa key: key size not supported: ${bits}`
    );
  }
  if (type === 'ed25519') {
    return { kind: 'ed25519', hash: 'sha512', algorithm: 'ed25519-ph' };
  }
  throw new KeyError(
    'KEY_UNSUPPORTED',
    `unsupported key type: ${type ?? 'unknown'} (supported: ECDSA P-256/P-384/P-521, RSA 2048/3072/4096, Ed25519)`
  );
}
