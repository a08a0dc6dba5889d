/**
 * PURE signature verification over a *digest* (hashedrekord: the log sees
 * only the artifact's hash, never the artifact).
 *
 * node:crypto has no pre-hashed verify: `crypto.verify(null, …)` on an EC key
 * still hashes the input with SHA-256. So:
 *
 * - RSA PKCS#1 v1.5: `publicDecrypt` recovers the DigestInfo, which must equal
 *   the expected DER prefix ‖ digest byte for byte.
 * - ECDSA: the signature (r, s) over digest value e verifies under key Q iff
 *   x(e·s⁻¹·G + r·s⁻¹·Q) ≡ r (mod n). For the fixed message m′ = "" with
 *   e′ = H(""), the same (r, s) verifies under Q′ = Q + r⁻¹(e − e′)·G, because
 *   e′·s⁻¹·G + r·s⁻¹·Q′ = e·s⁻¹·G + r·s⁻¹·Q: the same point R. We compute the
 *   scalar multiple natively (ECDH derives k·G from a private scalar), do one
 *   affine point addition in BigInt, and let OpenSSL verify (r, s) over m′
 *   under Q′ — OpenSSL still checks 0 < r, s < n and the curve equation.
 *   A sum at infinity (probability ~2⁻²⁵⁶ for honest input) is rejected.
 *
 * Only the combinations Rekor allows by default are accepted (spec §1.5.5):
 * ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, RSA 2048/3072/4096 with
 * SHA-256, and Ed25519 with SHA-512 — which Rekor verifies as Ed25519ph
 * (RFC 8032 §5.1) over the digest; node:crypto (OpenSSL 3.0) has no ph
 * variant, so that goes through src/keys/ed25519ph.ts.
 */
import { ed25519phVerifyDigest } from '../keys/ed25519ph.js';
import {
  constants,
  createECDH,
  createHash,
  createPublicKey,
  publicDecrypt,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** Why a key/hash combination is refused. */
export class UnsupportedAlgorithmError extends Error {
  override name = 'UnsupportedAlgorithmError';
}

interface Curve {
  readonly openssl: string;
  readonly jwk: string;
  readonly hash: DigestAlgorithm;
  readonly bytes: number;
  readonly p: bigint;
  readonly n: bigint;
  readonly a: bigint;
}

const CURVES: Record<string, Curve> = {
  prime256v1: {
    openssl: 'prime256v1',
    jwk: 'P-256',
    hash: 'sha256',
    bytes: 32,
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    a: -3n,
  },
  secp384r1: {
    openssl: 'secp384r1',
    jwk: 'P-384',
    hash: 'sha384',
    bytes: 48,
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    a: -3n,
  },
  secp521r1: {
    openssl: 'secp521r1',
    jwk: 'P-521',
    hash: 'sha512',
    bytes: 66,
    p: 2n ** 521n - 1n,
    n: BigInt(
      '0x01ff' +
        'ffffffff'.repeat(7) +
        'fffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409'
    ),
    a: -3n,
  },
};

const DIGEST_LENGTH: Record<DigestAlgorithm, number> = {
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
const DIGEST_INFO: Record<DigestAlgorithm, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const RSA_SIZES = new Set([2048, 3072, 4096]);

/**
 * Throws UnsupportedAlgorithmError unless `key` with `algorithm` is an
 * allowed hashedrekord combination.
 */
export function checkAllowedAlgorithm(
  key: KeyObject,
  algorithm: DigestAlgorithm
): void {
  const t = key.asymmetricKeyType;
  if (t === 'ec') {
    const c = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (c === undefined) {
      throw new UnsupportedAlgorithmError('unsupported elliptic curve');
    }
    if (c.hash !== algorithm) {
      throw new UnsupportedAlgorithmError(
        `${c.jwk} keys must sign ${c.hash} digests`
      );
    }
    return;
  }
  if (t === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (!RSA_SIZES.has(bits) || algorithm !== 'sha256') {
      throw new UnsupportedAlgorithmError(
        'RSA keys must be 2048, 3072 or 4096 bits and sign sha256 digests'
      );
    }
    return;
  }
  if (t === 'ed25519') {
    if (algorithm !== 'sha512') {
      throw new UnsupportedAlgorithmError(
        'ed25519 keys sign sha512 digests (Ed25519ph)'
      );
    }
    return;
  }
  throw new UnsupportedAlgorithmError(`unsupported key type ${t ?? '?'}`);
}

/**
 * True iff `signature` is valid over `digest` (already the hash of the
 * message) under `key`. Throws UnsupportedAlgorithmError for combinations
 * outside the allowed list.
 */
export function verifyPrehashed(
  key: KeyObject,
  algorithm: DigestAlgorithm,
  digest: Buffer,
  signature: Buffer
): boolean {
  checkAllowedAlgorithm(key, algorithm);
  if (digest.length !== DIGEST_LENGTH[algorithm]) return false;
  if (key.asymmetricKeyType === 'ed25519') {
    return ed25519phVerifyDigest(key, digest, signature);
  }
  if (key.asymmetricKeyType === 'rsa') {
    let recovered: Buffer;
    try {
      recovered = publicDecrypt(
        { key, padding: constants.RSA_PKCS1_PADDING },
        signature
      );
    } catch {
      return false;
    }
    return recovered.equals(Buffer.concat([DIGEST_INFO[algorithm], digest]));
  }
  const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (curve === undefined) return false;
  return verifyEcdsaDigest(key, curve, digest, signature);
}

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

function toBytes(x: bigint, len: number): Buffer {
  const hex = x.toString(16).padStart(len * 2, '0');
  if (hex.length > len * 2) throw new RangeError('integer too large');
  return Buffer.from(hex, 'hex');
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function invert(a: bigint, m: bigint): bigint {
  // Extended Euclid with plain locals (destructuring allocates per step).
  let r0 = mod(a, m);
  let r1 = m;
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    let t = r0 - q * r1;
    r0 = r1;
    r1 = t;
    t = s0 - q * s1;
    s0 = s1;
    s1 = t;
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return mod(s0, m);
}

/** Minimal DER ECDSA-Sig-Value parser: SEQUENCE { INTEGER r, INTEGER s }. */
function parseDerSignature(sig: Buffer): { r: bigint; s: bigint } | undefined {
  let i = 0;
  const readLen = (): number | undefined => {
    const first = sig[i++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n === 0 || n > 2) return undefined;
    let len = 0;
    for (let k = 0; k < n; k++) {
      const b = sig[i++];
      if (b === undefined) return undefined;
      len = len * 256 + b;
    }
    return len < 0x80 ? undefined : len;
  };
  if (sig[i++] !== 0x30) return undefined;
  const seqLen = readLen();
  if (seqLen === undefined || i + seqLen !== sig.length) return undefined;
  const ints: bigint[] = [];
  for (let k = 0; k < 2; k++) {
    if (sig[i++] !== 0x02) return undefined;
    const len = readLen();
    if (len === undefined || len === 0 || i + len > sig.length)
      return undefined;
    const bytes = sig.subarray(i, i + len);
    // Positive, minimally encoded integers only (DER).
    if ((bytes[0] as number) & 0x80) return undefined;
    if (len > 1 && bytes[0] === 0 && !((bytes[1] as number) & 0x80)) {
      return undefined;
    }
    ints.push(toBig(bytes));
    i += len;
  }
  if (i !== sig.length) return undefined;
  return { r: ints[0] as bigint, s: ints[1] as bigint };
}

/** Leftmost bitlen(n) bits of the digest, as ECDSA defines e (SEC 1 §4.1.4). */
function digestScalar(digest: Buffer, n: bigint): bigint {
  const nBits = n.toString(2).length;
  let e = toBig(digest);
  const dBits = digest.length * 8;
  if (dBits > nBits) e >>= BigInt(dBits - nBits);
  return e;
}

const EMPTY_DIGEST_SCALAR = new Map<string, bigint>();

function emptyScalar(c: Curve): bigint {
  let e = EMPTY_DIGEST_SCALAR.get(c.openssl);
  if (e === undefined) {
    e = digestScalar(createHash(c.hash).update('').digest(), c.n);
    EMPTY_DIGEST_SCALAR.set(c.openssl, e);
  }
  return e;
}

function publicPoint(key: KeyObject): { x: bigint; y: bigint } {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new RangeError('EC key without coordinates');
  }
  return {
    x: toBig(Buffer.from(jwk.x, 'base64url')),
    y: toBig(Buffer.from(jwk.y, 'base64url')),
  };
}

/** One ECDH context per curve, reused: only a scalar multiplier here. */
const ECDH_CACHE = new Map<string, ReturnType<typeof createECDH>>();

function verifyEcdsaDigest(
  key: KeyObject,
  c: Curve,
  digest: Buffer,
  signature: Buffer
): boolean {
  const sig = parseDerSignature(signature);
  if (sig === undefined) return false;
  const { r, s } = sig;
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const e = digestScalar(digest, c.n);
  const k = mod((e - emptyScalar(c)) * invert(r, c.n), c.n);
  let target: KeyObject = key;
  if (k !== 0n) {
    let ecdh = ECDH_CACHE.get(c.openssl);
    if (ecdh === undefined) {
      ecdh = createECDH(c.openssl);
      ECDH_CACHE.set(c.openssl, ecdh);
    }
    ecdh.setPrivateKey(toBytes(k, c.bytes));
    const kg = ecdh.getPublicKey();
    const p2 = {
      x: toBig(kg.subarray(1, 1 + c.bytes)),
      y: toBig(kg.subarray(1 + c.bytes)),
    };
    const p1 = publicPoint(key);
    const sum = addPoints(p1, p2, c);
    if (sum === undefined) return false;
    target = createPublicKey({
      key: {
        kty: 'EC',
        crv: c.jwk,
        x: toBytes(sum.x, c.bytes).toString('base64url'),
        y: toBytes(sum.y, c.bytes).toString('base64url'),
      },
      format: 'jwk',
    });
  }
  try {
    return cryptoVerify(c.hash, Buffer.alloc(0), target, signature);
  } catch {
    return false;
  }
}

/** Affine point addition on y² = x³ + ax + b over F_p; undefined = infinity. */
function addPoints(
  p1: { x: bigint; y: bigint },
  p2: { x: bigint; y: bigint },
  c: Curve
): { x: bigint; y: bigint } | undefined {
  const p = c.p;
  let lambda: bigint;
  if (p1.x === p2.x) {
    if (mod(p1.y + p2.y, p) === 0n) return undefined;
    lambda = mod((3n * p1.x * p1.x + c.a) * invert(2n * p1.y, p), p);
  } else {
    lambda = mod((p2.y - p1.y) * invert(p2.x - p1.x, p), p);
  }
  const x = mod(lambda * lambda - p1.x - p2.x, p);
  const y = mod(lambda * (p1.x - x) - p1.y, p);
  return { x, y };
}
