import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  leafHash,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/tlog/merkle.js';
import {
  EMPTY_ROOT,
  appendLeaves,
  consistencyRanges,
  foldRange,
  frontierNodes,
  hashRanges,
  inclusionRanges,
  nodeKey,
  rangeNodes,
} from '../../../src/tlog/server/tree.js';

/** RFC 6962 MTH by the definition, recursively: the reference. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leaves = Array.from({ length: 70 }, (_, i) =>
  leafHash(Buffer.from(`leaf ${i}`))
);

/** Builds the stored-node map by appending in uneven batches. */
function buildStore(n: number): Map<string, Buffer> {
  const store = new Map<string, Buffer>();
  let size = 0;
  let frontier: Buffer[] = [];
  const batches = [1, 2, 5, 3, 8, 13, 1, 21, 34];
  let b = 0;
  while (size < n) {
    const take = Math.min(batches[b++ % batches.length] as number, n - size);
    const r = appendLeaves(size, frontier, leaves.slice(size, size + take));
    for (const node of r.newNodes) store.set(nodeKey(node.id), node.hash);
    assert.equal(
      r.root.toString('hex'),
      mth(leaves.slice(0, r.size)).toString('hex')
    );
    size = r.size;
    frontier = r.frontier;
  }
  return store;
}

describe('log server tree arithmetic', () => {
  it('appends in batches to the RFC 6962 root of every size', () => {
    buildStore(leaves.length);
    assert.deepEqual(appendLeaves(0, [], []).root, EMPTY_ROOT);
  });

  it('stores exactly the complete subtrees', () => {
    const store = buildStore(13);
    // 13 leaves: 13 + 6 + 3 + 1 complete nodes.
    assert.equal(store.size, 13 + 6 + 3 + 1);
    assert.deepEqual(frontierNodes(13), [
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
  });

  it('produces inclusion proofs that verify for every leaf of every size up to 70', () => {
    const store = buildStore(leaves.length);
    for (let n = 1; n <= leaves.length; n++) {
      const root = mth(leaves.slice(0, n));
      assert.deepEqual(
        foldRange(
          rangeNodes({ start: 0, end: n }).map(
            (id) => store.get(nodeKey(id)) as Buffer
          )
        ),
        root
      );
      for (let m = 0; m < n; m++) {
        const proof = hashRanges(inclusionRanges(m, n), store);
        verifyInclusion(m, n, leaves[m] as Buffer, proof, root);
      }
    }
  });

  it('produces consistency proofs that verify for every pair of sizes up to 70', () => {
    const store = buildStore(leaves.length);
    for (let n = 1; n <= leaves.length; n++) {
      const root2 = mth(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const proof = hashRanges(consistencyRanges(m, n), store);
        verifyConsistency(m, n, proof, mth(leaves.slice(0, m)), root2);
      }
    }
  });

  it('refuses out-of-range requests', () => {
    assert.throws(() => inclusionRanges(5, 5), RangeError);
    assert.throws(() => inclusionRanges(-1, 5), RangeError);
    assert.throws(() => consistencyRanges(0, 5), RangeError);
    assert.throws(() => consistencyRanges(6, 5), RangeError);
    assert.throws(() => rangeNodes({ start: 1, end: 3 }), RangeError);
    assert.throws(() => appendLeaves(3, [], []), RangeError);
  });

  it('reports a missing stored node instead of a wrong proof', () => {
    const store = buildStore(20);
    store.delete('0/3');
    assert.throws(() => hashRanges(inclusionRanges(2, 20), store), /missing/);
  });
});
