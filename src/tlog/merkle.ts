import { createHash } from 'node:crypto';
import { VerificationError } from '../errors.js';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing and proof verification.
 *
 * Indexes and sizes are 64-bit in every log we talk to (spec §11): JS numbers
 * are exact only to 2^53, so everything here runs on bigint. Numbers are
 * accepted for convenience only when they are safe integers.
 */

/** RFC 6962 §2.1 leaf hash: SHA-256(0x00 ‖ leaf). */
export function leafHash(leaf: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
}

/** RFC 6962 §2.1 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256')
    .update(NODE_PREFIX)
    .update(left)
    .update(right)
    .digest();
}

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

/** Size of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** The largest index or size a 64-bit log can have. */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** A tree index or size: a non-negative bigint, or a safe-integer number. */
export type TreeIndex = bigint | number;

function fail(message: string): never {
  throw new VerificationError('TLOG_VERIFICATION', message);
}

/**
 * Converts an index or size to a bigint in [0, 2^64). Rejects negative,
 * fractional, unsafe (> 2^53) numbers and out-of-range bigints: an index the
 * caller could not have represented exactly must not be "rounded" into a
 * proof that happens to verify.
 */
export function toTreeIndex(value: TreeIndex, what: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      fail(`${what} ${value} is not a non-negative safe integer`);
    }
    return BigInt(value);
  }
  if (value < 0n || value > MAX_UINT64) {
    fail(`${what} ${value} is outside the 64-bit unsigned range`);
  }
  return value;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function popCount(x: bigint): number {
  let n = 0;
  for (const c of x.toString(2)) if (c === '1') n++;
  return n;
}

function trailingZeros(x: bigint): number {
  if (x === 0n) return 0;
  let n = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function checkHash(h: Uint8Array, what: string): void {
  if (h.length !== HASH_SIZE) {
    fail(`${what} has ${h.length} bytes, want ${HASH_SIZE}`);
  }
}

/**
 * RFC 9162 §2.1.3.2 inner/border decomposition of an inclusion proof
 * (transparency-dev `decompInclProof`): `inner` hashes are siblings below the
 * point where the leaf's path and the last leaf's path meet; `border` hashes
 * are the left siblings above it.
 */
function decompInclusionProof(
  index: bigint,
  size: bigint
): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

function chainInner(
  seed: Buffer,
  proof: readonly Uint8Array[],
  index: bigint
): Buffer {
  let h = seed;
  proof.forEach((p, i) => {
    h = ((index >> BigInt(i)) & 1n) === 0n ? nodeHash(h, p) : nodeHash(p, h);
  });
  return h;
}

function chainInnerRight(
  seed: Buffer,
  proof: readonly Uint8Array[],
  index: bigint
): Buffer {
  let h = seed;
  proof.forEach((p, i) => {
    if (((index >> BigInt(i)) & 1n) === 1n) h = nodeHash(p, h);
  });
  return h;
}

function chainBorderRight(seed: Buffer, proof: readonly Uint8Array[]): Buffer {
  let h = seed;
  for (const p of proof) h = nodeHash(p, h);
  return h;
}

/**
 * The root implied by an inclusion proof (RFC 9162 §2.1.3.2). Throws
 * VerificationError TLOG_VERIFICATION when the index is not inside the tree,
 * a hash is not 32 bytes, or the proof has the wrong number of hashes (the
 * classic "wrong proof size" symptom of mixing global and shard indexes).
 */
export function rootFromInclusionProof(
  leafIndex: TreeIndex,
  treeSize: TreeIndex,
  leafHashValue: Uint8Array,
  proof: readonly Uint8Array[]
): Buffer {
  const index = toTreeIndex(leafIndex, 'leaf index');
  const size = toTreeIndex(treeSize, 'tree size');
  if (index >= size) {
    fail(`leaf index ${index} is not below tree size ${size}`);
  }
  checkHash(leafHashValue, 'leaf hash');
  proof.forEach((p, i) => checkHash(p, `inclusion proof hash ${i}`));
  const { inner, border } = decompInclusionProof(index, size);
  if (proof.length !== inner + border) {
    fail(
      `wrong inclusion proof size ${proof.length}, want ${inner + border} for leaf ${index} of ${size}`
    );
  }
  const res = chainInner(
    Buffer.from(leafHashValue),
    proof.slice(0, inner),
    index
  );
  return chainBorderRight(res, proof.slice(inner));
}

/**
 * Verifies that the leaf with hash `leafHash` sits at `leafIndex` in the tree
 * of `treeSize` leaves whose root is `root`. Throws VerificationError
 * TLOG_VERIFICATION otherwise.
 */
export function verifyInclusion(
  leafIndex: TreeIndex,
  treeSize: TreeIndex,
  leafHashValue: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array
): void {
  const calc = rootFromInclusionProof(
    leafIndex,
    treeSize,
    leafHashValue,
    proof
  );
  if (!calc.equals(root)) {
    fail(
      `inclusion proof root ${calc.toString('hex')} does not match the expected root ${Buffer.from(root).toString('hex')}`
    );
  }
}

/**
 * The root of the tree of `size2` leaves implied by a consistency proof from
 * the tree of `size1` leaves with root `root1` (RFC 9162 §2.1.4.2;
 * transparency-dev `RootFromConsistencyProof`). Requires 0 < size1 < size2.
 */
export function rootFromConsistencyProof(
  size1: TreeIndex,
  size2: TreeIndex,
  proof: readonly Uint8Array[],
  root1: Uint8Array
): Buffer {
  const s1 = toTreeIndex(size1, 'first tree size');
  const s2 = toTreeIndex(size2, 'second tree size');
  if (s2 < s1) fail(`tree size ${s2} is smaller than ${s1}`);
  if (s1 === 0n) fail('consistency from an empty tree proves nothing');
  if (s1 === s2) fail('consistency between equal sizes has no root to compute');
  if (proof.length === 0) fail('empty consistency proof');
  checkHash(root1, 'first root');
  proof.forEach((p, i) => checkHash(p, `consistency proof hash ${i}`));

  // The proof skips the hashes shared by both trees: when size1 is a power
  // of two, the first tree's root is itself the first node of the path.
  const { inner: inner0, border } = decompInclusionProof(s1 - 1n, s2);
  const shift = trailingZeros(s1);
  const inner = inner0 - shift;

  let seed: Uint8Array;
  let start: number;
  if (s1 === 1n << BigInt(shift)) {
    seed = root1;
    start = 0;
  } else {
    seed = proof[0] as Uint8Array;
    start = 1;
  }
  if (proof.length !== start + inner + border) {
    fail(
      `wrong consistency proof size ${proof.length}, want ${start + inner + border} from ${s1} to ${s2}`
    );
  }
  const rest = proof.slice(start);
  const mask = (s1 - 1n) >> BigInt(shift);
  const hash1 = chainBorderRight(
    chainInnerRight(Buffer.from(seed), rest.slice(0, inner), mask),
    rest.slice(inner)
  );
  if (!hash1.equals(root1)) {
    fail(
      `consistency proof does not match the first root ${Buffer.from(root1).toString('hex')}`
    );
  }
  return chainBorderRight(
    chainInner(Buffer.from(seed), rest.slice(0, inner), mask),
    rest.slice(inner)
  );
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree
 * of `size1` leaves with root `root1`. Edge cases in the order of spec §5.2:
 * size2 < size1 fails; size1 == 0 fails (even 0 → 0: a consistency check from
 * an empty tree is useless and usually a monitor bug); equal sizes need an
 * empty proof and equal roots; otherwise the proof must not be empty.
 */
export function verifyConsistency(
  size1: TreeIndex,
  size2: TreeIndex,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array
): void {
  const s1 = toTreeIndex(size1, 'first tree size');
  const s2 = toTreeIndex(size2, 'second tree size');
  if (s2 < s1) fail(`tree size ${s2} is smaller than ${s1}`);
  if (s1 === 0n) fail('consistency from an empty tree proves nothing');
  if (s1 === s2) {
    if (proof.length !== 0)
      fail('consistency proof between equal sizes must be empty');
    if (!Buffer.from(root1).equals(root2)) {
      fail('roots of trees of equal size differ');
    }
    return;
  }
  const calc = rootFromConsistencyProof(s1, s2, proof, root1);
  if (!calc.equals(root2)) {
    fail(
      `consistency proof root ${calc.toString('hex')} does not match the second root ${Buffer.from(root2).toString('hex')}`
    );
  }
}
