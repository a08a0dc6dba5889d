import assert from 'node:assert/strict';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  canonicalizeEntry,
  entryId,
  parseEntryId,
} from '../../src/tlog/entry.js';
import { verifyPrehashed } from '../../src/tlog/prehashed.js';
import { sharedFixtures } from '../support/paths.js';

const API_FIXTURES = join(sharedFixtures, 'rekor', 'v1', 'api-logentry');

function hashedrekord(
  key: KeyObject,
  artifact: Buffer,
  alg = 'sha256'
): Record<string, unknown> {
  const pem = createPublicKey(key).export({ type: 'spki', format: 'pem' });
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: {
        hash: {
          algorithm: alg,
          value: createHash(alg).update(artifact).digest('hex'),
        },
      },
      signature: {
        content: sign(alg, artifact, key).toString('base64'),
        publicKey: { content: Buffer.from(pem).toString('base64') },
      },
    },
  };
}

describe('verifyPrehashed', () => {
  const cases: [string, KeyObject, 'sha256' | 'sha384' | 'sha512'][] = [
    [
      'ECDSA P-256',
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      'sha256',
    ],
    [
      'ECDSA P-384',
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
      'sha384',
    ],
    [
      'ECDSA P-521',
      generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
      'sha512',
    ],
    [
      'RSA 2048',
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      'sha256',
    ],
  ];
  for (const [name, key, alg] of cases) {
    it(`accepts ${name} signatures over the digest and rejects others`, () => {
      const pub = createPublicKey(key);
      for (let i = 0; i < 20; i++) {
        const msg = Buffer.from(`message ${i}`);
        const digest = createHash(alg).update(msg).digest();
        const sig = sign(alg, msg, key);
        assert.equal(verifyPrehashed(pub, alg, digest, sig), true);
        const other = Buffer.from(digest);
        other[i % other.length] = (other[i % other.length] as number) ^ 1;
        assert.equal(verifyPrehashed(pub, alg, other, sig), false);
        const badSig = Buffer.from(sig);
        badSig[badSig.length - 1] = (badSig[badSig.length - 1] as number) ^ 1;
        assert.equal(verifyPrehashed(pub, alg, digest, badSig), false);
      }
    });
  }

  it('rejects malformed DER, zero and out-of-range scalars, short digests', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pub = createPublicKey(key);
    const digest = createHash('sha256').update('x').digest();
    const sig = sign('sha256', Buffer.from('x'), key);
    for (const bad of [
      Buffer.alloc(0),
      Buffer.from('3006020100020100', 'hex'), // r = s = 0
      Buffer.concat([sig, Buffer.from([0])]), // trailing garbage
      Buffer.from(`3026022100${'ff'.repeat(32)}020101`, 'hex'), // r ≥ n
    ]) {
      assert.equal(verifyPrehashed(pub, 'sha256', digest, bad), false);
    }
    assert.equal(
      verifyPrehashed(pub, 'sha256', digest.subarray(1), sig),
      false
    );
  });

  it('refuses algorithm combinations Rekor does not allow', () => {
    const p256 = createPublicKey(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    );
    assert.throws(
      () => verifyPrehashed(p256, 'sha512', Buffer.alloc(64), Buffer.alloc(8)),
      { name: 'UnsupportedAlgorithmError' }
    );
    const rsa1024 = createPublicKey(
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
    );
    assert.throws(
      () =>
        verifyPrehashed(rsa1024, 'sha256', Buffer.alloc(32), Buffer.alloc(8)),
      { name: 'UnsupportedAlgorithmError' }
    );
  });
});

describe('canonicalizeEntry', () => {
  it('reproduces the canonical bodies and leaf hashes of real public-good entries', () => {
    for (const f of readdirSync(API_FIXTURES)) {
      const fixture = JSON.parse(
        readFileSync(join(API_FIXTURES, f), 'utf8')
      ) as Record<string, { body: string }>;
      const [id, e] = Object.entries(fixture)[0] as [string, { body: string }];
      const body = JSON.parse(
        Buffer.from(e.body, 'base64').toString('utf8')
      ) as unknown;
      const c = canonicalizeEntry(body, { lookup: true });
      assert.equal(c.body.toString('base64'), e.body, f);
      assert.equal(c.leafHash.toString('hex'), id.slice(16), f);
    }
  });

  it('re-emits keys in canonical PEM and indexes key, digest and subjects', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const p = hashedrekord(key, Buffer.from('a')) as {
      spec: { signature: { publicKey: { content: string } } };
    };
    // CRLF line endings and no final newline: same key, same canonical body.
    const pem = Buffer.from(p.spec.signature.publicKey.content, 'base64')
      .toString()
      .replace(/\n/g, '\r\n')
      .trimEnd();
    const q = structuredClone(p);
    q.spec.signature.publicKey.content = Buffer.from(pem).toString('base64');
    const a = canonicalizeEntry(p);
    const b = canonicalizeEntry(q);
    assert.deepEqual(a.body, b.body);
    assert.equal(a.kind, 'hashedrekord');
    assert.ok(
      a.indexKeys.includes(
        `sha256:${createHash('sha256').update('a').digest('hex')}`
      )
    );
    assert.equal(a.indexKeys.length, 2);
  });

  it('rejects invalid entries with TLOG_REJECTED', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const good = hashedrekord(key, Buffer.from('a')) as {
      spec: Record<string, Record<string, unknown>>;
    };
    const mutations: [
      string,
      (e: { spec: Record<string, Record<string, unknown>> }) => void,
    ][] = [
      [
        'short digest',
        (e) =>
          ((e.spec['data'] as { hash: { value: string } }).hash.value = 'abcd'),
      ],
      [
        'non-hex digest',
        (e) =>
          ((e.spec['data'] as { hash: { value: string } }).hash.value =
            'zz'.repeat(32)),
      ],
      [
        'unknown hash',
        (e) =>
          ((e.spec['data'] as { hash: { algorithm: string } }).hash.algorithm =
            'md5'),
      ],
      [
        'bad base64 signature',
        (e) => ((e.spec['signature'] as { content: string }).content = '!!!'),
      ],
      [
        'no key',
        (e) =>
          delete (e.spec['signature'] as { publicKey?: unknown }).publicKey,
      ],
      [
        'private key PEM',
        (e) =>
          ((
            e.spec['signature'] as { publicKey: { content: string } }
          ).publicKey.content = Buffer.from(
            key.export({ type: 'pkcs8', format: 'pem' })
          ).toString('base64')),
      ],
      [
        'other key',
        (e) =>
          ((
            e.spec['signature'] as { publicKey: { content: string } }
          ).publicKey.content = Buffer.from(
            createPublicKey(
              generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
            ).export({ type: 'spki', format: 'pem' })
          ).toString('base64')),
      ],
    ];
    for (const [name, mutate] of mutations) {
      const e = structuredClone(good);
      mutate(e);
      assert.throws(
        () => canonicalizeEntry(e),
        { name: 'TlogError', code: 'TLOG_REJECTED' },
        name
      );
    }
    for (const bad of [
      null,
      [],
      'x',
      { kind: 'rekord', apiVersion: '0.0.1', spec: {} },
      { kind: 'hashedrekord', apiVersion: '0.0.2', spec: {} },
    ]) {
      assert.throws(() => canonicalizeEntry(bad), {
        name: 'TlogError',
        code: 'TLOG_REJECTED',
      });
    }
  });
});

describe('entry IDs', () => {
  it('joins the 16-hex tree ID and the leaf hash, and parses both forms', () => {
    const leaf = Buffer.alloc(32, 0xab);
    const id = entryId(2605736670972794746n, leaf);
    assert.equal(id, `24296fb24b8ad77a${'ab'.repeat(32)}`);
    assert.deepEqual(parseEntryId(id), {
      treeId: 2605736670972794746n,
      leafHash: leaf,
    });
    assert.deepEqual(parseEntryId('AB'.repeat(32)), { leafHash: leaf });
    assert.deepEqual(parseEntryId(`0000000000000000${'ab'.repeat(32)}`), {
      leafHash: leaf,
    });
    assert.equal(parseEntryId('ab'.repeat(31)), undefined);
    assert.equal(parseEntryId(`g${'a'.repeat(63)}`), undefined);
  });
});
