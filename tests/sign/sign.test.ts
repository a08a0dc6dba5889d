import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ociDigest } from '../../src/core/digest.js';
import { RegistryError } from '../../src/errors.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildSignatureImage,
  signatureTag,
  simpleSigningPayload,
} from '../../src/oci/cosign-layout.js';
import { parseReference } from '../../src/oci/reference.js';
import type { RegistryClient } from '../../src/oci/registry.js';
import { MediaType } from '../../src/oci/types.js';
import { signImage, type SignLogEvent } from '../../src/sign/index.js';
import { pushIndex, pushRandomImage } from '../support/images.js';
import { profile } from '../support/quirk-profiles.js';
import { startQuirkProxy } from '../support/quirk-proxy.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import {
  countVerified,
  newClient,
  newKey,
  readSignatures,
  type TestKey,
} from './support.js';

let reg: RunningRegistry;
let client: RegistryClient;
let alice: TestKey;
let bob: TestKey;
let n = 0;

function repo(): { registry: string; repository: string } {
  n++;
  return { registry: reg.host, repository: `sign/test${n}` };
}

before(async () => {
  reg = await startRegistry();
  client = newClient();
  alice = newKey();
  bob = newKey();
});

after(async () => {
  await client.close();
  await reg.stop();
});

describe('signImage against the real registry', () => {
  it('signs a tagged image as cosign lays it out, warning about the tag', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    const events: SignLogEvent[] = [];
    const [signed] = await signImage(
      parseReference(`${r.registry}/${r.repository}:v1`),
      {
        registry: client,
        signer: alice.signer,
        log: (e) => events.push(e),
      }
    );
    assert.ok(signed);
    assert.equal(signed.digest, img.digest);
    assert.equal(signed.signatureTag, signatureTag(img.digest));
    const expectedPayload = simpleSigningPayload({
      dockerReference: `${r.registry}/${r.repository}`,
      digest: img.digest,
    });
    assert.deepEqual(signed.payload, expectedPayload);
    assert.ok(alice.verifier.verify(signed.payload, signed.signature));
    assert.ok(
      events.some(
        (e) =>
          e.level === 'warn' && e.message.includes('uses a tag, not a digest')
      )
    );
    assert.ok(
      events.some(
        (e) =>
          e.message === `Pushing signature to: ${r.registry}/${r.repository}`
      )
    );

    // The stored manifest is byte-identical to cosign's layout for this layer.
    const stored = await readSignatures(client, r, signed.signatureTag);
    const expected = buildSignatureImage(
      [
        {
          mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
          size: expectedPayload.length,
          digest: ociDigest(expectedPayload),
          annotations: {
            [SIGNATURE_ANNOTATION]: signed.signature.toString('base64'),
          },
        },
      ],
      { docker: false }
    );
    assert.deepEqual(stored.bytes, expected.manifestBytes);
    assert.equal(stored.mediaType, MediaType.OciManifest);
    const config = await client.getBlob(r, expected.configDigest);
    assert.deepEqual(config, expected.configBytes);
    assert.equal(await countVerified(client, r, stored, alice.verifier), 1);
  });

  it('does not add a layer when the same key re-signs the same payload (cosign dedup)', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r);
    const ref = parseReference(`${r.registry}/${r.repository}@${img.digest}`);
    await signImage(ref, { registry: client, signer: alice.signer });
    const before = await readSignatures(client, r, signatureTag(img.digest));
    const [again] = await signImage(ref, {
      registry: client,
      signer: alice.signer,
    });
    assert.equal(again?.upload?.added, 0);
    assert.equal(again?.upload?.deduplicated, 1);
    assert.equal(again?.upload?.writes, 0);
    const afterSig = await readSignatures(client, r, signatureTag(img.digest));
    assert.equal(afterSig.digest, before.digest);
  });

  it('appends a second key and a new annotation, keeping existing layers', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r);
    const ref = parseReference(`${r.registry}/${r.repository}@${img.digest}`);
    await signImage(ref, { registry: client, signer: alice.signer });
    await signImage(ref, { registry: client, signer: bob.signer });
    // Same key, new annotation: a different payload, so a new layer.
    await signImage(ref, {
      registry: client,
      signer: alice.signer,
      annotations: { env: 'prod' },
    });
    const stored = await readSignatures(client, r, signatureTag(img.digest));
    assert.equal(stored.manifest.layers.length, 3);
    assert.equal(await countVerified(client, r, stored, alice.verifier), 2);
    assert.equal(await countVerified(client, r, stored, bob.verifier), 1);
    const cfg = JSON.parse(
      (await client.getBlob(r, stored.manifest.config.digest)).toString()
    ) as { rootfs: { diff_ids: string[] }; history: unknown[] };
    assert.deepEqual(
      cfg.rootfs.diff_ids,
      stored.manifest.layers.map((l) => l.digest)
    );
    assert.equal(cfg.history.length, 3);
  });

  it('writes Docker media types when asked, and keeps them when appending', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r);
    const ref = parseReference(`${r.registry}/${r.repository}@${img.digest}`);
    await signImage(ref, {
      registry: client,
      signer: alice.signer,
      dockerMediaTypes: true,
    });
    let stored = await readSignatures(client, r, signatureTag(img.digest));
    assert.equal(stored.mediaType, MediaType.DockerManifest);
    assert.equal(stored.manifest.config.mediaType, MediaType.DockerConfig);
    // A later OCI-default signer keeps the existing Docker types.
    await signImage(ref, { registry: client, signer: bob.signer });
    stored = await readSignatures(client, r, signatureTag(img.digest));
    assert.equal(stored.mediaType, MediaType.DockerManifest);
    assert.equal(stored.manifest.config.mediaType, MediaType.DockerConfig);
    assert.equal(stored.manifest.layers.length, 2);
  });

  it('stores signatures in COSIGN_REPOSITORY while the payload names the image', async () => {
    const r = repo();
    const sigRepo = repo();
    const img = await pushRandomImage(client, r, { tag: 'latest' });
    const [signed] = await signImage(
      parseReference(`${r.registry}/${r.repository}`),
      { registry: client, signer: alice.signer, targetRepository: sigRepo }
    );
    assert.equal(
      signed?.signatureRepository,
      `${sigRepo.registry}/${sigRepo.repository}`
    );
    const stored = await readSignatures(
      client,
      sigRepo,
      signatureTag(img.digest)
    );
    const payload = await client.getBlob(
      sigRepo,
      stored.manifest.layers[0]!.digest
    );
    const doc = JSON.parse(payload.toString()) as {
      critical: { identity: { 'docker-reference': string } };
    };
    assert.equal(
      doc.critical.identity['docker-reference'],
      `${r.registry}/${r.repository}`
    );
    assert.equal(
      await client.headManifest(r, signatureTag(img.digest)),
      undefined
    );
  });

  it('signs an index and every child with --recursive', async () => {
    const r = repo();
    const idx = await pushIndex(client, r, { tag: 'multi', platforms: 3 });
    const signed = await signImage(
      parseReference(`${r.registry}/${r.repository}:multi`),
      { registry: client, signer: alice.signer, recursive: true }
    );
    assert.deepEqual(
      signed.map((s) => s.digest),
      [idx.digest, ...idx.children]
    );
    for (const d of [idx.digest, ...idx.children]) {
      const stored = await readSignatures(client, r, signatureTag(d));
      assert.equal(await countVerified(client, r, stored, alice.verifier), 1);
      const payload = await client.getBlob(
        r,
        stored.manifest.layers[0]!.digest
      );
      assert.match(payload.toString(), new RegExp(d));
    }
  });

  it('signs only the index without --recursive', async () => {
    const r = repo();
    const idx = await pushIndex(client, r, { platforms: 2 });
    await signImage(
      parseReference(`${r.registry}/${r.repository}@${idx.digest}`),
      {
        registry: client,
        signer: alice.signer,
      }
    );
    assert.ok(await client.headManifest(r, signatureTag(idx.digest)));
    assert.equal(
      await client.headManifest(r, signatureTag(idx.children[0]!)),
      undefined
    );
  });

  it('signs a digest without any request to resolve it, even if absent', async () => {
    const r = repo();
    const digest = ociDigest('not pushed');
    const signed = await signImage(
      parseReference(`${r.registry}/${r.repository}@${digest}`),
      { registry: client, signer: alice.signer, upload: false }
    );
    assert.equal(signed[0]?.upload, undefined);
    assert.equal(signed[0]?.digest, digest);
    assert.equal(await client.headManifest(r, signatureTag(digest)), undefined);
  });

  it('fails with IMAGE_NOT_FOUND for a missing tag', async () => {
    const r = repo();
    await pushRandomImage(client, r, { tag: 'present' });
    await assert.rejects(
      signImage(parseReference(`${r.registry}/${r.repository}:absent`), {
        registry: client,
        signer: alice.signer,
      }),
      { name: 'SignetError', code: 'IMAGE_NOT_FOUND' }
    );
  });

  it('refuses to overwrite a .sig tag that holds something it cannot parse', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r);
    const idx = await pushIndex(client, r, { platforms: 1 });
    // Put an index at the image's .sig tag.
    await client.putManifest(
      r,
      signatureTag(img.digest),
      idx.bytes,
      idx.mediaType
    );
    await assert.rejects(
      signImage(parseReference(`${r.registry}/${r.repository}@${img.digest}`), {
        registry: client,
        signer: alice.signer,
      }),
      { name: 'SignetError', code: 'MALFORMED_INPUT' }
    );
    const still = await client.getManifest(r, signatureTag(img.digest));
    assert.equal(still.digest, idx.digest);
  });
});

describe('Docker media type fallback', () => {
  it('retries with Docker media types when the registry refuses OCI, and says so', async () => {
    const base = profile('distribution');
    const proxy = await startQuirkProxy({
      upstream: reg.url,
      profile: {
        ...base,
        proxied: true,
        quirks: {
          ...base.quirks,
          rejectManifestTypes: [MediaType.OciManifest],
        },
      },
    });
    const c = newClient();
    try {
      const r = { registry: proxy.host, repository: 'sign/fallback' };
      const img = await pushRandomImage(c, r, { docker: true });
      // The quirk is real: a plain OCI PUT is refused.
      await assert.rejects(
        c.putManifest(r, 'probe', Buffer.from('{}'), MediaType.OciManifest),
        (e: unknown) =>
          e instanceof RegistryError && e.ociCode === 'MANIFEST_INVALID'
      );
      const events: SignLogEvent[] = [];
      const [signed] = await signImage(
        parseReference(`${r.registry}/${r.repository}@${img.digest}`),
        { registry: c, signer: alice.signer, log: (e) => events.push(e) }
      );
      assert.equal(signed?.upload?.fellBackToDocker, true);
      assert.ok(
        events.some(
          (e) => e.level === 'warn' && e.message.includes('Docker media types')
        )
      );
      const stored = await readSignatures(c, r, signatureTag(img.digest));
      assert.equal(stored.mediaType, MediaType.DockerManifest);
      assert.equal(await countVerified(c, r, stored, alice.verifier), 1);

      // Without the fallback the refusal surfaces as the registry's error.
      const img2 = await pushRandomImage(c, r, { docker: true });
      await assert.rejects(
        signImage(
          parseReference(`${r.registry}/${r.repository}@${img2.digest}`),
          {
            registry: c,
            signer: alice.signer,
            dockerFallback: false,
          }
        ),
        { name: 'RegistryError' }
      );
    } finally {
      await c.close();
      await proxy.stop();
    }
  });
});
