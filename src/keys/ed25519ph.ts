/**
 * Ed25519ph (RFC 8032 §5.1, pre-hashed variant with an empty context).
 *
 * Why this exists: cosign signs with Ed25519 keys as Ed25519ph by default
 * (`GetDefaultLoadOptions` → `WithED25519ph`), and Rekor's hashedrekord
 * verifies Ed25519 signatures over the SHA-512 digest as Ed25519ph
 * (keys.md §6). Node 20 bundles OpenSSL 3.0, whose Ed25519 has no ph
 * instance (OpenSSL ≥ 3.2 has), and no dependency here provides it.
 *
 * The arithmetic uses BigInt in extended twisted Edwards coordinates with
 * the complete addition law for a = -1 (Hisil–Wong–Carter–Dawson 2008), and
 * a scalar multiplication whose sequence of point operations does not depend
 * on the scalar. BigInt operations are not constant-time, so this code may
 * leak timing to a local observer; it is only used to sign with keys of the
 * machine running it. Correctness is pinned by tests: with an empty domain
 * prefix the same code must reproduce node:crypto's pure Ed25519 signatures
 * byte for byte, and it reproduces the RFC 8032 §7.3 Ed25519ph vector.
 */
import { createHash, type KeyObject } from 'node:crypto';

const P = 2n ** 255n - 19n;
/** Order of the base point. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function mod(a: bigint, m: bigint = P): bigint {
  const r = a % m;
  return r >= 0n ? r : r + m;
}

function powMod(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

function inv(a: bigint): bigint {
  return powMod(a, P - 2n);
}

const D = mod(-121665n * inv(121666n));
const D2 = mod(2n * D);
/** sqrt(-1) mod p. */
const SQRT_M1 = powMod(2n, (P - 1n) / 4n);

/** A point in extended coordinates: x = X/Z, y = Y/Z, xy = T/Z. */
interface Point {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
  readonly T: bigint;
}

const ZERO: Point = { X: 0n, Y: 1n, Z: 1n, T: 0n };

const BASE: Point = (() => {
  const x =
    15112221349535400772501151409588531511454012693041857206046113283949847762202n;
  const y =
    46316835694926478169428394003475163141307993866256225615783033603165251855960n;
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
})();

/** Complete addition (add-2008-hwcd-3), valid for doubling too. */
function add(p: Point, q: Point): Point {
  const a = mod((p.Y - p.X) * (q.Y - q.X));
  const b = mod((p.Y + p.X) * (q.Y + q.X));
  const c = mod(p.T * D2 * q.T);
  const d = mod(2n * p.Z * q.Z);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return {
    X: mod(e * f),
    Y: mod(g * h),
    Z: mod(f * g),
    T: mod(e * h),
  };
}

function negate(p: Point): Point {
  return { X: mod(-p.X), Y: p.Y, Z: p.Z, T: mod(-p.T) };
}

/**
 * [k]P with a fixed 256-step double-and-add-always ladder: every step does
 * one doubling and one addition whatever the bit is.
 */
function scalarMult(k: bigint, p: Point): Point {
  let r0 = ZERO;
  let r1 = p;
  for (let i = 255; i >= 0; i--) {
    const bit = (k >> BigInt(i)) & 1n;
    if (bit === 1n) {
      r0 = add(r0, r1);
      r1 = add(r1, r1);
    } else {
      r1 = add(r0, r1);
      r0 = add(r0, r0);
    }
  }
  return r0;
}

function bytesToIntLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}

function intToBytesLE(n: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  let v = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function encodePoint(p: Point): Buffer {
  const zi = inv(p.Z);
  const x = mod(p.X * zi);
  const y = mod(p.Y * zi);
  const out = intToBytesLE(y, 32);
  if (x & 1n) out[31] = (out[31] ?? 0) | 0x80;
  return out;
}

/** RFC 8032 §5.1.3 point decoding; undefined if not a valid encoding. */
function decodePoint(b: Uint8Array): Point | undefined {
  if (b.length !== 32) return undefined;
  const copy = Buffer.from(b);
  const sign = ((copy[31] ?? 0) >> 7) & 1;
  copy[31] = (copy[31] ?? 0) & 0x7f;
  const y = bytesToIntLE(copy);
  if (y >= P) return undefined;
  const y2 = mod(y * y);
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  // x = (u/v)^((p+3)/8), computed as u·v³·(u·v⁷)^((p-5)/8).
  const v3 = mod(v * v * v);
  let x = mod(u * v3 * powMod(mod(u * v3 * v3 * v), (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === u) {
    // root found
  } else if (vx2 === mod(-u)) {
    x = mod(x * SQRT_M1);
  } else {
    return undefined;
  }
  if (x === 0n && sign === 1) return undefined;
  if (Number(x & 1n) !== sign) x = mod(-x);
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
}

function sha512(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** dom2(phflag, context) of RFC 8032 §2; empty for pure Ed25519. */
function dom2(prehashed: boolean): Buffer {
  if (!prehashed) return Buffer.alloc(0);
  return Buffer.concat([
    Buffer.from('SigEd25519 no Ed25519 collisions', 'ascii'),
    Buffer.from([1, 0]),
  ]);
}

interface Expanded {
  readonly scalar: bigint;
  readonly prefix: Buffer;
  readonly publicKey: Buffer;
}

function expandSeed(seed: Uint8Array): Expanded {
  if (seed.length !== 32) throw new TypeError('Ed25519 seed must be 32 bytes');
  const h = sha512(seed);
  const a = Buffer.from(h.subarray(0, 32));
  a[0] = (a[0] ?? 0) & 248;
  a[31] = ((a[31] ?? 0) & 127) | 64;
  const scalar = bytesToIntLE(a);
  a.fill(0);
  const prefix = Buffer.from(h.subarray(32));
  h.fill(0);
  return { scalar, prefix, publicKey: encodePoint(scalarMult(scalar, BASE)) };
}

/**
 * RFC 8032 §5.1.6 over message M' (for Ed25519ph, M' = SHA-512(M)).
 * `prehashed` selects dom2(1, "") (Ed25519ph) or no prefix (pure Ed25519).
 */
export function ed25519SignRaw(
  seed: Uint8Array,
  message: Uint8Array,
  prehashed: boolean
): Buffer {
  const { scalar, prefix, publicKey } = expandSeed(seed);
  const dom = dom2(prehashed);
  const r = mod(bytesToIntLE(sha512(dom, prefix, message)), L);
  prefix.fill(0);
  const R = encodePoint(scalarMult(r, BASE));
  const k = mod(bytesToIntLE(sha512(dom, R, publicKey, message)), L);
  const S = mod(r + k * scalar, L);
  return Buffer.concat([R, intToBytesLE(S, 32)]);
}

/** RFC 8032 §5.1.7 (cofactorless, as Go's crypto/ed25519). */
export function ed25519VerifyRaw(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  prehashed: boolean
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const A = decodePoint(publicKey);
  if (A === undefined) return false;
  const Rb = signature.subarray(0, 32);
  const S = bytesToIntLE(signature.subarray(32));
  if (S >= L) return false;
  if (decodePoint(Rb) === undefined) return false;
  const k = mod(
    bytesToIntLE(sha512(dom2(prehashed), Rb, publicKey, message)),
    L
  );
  // [S]B - [k]A must encode to R.
  const check = add(scalarMult(S, BASE), negate(scalarMult(k, A)));
  return encodePoint(check).equals(Buffer.from(Rb));
}

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
    return ed25519SignRaw(seed, digest, true);
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
  if (digest.length !== 64) return false;
  return ed25519VerifyRaw(ed25519PublicKeyBytes(key), digest, signature, true);
}
