import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  X509Certificate,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  parseCosignBundle,
  parseRekorLogEntry,
  parseSigstoreBundle,
  type LogEntry,
} from '../../src/tlog/bundle.js';
import { signCheckpoint, parseSignedNote } from '../../src/tlog/checkpoint.js';
import { signSET } from '../../src/tlog/set.js';
import {
  trustedLogsFromTrustedRoot,
  verifyEntryBodyBinding,
  verifyLogEntry,
} from '../../src/verify/tlog.js';

const rekorKey = createPublicKey(
  readFileSync(join(sharedFixtures, 'rekor/keys/rekor.sigstore.dev.pub.pem'))
);
const trusted = [{ publicKey: rekorKey, name: 'rekor.sigstore.dev' }];
const rekorDir = join(sharedFixtures, 'rekor', 'v1');
const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));
const vErr = { name: 'VerificationError', code: 'TLOG_VERIFICATION' };

function apiEntry(name: string): LogEntry {
  return parseRekorLogEntry(readJson(join(rekorDir, 'api-logentry', name)));
}
function bundleEntry(path: string): LogEntry {
  const e = parseSigstoreBundle(readJson(path)).tlogEntries[0];
  assert.ok(e);
  return e;
}

describe('verifyLogEntry accepts real public-good entries', () => {
  for (const f of readdirSync(join(rekorDir, 'api-logentry'))) {
    it(`API entry ${f}`, () => {
      const r = verifyLogEntry(apiEntry(f), trusted);
      assert.deepEqual(r.checks, [
        'log-id',
        'entry-id',
        'signed-entry-timestamp',
        'checkpoint',
        'inclusion-proof',
      ]);
      assert.equal(
        r.logID,
        'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d'
      );
    });
  }
  for (const f of readdirSync(join(rekorDir, 'valid'))) {
    it(`bundle ${f}`, () => {
      const e = bundleEntry(join(rekorDir, 'valid', f));
      const r = verifyLogEntry(e, [rekorKey], {
        now: new Date('2026-01-01T00:00:00Z'),
      });
      assert.ok(r.checks.includes('signed-entry-timestamp'));
      assert.ok(r.checks.includes('kind-version'));
      assert.equal(
        r.checks.includes('inclusion-proof'),
        e.inclusionProof !== undefined
      );
    });
  }
  it('the cosign OCI attestation bundle', () => {
    const e = bundleEntry(
      join(sharedFixtures, 'cosign/bundle/oci-attestation.sigstore.json')
    );
    const r = verifyLogEntry(e, trusted, {
      requireSET: true,
      requireInclusionProof: true,
    });
    assert.equal(
      r.checkpoint?.origin,
      'rekor.sigstore.dev - 1193050959916656506'
    );
  });
  it('the cosign bundle annotation (SET only)', () => {
    const text = readFileSync(
      join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
      'utf8'
    );
    const r = verifyLogEntry(parseCosignBundle(text), trusted, {
      requireSET: true,
      now: new Date('2021-06-23T00:00:00Z'),
    });
    assert.deepEqual(r.checks, [
      'log-id',
      'signed-entry-timestamp',
      'integrated-time',
    ]);
  });
  it('a v0.1 bundle without proof, unless a proof is required', () => {
    const e = bundleEntry(
      join(
        rekorDir,
        'valid',
        'sigstore-js-bundleV01-intoto-no-proof.sigstore.json'
      )
    );
    verifyLogEntry(e, trusted);
    assert.throws(
      () => verifyLogEntry(e, trusted, { requireInclusionProof: true }),
      vErr
    );
  });
});

describe('verifyLogEntry rejects tampered entries', () => {
  const base = apiEntry('logIndex-155690850.json');
  const other = apiEntry('logIndex-150614800.json');
  const proof = base.inclusionProof;
  assert.ok(proof);
  const otherLog = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const flip = (b: Buffer, i = 0): Buffer => {
    const c = Buffer.from(b);
    c[i] = (c[i] ?? 0) ^ 1;
    return c;
  };
  const withProof = (
    p: Partial<NonNullable<LogEntry['inclusionProof']>>
  ): LogEntry => ({
    ...base,
    inclusionProof: { ...proof, ...p },
  });
  const noUuid: LogEntry = { ...base };
  delete (noUuid as { uuid?: string }).uuid;
  const hintLine = parseSignedNote(proof.checkpoint).signatures[0];
  assert.ok(hintLine);
  const wrongHintNote = proof.checkpoint.replace(
    /— (\S+) (\S+)\n$/,
    (_m, name: string) =>
      `— ${name} ${Buffer.concat([Buffer.from('00000000', 'hex'), hintLine.signature]).toString('base64')}\n`
  );
  // A checkpoint for the same size and root, signed by another log's key.
  const foreignCheckpoint = signCheckpoint(
    {
      origin: 'rekor.sigstore.dev - 1193050959916656506',
      size: proof.treeSize,
      rootHash: proof.rootHash,
    },
    'rekor.sigstore.dev',
    otherLog.privateKey
  );

  const cases: [
    string,
    LogEntry,
    (KeyObject | { publicKey: KeyObject; name?: string })[]?,
  ][] = [
    [
      'a flipped proof hash',
      withProof({
        hashes: proof.hashes.map((h, i) => (i === 3 ? flip(h) : h)),
      }),
    ],
    [
      'a dropped last proof hash',
      withProof({ hashes: proof.hashes.slice(0, -1) }),
    ],
    [
      'an extra proof hash',
      withProof({ hashes: [...proof.hashes, proof.rootHash] }),
    ],
    [
      'a wrong root in the proof',
      withProof({ rootHash: flip(proof.rootHash) }),
    ],
    ['an edited body', { ...base, body: flip(base.body, 40) }],
    [
      'an edited body without entry ID',
      { ...noUuid, body: flip(base.body, 40) },
    ],
    [
      'a swapped SET',
      { ...base, signedEntryTimestamp: other.signedEntryTimestamp as Buffer },
    ],
    [
      'integratedTime + 1',
      { ...base, integratedTime: base.integratedTime + 1n },
    ],
    [
      'integratedTime - 1',
      { ...base, integratedTime: base.integratedTime - 1n },
    ],
    [
      'the shard-local index as global index',
      { ...base, logIndex: proof.logIndex },
    ],
    ['the global index in the proof', withProof({ logIndex: base.logIndex })],
    ['the neighbour leaf index', withProof({ logIndex: proof.logIndex - 1n })],
    ['a negative index', withProof({ logIndex: -1n })],
    ['a huge index', withProof({ logIndex: 2n ** 64n + proof.logIndex })],
    ['a huge tree size', withProof({ treeSize: 2n ** 70n })],
    [
      'the checkpoint of another entry',
      withProof({ checkpoint: other.inclusionProof?.checkpoint as string }),
    ],
    [
      'a checkpoint from another log key',
      withProof({ checkpoint: foreignCheckpoint }),
    ],
    ['a wrong key hint', withProof({ checkpoint: wrongHintNote })],
    [
      'a checkpoint with a hyphen for the em dash',
      withProof({ checkpoint: proof.checkpoint.replace('—', '-') }),
    ],
    [
      'a checkpoint without its final newline',
      withProof({ checkpoint: proof.checkpoint.slice(0, -1) }),
    ],
    ['an entry ID of another body', { ...base, uuid: other.uuid as string }],
    [
      'an entry ID naming another tree',
      { ...base, uuid: `24296fb24b8ad77a${(base.uuid as string).slice(16)}` },
    ],
    [
      'a claimed kind that is not the body kind',
      { ...base, kindVersion: { kind: 'hashedrekord', version: '0.0.1' } },
    ],
    [
      'no SET and no proof',
      {
        ...noUuid,
        inclusionProof: undefined,
        signedEntryTimestamp: undefined,
      } as unknown as LogEntry,
    ],
    ['an untrusted log', base, [otherLog.publicKey]],
    [
      'a trusted key with another checkpoint name',
      base,
      [{ publicKey: rekorKey, name: 'rekor.example.com' }],
    ],
  ];
  for (const [name, entry, keys] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(() => verifyLogEntry(entry, keys ?? trusted), vErr);
    });
  }
  it('rejects an entry signed by a different log even with a valid SET from that log', () => {
    const forged: LogEntry = {
      ...noUuid,
      inclusionProof: undefined,
      signedEntryTimestamp: signSET(
        {
          body: base.body.toString('base64'),
          integratedTime: base.integratedTime,
          logID: base.logID.toString('hex'),
          logIndex: base.logIndex,
        },
        otherLog.privateKey
      ),
    } as unknown as LogEntry;
    assert.throws(() => verifyLogEntry(forged, trusted), vErr);
  });
  it('enforces the key validity window and the clock', () => {
    const t = new Date(Number(base.integratedTime) * 1000);
    assert.throws(
      () =>
        verifyLogEntry(base, [
          { publicKey: rekorKey, validFrom: new Date(t.getTime() + 1000) },
        ]),
      vErr
    );
    assert.throws(
      () =>
        verifyLogEntry(base, [
          { publicKey: rekorKey, validUntil: new Date(t.getTime() - 1000) },
        ]),
      vErr
    );
    assert.throws(
      () =>
        verifyLogEntry(base, trusted, {
          now: new Date(t.getTime() - 3600_000),
        }),
      vErr
    );
    verifyLogEntry(
      base,
      [{ publicKey: rekorKey, validFrom: new Date('2021-01-12T11:53:27Z') }],
      {
        now: t,
      }
    );
  });
  it('requires a SET when asked', () => {
    const noSet: LogEntry = { ...base };
    delete (noSet as { signedEntryTimestamp?: Buffer }).signedEntryTimestamp;
    verifyLogEntry(noSet, trusted);
    assert.throws(
      () => verifyLogEntry(noSet, trusted, { requireSET: true }),
      vErr
    );
  });
});

describe('verifyEntryBodyBinding', () => {
  const body = Buffer.from(
    readFileSync(join(sharedFixtures, 'cosign/hashedrekord/body.b64'), 'utf8'),
    'base64'
  );
  const pem = (
    JSON.parse(body.toString()) as {
      spec: { signature: { publicKey: { content: string } } };
    }
  ).spec.signature.publicKey.content;
  const key = createPublicKey(Buffer.from(pem, 'base64'));
  const sig = Buffer.from(
    'MEQCIDO3XHbLovPWK+bk8ItCig2cwlr/8MXbLvz3UFzxMGIMAiA1lqdM9IqqUvCUqzOjufTq3sKU3qSn7R5tPqPz0ddNwQ==',
    'base64'
  );
  const digest = {
    algorithm: 'sha256',
    hex: '38152d1dd326af405f899dbcc2ce350b5f16d45df7f23c488f4850afa1cd86d1',
  };
  it('accepts the cosign fixture signature, digest and key', () => {
    verifyEntryBodyBinding(body, { signature: sig, digest, publicKey: key });
  });
  it('rejects another signature, digest or key', () => {
    assert.throws(
      () =>
        verifyEntryBodyBinding(body, {
          signature: Buffer.from('bm9wZQo=', 'base64'),
          digest,
          publicKey: key,
        }),
      vErr
    );
    assert.throws(
      () =>
        verifyEntryBodyBinding(body, {
          signature: sig,
          digest: { ...digest, hex: '00'.repeat(32) },
          publicKey: key,
        }),
      vErr
    );
    assert.throws(
      () =>
        verifyEntryBodyBinding(body, {
          signature: sig,
          digest: { ...digest, algorithm: 'sha512' },
          publicKey: key,
        }),
      vErr
    );
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.throws(
      () =>
        verifyEntryBodyBinding(body, {
          signature: sig,
          digest,
          publicKey: other,
        }),
      vErr
    );
  });
  it('binds a keyless bundle to its certificate and message signature', () => {
    const bundle = parseSigstoreBundle(
      readJson(
        join(
          rekorDir,
          'valid',
          'sigstore-js-client-v2-messageSignature.sigstore.json'
        )
      )
    );
    const ms = bundle.messageSignature;
    const e = bundle.tlogEntries[0];
    assert.ok(ms && e);
    const binding = {
      signature: ms.signature,
      digest: { algorithm: 'sha256', hex: ms.digest.toString('hex') },
      certificate: bundle.certificates[0] as Buffer,
    };
    verifyEntryBodyBinding(e.body, binding);
    const { certificate, ...rest } = binding;
    verifyEntryBodyBinding(e.body, {
      ...rest,
      publicKey: new X509Certificate(certificate).publicKey,
    });
  });
  it('rejects the conformance bundle whose artifact does not match its entry', () => {
    const bundle = parseSigstoreBundle(
      readJson(
        join(
          rekorDir,
          'valid',
          'wrong-hashedrekord-artifact_fail.sigstore.json'
        )
      )
    );
    const ms = bundle.messageSignature;
    const e = bundle.tlogEntries[0];
    assert.ok(ms && e);
    verifyLogEntry(e, trusted); // the entry itself is valid
    assert.throws(
      () =>
        verifyEntryBodyBinding(e.body, {
          signature: ms.signature,
          digest: { algorithm: 'sha256', hex: ms.digest.toString('hex') },
          certificate: bundle.certificates[0] as Buffer,
        }),
      vErr
    );
  });
  it('binds the legacy rekord body of the cosign annotation to its certificate', () => {
    const text = readFileSync(
      join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
      'utf8'
    );
    const e = parseCosignBundle(text);
    const spec = (
      JSON.parse(e.body.toString()) as {
        spec: {
          data: { hash: { value: string } };
          signature: { content: string; publicKey: { content: string } };
        };
      }
    ).spec;
    const certPem = Buffer.from(
      spec.signature.publicKey.content,
      'base64'
    ).toString();
    const cert = new X509Certificate(certPem);
    verifyEntryBodyBinding(e.body, {
      signature: Buffer.from(spec.signature.content, 'base64'),
      digest: { algorithm: 'sha256', hex: spec.data.hash.value },
      certificate: cert.raw,
    });
  });
  it('refuses kinds it cannot bind', () => {
    const e = apiEntry('logIndex-155690850.json'); // dsse
    assert.throws(
      () =>
        verifyEntryBodyBinding(e.body, {
          signature: sig,
          digest,
          publicKey: key,
        }),
      vErr
    );
  });
});

describe('trustedLogsFromTrustedRoot', () => {
  // The public-good v1 and v2 logs as a trusted root lists them (spec §0).
  const v1Der = rekorKey.export({ type: 'spki', format: 'der' });
  const root = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.sigstore.dev',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: v1Der.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2021-01-12T11:53:27.000Z' },
        },
        logId: { keyId: 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=' },
      },
      {
        baseUrl: 'https://log2025-1.rekor.sigstore.dev',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes:
            'MCowBQYDK2VwAyEAt8rlp1knGwjfbcXAYPYAkn0XiLz1x8O4t0YkEhie244=',
          keyDetails: 'PKIX_ED25519',
          validFor: { start: '2025-09-23T00:00:00Z' },
        },
        logId: { keyId: 'zxGZFVvd0FEmjR8WrFwMdcAJ9vtaY/QXf44Y1wUeP6A=' },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  it('keeps the v1 log with its name and validity, and leaves out the v2 log', () => {
    const logs = trustedLogsFromTrustedRoot(root);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]?.name, 'rekor.sigstore.dev');
    assert.equal(logs[0]?.validFrom?.toISOString(), '2021-01-12T11:53:27.000Z');
    for (const f of readdirSync(join(rekorDir, 'api-logentry'))) {
      verifyLogEntry(apiEntry(f), logs);
    }
  });
  it('refuses entries integrated before the key was valid', () => {
    const late = structuredClone(root);
    (
      late.tlogs[0] as { publicKey: { validFor: { start: string } } }
    ).publicKey.validFor.start = '2025-01-01T00:00:00Z';
    assert.throws(
      () =>
        verifyLogEntry(
          apiEntry('logIndex-6757503.json'),
          trustedLogsFromTrustedRoot(late)
        ),
      vErr
    );
  });
  it('rejects malformed roots', () => {
    const bad = { name: 'SignetError', code: 'MALFORMED_INPUT' };
    assert.throws(() => trustedLogsFromTrustedRoot({}), bad);
    assert.throws(() => trustedLogsFromTrustedRoot({ tlogs: [{}] }), bad);
    const badKey = structuredClone(root);
    (
      badKey.tlogs[0] as { publicKey: { rawBytes: string } }
    ).publicKey.rawBytes = 'AAAA';
    assert.throws(() => trustedLogsFromTrustedRoot(badKey), bad);
    const badTime = structuredClone(root);
    (
      badTime.tlogs[0] as { publicKey: { validFor: { start: string } } }
    ).publicKey.validFor.start = 'yesterday';
    assert.throws(() => trustedLogsFromTrustedRoot(badTime), bad);
  });
});
