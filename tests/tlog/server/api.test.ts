/**
 * The Rekor v1 REST API of `signet tlog serve`, over real HTTP against the
 * real server process, for every storage backend.
 */
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
import { after, before, describe, it } from 'node:test';
import { verifyCheckpoint } from '../../../src/tlog/checkpoint.js';
import {
  leafHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/tlog/merkle.js';
import { verifySET } from '../../../src/tlog/set.js';
import { ed25519phSignDigest } from '../../../src/keys/ed25519ph.js';
import { sharedFixtures } from '../../support/paths.js';
import { startLogServer, type RunningLogServer } from '../../support/tlog.js';
import { BACKENDS } from './backends.js';
import type { LogEntryAnonJson } from '../../../src/tlog/server/log.js';

type AnonEntry = LogEntryAnonJson;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

async function call(
  url: string,
  method: string,
  body?: unknown
): Promise<Reply> {
  const res = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { 'Content-Type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function only(text: string): [string, AnonEntry] {
  const obj = JSON.parse(text) as Record<string, AnonEntry>;
  const keys = Object.keys(obj);
  assert.equal(keys.length, 1);
  return [keys[0] as string, obj[keys[0] as string] as AnonEntry];
}

/** Verifies an entry the way a client does: SET, checkpoint, inclusion. */
export function verifyEntry(
  id: string,
  e: AnonEntry,
  publicKey: KeyObject
): void {
  const body = Buffer.from(e.body, 'base64');
  const leaf = leafHash(body);
  assert.equal(id.slice(16), leaf.toString('hex'));
  verifySET(
    {
      body: e.body,
      integratedTime: e.integratedTime,
      logID: e.logID,
      logIndex: e.logIndex,
    },
    Buffer.from(e.verification.signedEntryTimestamp, 'base64'),
    publicKey
  );
  const p = e.verification.inclusionProof;
  const cp = verifyCheckpoint(p.checkpoint, publicKey);
  assert.equal(cp.size, BigInt(p.treeSize));
  assert.equal(Buffer.from(cp.rootHash).toString('hex'), p.rootHash);
  assert.equal(
    cp.origin.split(' - ')[1],
    BigInt(`0x${id.slice(0, 16)}`).toString()
  );
  verifyInclusion(
    p.logIndex,
    p.treeSize,
    leaf,
    p.hashes.map((h) => Buffer.from(h, 'hex')),
    Buffer.from(p.rootHash, 'hex')
  );
}

function hashedrekord(
  key: KeyObject,
  artifact: Buffer,
  opts: { hash?: 'sha256' | 'sha384' | 'sha512' } = {}
): unknown {
  const alg = opts.hash ?? 'sha256';
  const digest = createHash(alg).update(artifact).digest('hex');
  const sig = sign(alg, artifact, key);
  const pem = createPublicKey(key).export({ type: 'spki', format: 'pem' });
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: alg, value: digest } },
      signature: {
        content: sig.toString('base64'),
        publicKey: { content: Buffer.from(pem).toString('base64') },
      },
    },
  };
}

function pae(type: string, payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `),
    payload,
  ]);
}

const API_FIXTURES = join(sharedFixtures, 'rekor', 'v1', 'api-logentry');

for (const backend of BACKENDS) {
  describe(`tlog serve REST API (${backend})`, () => {
    let log: RunningLogServer;
    let logKey: KeyObject;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

    before(async () => {
      log = await startLogServer({ backend });
      logKey = createPublicKey(log.publicKeyPem);
    });
    after(async () => {
      await log.stop();
    });

    it('serves the public key as PEM', async () => {
      const r = await call(`${log.url}/api/v1/log/publicKey`, 'GET');
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/x-pem-file');
      assert.match(r.text, /^-----BEGIN PUBLIC KEY-----\n/);
    });

    it('accepts the real public-good hashedrekord bodies and returns verifiable entries', async () => {
      const files = readdirSync(API_FIXTURES).filter((f) =>
        f.endsWith('.json')
      );
      let posted = 0;
      for (const f of files) {
        const fixture = JSON.parse(
          readFileSync(join(API_FIXTURES, f), 'utf8')
        ) as Record<string, AnonEntry>;
        const [publicId, pe] = Object.entries(fixture)[0] as [
          string,
          AnonEntry,
        ];
        const proposed = JSON.parse(
          Buffer.from(pe.body, 'base64').toString('utf8')
        ) as { kind: string };
        if (proposed.kind !== 'hashedrekord') continue; // dsse bodies carry no envelope to re-submit
        const r = await call(`${log.url}/api/v1/log/entries`, 'POST', proposed);
        assert.equal(r.status, 201, r.text);
        const [id, e] = only(r.text);
        // Same canonical body, hence the same leaf hash as on rekor.sigstore.dev.
        assert.equal(e.body, pe.body);
        assert.equal(id.slice(16), publicId.slice(16));
        assert.equal(r.headers.get('location'), `/api/v1/log/entries/${id}`);
        assert.equal(r.headers.get('etag'), id);
        assert.equal(
          e.logID,
          createHash('sha256')
            .update(logKey.export({ type: 'spki', format: 'der' }))
            .digest('hex')
        );
        verifyEntry(id, e, logKey);
        posted++;
      }
      assert.equal(posted, 2);
    });

    it('answers a duplicate with 409, the entry ID and a Location that resolves', async () => {
      const proposed = hashedrekord(privateKey, Buffer.from('duplicate me'));
      const first = await call(
        `${log.url}/api/v1/log/entries`,
        'POST',
        proposed
      );
      assert.equal(first.status, 201);
      const [id] = only(first.text);
      const again = await call(
        `${log.url}/api/v1/log/entries`,
        'POST',
        proposed
      );
      assert.equal(again.status, 409);
      assert.deepEqual(JSON.parse(again.text), {
        code: 409,
        message: `an equivalent entry already exists in the transparency log with UUID ${id}`,
      });
      const loc = again.headers.get('location');
      assert.equal(loc, `/api/v1/log/entries/${id}`);
      const got = await call(`${log.url}${loc}`, 'GET');
      assert.equal(got.status, 200);
      const [gotId, e] = only(got.text);
      assert.equal(gotId, id);
      verifyEntry(gotId, e, logKey);
      // The bare 64-hex UUID finds it too.
      const byUuid = await call(
        `${log.url}/api/v1/log/entries/${id.slice(16)}`,
        'GET'
      );
      assert.equal(byUuid.status, 200);
    });

    it('accepts concurrent submissions and deduplicates within a batch', async () => {
      const bodies = Array.from({ length: 40 }, (_, i) =>
        hashedrekord(privateKey, Buffer.from(`concurrent ${i}`))
      );
      const twice = [...bodies, bodies[0], bodies[1]];
      const replies = await Promise.all(
        twice.map((b) => call(`${log.url}/api/v1/log/entries`, 'POST', b))
      );
      const created = replies.filter((r) => r.status === 201);
      const conflicts = replies.filter((r) => r.status === 409);
      assert.equal(created.length, 40);
      assert.equal(conflicts.length, 2);
      const indexes = new Set(created.map((r) => only(r.text)[1].logIndex));
      assert.equal(indexes.size, 40);
      for (const r of created) {
        const [id, e] = only(r.text);
        verifyEntry(id, e, logKey);
      }
    });

    it('logs P-384, P-521, RSA and Ed25519ph hashedrekord entries', async () => {
      const keys: [KeyObject, 'sha256' | 'sha384' | 'sha512'][] = [
        [
          generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
          'sha384',
        ],
        [
          generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
          'sha512',
        ],
        [
          generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
          'sha256',
        ],
      ];
      for (const [k, hash] of keys) {
        const r = await call(
          `${log.url}/api/v1/log/entries`,
          'POST',
          hashedrekord(k, Buffer.from(`alg ${hash}`), { hash })
        );
        assert.equal(r.status, 201, r.text);
      }
      // Ed25519 in hashedrekord is Ed25519ph over the SHA-512 digest.
      const ed = generateKeyPairSync('ed25519').privateKey;
      const digest = createHash('sha512').update('ed25519ph').digest();
      const edEntry = {
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: {
            hash: { algorithm: 'sha512', value: digest.toString('hex') },
          },
          signature: {
            content: ed25519phSignDigest(ed, digest).toString('base64'),
            publicKey: {
              content: Buffer.from(
                createPublicKey(ed).export({ type: 'spki', format: 'pem' })
              ).toString('base64'),
            },
          },
        },
      };
      const r = await call(`${log.url}/api/v1/log/entries`, 'POST', edEntry);
      assert.equal(r.status, 201, r.text);
      // A pure Ed25519 signature over the digest is not Ed25519ph.
      edEntry.spec.signature.content = sign(null, digest, ed).toString(
        'base64'
      );
      const pure = await call(`${log.url}/api/v1/log/entries`, 'POST', edEntry);
      assert.equal(pure.status, 400);
    });

    it('rejects a signature that does not verify over the stated digest with 400', async () => {
      const p = hashedrekord(privateKey, Buffer.from('tamper')) as {
        spec: { data: { hash: { value: string } } };
      };
      p.spec.data.hash.value = createHash('sha256')
        .update('other')
        .digest('hex');
      const r = await call(`${log.url}/api/v1/log/entries`, 'POST', p);
      assert.equal(r.status, 400);
      const body = JSON.parse(r.text) as { code: number; message: string };
      assert.equal(body.code, 400);
      assert.match(body.message, /^error processing entry: /);
    });

    it('rejects disallowed algorithms, unknown kinds and malformed JSON with 400', async () => {
      const wrongHash = hashedrekord(privateKey, Buffer.from('x'), {
        hash: 'sha512',
      });
      for (const b of [
        wrongHash,
        { apiVersion: '0.0.1', kind: 'rpm', spec: {} },
        { apiVersion: '0.0.9', kind: 'hashedrekord', spec: {} },
        '{"kind":',
        '{"kind":"hashedrekord","kind":"dsse"}',
      ]) {
        const r = await call(`${log.url}/api/v1/log/entries`, 'POST', b);
        assert.equal(r.status, 400, r.text);
        assert.equal((JSON.parse(r.text) as { code: number }).code, 400);
      }
    });

    it('logs dsse 0.0.1 and intoto 0.0.2 entries in Rekor canonical form', async () => {
      const payload = Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'x', digest: { sha256: 'ab'.repeat(32) } }],
          predicateType: 'https://example.com/p',
          predicate: {},
        })
      );
      const type = 'application/vnd.in-toto+json';
      const sig = sign('sha256', pae(type, payload), privateKey).toString(
        'base64'
      );
      const envelope = JSON.stringify({
        payloadType: type,
        payload: payload.toString('base64'),
        signatures: [{ keyid: '', sig }],
      });
      const pemB64 = Buffer.from(
        createPublicKey(privateKey).export({ type: 'spki', format: 'pem' })
      ).toString('base64');
      const d = await call(`${log.url}/api/v1/log/entries`, 'POST', {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: { proposedContent: { envelope, verifiers: [pemB64] } },
      });
      assert.equal(d.status, 201, d.text);
      const [did, de] = only(d.text);
      verifyEntry(did, de, logKey);
      const dBody = JSON.parse(Buffer.from(de.body, 'base64').toString()) as {
        spec: {
          envelopeHash: { value: string };
          payloadHash: { value: string };
          signatures: { signature: string; verifier: string }[];
        };
      };
      assert.equal(
        dBody.spec.envelopeHash.value,
        createHash('sha256').update(envelope).digest('hex')
      );
      assert.equal(
        dBody.spec.payloadHash.value,
        createHash('sha256').update(payload).digest('hex')
      );
      assert.deepEqual(dBody.spec.signatures, [
        { signature: sig, verifier: pemB64 },
      ]);

      const i = await call(`${log.url}/api/v1/log/entries`, 'POST', {
        apiVersion: '0.0.2',
        kind: 'intoto',
        spec: {
          content: {
            envelope: {
              payloadType: type,
              payload: Buffer.from(payload.toString('base64')).toString(
                'base64'
              ),
              signatures: [
                { sig: Buffer.from(sig).toString('base64'), publicKey: pemB64 },
              ],
            },
            hash: {
              algorithm: 'sha256',
              value: createHash('sha256').update(envelope).digest('hex'),
            },
          },
        },
      });
      assert.equal(i.status, 201, i.text);
      const [iid, ie] = only(i.text);
      verifyEntry(iid, ie, logKey);
      const iBody = JSON.parse(Buffer.from(ie.body, 'base64').toString()) as {
        spec: {
          content: {
            envelope: Record<string, unknown>;
            payloadHash: { value: string };
          };
        };
      };
      assert.equal(iBody.spec.content.envelope['payload'], undefined);
      assert.equal(
        iBody.spec.content.payloadHash.value,
        createHash('sha256').update(payload).digest('hex')
      );

      // A DSSE signature by another key is refused.
      const other = generateKeyPairSync('ec', {
        namedCurve: 'P-256',
      }).privateKey;
      const badSig = sign('sha256', pae(type, payload), other).toString(
        'base64'
      );
      const bad = await call(`${log.url}/api/v1/log/entries`, 'POST', {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          proposedContent: {
            envelope: JSON.stringify({
              payloadType: type,
              payload: payload.toString('base64'),
              signatures: [{ sig: badSig }],
            }),
            verifiers: [pemB64],
          },
        },
      });
      assert.equal(bad.status, 400);
    });

    it('answers misses with 404 and an empty body, malformed IDs with 422', async () => {
      const byIndex = await call(
        `${log.url}/api/v1/log/entries?logIndex=999999`,
        'GET'
      );
      assert.equal(byIndex.status, 404);
      assert.equal(byIndex.text, '');
      assert.equal(byIndex.headers.get('content-type'), null);
      const byId = await call(
        `${log.url}/api/v1/log/entries/${'ab'.repeat(32)}`,
        'GET'
      );
      assert.equal(byId.status, 404);
      assert.equal(byId.text, '');
      const bad = await call(`${log.url}/api/v1/log/entries/xyz`, 'GET');
      assert.equal(bad.status, 422);
      assert.ok((JSON.parse(bad.text) as { code: number }).code >= 600);
      const neg = await call(
        `${log.url}/api/v1/log/entries?logIndex=-1`,
        'GET'
      );
      assert.equal(neg.status, 422);
      // An 80-hex ID naming another tree is not this log's entry.
      const first = await call(
        `${log.url}/api/v1/log/entries?logIndex=0`,
        'GET'
      );
      const [id] = only(first.text);
      const other = await call(
        `${log.url}/api/v1/log/entries/0000000000000001${id.slice(16)}`,
        'GET'
      );
      assert.equal(other.status, 404);
    });

    it('retrieves by UUIDs, indexes and proposed entries, omitting misses, at most 10 terms', async () => {
      const proposed = hashedrekord(privateKey, Buffer.from('retrieve me'));
      const c = await call(`${log.url}/api/v1/log/entries`, 'POST', proposed);
      const [id, e] = only(c.text);
      const r = await call(`${log.url}/api/v1/log/entries/retrieve`, 'POST', {
        entryUUIDs: [id, 'cd'.repeat(32)],
        logIndexes: [e.logIndex, 99999999],
        entries: [proposed],
      });
      assert.equal(r.status, 200);
      const list = JSON.parse(r.text) as Record<string, AnonEntry>[];
      assert.equal(list.length, 3);
      for (const item of list) assert.deepEqual(Object.keys(item), [id]);
      const tooMany = await call(
        `${log.url}/api/v1/log/entries/retrieve`,
        'POST',
        {
          logIndexes: Array.from({ length: 11 }, (_, i) => i),
        }
      );
      assert.equal(tooMany.status, 422);
      assert.deepEqual(JSON.parse(tooMany.text), {
        code: 422,
        message: 'more than max allowed 10 entries in request',
      });
    });

    it('searches the index by artifact hash, public key and e-mail', async () => {
      const artifact = Buffer.from('find me by hash');
      const c = await call(
        `${log.url}/api/v1/log/entries`,
        'POST',
        hashedrekord(privateKey, artifact)
      );
      const [id] = only(c.text);
      const hex = createHash('sha256').update(artifact).digest('hex');
      for (const hash of [hex, `sha256:${hex}`, hex.toUpperCase()]) {
        const r = await call(`${log.url}/api/v1/index/retrieve`, 'POST', {
          hash,
        });
        assert.equal(r.status, 200);
        assert.deepEqual(JSON.parse(r.text), [id]);
      }
      const pem = createPublicKey(privateKey).export({
        type: 'spki',
        format: 'pem',
      });
      const byKey = await call(`${log.url}/api/v1/index/retrieve`, 'POST', {
        publicKey: {
          format: 'x509',
          content: Buffer.from(pem).toString('base64'),
        },
      });
      assert.equal(byKey.status, 200);
      const ids = JSON.parse(byKey.text) as string[];
      assert.ok(ids.includes(id));
      assert.ok(ids.length > 1);
      const both = await call(`${log.url}/api/v1/index/retrieve`, 'POST', {
        hash: hex,
        publicKey: {
          format: 'x509',
          content: Buffer.from(pem).toString('base64'),
        },
        operator: 'and',
      });
      assert.deepEqual(JSON.parse(both.text), [id]);
      // The keyless fixture certificate's e-mail SAN (case-insensitive).
      const byEmail = await call(`${log.url}/api/v1/index/retrieve`, 'POST', {
        email: 'Brian@Dehamer.com',
      });
      assert.equal(byEmail.status, 200);
      assert.equal((JSON.parse(byEmail.text) as string[]).length, 1);
      const none = await call(`${log.url}/api/v1/index/retrieve`, 'POST', {
        hash: 'sha256:' + '0'.repeat(64),
      });
      assert.deepEqual(JSON.parse(none.text), []);
    });

    it('serves log info and consistency proofs that verify between any two sizes', async () => {
      const info1 = JSON.parse(
        (await call(`${log.url}/api/v1/log`, 'GET')).text
      ) as {
        rootHash: string;
        treeSize: number;
        signedTreeHead: string;
        treeID: string;
      };
      const cp1 = verifyCheckpoint(info1.signedTreeHead, logKey);
      assert.equal(cp1.origin, `127.0.0.1 - ${info1.treeID}`);
      assert.equal(Number(cp1.size), info1.treeSize);
      for (let i = 0; i < 5; i++) {
        await call(
          `${log.url}/api/v1/log/entries`,
          'POST',
          hashedrekord(privateKey, Buffer.from(`grow ${i}`))
        );
      }
      const info2 = JSON.parse(
        (await call(`${log.url}/api/v1/log`, 'GET')).text
      ) as { rootHash: string; treeSize: number };
      assert.equal(info2.treeSize, info1.treeSize + 5);
      const roots = new Map<number, Buffer>();
      for (let n = 1; n <= info2.treeSize; n++) {
        const r = JSON.parse(
          (
            await call(
              `${log.url}/api/v1/log/proof?firstSize=1&lastSize=${n}`,
              'GET'
            )
          ).text
        ) as { rootHash: string };
        roots.set(n, Buffer.from(r.rootHash, 'hex'));
      }
      assert.equal(roots.get(info2.treeSize)?.toString('hex'), info2.rootHash);
      for (let m = 1; m <= info2.treeSize; m++) {
        for (const n of new Set([
          m,
          m + 1,
          Math.ceil((m + info2.treeSize) / 2),
          info2.treeSize,
        ])) {
          if (n > info2.treeSize) continue;
          const r = await call(
            `${log.url}/api/v1/log/proof?firstSize=${m}&lastSize=${n}`,
            'GET'
          );
          assert.equal(r.status, 200);
          const p = JSON.parse(r.text) as {
            rootHash: string;
            hashes: string[];
          };
          verifyConsistency(
            m,
            n,
            p.hashes.map((h) => Buffer.from(h, 'hex')),
            roots.get(m) as Buffer,
            roots.get(n) as Buffer
          );
        }
      }
      const tooBig = await call(
        `${log.url}/api/v1/log/proof?firstSize=1&lastSize=${info2.treeSize + 1}`,
        'GET'
      );
      assert.equal(tooBig.status, 400);
      const reversed = await call(
        `${log.url}/api/v1/log/proof?firstSize=3&lastSize=2`,
        'GET'
      );
      assert.equal(reversed.status, 400);
      assert.equal(
        (JSON.parse(reversed.text) as { message: string }).message,
        'firstSize(3) must be less than lastSize(2)'
      );
      const missing = await call(
        `${log.url}/api/v1/log/proof?firstSize=1`,
        'GET'
      );
      assert.equal(missing.status, 422);
    });

    it('answers 404 JSON for unknown paths', async () => {
      const r = await call(`${log.url}/api/v1/nope`, 'GET');
      assert.equal(r.status, 404);
    });
  });

  describe(`tlog serve validating on the HTTP thread (${backend})`, () => {
    let log: RunningLogServer;
    before(async () => {
      log = await startLogServer({ backend, verifyWorkers: 0 });
    });
    after(async () => {
      await log.stop();
    });
    it('accepts valid and rejects invalid entries without worker threads', async () => {
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const ok = await call(
        `${log.url}/api/v1/log/entries`,
        'POST',
        hashedrekord(key, Buffer.from('inline'))
      );
      assert.equal(ok.status, 201);
      const [id, e] = only(ok.text);
      verifyEntry(id, e, createPublicKey(log.publicKeyPem));
      const p = hashedrekord(key, Buffer.from('inline 2')) as {
        spec: { data: { hash: { value: string } } };
      };
      p.spec.data.hash.value = '00'.repeat(32);
      const bad = await call(`${log.url}/api/v1/log/entries`, 'POST', p);
      assert.equal(bad.status, 400);
      assert.match(
        (JSON.parse(bad.text) as { message: string }).message,
        /^error processing entry: /
      );
      const junk = await call(`${log.url}/api/v1/log/entries`, 'POST', '{');
      assert.equal(junk.status, 400);
    });
  });

  describe(`tlog serve body limit (${backend})`, () => {
    let log: RunningLogServer;
    before(async () => {
      log = await startLogServer({ backend, maxBodyBytes: 2048 });
    });
    after(async () => {
      await log.stop();
    });
    it('answers 413 with the limit above --max-body-bytes', async () => {
      const r = await call(
        `${log.url}/api/v1/log/entries`,
        'POST',
        'x'.repeat(4096)
      );
      assert.equal(r.status, 413);
      assert.deepEqual(JSON.parse(r.text), {
        code: 413,
        message: 'Request Entity Too Large. Limit set to 2048',
      });
    });
  });
}
