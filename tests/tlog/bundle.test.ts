import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  entryArtifactDigest,
  entryIdOf,
  formatCosignBundle,
  parseBundleTlogEntry,
  parseCosignBundle,
  parseRekorLogEntry,
  parseSigstoreBundle,
  toBundleTlogEntry,
  toRekorLogEntry,
  treeIdFromOrigin,
} from '../../src/tlog/bundle.js';

const rekorDir = join(sharedFixtures, 'rekor', 'v1');
const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

/** api-logentry file → the bundle it was derived from (fixtures README). */
const derivedFrom: Record<string, string> = {
  'logIndex-6757503.json':
    'sigstore-js-client-v2-messageSignature.sigstore.json',
  'logIndex-155690850.json': 'happy-path-intoto-in-dsse-v3.sigstore.json',
  'logIndex-150614800.json': 'wrong-hashedrekord-artifact_fail.sigstore.json',
};
const malformed = { name: 'SignetError', code: 'MALFORMED_INPUT' };

describe('Rekor v1 API entries ↔ bundle entries', () => {
  for (const [api, bundleFile] of Object.entries(derivedFrom)) {
    const apiJson = readJson(join(rekorDir, 'api-logentry', api));
    const bundleJson = readJson(join(rekorDir, 'valid', bundleFile)) as {
      verificationMaterial: { tlogEntries: unknown[] };
    };
    const tle = bundleJson.verificationMaterial.tlogEntries[0];
    it(`${api}: API → model → bundle entry equals the real bundle entry`, () => {
      assert.deepEqual(toBundleTlogEntry(parseRekorLogEntry(apiJson)), tle);
    });
    it(`${api}: bundle entry → model → API JSON equals the derived file`, () => {
      const fromBundle = parseBundleTlogEntry(tle);
      assert.deepEqual(toRekorLogEntry(fromBundle), apiJson);
      const key = Object.keys(apiJson as object)[0];
      assert.equal(entryIdOf(fromBundle), key);
    });
  }
  it('parses every stored bundle of the fixtures', () => {
    for (const f of readdirSync(join(rekorDir, 'valid'))) {
      const b = parseSigstoreBundle(readJson(join(rekorDir, 'valid', f)));
      assert.equal(b.tlogEntries.length, 1, f);
    }
    const att = parseSigstoreBundle(
      readJson(
        join(sharedFixtures, 'cosign/bundle/oci-attestation.sigstore.json')
      )
    );
    assert.equal(att.version, '0.3');
    assert.equal(att.tlogEntries[0]?.logIndex, 175508996n);
    assert.equal(att.dsseEnvelope?.signatures.length, 1);
    assert.equal(att.certificates.length, 1);
  });
  it('reads tree IDs from Rekor origins only', () => {
    assert.equal(
      treeIdFromOrigin('rekor.sigstore.dev - 1193050959916656506'),
      1193050959916656506n
    );
    assert.equal(treeIdFromOrigin('log2025-1.rekor.sigstore.dev'), undefined);
    assert.equal(treeIdFromOrigin('x - 0'), undefined);
    assert.equal(treeIdFromOrigin('x - 18446744073709551616'), undefined);
  });
});

describe('parse guards', () => {
  const api = readJson(
    join(rekorDir, 'api-logentry', 'logIndex-6757503.json')
  ) as Record<string, Record<string, unknown>>;
  const [id, anon] = Object.entries(api)[0] as [
    string,
    Record<string, unknown>,
  ];
  const withAnon = (patch: Record<string, unknown>): unknown => ({
    [id]: { ...anon, ...patch },
  });
  const proof = (
    anon['verification'] as { inclusionProof: Record<string, unknown> }
  ).inclusionProof;
  const withProof = (patch: Record<string, unknown>): unknown =>
    withAnon({
      verification: {
        ...(anon['verification'] as object),
        inclusionProof: { ...proof, ...patch },
      },
    });
  const cases: [string, unknown][] = [
    ['two entries in one response', { ...api, ['0'.repeat(64)]: anon }],
    ['a negative logIndex', withAnon({ logIndex: -1 })],
    ['a fractional logIndex', withAnon({ logIndex: 1.5 })],
    ['a logIndex beyond 2^53', withAnon({ logIndex: 2 ** 60 })],
    [
      'a string integratedTime in the API',
      withAnon({ integratedTime: 'soon' }),
    ],
    ['a short logID', withAnon({ logID: 'c0d23d6a' })],
    ['a body that is not base64', withAnon({ body: '%%%' })],
    ['an empty body', withAnon({ body: '' })],
    ['a proof hash of 31 bytes', withProof({ hashes: ['00'.repeat(31)] })],
    ['a proof that is not an array', withProof({ hashes: 'abc' })],
    ['a huge proof', withProof({ hashes: Array(65).fill('00'.repeat(32)) })],
    ['a negative shard index', withProof({ logIndex: -5 })],
    ['a non-hex root', withProof({ rootHash: 'zz'.repeat(32) })],
    ['an entry ID that is not hex', { ['g'.repeat(64)]: anon }],
    ['not an object', [anon]],
  ];
  for (const [name, value] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseRekorLogEntry(value), malformed);
    });
  }
  const bundle = readJson(
    join(
      rekorDir,
      'valid',
      'sigstore-js-client-v2-messageSignature.sigstore.json'
    )
  ) as { verificationMaterial: { tlogEntries: Record<string, unknown>[] } };
  const tle = bundle.verificationMaterial.tlogEntries[0] as Record<
    string,
    unknown
  >;
  for (const [name, patch] of [
    ['an index beyond 64 bits', { logIndex: '18446744073709551616' }],
    ['a negative string index', { logIndex: '-1' }],
    ['a leading-zero index', { logIndex: '01' }],
    ['a logId that is not 32 bytes', { logId: { keyId: 'AAAA' } }],
  ] as const) {
    it(`rejects a bundle entry with ${name}`, () => {
      assert.throws(
        () => parseBundleTlogEntry({ ...tle, ...patch }),
        malformed
      );
    });
  }
  it('rejects a v0.2 bundle entry without an inclusion proof', () => {
    const noProof = { ...tle };
    delete noProof['inclusionProof'];
    const b = {
      ...bundle,
      verificationMaterial: {
        ...bundle.verificationMaterial,
        tlogEntries: [noProof],
      },
    };
    assert.throws(() => parseSigstoreBundle(b), malformed);
  });
  it('rejects an unknown bundle media type', () => {
    assert.throws(
      () => parseSigstoreBundle({ ...bundle, mediaType: 'application/json' }),
      malformed
    );
  });
});

describe('cosign bundle annotation', () => {
  const text = readFileSync(
    join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
    'utf8'
  );
  it('parses the annotation and writes it back byte for byte', () => {
    const e = parseCosignBundle(text);
    assert.equal(e.logIndex, 5179n);
    assert.equal(e.integratedTime, 1624396085n);
    assert.equal(e.inclusionProof, undefined);
    assert.equal(formatCosignBundle(e), text);
  });
  it('rejects non-JSON and missing fields', () => {
    assert.throws(() => parseCosignBundle('{'), malformed);
    assert.throws(() => parseCosignBundle('{"Payload":{}}'), malformed);
    assert.throws(() => parseCosignBundle('null'), malformed);
  });
});

describe('entryArtifactDigest', () => {
  it('reads the digest of hashedrekord and rekord bodies only', () => {
    const hr = Buffer.from(
      readFileSync(
        join(sharedFixtures, 'cosign/hashedrekord/body.b64'),
        'utf8'
      ),
      'base64'
    );
    assert.deepEqual(entryArtifactDigest(hr), {
      algorithm: 'sha256',
      hex: '38152d1dd326af405f899dbcc2ce350b5f16d45df7f23c488f4850afa1cd86d1',
    });
    const rekord = parseCosignBundle(
      readFileSync(
        join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
        'utf8'
      )
    );
    assert.equal(
      entryArtifactDigest(rekord.body)?.hex,
      'a4492b0eabdd2312f063290abd797d9d71a3ab28bd65a2c189b0df0d39b8c3b9'
    );
    const dsse = parseRekorLogEntry(
      readJson(join(rekorDir, 'api-logentry', 'logIndex-155690850.json'))
    );
    assert.equal(entryArtifactDigest(dsse.body), undefined);
  });
});
