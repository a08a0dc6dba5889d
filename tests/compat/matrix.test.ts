/**
 * The registry compatibility matrix: the same flows against every registry
 * profile (tests/support/quirk-profiles.ts). Each profile gets its own real
 * distribution registry and, except for distribution itself, a quirk proxy
 * that makes it behave like that registry (auth flow and spec §4 quirks).
 * Profiles run in parallel.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ociDigest } from '../../src/core/digest.js';
import { RegistryError } from '../../src/errors.js';
import {
  encryptCosignKey,
  generatePrivateKey,
  publicKeyPem,
  signerFromPrivateKey,
  verifierFromPublicKey,
} from '../../src/keys/index.js';
import { parseReference } from '../../src/oci/reference.js';
import { signImage } from '../../src/sign/sign.js';
import { verifyImageSignatures } from '../../src/verify/image.js';
import { RegistryClient } from '../../src/oci/registry.js';
import type { RepoRef } from '../../src/oci/registry.js';
import { isUsableFallbackIndex } from '../../src/oci/quirks.js';
import { MediaType } from '../../src/oci/types.js';
import { pushIndex, pushRandomImage } from '../support/images.js';
import type { PushedImage } from '../support/images.js';
import { PROFILES, VARIANT_PROFILES } from '../support/quirk-profiles.js';
import type { QuirkProfile } from '../support/quirk-profiles.js';
import { startEmulatedRegistry } from '../support/quirk-proxy.js';
import type { EmulatedRegistry } from '../support/quirk-proxy.js';
import { runSignet } from '../support/cli.js';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY_CONFIG = Buffer.from('{}');

function client(
  reg: EmulatedRegistry,
  extra: ConstructorParameters<typeof RegistryClient>[0] = {}
): RegistryClient {
  return new RegistryClient({
    credentials: reg.credentials,
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    ...extra,
  });
}

/** An OCI 1.1 referrer: empty config, artifactType, one layer, subject. */
async function pushReferrer(
  c: RegistryClient,
  repo: RepoRef,
  subject: { digest: string; mediaType: string; size: number },
  artifactType = BUNDLE_TYPE
): Promise<{ digest: string; bytes: Buffer }> {
  const layer = Buffer.from(
    JSON.stringify({ nonce: randomBytes(8).toString('hex') })
  );
  await c.putBlob(repo, layer);
  await c.putBlob(repo, EMPTY_CONFIG);
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType,
      config: {
        mediaType: MediaType.OciEmpty,
        digest: ociDigest(EMPTY_CONFIG),
        size: EMPTY_CONFIG.length,
      },
      layers: [
        {
          mediaType: artifactType,
          digest: ociDigest(layer),
          size: layer.length,
        },
      ],
      subject,
      annotations: {
        'org.opencontainers.image.created': '2026-01-01T00:00:00Z',
      },
    })
  );
  const { digest } = await c.putManifest(
    repo,
    ociDigest(bytes),
    bytes,
    MediaType.OciManifest
  );
  return { digest, bytes };
}

function expectedError(e: unknown, code: string): boolean {
  assert.ok(
    e instanceof RegistryError,
    `expected a RegistryError, got ${String(e)}`
  );
  assert.equal(e.name, 'RegistryError');
  assert.equal(e.code, code, e.message);
  return true;
}

interface TestKey {
  readonly signer: ReturnType<typeof signerFromPrivateKey>;
  readonly verifier: ReturnType<typeof verifierFromPublicKey>;
}

function testKey(): TestKey {
  const key: KeyObject = generatePrivateKey();
  return {
    signer: signerFromPrivateKey(key),
    verifier: verifierFromPublicKey(createPublicKey(key)),
  };
}

let cliKeyCache: { encrypted: string; publicPem: string } | undefined;

/** One encrypted key for every CLI run (scrypt is the slow part). */
function cliKey(): { encrypted: string; publicPem: string } {
  if (cliKeyCache === undefined) {
    const key = generatePrivateKey();
    cliKeyCache = {
      encrypted: encryptCosignKey(key, 'pw', { scryptN: 32768 }),
      publicPem: publicKeyPem(createPublicKey(key)),
    };
  }
  return cliKeyCache;
}

/** config.json as `docker login` leaves it for the profile's login. */
function dockerConfig(reg: EmulatedRegistry): string {
  const cred = reg.credential;
  if (cred === undefined) return JSON.stringify({ auths: {} });
  const entry =
    cred.kind === 'basic'
      ? {
          auth: Buffer.from(`${cred.username}:${cred.password}`).toString(
            'base64'
          ),
        }
      : cred.kind === 'identityToken'
        ? {
            auth: Buffer.from(`${cred.username ?? ''}:`).toString('base64'),
            identitytoken: cred.token,
          }
        : { registrytoken: cred.token };
  return JSON.stringify({ auths: { [reg.host]: entry } });
}

const signet = runSignet;

function matrix(profile: QuirkProfile): void {
  // The flows build on each other: sequential within a profile.
  describe(`${profile.name}: ${profile.title}`, { concurrency: 1 }, () => {
    let reg: EmulatedRegistry;
    let c: RegistryClient;
    let repo: RepoRef;
    let image: PushedImage;

    before(async () => {
      reg = await startEmulatedRegistry(profile);
      c = client(reg);
      repo = { registry: reg.host, repository: `team/app-${profile.name}` };
      image = await pushRandomImage(c, repo, {
        tag: 'v1',
        layers: [2048, 512],
      });
    });

    after(async () => {
      await c.close();
      await reg.stop();
    });

    it('resolves and fetches the pushed image by tag and by digest', async () => {
      const head = await c.headManifest(repo, 'v1');
      assert.deepEqual(head, {
        digest: image.digest,
        mediaType: image.mediaType,
        size: image.bytes.length,
      });
      const byTag = await c.getManifest(repo, 'v1');
      assert.equal(byTag.digest, image.digest);
      assert.deepEqual(byTag.bytes, image.bytes);
      const byDigest = await c.getManifest(repo, image.digest);
      assert.deepEqual(byDigest.bytes, image.bytes);
    });

    it('reports a missing tag as absent', async () => {
      assert.equal(await c.headManifest(repo, 'no-such-tag'), undefined);
      await assert.rejects(c.getManifest(repo, 'no-such-tag'), (e) =>
        expectedError(e, 'REGISTRY_NOT_FOUND')
      );
    });

    it('downloads blobs with digest and size checked', async () => {
      const layer = image.layers[0]!;
      const bytes = await c.getBlob(repo, layer.digest, {
        expectedSize: layer.size,
      });
      assert.equal(ociDigest(bytes), layer.digest);
      assert.equal(await c.blobExists(repo, layer.digest), true);
      assert.equal(await c.blobExists(repo, `sha256:${'0'.repeat(64)}`), false);
      if (profile.quirks.blobRedirect !== undefined) {
        const storage = reg.proxy!.requests.filter(
          (r) => r.server === 'storage'
        );
        assert.ok(
          storage.length > 0,
          'blob GET was redirected to object storage'
        );
        // §5.3: credentials never follow a redirect to another host.
        assert.deepEqual(
          storage.map((r) => r.authorization),
          storage.map(() => undefined)
        );
        assert.ok(storage.every((r) => r.status === 200));
      }
    });

    it('lists tags', async () => {
      const tags = await c.listTags(repo);
      assert.ok(tags.includes('v1'));
    });

    it('mounts a blob across repositories, or uploads it when the mount is refused', async () => {
      const other: RepoRef = {
        registry: reg.host,
        repository: `team/other-${profile.name}`,
      };
      const layer = await c.getBlob(repo, image.layers[1]!.digest);
      const d = await c.putBlob(other, layer, { mountFrom: repo });
      assert.equal(d.digest, image.layers[1]!.digest);
      assert.equal(await c.blobExists(other, d.digest), true);
      // A mount source that does not exist (Harbor answers 401 there).
      const fresh = randomBytes(300);
      const missing: RepoRef = {
        registry: reg.host,
        repository: 'nowhere/none',
      };
      const d2 = await c.putBlob(other, fresh, { mountFrom: missing });
      assert.equal(await c.blobExists(other, d2.digest), true);
    });

    it('pushes an OCI 1.1 referrer or explains why the registry refuses it', async () => {
      const subject = {
        digest: image.digest,
        mediaType: image.mediaType,
        size: image.bytes.length,
      };
      const refuses =
        profile.quirks.rejectConfigTypes?.types.includes(MediaType.OciEmpty) ===
        true;
      if (refuses) {
        await assert.rejects(pushReferrer(c, repo, subject), (e) => {
          expectedError(e, 'REGISTRY_DENIED');
          assert.match(
            (e as Error).message,
            /COSIGN_REPOSITORY|--new-bundle-format=false/
          );
          return true;
        });
        return;
      }
      const ref = await pushReferrer(c, repo, subject);
      const listed = await c.referrers(repo, image.digest, BUNDLE_TYPE);
      if (profile.quirks.referrers === 'api') {
        assert.ok(listed !== undefined, 'referrers API is used');
        assert.deepEqual(
          listed.manifests.map((m) => m.digest),
          [ref.digest]
        );
        assert.equal(listed.manifests[0]!.artifactType, BUNDLE_TYPE);
      } else {
        assert.equal(
          listed,
          undefined,
          'no referrers API: fallback tag needed'
        );
      }
      // Reading the fallback tag where none was written: GitLab answers with
      // the subject itself, which must not count as a referrers index.
      const tag = image.digest.replace(':', '-');
      let fetched: { digest: string; mediaType: string } | undefined;
      try {
        fetched = await c.getManifest(repo, tag, {
          accept: [MediaType.OciIndex],
        });
      } catch (e) {
        expectedError(e, 'REGISTRY_NOT_FOUND');
      }
      if (profile.quirks.fallbackTagIsDigest === true) {
        assert.ok(fetched !== undefined);
        assert.equal(fetched.digest, image.digest);
      }
      if (fetched !== undefined) {
        assert.equal(isUsableFallbackIndex(image.digest, fetched), false);
      }
      // Deleting the referrer: refused where the registry has no manifest DELETE.
      if (profile.quirks.noManifestDelete === true) {
        await assert.rejects(c.deleteManifest(repo, ref.digest), (e) => {
          assert.ok(e instanceof RegistryError);
          assert.equal(e.status, 405);
          return true;
        });
      } else {
        await c.deleteManifest(repo, ref.digest);
        await assert.rejects(c.getManifest(repo, ref.digest), (e) =>
          expectedError(e, 'REGISTRY_NOT_FOUND')
        );
      }
    });

    it('signs with a key and verifies the signature', async () => {
      const alice = testKey();
      const bob = testKey();
      const ref = parseReference(`${reg.host}/${repo.repository}:v1`);
      const signed = await signImage(ref, {
        registry: c,
        signer: alice.signer,
      });
      assert.equal(signed.length, 1);
      assert.equal(signed[0]!.digest, image.digest);
      const v = await verifyImageSignatures(c, ref, {
        verifier: alice.verifier,
      });
      assert.equal(v.digest, image.digest);
      assert.equal(v.signatures.length, 1);
      // A second signer appends; both verify, each with their own key.
      await signImage(ref, { registry: c, signer: bob.signer });
      const vb = await verifyImageSignatures(c, ref, {
        verifier: bob.verifier,
      });
      assert.equal(vb.signatures.length, 1);
      assert.equal(vb.failures.length, 1);
      const va = await verifyImageSignatures(c, ref, {
        verifier: alice.verifier,
      });
      assert.equal(va.signatures.length, 1);
      // Somebody else's key verifies nothing.
      await assert.rejects(
        verifyImageSignatures(c, ref, { verifier: testKey().verifier }),
        { name: 'VerificationError', code: 'NO_MATCHING_SIGNATURE' }
      );
    });

    it('signs and verifies with the signet CLI, logged in through config.json', async () => {
      const dir = mkdtempSync(join(tmpdir(), `signet-matrix-${profile.name}-`));
      try {
        writeFileSync(join(dir, 'cosign.key'), cliKey().encrypted);
        writeFileSync(join(dir, 'cosign.pub'), cliKey().publicPem);
        writeFileSync(join(dir, 'config.json'), dockerConfig(reg));
        const env = {
          HOME: dir,
          DOCKER_CONFIG: dir,
          COSIGN_PASSWORD: 'pw',
        };
        const imageRef = `${reg.host}/${repo.repository}:v1`;
        const s = await signet(
          [
            'sign',
            '--tlog-upload=false',
            '--key',
            join(dir, 'cosign.key'),
            imageRef,
          ],
          env
        );
        assert.equal(s.code, 0, s.stderr);
        const v = await signet(
          [
            'verify',
            '--insecure-ignore-tlog=true',
            '--key',
            join(dir, 'cosign.pub'),
            imageRef,
          ],
          env
        );
        assert.equal(v.code, 0, v.stderr);
        const out = JSON.parse(v.stdout) as {
          critical: { image: { 'docker-manifest-digest': string } };
        }[];
        assert.ok(
          out.some(
            (o) => o.critical.image['docker-manifest-digest'] === image.digest
          )
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('signs an index recursively and verifies every platform', async () => {
      const key = testKey();
      const idx = await pushIndex(c, repo, {
        tag: 'multi-signed',
        platforms: 2,
      });
      const ref = parseReference(`${reg.host}/${repo.repository}:multi-signed`);
      const signed = await signImage(ref, {
        registry: c,
        signer: key.signer,
        recursive: true,
      });
      assert.deepEqual(
        signed.map((s) => s.digest),
        [idx.digest, ...idx.children]
      );
      for (const d of [idx.digest, ...idx.children]) {
        const r = parseReference(`${reg.host}/${repo.repository}@${d}`);
        const v = await verifyImageSignatures(c, r, { verifier: key.verifier });
        assert.equal(v.digest, d);
      }
    });

    it('keeps signatures in another repository (COSIGN_REPOSITORY)', async () => {
      const key = testKey();
      const sigRepo: RepoRef = {
        registry: reg.host,
        repository: `signatures/${profile.name}`,
      };
      const ref = parseReference(
        `${reg.host}/${repo.repository}@${image.digest}`
      );
      await signImage(ref, {
        registry: c,
        signer: key.signer,
        targetRepository: sigRepo,
      });
      const v = await verifyImageSignatures(c, ref, {
        verifier: key.verifier,
        signatureRepository: sigRepo,
      });
      assert.equal(v.signatureRepository.repository, sigRepo.repository);
      assert.equal(v.signatures.length, 1);
    });

    it('is recognised by its behaviour at the ping', async () => {
      const q = await c.quirks(reg.host);
      // distribution has nothing characteristic: the generic profile.
      assert.equal(
        q.kind,
        profile.name === 'distribution' ? 'generic' : profile.name
      );
    });

    if (profile.quirks.allowedConfigTypes !== undefined) {
      it('names the way out when an artifact type is not allow-listed', async () => {
        const subject = {
          digest: image.digest,
          mediaType: image.mediaType,
          size: image.bytes.length,
        };
        await assert.rejects(
          pushReferrer(
            c,
            repo,
            subject,
            'application/vnd.example.unknown+json'
          ),
          (e) => {
            expectedError(e, 'REGISTRY_UNSUPPORTED');
            assert.match((e as Error).message, /--new-bundle-format=false/);
            return true;
          }
        );
      });
    }

    if (profile.quirks.rejectIndexSubject === true) {
      it('explains a refused referrer of an index', async () => {
        const idx = await pushIndex(c, repo, { platforms: 1 });
        const subject = {
          digest: idx.digest,
          mediaType: idx.mediaType,
          size: idx.bytes.length,
        };
        await assert.rejects(pushReferrer(c, repo, subject), (e) => {
          expectedError(e, 'REGISTRY_UNSUPPORTED');
          assert.match((e as Error).message, /image index/);
          return true;
        });
      });
    }

    if (profile.quirks.noManifestDelete === true) {
      it('explains that manifests cannot be deleted', async () => {
        await assert.rejects(c.deleteManifest(repo, image.digest), (e) => {
          expectedError(e, 'REGISTRY_UNSUPPORTED');
          assert.match((e as Error).message, /does not allow deleting/);
          return true;
        });
      });
    }

    it('pushes and reads a multi-platform index', async () => {
      const idx = await pushIndex(c, repo, { tag: 'multi', platforms: 2 });
      const got = await c.getManifest(repo, 'multi');
      assert.equal(got.digest, idx.digest);
      assert.equal(got.mediaType, MediaType.OciIndex);
    });

    it('pushes a Docker schema 2 image', async () => {
      const img = await pushRandomImage(c, repo, {
        tag: 'docker',
        docker: true,
      });
      const head = await c.headManifest(repo, 'docker');
      assert.equal(head?.digest, img.digest);
      assert.equal(head?.mediaType, MediaType.DockerManifest);
    });

    if (profile.auth.scheme !== 'none') {
      it(`authenticates the way ${profile.title} does`, () => {
        const proxy = reg.proxy!;
        const { auth } = profile;
        if (auth.scheme === 'basic') {
          assert.equal(proxy.tokenRequests.length, 0);
          assert.ok(
            proxy.requests.some(
              (r) => r.server === 'registry' && r.authorization === 'Basic'
            )
          );
          return;
        }
        assert.ok(proxy.tokenRequests.length > 0);
        for (const t of proxy.tokenRequests)
          assert.equal(t.service, auth.service);
        if (auth.login?.kind === 'identityToken') {
          // Refresh tokens are exchanged by OAuth2 POST (§2.3), never sent as Basic.
          assert.ok(proxy.tokenRequests.every((t) => t.method === 'POST'));
          assert.ok(
            proxy.tokenRequests.every((t) => t.grantType === 'refresh_token')
          );
        } else {
          assert.ok(
            proxy.tokenRequests.some((t) => t.method === 'GET' && !t.anonymous)
          );
        }
        if (auth.tokenHost === 'separate') {
          assert.ok(proxy.requests.some((r) => r.server === 'token'));
          // Registry tokens are sent to the registry, never credentials to storage.
          assert.ok(
            proxy.requests
              .filter((r) => r.server === 'registry')
              .every((r) => r.authorization !== 'Basic')
          );
        }
      });
    }

    if (profile.auth.anonymousPull === true) {
      it('pulls anonymously with an anonymous token', async () => {
        const anon = new RegistryClient({
          credentials: { get: () => Promise.resolve(undefined) },
          retry: { baseDelayMs: 5, maxDelayMs: 50 },
        });
        try {
          const m = await anon.getManifest(repo, image.digest);
          assert.equal(m.digest, image.digest);
          assert.ok(reg.proxy!.tokenRequests.some((t) => t.anonymous));
          const b = randomBytes(10);
          await assert.rejects(anon.putBlob(repo, b), (e) => {
            assert.ok(e instanceof RegistryError);
            assert.ok(
              e.code === 'REGISTRY_UNAUTHORIZED' ||
                e.code === 'REGISTRY_DENIED',
              e.code
            );
            return true;
          });
        } finally {
          await anon.close();
        }
      });
    }

    if (profile.quirks.rateLimit !== undefined) {
      it('rides out the rate limit', () => {
        assert.equal(reg.proxy!.rateLimited(), 1);
      });
    }

    it('uploads in chunks where the registry allows it, else fails clearly', async () => {
      const chunked = client(reg, { uploadMode: 'chunked', chunkSize: 1024 });
      try {
        const blob = randomBytes(2500);
        const mode = profile.quirks.chunkedUpload;
        if (mode === 'refused') {
          await assert.rejects(chunked.putBlob(repo, blob), (e) => {
            assert.ok(e instanceof RegistryError);
            assert.equal(e.status, 405);
            return true;
          });
          return;
        }
        // ECR: small parts are raised to its 5 MiB minimum, so this is one part.
        const d = await chunked.putBlob(repo, blob);
        assert.equal(d.digest, ociDigest(blob));
        const back = await c.getBlob(repo, d.digest);
        assert.deepEqual(back, blob);
      } finally {
        await chunked.close();
      }
    });
  });
}

// SIGNET_PROFILES=ecr,nexus narrows the matrix while debugging one registry.
const only = (process.env['SIGNET_PROFILES'] ?? '')
  .split(',')
  .filter((s) => s !== '');

function legacyVariant(profile: QuirkProfile): void {
  describe(`${profile.name}: ${profile.title}`, { concurrency: 1 }, () => {
    let reg: EmulatedRegistry;
    let c: RegistryClient;

    before(async () => {
      reg = await startEmulatedRegistry(profile);
      c = client(reg);
    });

    after(async () => {
      await c.close();
      await reg.stop();
    });

    if (profile.quirks.immutableTags === true) {
      it('explains immutable tags and keeps the first signature', async () => {
        const repo: RepoRef = { registry: reg.host, repository: 'team/locked' };
        await pushRandomImage(c, repo, { tag: 'v1' });
        const ref = parseReference(`${reg.host}/team/locked:v1`);
        const alice = testKey();
        await signImage(ref, { registry: c, signer: alice.signer });
        // A second signature must move the .sig tag: refused, with the way out.
        await assert.rejects(
          signImage(ref, { registry: c, signer: testKey().signer }),
          (e) => {
            expectedError(e, 'REGISTRY_CONFLICT');
            assert.match((e as Error).message, /immutable/);
            assert.match((e as Error).message, /COSIGN_REPOSITORY/);
            return true;
          }
        );
        // The first signature still verifies.
        const v = await verifyImageSignatures(c, ref, {
          verifier: alice.verifier,
        });
        assert.equal(v.signatures.length, 1);
      });
      return;
    }

    it('signs with Docker media types when OCI manifests are refused', async () => {
      const repo: RepoRef = { registry: reg.host, repository: 'team/legacy' };
      const img = await pushRandomImage(c, repo, { tag: 'v1', docker: true });
      const key = testKey();
      const ref = parseReference(`${reg.host}/team/legacy:v1`);
      const signed = await signImage(ref, { registry: c, signer: key.signer });
      assert.equal(signed[0]!.upload?.fellBackToDocker, true);
      const sig = await c.getManifest(repo, signed[0]!.signatureTag);
      assert.equal(sig.mediaType, MediaType.DockerManifest);
      const v = await verifyImageSignatures(c, ref, { verifier: key.verifier });
      assert.equal(v.digest, img.digest);
    });

    it('names COSIGN_DOCKER_MEDIA_TYPES when an OCI manifest is refused', async () => {
      const repo: RepoRef = { registry: reg.host, repository: 'team/legacy' };
      await assert.rejects(pushRandomImage(c, repo, { tag: 'oci' }), (e) => {
        expectedError(e, 'REGISTRY_UNSUPPORTED');
        assert.match((e as Error).message, /COSIGN_DOCKER_MEDIA_TYPES=1/);
        return true;
      });
    });
  });
}

describe('registry compatibility matrix', { concurrency: true }, () => {
  for (const p of PROFILES) {
    if (only.length === 0 || only.includes(p.name)) matrix(p);
  }
  for (const p of VARIANT_PROFILES) {
    if (only.length === 0 || only.includes(p.name)) legacyVariant(p);
  }
});
