import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ociDigest } from '../../src/core/digest.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildSignatureImage,
  signatureTag,
  simpleSigningPayload,
} from '../../src/oci/cosign-layout.js';
import { parseReference } from '../../src/oci/reference.js';
import type { RegistryClient, RepoRef } from '../../src/oci/registry.js';
import { signImage, type SignRegistry } from '../../src/sign/index.js';
import { verifyImageSignatures } from '../../src/verify/image.js';
import { pushRandomImage } from '../support/images.js';
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

before(async () => {
  reg = await startRegistry();
  client = newClient();
});

after(async () => {
  await client.close();
  await reg.stop();
});

/**
 * What a cosign-style writer does: one read-modify-write of the .sig tag
 * from a state read earlier, here with `key`'s signature appended to the
 * given (stale) layer list.
 */
async function staleWrite(
  c: RegistryClient,
  repo: RepoRef,
  digest: string,
  staleLayers: Parameters<typeof buildSignatureImage>[0],
  key: TestKey
): Promise<void> {
  const payload = simpleSigningPayload({
    dockerReference: `${repo.registry}/${repo.repository}`,
    digest,
    annotations: { writer: 'stale' },
  });
  const sig = await key.signer.sign(payload);
  await c.putBlob(repo, payload);
  const img = buildSignatureImage(
    [
      ...staleLayers,
      {
        mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
        size: payload.length,
        digest: ociDigest(payload),
        annotations: { [SIGNATURE_ANNOTATION]: sig.toString('base64') },
      },
    ],
    { docker: false }
  );
  await c.putBlob(repo, img.configBytes);
  await c.putManifest(
    repo,
    signatureTag(digest),
    img.manifestBytes,
    img.mediaType
  );
}

describe('no signature is ever lost', () => {
  it('20 concurrent signers with different keys: all 20 signatures stored and verifiable', async () => {
    const repo = { registry: reg.host, repository: 'race/twenty' };
    const img = await pushRandomImage(client, repo, { tag: 'v1' });
    const keys = Array.from({ length: 20 }, () => newKey());
    // One client per signer: separate connections and tokens, like separate processes.
    const clients = keys.map(() => newClient());
    try {
      const results = await Promise.all(
        keys.map((k, i) =>
          signImage(parseReference(`${repo.registry}/${repo.repository}:v1`), {
            registry: clients[i]!,
            signer: k.signer,
          })
        )
      );
      const conflicts = results.reduce(
        (n, r) => n + (r[0]?.upload?.conflicts ?? 0),
        0
      );
      const stored = await readSignatures(
        client,
        repo,
        signatureTag(img.digest)
      );
      assert.equal(stored.manifest.layers.length, 20);
      for (const k of keys) {
        assert.equal(await countVerified(client, repo, stored, k.verifier), 1);
        // And through the verify path `signet verify --key` uses.
        const v = await verifyImageSignatures(
          client,
          parseReference(`${repo.registry}/${repo.repository}:v1`),
          { verifier: k.verifier }
        );
        assert.equal(v.digest, img.digest);
        assert.equal(v.signatures.length, 1);
      }
      // Every signer really raced: with 20 at once some overwrote others
      // and had to merge again (otherwise this test would prove nothing).
      assert.ok(conflicts > 0, 'expected at least one detected overwrite');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('re-merges after a stale cosign-style overwrite lands right after its PUT', async () => {
    const repo = { registry: reg.host, repository: 'race/stale' };
    const img = await pushRandomImage(client, repo);
    const ours = newKey();
    const theirs = newKey();
    const tag = signatureTag(img.digest);
    let interfered = false;
    // The real client, plus an overwrite by a writer who read before our PUT.
    const racing: SignRegistry = {
      headManifest: (r, t) => client.headManifest(r, t),
      getManifest: (r, t, o) => client.getManifest(r, t, o),
      putBlob: (r, b, o) => client.putBlob(r, b, o),
      putManifest: async (r, t, b, m) => {
        const res = await client.putManifest(r, t, b, m);
        if (t === tag && !interfered) {
          interfered = true;
          await staleWrite(client, repo, img.digest, [], theirs);
        }
        return res;
      },
    };
    const [signed] = await signImage(
      parseReference(`${repo.registry}/${repo.repository}@${img.digest}`),
      { registry: racing, signer: ours.signer }
    );
    assert.equal(signed?.upload?.conflicts, 1);
    assert.equal(signed?.upload?.writes, 2);
    const stored = await readSignatures(client, repo, tag);
    assert.equal(await countVerified(client, repo, stored, ours.verifier), 1);
    assert.equal(await countVerified(client, repo, stored, theirs.verifier), 1);
  });

  it("restores another signer's layer that a stale writer dropped (helping)", async () => {
    const repo = { registry: reg.host, repository: 'race/helping' };
    const img = await pushRandomImage(client, repo);
    const carol = newKey();
    const ours = newKey();
    const theirs = newKey();
    const tag = signatureTag(img.digest);
    // Carol signed first; our signer sees her layer on its first read.
    await signImage(
      parseReference(`${repo.registry}/${repo.repository}@${img.digest}`),
      { registry: client, signer: carol.signer }
    );
    let interfered = false;
    const racing: SignRegistry = {
      headManifest: (r, t) => client.headManifest(r, t),
      getManifest: (r, t, o) => client.getManifest(r, t, o),
      putBlob: (r, b, o) => client.putBlob(r, b, o),
      putManifest: async (r, t, b, m) => {
        const res = await client.putManifest(r, t, b, m);
        if (t === tag && !interfered) {
          interfered = true;
          // A writer that read before Carol's signature existed.
          await staleWrite(client, repo, img.digest, [], theirs);
        }
        return res;
      },
    };
    await signImage(
      parseReference(`${repo.registry}/${repo.repository}@${img.digest}`),
      { registry: racing, signer: ours.signer }
    );
    const stored = await readSignatures(client, repo, tag);
    for (const k of [carol, ours, theirs]) {
      assert.equal(await countVerified(client, repo, stored, k.verifier), 1);
    }
  });

  it('fails with REGISTRY_CONFLICT, never silently, when overwritten every time', async () => {
    const repo = { registry: reg.host, repository: 'race/hostile' };
    const img = await pushRandomImage(client, repo);
    const ours = newKey();
    const theirs = newKey();
    const tag = signatureTag(img.digest);
    let overwrites = 0;
    const hostile: SignRegistry = {
      headManifest: (r, t) => client.headManifest(r, t),
      getManifest: (r, t, o) => client.getManifest(r, t, o),
      putBlob: (r, b, o) => client.putBlob(r, b, o),
      putManifest: async (r, t, b, m) => {
        const res = await client.putManifest(r, t, b, m);
        if (t === tag) {
          overwrites++;
          await staleWrite(client, repo, img.digest, [], theirs);
        }
        return res;
      },
    };
    await assert.rejects(
      signImage(
        parseReference(`${repo.registry}/${repo.repository}@${img.digest}`),
        {
          registry: hostile,
          signer: ours.signer,
          append: { maxWrites: 3, sleep: () => Promise.resolve() },
        }
      ),
      { name: 'SignetError', code: 'REGISTRY_CONFLICT' }
    );
    assert.equal(overwrites, 3);
  });
});
