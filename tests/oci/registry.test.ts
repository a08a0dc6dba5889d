/**
 * RegistryClient against the real CNCF distribution registry (Debian
 * docker-registry 2.8.2) on loopback, anonymous access.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { ociDigest } from '../../src/core/digest.js';
import { MediaType } from '../../src/oci/types.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { startRegistry } from '../support/registry.js';
import type { RunningRegistry } from '../support/registry.js';
import { pushIndex, pushRandomImage } from '../support/images.js';

const execFileAsync = promisify(execFile);

describe('RegistryClient against distribution (anonymous)', () => {
  let reg: RunningRegistry;
  let client: RegistryClient;
  const repo = () => ({ registry: reg.host, repository: 'signet/app' });

  before(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ credentials: staticCredentialProvider({}) });
  });
  after(async () => {
    await client.close();
    await reg.stop();
  });

  it('talks plain http to a loopback registry and needs no auth', async () => {
    assert.equal((await client.baseUrl(reg.host)).protocol, 'http:');
    assert.deepEqual(await client.authScheme(reg.host), { kind: 'none' });
  });

  it('pushes an OCI image and reads it back by tag and by digest, byte for byte', async () => {
    const img = await pushRandomImage(client, repo(), {
      tag: 'oci',
      layers: [10, 3000],
    });
    const byTag = await client.getManifest(repo(), 'oci');
    assert.equal(byTag.digest, img.digest);
    assert.equal(byTag.mediaType, MediaType.OciManifest);
    assert.ok(byTag.bytes.equals(img.bytes));
    const byDigest = await client.getManifest(repo(), img.digest);
    assert.ok(byDigest.bytes.equals(img.bytes));
    assert.equal(byDigest.digest, ociDigest(byDigest.bytes));
  });

  it('agrees with skopeo on manifest bytes and digest', async () => {
    const img = await pushRandomImage(client, repo(), { tag: 'skopeo' });
    const ref = `docker://${reg.host}/signet/app:skopeo`;
    const raw = await execFileAsync(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', ref],
      { encoding: 'buffer' }
    );
    assert.ok(Buffer.from(raw.stdout).equals(img.bytes));
    const m = await client.getManifest(repo(), 'skopeo');
    assert.equal(m.digest, img.digest);
  });

  it('pushes Docker schema 2 images and manifest lists', async () => {
    const img = await pushRandomImage(client, repo(), {
      tag: 'docker',
      docker: true,
    });
    const m = await client.getManifest(repo(), 'docker');
    assert.equal(m.mediaType, MediaType.DockerManifest);
    assert.equal(m.digest, img.digest);
    const list = await pushIndex(client, repo(), {
      tag: 'list',
      docker: true,
      platforms: 3,
    });
    const l = await client.getManifest(repo(), 'list');
    assert.equal(l.mediaType, MediaType.DockerManifestList);
    assert.equal(l.digest, list.digest);
    const parsed = JSON.parse(l.bytes.toString('utf8')) as {
      manifests: { digest: string }[];
    };
    assert.deepEqual(
      parsed.manifests.map((x) => x.digest),
      list.children
    );
    for (const child of list.children) {
      const c = await client.getManifest(repo(), child);
      assert.equal(c.mediaType, MediaType.DockerManifest);
    }
  });

  it('pushes OCI indexes', async () => {
    const idx = await pushIndex(client, repo(), { tag: 'index' });
    const m = await client.getManifest(repo(), 'index');
    assert.equal(m.mediaType, MediaType.OciIndex);
    assert.equal(m.digest, idx.digest);
  });

  it('needs the full Accept list: distribution hides OCI manifests from Docker-only clients', async () => {
    await pushRandomImage(client, repo(), { tag: 'strict' });
    await assert.rejects(
      client.getManifest(repo(), 'strict', {
        accept: [MediaType.DockerManifest],
      }),
      {
        name: 'RegistryError',
        code: 'REGISTRY_NOT_FOUND',
        ociCode: 'MANIFEST_UNKNOWN',
      }
    );
  });

  it('resolves digests with HEAD and returns undefined for a missing tag', async () => {
    const img = await pushRandomImage(client, repo(), { tag: 'head' });
    const before = client.stats.requests;
    const h = await client.headManifest(repo(), 'head');
    assert.equal(client.stats.requests - before, 1);
    assert.deepEqual(h, {
      digest: img.digest,
      mediaType: MediaType.OciManifest,
      size: img.bytes.length,
    });
    assert.equal(await client.headManifest(repo(), 'no-such-tag'), undefined);
    assert.equal(
      await client.headManifest(repo(), ociDigest(randomBytes(8))),
      undefined
    );
  });

  it('reports a missing manifest as REGISTRY_NOT_FOUND with the OCI code', async () => {
    await assert.rejects(client.getManifest(repo(), 'missing'), {
      name: 'RegistryError',
      code: 'REGISTRY_NOT_FOUND',
      ociCode: 'MANIFEST_UNKNOWN',
      status: 404,
    });
  });

  it('refuses non-sha256 digests before asking the registry', async () => {
    await assert.rejects(
      client.getManifest(repo(), `sha512:${'a'.repeat(128)}`),
      { name: 'RegistryError', code: 'REGISTRY_UNSUPPORTED' }
    );
  });

  it('surfaces registry rejections: wrong Content-Type, missing blobs, missing index children', async () => {
    const img = await pushRandomImage(client, repo());
    await assert.rejects(
      client.putManifest(
        repo(),
        'wrong-type',
        img.bytes,
        MediaType.DockerManifest
      ),
      {
        name: 'RegistryError',
        code: 'REGISTRY_PROTOCOL',
        ociCode: 'MANIFEST_INVALID',
        status: 400,
      }
    );
    const orphan = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: {
          mediaType: MediaType.OciConfig,
          digest: ociDigest('nope'),
          size: 4,
        },
        layers: [],
      })
    );
    await assert.rejects(
      client.putManifest(repo(), 'orphan', orphan, MediaType.OciManifest),
      { name: 'RegistryError', ociCode: 'MANIFEST_BLOB_UNKNOWN', status: 400 }
    );
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          {
            mediaType: MediaType.OciManifest,
            digest: ociDigest('child'),
            size: 5,
          },
        ],
      })
    );
    await assert.rejects(
      client.putManifest(repo(), 'bad-index', index, MediaType.OciIndex),
      { name: 'RegistryError', ociCode: 'MANIFEST_BLOB_UNKNOWN' }
    );
  });

  it('refuses to push a manifest under a digest it does not hash to', async () => {
    const img = await pushRandomImage(client, repo());
    const before = client.stats.requests;
    await assert.rejects(
      client.putManifest(repo(), ociDigest('other'), img.bytes, img.mediaType),
      { name: 'RegistryError', code: 'REGISTRY_DIGEST_MISMATCH' }
    );
    assert.equal(client.stats.requests, before);
  });

  it('deletes manifests by digest', async () => {
    const img = await pushRandomImage(client, repo(), { tag: 'doomed' });
    await client.deleteManifest(repo(), img.digest);
    assert.equal(await client.headManifest(repo(), img.digest), undefined);
    assert.equal(await client.headManifest(repo(), 'doomed'), undefined);
    await assert.rejects(client.deleteManifest(repo(), img.digest), {
      name: 'RegistryError',
      code: 'REGISTRY_NOT_FOUND',
    });
  });

  it('checks blob existence and downloads blobs with digest and size verified', async () => {
    const img = await pushRandomImage(client, repo(), { layers: [5000] });
    const layer = img.layers[0];
    assert.ok(layer);
    assert.equal(await client.blobExists(repo(), layer.digest), true);
    assert.equal(await client.blobExists(repo(), ociDigest('absent')), false);
    const data = await client.getBlob(repo(), layer.digest, {
      expectedSize: 5000,
    });
    assert.equal(ociDigest(data), layer.digest);
    await assert.rejects(
      client.getBlob(repo(), layer.digest, { expectedSize: 4999 }),
      { name: 'RegistryError', code: 'REGISTRY_DIGEST_MISMATCH' }
    );
    await assert.rejects(
      client.getBlob(repo(), layer.digest, { expectedSize: 5001 }),
      { name: 'RegistryError', code: 'REGISTRY_DIGEST_MISMATCH' }
    );
    await assert.rejects(
      client.getBlob(repo(), layer.digest, { maxBytes: 4096 }),
      {
        name: 'RegistryError',
        code: 'REGISTRY_TOO_LARGE',
      }
    );
    await assert.rejects(client.getBlob(repo(), ociDigest('absent')), {
      name: 'RegistryError',
      code: 'REGISTRY_NOT_FOUND',
      ociCode: 'BLOB_UNKNOWN',
    });
  });

  it('uploads with POST + one monolithic PUT, and skips blobs already present', async () => {
    const data = randomBytes(20_000);
    let before = client.stats.requests;
    const d = await client.putBlob(repo(), data);
    assert.deepEqual(d, { digest: ociDigest(data), size: data.length });
    assert.equal(client.stats.requests - before, 3); // HEAD, POST, PUT
    before = client.stats.requests;
    await client.putBlob(repo(), data);
    assert.equal(client.stats.requests - before, 1); // HEAD only
    assert.ok((await client.getBlob(repo(), d.digest)).equals(data));
  });

  it('uploads the empty blob', async () => {
    const d = await client.putBlob(repo(), new Uint8Array(0));
    assert.equal(d.size, 0);
    assert.equal(
      (await client.getBlob(repo(), d.digest, { expectedSize: 0 })).length,
      0
    );
  });

  it('uploads in chunks with PATCH when asked to', async () => {
    const chunked = new RegistryClient({
      credentials: staticCredentialProvider({}),
      uploadMode: 'chunked',
      chunkSize: 1000,
      minChunkSize: 1,
    });
    try {
      const data = randomBytes(3500);
      const before = chunked.stats.requests;
      const d = await chunked.putBlob(repo(), data);
      // ping(s), HEAD, POST, 4 PATCH, PUT
      assert.ok(chunked.stats.requests - before >= 7);
      assert.ok(
        (await client.getBlob(repo(), d.digest, { expectedSize: 3500 })).equals(
          data
        )
      );
    } finally {
      await chunked.close();
    }
  });

  it('mounts blobs from another repository of the same registry', async () => {
    const img = await pushRandomImage(client, repo(), { layers: [4000] });
    const other = { registry: reg.host, repository: 'signet/mounted' };
    const layer = img.layers[0];
    assert.ok(layer);
    const data = await client.getBlob(repo(), layer.digest);
    const before = client.stats.requests;
    await client.putBlob(other, data, { mountFrom: repo() });
    assert.equal(client.stats.requests - before, 2); // HEAD, POST ?mount= → 201
    assert.equal(await client.blobExists(other, layer.digest), true);
  });

  it('falls back to a normal upload when the mount source lacks the blob', async () => {
    const other = { registry: reg.host, repository: 'signet/mount-miss' };
    const data = randomBytes(300);
    const before = client.stats.requests;
    await client.putBlob(other, data, { mountFrom: repo() });
    assert.equal(client.stats.requests - before, 3); // HEAD, POST mount → 202, PUT
    assert.ok((await client.getBlob(other, ociDigest(data))).equals(data));
  });

  it('lists tags', async () => {
    const r = { registry: reg.host, repository: 'signet/tags' };
    for (const t of ['a', 'b', 'c'])
      await pushRandomImage(client, r, { tag: t });
    assert.deepEqual((await client.listTags(r)).sort(), ['a', 'b', 'c']);
    await assert.rejects(
      client.listTags({ registry: reg.host, repository: 'signet/none' }),
      {
        name: 'RegistryError',
        code: 'REGISTRY_NOT_FOUND',
        ociCode: 'NAME_UNKNOWN',
      }
    );
  });

  it('reports no referrers API on distribution 2.8 (404 text/plain)', async () => {
    const img = await pushRandomImage(client, repo());
    assert.equal(await client.referrers(repo(), img.digest), undefined);
  });

  it('reuses its connection for sequential requests', async () => {
    await pushRandomImage(client, repo(), { tag: 'keepalive' });
    const before = client.stats.requests;
    for (let i = 0; i < 20; i++) await client.headManifest(repo(), 'keepalive');
    assert.equal(client.stats.requests - before, 20);
  });
});

describe('RegistryClient transport policy', () => {
  it('refuses plain http to a non-loopback host without --allow-http-registry', async () => {
    const { Transport } = await import('../../src/oci/transport.js');
    const t = new Transport();
    try {
      await assert.rejects(
        t.send({
          method: 'GET',
          url: new URL('http://10.255.255.1/v2/'),
          what: 'test',
        }),
        { name: 'RegistryError', code: 'REGISTRY_INSECURE_REFUSED' }
      );
      assert.equal(t.stats.requests, 0);
    } finally {
      await t.close();
    }
  });

  it('reports an unreachable registry as REGISTRY_UNAVAILABLE after retrying', async () => {
    const { freePort } = await import('../support/registry.js');
    const port = await freePort();
    const sleeps: number[] = [];
    const c = new RegistryClient({
      credentials: staticCredentialProvider({}),
      retry: { maxAttempts: 3 },
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
    });
    try {
      await assert.rejects(
        c.getManifest(
          { registry: `127.0.0.1:${port}`, repository: 'x' },
          'latest'
        ),
        { name: 'RegistryError', code: 'REGISTRY_UNAVAILABLE' }
      );
      assert.deepEqual(sleeps, [250, 500]);
    } finally {
      await c.close();
    }
  });
});
