/**
 * cosign's encrypted private key file (keys.md §1–§2): a PEM block
 * `ENCRYPTED SIGSTORE PRIVATE KEY` (or the legacy `ENCRYPTED COSIGN PRIVATE
 * KEY`) whose body is the go-securesystemslib `encrypted` JSON envelope:
 * scrypt(password, salt, N, r, p, 32) keys a NaCl secretbox
 * (XSalsa20-Poly1305) holding the PKCS#8 DER of the private key.
 *
 * The file is untrusted input: every field is type-checked, the scrypt cost
 * is limited to the three parameter sets cosign has ever written (so a
 * hostile file cannot make us allocate gigabytes or spin for minutes), and
 * the body size is capped before JSON parsing.
 */
import {
  createPrivateKey,
  randomBytes,
  scrypt,
  scryptSync,
  type KeyObject,
} from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { KeyError } from '../errors.js';
import { decodePemBlocks, encodePem } from '../core/pem.js';
import { decodeBase64Strict, encodeBase64 } from '../core/encoding.js';
import { describeKey } from './key-type.js';

export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
/** Written by cosign < v2.0.1; still read. */
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

export type CosignKeyLabel =
  typeof SIGSTORE_PRIVATE_KEY_LABEL | typeof COSIGN_PRIVATE_KEY_LABEL;

/**
 * scrypt N values go-securesystemslib accepts on decrypt, each with r=8, p=1:
 * "legacy" (cosign < v2.2.0), "standard" (current default), "OWASP".
 */
export const SCRYPT_N_VALUES = [32768, 65536, 131072] as const;
export type ScryptN = (typeof SCRYPT_N_VALUES)[number];
const SCRYPT_R = 8;
const SCRYPT_P = 1;
/** cosign's default since v2.2.0. */
export const DEFAULT_SCRYPT_N: ScryptN = 65536;

/**
 * Memory ceiling handed to scrypt. The largest accepted set (N=131072, r=8)
 * needs 128·N·r = 128 MiB; node's default (32 MiB) rejects every cosign set.
 */
const SCRYPT_MAXMEM = 256 * 1024 * 1024;

/** An envelope over a few KiB is not a key; refuse before parsing JSON. */
const MAX_ENVELOPE_BYTES = 64 * 1024;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;

/** Parsed, validated envelope; only scrypt + secretbox exist. */
export interface KeyEnvelope {
  readonly label: CosignKeyLabel;
  readonly scrypt: { readonly N: ScryptN; readonly r: 8; readonly p: 1 };
  readonly salt: Buffer;
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
}

export interface EncryptOptions {
  /** scrypt cost; default 65536 as cosign ≥ v2.2.0 writes. */
  readonly scryptN?: ScryptN;
  /** PEM label; default `ENCRYPTED SIGSTORE PRIVATE KEY`. */
  readonly label?: CosignKeyLabel;
}

function passwordBytes(password: Uint8Array | string): Buffer {
  return typeof password === 'string'
    ? Buffer.from(password, 'utf8')
    : Buffer.from(password);
}

function malformed(message: string, cause?: unknown): KeyError {
  return new KeyError(
    'KEY_MALFORMED',
    message,
    cause === undefined ? undefined : { cause }
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PUBLIC_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY', 'CERTIFICATE']);
const PLAIN_PRIVATE_LABELS = new Set([
  'PRIVATE KEY',
  'EC PRIVATE KEY',
  'RSA PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
]);

/**
 * Parses and validates the PEM + JSON envelope without deriving the key.
 * Throws KeyError: KEY_MALFORMED (not PEM, bad JSON, unknown kdf or cipher,
 * scrypt parameters outside the accepted sets, bad lengths), KEY_WRONG_KIND
 * (a public key or certificate), KEY_UNSUPPORTED (an unencrypted key).
 */
export function parseKeyEnvelope(pemText: string): KeyEnvelope {
  let blocks;
  try {
    blocks = decodePemBlocks(pemText);
  } catch (e) {
    throw malformed('invalid pem block', e);
  }
  // Like Go's pem.Decode, the first block is the key.
  const block = blocks[0];
  if (block === undefined) throw malformed('invalid pem block');
  const label = block.label;
  if (
    label !== SIGSTORE_PRIVATE_KEY_LABEL &&
    label !== COSIGN_PRIVATE_KEY_LABEL
  ) {
    if (PUBLIC_LABELS.has(label)) {
      throw new KeyError(
        'KEY_WRONG_KIND',
        `unsupported pem type: ${label} (a public key was given where an encrypted private key is needed)`
      );
    }
    if (PLAIN_PRIVATE_LABELS.has(label)) {
      throw new KeyError(
        'KEY_UNSUPPORTED',
        `unsupported pem type: ${label} (not a cosign key file; convert it with import-key-pair)`
      );
    }
    throw malformed(`unsupported pem type: ${label}`);
  }
  if (block.der.length > MAX_ENVELOPE_BYTES) {
    throw malformed(
      `encrypted key envelope too large (${block.der.length} bytes)`
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(block.der.toString('utf8'));
  } catch (e) {
    throw malformed('encrypted key envelope is not valid JSON', e);
  }
  if (!isRecord(json))
    throw malformed('encrypted key envelope is not an object');
  const { kdf, cipher, ciphertext } = json;
  if (!isRecord(kdf)) throw malformed('encrypted key envelope: missing kdf');
  if (kdf['name'] !== 'scrypt') {
    throw malformed(`unsupported kdf: ${describeName(kdf['name'])}`);
  }
  const params = kdf['params'];
  if (!isRecord(params))
    throw malformed('encrypted key envelope: missing kdf params');
  const { N, r, p } = params;
  if (
    !(SCRYPT_N_VALUES as readonly unknown[]).includes(N) ||
    r !== SCRYPT_R ||
    p !== SCRYPT_P
  ) {
    throw malformed(
      `unsupported scrypt parameters: N=${describeNumber(N)} r=${describeNumber(r)} p=${describeNumber(p)} (accepted: N=32768, 65536 or 131072 with r=8 p=1)`
    );
  }
  const salt = decodeField(kdf['salt'], 'kdf salt');
  if (salt.length === 0 || salt.length > 1024) {
    throw malformed(`encrypted key envelope: bad salt length ${salt.length}`);
  }
  if (!isRecord(cipher))
    throw malformed('encrypted key envelope: missing cipher');
  if (cipher['name'] !== 'nacl/secretbox') {
    throw malformed(`unsupported cipher: ${describeName(cipher['name'])}`);
  }
  const nonce = decodeField(cipher['nonce'], 'cipher nonce');
  if (nonce.length !== NONCE_BYTES) {
    throw malformed(
      `encrypted key envelope: nonce must be ${NONCE_BYTES} bytes, got ${nonce.length}`
    );
  }
  const ct = decodeField(ciphertext, 'ciphertext');
  if (ct.length <= TAG_BYTES) {
    throw malformed('encrypted key envelope: ciphertext truncated');
  }
  return {
    label,
    scrypt: { N: N as ScryptN, r: SCRYPT_R, p: SCRYPT_P },
    salt,
    nonce,
    ciphertext: ct,
  };
}

function describeName(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 64)) : typeof v;
}

function describeNumber(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v;
}

function decodeField(v: unknown, what: string): Buffer {
  const b = typeof v === 'string' ? decodeBase64Strict(v) : undefined;
  if (b === undefined) {
    throw malformed(`encrypted key envelope: ${what} is not base64`);
  }
  return b;
}

/** Opens the secretbox with an already-derived key; returns the PKCS#8 DER. */
function openBox(env: KeyEnvelope, key: Uint8Array): Buffer {
  try {
    return Buffer.from(
      xsalsa20poly1305(key, env.nonce).decrypt(env.ciphertext)
    );
  } catch (e) {
    // A wrong password and a corrupted ciphertext look the same here:
    // the Poly1305 tag does not match (cosign: "decryption failed").
    throw new KeyError(
      'KEY_INCORRECT_PASSWORD',
      'incorrect password (decrypt: encrypted: decryption failed)',
      { cause: e }
    );
  }
}

/**
 * Parses the decrypted plaintext as cosign does: PKCS#8 only
 * (`x509.ParsePKCS8PrivateKey`), then the key-type policy.
 */
function parsePlaintext(der: Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (e) {
    let sec1 = false;
    try {
      createPrivateKey({ key: der, format: 'der', type: 'sec1' });
      sec1 = true;
    } catch {
      // not SEC1 either
    }
    throw malformed(
      sec1
        ? 'parsing private key: x509: failed to parse private key (use ParseECPrivateKey instead for this key format)'
        : 'parsing private key: the decrypted key is not PKCS #8',
      e
    );
  } finally {
    der.fill(0);
  }
  describeKey(key);
  return key;
}

function scryptOptions(env: KeyEnvelope) {
  return {
    N: env.scrypt.N,
    r: env.scrypt.r,
    p: env.scrypt.p,
    maxmem: SCRYPT_MAXMEM,
  };
}

/**
 * Decrypts a cosign key file (synchronous: scrypt blocks the thread for
 * ~0.1 s at N=65536). Throws KeyError KEY_INCORRECT_PASSWORD, KEY_MALFORMED,
 * KEY_WRONG_KIND or KEY_UNSUPPORTED.
 */
export function decryptCosignKey(
  pemText: string,
  password: Uint8Array | string
): KeyObject {
  const env = parseKeyEnvelope(pemText);
  const pw = passwordBytes(password);
  const k = scryptSync(pw, env.salt, 32, scryptOptions(env));
  pw.fill(0);
  try {
    return parsePlaintext(openBox(env, k));
  } finally {
    k.fill(0);
  }
}

/** decryptCosignKey with scrypt on the libuv thread pool. */
export async function decryptCosignKeyAsync(
  pemText: string,
  password: Uint8Array | string
): Promise<KeyObject> {
  const env = parseKeyEnvelope(pemText);
  const pw = passwordBytes(password);
  const k = await new Promise<Buffer>((resolve, reject) => {
    scrypt(pw, env.salt, 32, scryptOptions(env), (err, out) => {
      if (err) reject(err);
      else resolve(out);
    });
  }).finally(() => pw.fill(0));
  try {
    return parsePlaintext(openBox(env, k));
  } finally {
    k.fill(0);
  }
}

/**
 * Encrypts a private key into cosign's file format: PKCS#8 DER in a
 * secretbox keyed by scrypt(N=65536, r=8, p=1) with a random 32-byte salt
 * and 24-byte nonce; PEM without headers, 64 columns, final newline.
 * The JSON is compact with Go's field order so files match cosign's bytes
 * apart from the random values.
 */
export function encryptCosignKey(
  key: KeyObject,
  password: Uint8Array | string,
  opts: EncryptOptions = {}
): string {
  if (key.type !== 'private') {
    throw new KeyError(
      'KEY_WRONG_KIND',
      'encrypting key: a public key was given where a private key is needed'
    );
  }
  describeKey(key);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  try {
    return encryptCosignKeyDer(der, password, opts);
  } finally {
    der.fill(0);
  }
}

/**
 * The envelope around arbitrary plaintext bytes. Exposed for tests that need
 * envelopes cosign would reject on load (e.g. SEC1 plaintext).
 */
export function encryptCosignKeyDer(
  plaintext: Uint8Array,
  password: Uint8Array | string,
  opts: EncryptOptions = {}
): string {
  const N = opts.scryptN ?? DEFAULT_SCRYPT_N;
  if (!(SCRYPT_N_VALUES as readonly number[]).includes(N)) {
    throw new KeyError('KEY_UNSUPPORTED', `unsupported scrypt N: ${N}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const pw = passwordBytes(password);
  const k = scryptSync(pw, salt, 32, {
    N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: SCRYPT_MAXMEM,
  });
  pw.fill(0);
  let ct: Uint8Array;
  try {
    ct = xsalsa20poly1305(k, nonce).encrypt(plaintext);
  } finally {
    k.fill(0);
  }
  const json = JSON.stringify({
    kdf: {
      name: 'scrypt',
      params: { N, r: SCRYPT_R, p: SCRYPT_P },
      salt: encodeBase64(salt),
    },
    cipher: { name: 'nacl/secretbox', nonce: encodeBase64(nonce) },
    ciphertext: encodeBase64(ct),
  });
  return encodePem(
    opts.label ?? SIGSTORE_PRIVATE_KEY_LABEL,
    Buffer.from(json, 'utf8')
  );
}
