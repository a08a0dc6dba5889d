import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  toTreeIndex,
  verifyConsistency,
  verifyInclusion,
  MAX_UINT64,
} from '../../src/tlog/merkle.js';

const merkleDir = join(sharedFixtures, 'rekor', 'merkle');

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsonFiles(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

/**
 * The vectors hold uint64 values such as 18446744073709551615 that
 * JSON.parse would round; quote every integer field so it can become a bigint.
 */
function readVector(path: string): Record<string, unknown> {
  const text = readFileSync(path, 'utf8').replace(
    /"(leafIdx|treeSize|size1|size2)":\s*(\d+)/g,
    '"$1": "$2"'
  );
  return JSON.parse(text) as Record<string, unknown>;
}

function b64(v: unknown): Buffer {
  assert.equal(typeof v, 'string');
  return Buffer.from(v as string, 'base64');
}

function proofOf(v: unknown): Buffer[] {
  if (v === null) return [];
  assert.ok(Array.isArray(v));
  return v.map(b64);
}

function big(v: unknown): bigint {
  assert.equal(typeof v, 'string');
  return BigInt(v as string);
}

describe('RFC 6962 hasher known answers', () => {
  const kat = JSON.parse(
    readFileSync(join(merkleDir, 'rfc6962-hasher-kat.json'), 'utf8')
  ) as Record<string, string>;
  const want = (prefix: string): string => {
    const key = Object.keys(kat).find((k) => k.startsWith(prefix));
    assert.ok(key, prefix);
    return kat[key] as string;
  };
  it('leaf hash of the empty string', () => {
    assert.equal(
      leafHash(Buffer.alloc(0)).toString('hex'),
      want('leaf_hash("")')
    );
  });
  it('leaf hash of L123456', () => {
    assert.equal(
      leafHash(Buffer.from('L123456')).toString('hex'),
      want('leaf_hash("L123456")')
    );
  });
  it('node hash of N123 and N456', () => {
    assert.equal(
      nodeHash(Buffer.from('N123'), Buffer.from('N456')).toString('hex'),
      want('node_hash')
    );
  });
});

describe('inclusion vectors (transparency-dev/merkle)', () => {
  const files = jsonFiles(join(merkleDir, 'inclusion'));
  it('has the documented 98 vectors', () => {
    assert.equal(files.length, 98);
  });
  for (const f of files) {
    const v = readVector(f);
    const name = `${relative(merkleDir, f)}: ${String(v['desc'])} → ${v['wantErr'] ? 'error' : 'ok'}`;
    it(name, () => {
      const run = (): void =>
        verifyInclusion(
          big(v['leafIdx']),
          big(v['treeSize']),
          b64(v['leafHash']),
          proofOf(v['proof']),
          b64(v['root'])
        );
      if (v['wantErr'] === true) {
        assert.throws(run, {
          name: 'VerificationError',
          code: 'TLOG_VERIFICATION',
        });
      } else {
        assert.equal(v['wantErr'], false);
        run();
      }
    });
  }
});

describe('consistency vectors (transparency-dev/merkle)', () => {
  const files = jsonFiles(join(merkleDir, 'consistency'));
  it('has the documented 98 vectors', () => {
    assert.equal(files.length, 98);
  });
  for (const f of files) {
    const v = readVector(f);
    const name = `${relative(merkleDir, f)}: ${String(v['desc'])} → ${v['wantErr'] ? 'error' : 'ok'}`;
    it(name, () => {
      const run = (): void =>
        verifyConsistency(
          big(v['size1']),
          big(v['size2']),
          proofOf(v['proof']),
          b64(v['root1']),
          b64(v['root2'])
        );
      if (v['wantErr'] === true) {
        assert.throws(run, {
          name: 'VerificationError',
          code: 'TLOG_VERIFICATION',
        });
      } else {
        assert.equal(v['wantErr'], false);
        run();
      }
    });
  }
});

/** Reference tree built the slow way (RFC 6962 §2.1 MTH definition). */
function mth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

function path(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length === 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

function subproof(m: number, leaves: readonly Buffer[], b: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [mth(leaves)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), b), mth(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

describe('proofs of a reference tree (every index and size up to 20)', () => {
  const leaves = Array.from({ length: 20 }, (_, i) =>
    leafHash(Buffer.from(`leaf ${i}`))
  );
  it('verifies every inclusion proof and rejects it at a neighbour index', () => {
    for (let n = 1; n <= leaves.length; n++) {
      const tree = leaves.slice(0, n);
      const root = mth(tree);
      for (let m = 0; m < n; m++) {
        const p = path(m, tree);
        verifyInclusion(m, n, tree[m] as Buffer, p, root);
        assert.deepEqual(
          rootFromInclusionProof(BigInt(m), BigInt(n), tree[m] as Buffer, p),
          root
        );
        if (n > 1) {
          assert.throws(
            () => verifyInclusion((m + 1) % n, n, tree[m] as Buffer, p, root),
            { name: 'VerificationError', code: 'TLOG_VERIFICATION' }
          );
        }
      }
    }
  });
  it('verifies every consistency proof and rejects swapped roots', () => {
    for (let n = 2; n <= leaves.length; n++) {
      for (let m = 1; m < n; m++) {
        const r1 = mth(leaves.slice(0, m));
        const r2 = mth(leaves.slice(0, n));
        const p = subproof(m, leaves.slice(0, n), true);
        verifyConsistency(m, n, p, r1, r2);
        assert.throws(() => verifyConsistency(m, n, p, r2, r1), {
          name: 'VerificationError',
          code: 'TLOG_VERIFICATION',
        });
      }
    }
  });
});

describe('index guards', () => {
  const h = leafHash(Buffer.from('x'));
  const cases: {
    name: string;
    index: bigint | number;
    size: bigint | number;
  }[] = [
    { name: 'negative number index', index: -1, size: 1 },
    { name: 'negative bigint index', index: -1n, size: 1n },
    { name: 'fractional index', index: 0.5, size: 1 },
    { name: 'unsafe number size', index: 0, size: 2 ** 53 + 2 },
    { name: 'NaN size', index: 0, size: Number.NaN },
    { name: 'size beyond 2^64', index: 0n, size: MAX_UINT64 + 2n },
    { name: 'index equal to size', index: 1n, size: 1n },
    { name: 'size zero', index: 0n, size: 0n },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      assert.throws(() => verifyInclusion(c.index, c.size, h, [], h), {
        name: 'VerificationError',
        code: 'TLOG_VERIFICATION',
      });
    });
  }
  it('accepts the largest uint64 size with a correctly sized proof shape', () => {
    assert.equal(toTreeIndex(MAX_UINT64, 'size'), MAX_UINT64);
    // index 2^64-2 of 2^64-1: proof needs 64 hashes; one hash is too few.
    assert.throws(
      () => verifyInclusion(MAX_UINT64 - 1n, MAX_UINT64, h, [h], h),
      { name: 'VerificationError', code: 'TLOG_VERIFICATION' }
    );
  });
});
