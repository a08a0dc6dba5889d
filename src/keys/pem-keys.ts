/**
 * Unencrypted PEM keys: importing private keys as `cosign import-key-pair`
 * does (keys.md §4) and reading/writing public keys (keys.md §5).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KeyError } from '../errors.js';
import { decodePemBlocks, encodePem, type PemBlock } from '../core/pem.js';
import { describeKey, goCurveName } from './key-type.js';

function firstBlock(pemText: string): PemBlock | undefined {
  try {
    return decodePemBlocks(pemText)[0];
  } catch {
    return undefined;
  }
}

/**
 * Legacy OpenSSL-encrypted PEM (`Proc-Type: 4,ENCRYPTED` headers) cannot be
 * read by cosign either; say so instead of "invalid pem block".
 */
const LEGACY_ENCRYPTED_RE =
  /-----BEGIN (RSA|EC) PRIVATE KEY-----\r?\nProc-Type:\s*4,ENCRYPTED/;

/**
 * Parses a private key PEM the way cosign's `ImportKeyPair` does and applies
 * its key policy. Accepted: `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY`
 * (SEC1), `PRIVATE KEY` (PKCS#8 RSA, ECDSA or Ed25519). Error messages are
 * cosign's texts. Throws KeyError:
 *  - KEY_MALFORMED: not PEM (`invalid pem block`), unparsable DER;
 *  - KEY_WRONG_KIND: a public key (`unsupported private key`);
 *  - KEY_UNSUPPORTED: other PEM types, curves, RSA sizes, key types.
 */
export function importPrivateKeyPem(pemText: string): KeyObject {
  const m = LEGACY_ENCRYPTED_RE.exec(pemText);
  if (m) {
    const kind = m[1] === 'RSA' ? 'rsa' : 'ecdsa';
    throw new KeyError(
      'KEY_UNSUPPORTED',
      `error parsing ${kind} private key: the PEM is encrypted (Proc-Type: 4,ENCRYPTED); decrypt it first, e.g. openssl pkey -in FILE`
    );
  }
  const block = firstBlock(pemText);
  if (block === undefined) {
    throw new KeyError('KEY_MALFORMED', 'invalid pem block');
  }
  switch (block.label) {
    case 'RSA PRIVATE KEY': {
      let key: KeyObject;
      try {
        key = createPrivateKey({
          key: block.der,
          format: 'der',
          type: 'pkcs1',
        });
      } catch (e) {
        throw new KeyError(
          'KEY_MALFORMED',
          'error parsing rsa private key: invalid PKCS #1 key',
          { cause: e }
        );
      }
      checkPolicy(key);
      return key;
    }
    case 'EC PRIVATE KEY': {
      let key: KeyObject;
      try {
        key = createPrivateKey({ key: block.der, format: 'der', type: 'sec1' });
      } catch (e) {
        throw new KeyError('KEY_MALFORMED', 'error parsing ecdsa private key', {
          cause: e,
        });
      }
      // Go's x509.ParseECPrivateKey knows only the NIST curves; anything
      // else (secp256k1, brainpool) fails to parse in cosign.
      if (goCurveName(key) === undefined) {
        throw new KeyError(
          'KEY_UNSUPPORTED',
          'error parsing ecdsa private key'
        );
      }
      checkPolicy(key);
      return key;
    }
    case 'PRIVATE KEY': {
      let key: KeyObject;
      try {
        key = createPrivateKey({
          key: block.der,
          format: 'der',
          type: 'pkcs8',
        });
      } catch (e) {
        throw new KeyError(
          'KEY_MALFORMED',
          'error parsing pkcs #8 private key',
          {
            cause: e,
          }
        );
      }
      const type = key.asymmetricKeyType;
      if (type === 'rsa' || type === 'ed25519') {
        checkPolicy(key);
        return key;
      }
      if (type === 'ec') {
        if (goCurveName(key) === undefined) {
          throw new KeyError(
            'KEY_UNSUPPORTED',
            'error parsing pkcs #8 private key'
          );
        }
        checkPolicy(key);
        return key;
      }
      if (type === 'x25519') {
        // Go parses X25519 into *ecdh.PrivateKey, which cannot sign.
        throw new KeyError('KEY_UNSUPPORTED', 'unexpected private key');
      }
      // Go's ParsePKCS8PrivateKey does not know DSA, Ed448, RSA-PSS, …
      throw new KeyError(
        'KEY_UNSUPPORTED',
        'error parsing pkcs #8 private key'
      );
    }
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      throw new KeyError('KEY_WRONG_KIND', 'unsupported private key');
    default:
      throw new KeyError('KEY_UNSUPPORTED', 'unsupported private key');
  }
}

/** cosign's key policy; describeKey speaks its `error validating … key` texts. */
function checkPolicy(key: KeyObject): void {
  describeKey(key);
}

/**
 * Parses a public key PEM: `PUBLIC KEY` (PKIX SubjectPublicKeyInfo) or
 * `RSA PUBLIC KEY` (PKCS#1), as cosign's verify accepts. The key must be a
 * supported type. Throws KeyError KEY_MALFORMED, KEY_WRONG_KIND (a private
 * key or certificate), KEY_UNSUPPORTED.
 */
export function parsePublicKeyPem(pemText: string): KeyObject {
  const block = firstBlock(pemText);
  if (block === undefined) {
    throw new KeyError(
      'KEY_MALFORMED',
      'invalid pem block: no public key found'
    );
  }
  let key: KeyObject;
  switch (block.label) {
    case 'PUBLIC KEY':
      try {
        key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
      } catch (e) {
        throw new KeyError('KEY_MALFORMED', 'error parsing public key (PKIX)', {
          cause: e,
        });
      }
      break;
    case 'RSA PUBLIC KEY':
      try {
        key = createPublicKey({ key: block.der, format: 'der', type: 'pkcs1' });
      } catch (e) {
        throw new KeyError(
          'KEY_MALFORMED',
          'error parsing rsa public key (PKCS #1)',
          { cause: e }
        );
      }
      break;
    default:
      if (/PRIVATE KEY|CERTIFICATE/.test(block.label)) {
        throw new KeyError(
          'KEY_WRONG_KIND',
          `unsupported pem type for a public key: ${block.label}`
        );
      }
      throw new KeyError(
        'KEY_MALFORMED',
        `unsupported pem type for a public key: ${block.label}`
      );
  }
  describeKey(key);
  return key;
}

/** The public key as PKIX `PUBLIC KEY` PEM (64 columns, final newline). */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.type !== 'public') {
    throw new KeyError('KEY_WRONG_KIND', 'not an asymmetric key');
  }
  return encodePem('PUBLIC KEY', pub.export({ format: 'der', type: 'spki' }));
}

/** PKIX SubjectPublicKeyInfo DER of a public or private key. */
export function publicKeyDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' });
}
