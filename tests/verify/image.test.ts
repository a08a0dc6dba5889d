/**
 * verifyImageSignatures against the real CNCF distribution registry: the
 * happy paths cosign supports, and hostile signature manifests that must
 * never verify and never crash.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ociDigest } from '../../src/core/digest.js';
import {
  generatePrivateKey,
  signerFromPrivateKey,
  verifierFromPublicKey,
  type Signer,
  type Verifier,
} from '../../src/keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildSignatureImage,
  signatureConfig,
  signatureTag,
  simpleSigningPayload,
} from '../../src/oci/cosign-layout.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { parseReference, type Reference } from '../../src/oci/reference.js';
import { RegistryClient, type RepoRef } from '../../src/oci/registry.js';
import { MediaType } from '../../src/oci/types.js';
import {
  NoMatchingSignatureError,
  verifyImageSignatures,
  verifyImages,
  parseByteSize,
} from '../../src/verify/image.js';
import { pushRandomImage } from '../support/images.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

let reg: RunningRegistry;
let client: RegistryClient;
let signer: Signer;
let verifier: Verifier;
let n = 0;

function repo(): RepoRef {
  n++;
  return { registry: reg.host, repository: `verify/test${n}` };
}

function ref(r: RepoRef, tagOrDigest: string): Reference {
  const sep = tagOrDigest.startsWith('sha256:') ? '@' : ':';
  return parseReference(`${r.registry}/${r.repository}${sep}${tagOrDigest}`);
}

function randomDigest(): string {
  return ociDigest(randomBytes(32));
}

interface LayerSpec {
  payload: Buffer;
  annotations?: Record<string, string>;
  mediaType?: string;
}

/** A layer carrying a valid signature of the cosign payload for `digest`. */
async function signedLayer(
  r: RepoRef,
  digest: string,
  s: Signer = signer,
  annotations?: Record<string, string>
): Promise<LayerSpec> {
  const payload = simpleSigningPayload({
    dockerReference: `${r.registry}/${r.repository}`,
    digest,
    annotations,
  });
  const sig = await s.sign(payload);
  return {
    payload,
    annotations: { [SIGNATURE_ANNOTATION]: sig.toString('base64') },
  };
}

/** Pushes the blobs and a cosign-layout signature manifest to `sha256-<hex>.sig`. */
async function pushSignatures(
  r: RepoRef,
  digest: string,
  layers: LayerSpec[],
  opts: { docker?: boolean } = {}
): Promise<void> {
  for (const l of layers) await client.putBlob(r, l.payload);
  const descs = layers.map((l) => ({
    mediaType: l.mediaType ?? SIMPLE_SIGNING_MEDIA_TYPE,
    size: l.payload.length,
    digest: ociDigest(l.payload),
    annotations: l.annotations,
  }));
  const img = buildSignatureImage(descs, { docker: opts.docker === true });
  await client.putBlob(r, img.configBytes);
  await client.putManifest(
    r,
    signatureTag(digest),
    img.manifestBytes,
    img.mediaType
  );
}

/** Pushes hand-written manifest JSON (for shapes the builder refuses to make). */
async function pushRawSignatureManifest(
  r: RepoRef,
  digest: string,
  json: string,
  layers: LayerSpec[]
): Promise<void> {
  for (const l of layers) await client.putBlob(r, l.payload);
  await client.putBlob(r, signatureConfig([]));
  await client.putManifest(
    r,
    signatureTag(digest),
    Buffer.from(json),
    MediaType.OciManifest
  );
}

function configDesc(): string {
  const c = signatureConfig([]);
  return `{"mediaType":"${MediaType.OciConfig}","size":${c.length},"digest":"${ociDigest(c)}"}`;
}

function layerDesc(l: LayerSpec): string {
  return JSON.stringify({
    mediaType: l.mediaType ?? SIMPLE_SIGNING_MEDIA_TYPE,
    size: l.payload.length,
    digest: ociDigest(l.payload),
    annotations: l.annotations,
  });
}

function blobPath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(
    reg.storageDir,
    'docker',
    'registry',
    'v2',
    'blobs',
    'sha256',
    hex.slice(0, 2),
    hex,
    'data'
  );
}

async function failures(
  p: Promise<unknown>
): Promise<NoMatchingSignatureError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NoMatchingSignatureError, String(err));
    assert.equal(err.name, 'VerificationError');
    assert.equal(err.code, 'NO_MATCHING_SIGNATURE');
    return err;
  }
  assert.fail('verification passed');
}

before(async () => {
  reg = await startRegistry();
  client = new RegistryClient({ credentials: staticCredentialProvider({}) });
  const key = generatePrivateKey();
  signer = signerFromPrivateKey(key);
  verifier = verifierFromPublicKey(key);
});

after(async () => {
  await client.close();
  await reg.stop();
});

describe('verifyImageSignatures', () => {
  it('verifies a tagged image signed in the cosign layout', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    await pushSignatures(r, img.digest, [await signedLayer(r, img.digest)]);
    const res = await verifyImageSignatures(client, ref(r, 'v1'), { verifier });
    assert.equal(res.digest, img.digest);
    assert.equal(res.signatureTag, signatureTag(img.digest));
    assert.equal(res.signatures.length, 1);
    assert.equal(res.failures.length, 0);
    assert.equal(
      res.signatures[0]!.claims?.critical.image['docker-manifest-digest'],
      img.digest
    );
  });

  it('verifies by digest without fetching the image, even when it does not exist', async () => {
    const r = repo();
    await pushRandomImage(client, r); // the repository exists
    const digest = randomDigest(); // no such manifest
    await pushSignatures(r, digest, [await signedLayer(r, digest)]);
    assert.equal(await client.headManifest(r, digest), undefined);
    const before = client.stats.requests;
    const res = await verifyImageSignatures(client, ref(r, digest), {
      verifier,
    });
    assert.equal(res.digest, digest);
    // One GET for the signature manifest, one for the payload blob.
    assert.equal(client.stats.requests - before, 2);
  });

  it('reports IMAGE_NOT_FOUND for an unknown tag and NO_SIGNATURES_FOUND for an unsigned image', async () => {
    const r = repo();
    await pushRandomImage(client, r, { tag: 'v1' });
    await assert.rejects(
      verifyImageSignatures(client, ref(r, 'nope'), { verifier }),
      {
        name: 'SignetError',
        code: 'IMAGE_NOT_FOUND',
      }
    );
    await assert.rejects(
      verifyImageSignatures(client, ref(r, 'v1'), { verifier }),
      {
        name: 'VerificationError',
        code: 'NO_SIGNATURES_FOUND',
      }
    );
    await assert.rejects(
      verifyImageSignatures(client, ref(r, randomDigest()), { verifier }),
      { name: 'VerificationError', code: 'NO_SIGNATURES_FOUND' }
    );
  });

  it('reports NO_SIGNATURES_FOUND for a signature manifest without layers', async () => {
    const r = repo();
    const digest = randomDigest();
    await pushSignatures(r, digest, []);
    await assert.rejects(
      verifyImageSignatures(client, ref(r, digest), { verifier }),
      {
        name: 'VerificationError',
        code: 'NO_SIGNATURES_FOUND',
      }
    );
  });

  it('verifies Docker schema2 signature manifests (COSIGN_DOCKER_MEDIA_TYPES)', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1', docker: true });
    await pushSignatures(r, img.digest, [await signedLayer(r, img.digest)], {
      docker: true,
    });
    const res = await verifyImageSignatures(client, ref(r, 'v1'), { verifier });
    assert.equal(res.signatures.length, 1);
  });

  it('reads signatures from the COSIGN_REPOSITORY repository', async () => {
    const r = repo();
    const sigRepo = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    // The payload still names the image's own repository.
    await pushSignatures(sigRepo, img.digest, [
      await signedLayer(r, img.digest),
    ]);
    const res = await verifyImageSignatures(client, ref(r, 'v1'), {
      verifier,
      signatureRepository: sigRepo,
    });
    assert.deepEqual(res.signatureRepository, sigRepo);
    assert.equal(res.signatures.length, 1);
    await assert.rejects(
      verifyImageSignatures(client, ref(r, 'v1'), { verifier }),
      {
        code: 'NO_SIGNATURES_FOUND',
      }
    );
  });

  it('verifies every layer and returns those that pass, with reasons for the rest', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    const otherKey = signerFromPrivateKey(generatePrivateKey());
    const good = await signedLayer(r, img.digest, signer, { env: 'prod' });
    const good2 = await signedLayer(r, img.digest);
    const foreign = await signedLayer(r, img.digest, otherKey);
    await pushSignatures(r, img.digest, [foreign, good, good2]);
    const res = await verifyImageSignatures(client, ref(r, 'v1'), { verifier });
    assert.equal(res.signatures.length, 2);
    assert.deepEqual(
      res.failures.map((f) => [f.index, f.error.code]),
      [[0, 'SIGNATURE_INVALID']]
    );
    // -a keeps only the layer whose payload carries the annotation.
    const annotated = await verifyImageSignatures(client, ref(r, 'v1'), {
      verifier,
      annotations: { env: 'prod' },
    });
    assert.equal(annotated.signatures.length, 1);
    assert.deepEqual(annotated.signatures[0]!.claims?.optional, {
      env: 'prod',
    });
    const err = await failures(
      verifyImageSignatures(client, ref(r, 'v1'), {
        verifier,
        annotations: { env: 'dev' },
      })
    );
    assert.deepEqual(
      err.failures.map((f) => f.error.code),
      ['SIGNATURE_INVALID', 'CLAIM_MISMATCH', 'CLAIM_MISMATCH']
    );
  });

  it('fetches a payload shared by several layers once', async () => {
    const r = repo();
    const digest = randomDigest();
    const a = await signedLayer(r, digest);
    // Same payload, second signature: skopeo writes such pairs (same digest).
    const b = {
      payload: a.payload,
      annotations: {
        [SIGNATURE_ANNOTATION]: (await signer.sign(a.payload)).toString(
          'base64'
        ),
      },
    };
    await pushSignatures(r, digest, [a, b]);
    const before = client.stats.requests;
    const res = await verifyImageSignatures(client, ref(r, digest), {
      verifier,
    });
    assert.equal(res.signatures.length, 2);
    assert.equal(client.stats.requests - before, 2);
  });
});

describe('verifyImageSignatures on hostile input', () => {
  it('refuses a signature manifest with more than 1000 layers, accepts 1000', async () => {
    const r = repo();
    const digest = randomDigest();
    const l = await signedLayer(r, digest);
    const manifest = (count: number) =>
      `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":${configDesc()},"layers":[${Array(count).fill(layerDesc(l)).join(',')}]}`;
    await pushRawSignatureManifest(r, digest, manifest(1001), [l]);
    await assert.rejects(
      verifyImageSignatures(client, ref(r, digest), { verifier }),
      {
        name: 'SignetError',
        code: 'MALFORMED_INPUT',
      }
    );
    await pushRawSignatureManifest(r, digest, manifest(1000), [l]);
    const res = await verifyImageSignatures(client, ref(r, digest), {
      verifier,
    });
    assert.equal(res.signatures.length, 1000);
  });

  it('never fetches a layer over the attachment size cap', async () => {
    const r = repo();
    const digest = randomDigest();
    const l = await signedLayer(r, digest);
    await pushSignatures(r, digest, [l]);
    const before = client.stats.requests;
    const err = await failures(
      verifyImageSignatures(client, ref(r, digest), {
        verifier,
        maxAttachmentSize: l.payload.length - 1,
      })
    );
    assert.deepEqual(
      err.failures.map((f) => f.error.code),
      ['ATTACHMENT_TOO_LARGE']
    );
    assert.equal(client.stats.requests - before, 1); // the manifest only
    const ok = await verifyImageSignatures(client, ref(r, digest), {
      verifier,
      maxAttachmentSize: l.payload.length,
    });
    assert.equal(ok.signatures.length, 1);
  });

  it('rejects invalid base64 in the signature annotation', async () => {
    const r = repo();
    const digest = randomDigest();
    const l = await signedLayer(r, digest);
    const b64 = l.annotations![SIGNATURE_ANNOTATION]!;
    // Each variant differs from the valid signature whatever its random
    // bytes are (an earlier version stripped padding the signature may not
    // have had, leaving it unchanged and valid).
    const variants = [
      b64.slice(0, -1), // truncated: not a multiple of 4
      `${b64}\n`,
      `-${b64.slice(1)}`, // base64url alphabet
      `!${b64.slice(1)}`,
      '',
    ];
    await pushSignatures(
      r,
      digest,
      variants.map((v) => ({
        payload: l.payload,
        annotations: { [SIGNATURE_ANNOTATION]: v },
      }))
    );
    const err = await failures(
      verifyImageSignatures(client, ref(r, digest), { verifier })
    );
    assert.equal(err.failures.length, variants.length);
    for (const f of err.failures)
      assert.equal(f.error.code, 'SIGNATURE_MALFORMED');
  });

  it('ignores layers of another media type, even with a valid signature', async () => {
    const r = repo();
    const digest = randomDigest();
    const l = await signedLayer(r, digest);
    await pushSignatures(r, digest, [
      { ...l, mediaType: 'application/vnd.dsse.envelope.v1+json' },
      { ...l, mediaType: MediaType.OciLayer },
    ]);
    await assert.rejects(
      verifyImageSignatures(client, ref(r, digest), { verifier }),
      {
        name: 'VerificationError',
        code: 'NO_SIGNATURES_FOUND',
      }
    );
    // Next to a real signature they are skipped and reported as such.
    await pushSignatures(r, digest, [
      { ...l, mediaType: MediaType.OciLayer },
      l,
    ]);
    const res = await verifyImageSignatures(client, ref(r, digest), {
      verifier,
    });
    assert.equal(res.signatures.length, 1);
    assert.deepEqual(
      res.failures.map((f) => [f.index, f.skipped]),
      [[0, true]]
    );
  });

  it('rejects a valid signature replayed onto another image', async () => {
    const r = repo();
    const a = await pushRandomImage(client, r, { tag: 'a' });
    const b = await pushRandomImage(client, r, { tag: 'b' });
    await pushSignatures(r, b.digest, [await signedLayer(r, a.digest)]);
    const err = await failures(
      verifyImageSignatures(client, ref(r, 'b'), { verifier })
    );
    assert.deepEqual(
      err.failures.map((f) => f.error.code),
      ['CLAIM_MISMATCH']
    );
    // Only --check-claims=false (as cosign) accepts it.
    const res = await verifyImageSignatures(client, ref(r, 'b'), {
      verifier,
      checkClaims: false,
    });
    assert.equal(res.signatures.length, 1);
  });

  it('rejects a payload blob whose stored bytes no longer match its digest', async () => {
    const r = repo();
    const digest = randomDigest();
    const l = await signedLayer(r, digest);
    await pushSignatures(r, digest, [l]);
    const path = blobPath(ociDigest(l.payload));
    const original = readFileSync(path);
    // Same length, one byte changed, so only the digest check can catch it.
    const corrupted = Buffer.from(original);
    corrupted[10] = corrupted[10]! ^ 0x20;
    writeFileSync(path, corrupted);
    try {
      const err = await failures(
        verifyImageSignatures(client, ref(r, digest), { verifier })
      );
      assert.deepEqual(
        err.failures.map((f) => f.error.code),
        ['REGISTRY_DIGEST_MISMATCH']
      );
    } finally {
      writeFileSync(path, original);
    }
    const res = await verifyImageSignatures(client, ref(r, digest), {
      verifier,
    });
    assert.equal(res.signatures.length, 1);
  });

  it('checks every descriptor size, also for a payload shared by several layers', async () => {
    const r = repo();
    const digest = randomDigest();
    const good = await signedLayer(r, digest);
    const lying = JSON.stringify({
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      size: good.payload.length - 1,
      digest: ociDigest(good.payload),
      annotations: good.annotations,
    });
    const json = `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":${configDesc()},"layers":[${lying},${layerDesc(good)}]}`;
    await pushRawSignatureManifest(r, digest, json, [good]);
    const res = await verifyImageSignatures(client, ref(r, digest), {
      verifier,
    });
    assert.equal(res.signatures.length, 1);
    assert.deepEqual(
      res.failures.map((f) => [f.index, f.error.code]),
      [[0, 'REGISTRY_DIGEST_MISMATCH']]
    );
  });

  it('rejects a signature manifest with duplicate keys', async () => {
    const r = repo();
    const digest = randomDigest();
    const good = await signedLayer(r, digest);
    // Go (the registry) keeps the last "layers"; a JSON.parse reader too.
    // Whatever each reader picks, Signet must refuse the document.
    const json = `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":${configDesc()},"layers":[],"layers":[${layerDesc(good)}]}`;
    await pushRawSignatureManifest(r, digest, json, [good]);
    await assert.rejects(
      verifyImageSignatures(client, ref(r, digest), { verifier }),
      {
        name: 'SignetError',
        code: 'MALFORMED_INPUT',
      }
    );
  });

  it('rejects a signature manifest with excessive nesting', async () => {
    const r = repo();
    const digest = randomDigest();
    const good = await signedLayer(r, digest);
    const json = `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":${configDesc()},"layers":[${layerDesc(good)}],"x":${'['.repeat(500)}${']'.repeat(500)}}`;
    await pushRawSignatureManifest(r, digest, json, [good]);
    await assert.rejects(
      verifyImageSignatures(client, ref(r, digest), { verifier }),
      {
        name: 'SignetError',
        code: 'MALFORMED_INPUT',
      }
    );
  });

  it('rejects a validly signed payload with duplicate keys naming the digest', async () => {
    const r = repo();
    const digest = randomDigest();
    const payload = Buffer.from(
      `{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"${randomDigest()}","docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`
    );
    const sig = await signer.sign(payload);
    await pushSignatures(r, digest, [
      {
        payload,
        annotations: { [SIGNATURE_ANNOTATION]: sig.toString('base64') },
      },
    ]);
    const err = await failures(
      verifyImageSignatures(client, ref(r, digest), { verifier })
    );
    assert.deepEqual(
      err.failures.map((f) => f.error.code),
      ['PAYLOAD_MALFORMED']
    );
  });

  it('refuses an index stored at the signature tag', async () => {
    const r = repo();
    const digest = randomDigest();
    const img = await pushRandomImage(client, r);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          {
            mediaType: img.mediaType,
            size: img.bytes.length,
            digest: img.digest,
          },
        ],
      })
    );
    await client.putManifest(
      r,
      signatureTag(digest),
      index,
      MediaType.OciIndex
    );
    await assert.rejects(
      verifyImageSignatures(client, ref(r, digest), { verifier }),
      {
        code: 'MALFORMED_INPUT',
      }
    );
  });
});

describe('verifyImages', () => {
  it('verifies many images, one settled result each, in order', async () => {
    const r = repo();
    const tags = ['a', 'b', 'c', 'd', 'e'];
    const imgs: { digest: string }[] = [];
    for (const t of tags) {
      const img = await pushRandomImage(client, r, { tag: t });
      if (t !== 'c')
        await pushSignatures(r, img.digest, [await signedLayer(r, img.digest)]);
      imgs.push(img);
    }
    const res = await verifyImages(
      client,
      tags.map((t) => ref(r, t)),
      { verifier, concurrency: 3 }
    );
    assert.deepEqual(
      res.map((x) => x.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']
    );
    res.forEach((x, i) => {
      if (x.status === 'fulfilled')
        assert.equal(x.value.digest, imgs[i]!.digest);
    });
  });
});

describe('parseByteSize (COSIGN_MAX_ATTACHMENT_SIZE)', () => {
  it('parses sizes as go-humanize ParseBytes does', () => {
    const cases: [string, number | undefined][] = [
      ['5120', 5120],
      ['20K', 20_000],
      ['20k', 20_000],
      ['20KiB', 20_480],
      ['3M', 3_000_000],
      ['45MiB', 45 * 1024 * 1024],
      ['1GB', 1e9],
      ['128MiB', 134_217_728],
      ['1.5 KiB', 1536],
      ['1,024', 1024],
      ['10 b', 10],
      ['', undefined],
      ['MiB', undefined],
      ['12 parsecs', undefined],
      ['-5', undefined],
      ['1e3', undefined],
    ];
    for (const [s, want] of cases) assert.equal(parseByteSize(s), want, s);
  });
});
