/**
 * PURE tree arithmetic for the log server: which stored subtree hashes an
 * RFC 6962 root, inclusion proof or consistency proof needs, and how appending
 * leaves extends the tree.
 *
 * The server stores the hash of every *complete* subtree (a node at `level`
 * covering leaves [index·2^level, (index+1)·2^level)) once all its leaves
 * exist; level 0 holds the leaf hashes. Any range [a, b) that RFC 6962's
 * recursive split produces starts at a multiple of the largest power of two
 * below its size, so its hash is a right fold of at most log2(b − a) complete
 * nodes. A proof therefore costs O(log n) point reads, whatever the tree size.
 *
 * Indexes are JS numbers: exact to 2^53 leaves, far beyond what one database
 * holds (the tree ID, a full uint64, is a bigint elsewhere).
 */
import { nodeHash } from '../merkle.js';

/** A complete subtree: `level` 0 is a leaf; it covers 2^level leaves. */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A range [start, end) of leaves whose RFC 6962 hash (MTH) is wanted. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

export function nodeKey(n: NodeId): string {
  return `${n.level}/${n.index}`;
}

function assertSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer`);
  }
}

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete nodes whose right fold is MTH(D[start:end]), left to right.
 * Requires `start` to be aligned as RFC 6962's split guarantees.
 */
export function rangeNodes(r: LeafRange): NodeId[] {
  const out: NodeId[] = [];
  let a = r.start;
  let size = r.end - r.start;
  if (size <= 0) throw new RangeError('empty range has no nodes');
  while (size > 0) {
    let level = Math.floor(Math.log2(size));
    // Math.log2 can be off by one ulp near powers of two; fix it exactly.
    while (2 ** level > size) level--;
    while (2 ** (level + 1) <= size) level++;
    const width = 2 ** level;
    if (a % width !== 0) throw new RangeError('range is not aligned');
    out.push({ level, index: a / width });
    a += width;
    size -= width;
  }
  return out;
}

/** Hash of a range from its rangeNodes() hashes: H(n1, H(n2, … nk)). */
export function foldRange(hashes: readonly Buffer[]): Buffer {
  let acc = hashes[hashes.length - 1];
  if (acc === undefined) throw new RangeError('no hashes to fold');
  for (let i = hashes.length - 2; i >= 0; i--) {
    acc = nodeHash(hashes[i] as Buffer, acc);
  }
  return acc;
}

/**
 * RFC 6962 §2.1.1 PATH(m, D[0:n]) as leaf ranges, leaf to root. Each range's
 * MTH is one proof hash.
 */
export function inclusionRanges(m: number, n: number): LeafRange[] {
  assertSize(m, 'leaf index');
  assertSize(n, 'tree size');
  if (m >= n) throw new RangeError('leaf index must be below the tree size');
  const out: LeafRange[] = [];
  // Iterative form of PATH: descend from the root, collecting siblings.
  let start = 0;
  let end = n;
  const fromRoot: LeafRange[] = [];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    const mid = start + k;
    if (m < mid) {
      fromRoot.push({ start: mid, end });
      end = mid;
    } else {
      fromRoot.push({ start, end: mid });
      start = mid;
    }
  }
  for (let i = fromRoot.length - 1; i >= 0; i--) out.push(fromRoot[i]!);
  return out;
}

/**
 * RFC 6962 §2.1.2 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) as leaf
 * ranges, in the order the verifier consumes them.
 */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  assertSize(m, 'first size');
  assertSize(n, 'second size');
  if (m < 1 || m > n) throw new RangeError('need 1 ≤ first size ≤ second size');
  if (m === n) return [];
  const out: LeafRange[] = [];
  subproof(m, 0, n, true, out);
  return out;
}

function subproof(
  m: number,
  start: number,
  end: number,
  b: boolean,
  out: LeafRange[]
): void {
  const size = end - start;
  if (m === size) {
    if (!b) out.push({ start, end });
    return;
  }
  const k = splitPoint(size);
  if (m <= k) {
    subproof(m, start, start + k, b, out);
    out.push({ start: start + k, end });
  } else {
    subproof(m - k, start + k, end, false, out);
    out.push({ start, end: start + k });
  }
}

/**
 * The right frontier of a tree of `size` leaves: the complete nodes for each
 * set bit of `size`, largest first. Their fold is the root; appending needs
 * only them.
 */
export function frontierNodes(size: number): NodeId[] {
  assertSize(size, 'tree size');
  return size === 0 ? [] : rangeNodes({ start: 0, end: size });
}

export interface AppendResult {
  /** Every complete node that exists after the append and did not before. */
  readonly newNodes: { id: NodeId; hash: Buffer }[];
  /** Frontier hashes of the new tree, largest subtree first. */
  readonly frontier: Buffer[];
  readonly size: number;
  readonly root: Buffer;
}

/**
 * Appends leaf hashes to a tree given by its size and frontier hashes (as
 * frontierNodes(size) lists them) and returns the nodes to store.
 */
export function appendLeaves(
  size: number,
  frontier: readonly Buffer[],
  leaves: readonly Buffer[]
): AppendResult {
  assertSize(size, 'tree size');
  const ids = frontierNodes(size);
  if (ids.length !== frontier.length) {
    throw new RangeError('frontier does not match the tree size');
  }
  // Stack of complete subtrees on the right edge, smallest last.
  const stack: { level: number; index: number; hash: Buffer }[] = ids.map(
    (id, i) => ({ ...id, hash: frontier[i] as Buffer })
  );
  const newNodes: { id: NodeId; hash: Buffer }[] = [];
  let n = size;
  for (const leaf of leaves) {
    let cur = { level: 0, index: n, hash: leaf };
    newNodes.push({ id: { level: 0, index: n }, hash: leaf });
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined || top.level !== cur.level) break;
      stack.pop();
      cur = {
        level: cur.level + 1,
        index: top.index / 2,
        hash: nodeHash(top.hash, cur.hash),
      };
      newNodes.push({
        id: { level: cur.level, index: cur.index },
        hash: cur.hash,
      });
    }
    stack.push(cur);
    n++;
  }
  const hashes = stack.map((s) => s.hash);
  return {
    newNodes,
    frontier: hashes,
    size: n,
    root: n === 0 ? EMPTY_ROOT : foldRange(hashes),
  };
}

/** MTH of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT = Buffer.from(
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'hex'
);

/** Every node a set of ranges needs, deduplicated. */
export function nodesForRanges(ranges: readonly LeafRange[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const r of ranges) {
    for (const n of rangeNodes(r)) seen.set(nodeKey(n), n);
  }
  return [...seen.values()];
}

/** Range hashes from a node lookup; throws if a needed node is missing. */
export function hashRanges(
  ranges: readonly LeafRange[],
  nodes: ReadonlyMap<string, Buffer>
): Buffer[] {
  return ranges.map((r) =>
    foldRange(
      rangeNodes(r).map((n) => {
        const h = nodes.get(nodeKey(n));
        if (h === undefined) {
          throw new Error(`tree node ${nodeKey(n)} is missing from storage`);
        }
        return h;
      })
    )
  );
}
