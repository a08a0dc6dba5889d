/**
 * The emulation itself under test: for every profile, raw HTTP requests
 * (no Signet client) show that the proxy in front of the real registry
 * answers the way the profile says that registry does (spec §2, §4). The
 * matrix (matrix.test.ts) then shows Signet copes with each of them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ociDigest } from '../../src/core/digest.js';
import { MediaType } from '../../src/oci/types.js';
import { PROFILES } from '../support/quirk-profiles.js';
import type { QuirkProfile } from '../support/quirk-profiles.js';
import { startEmulatedRegistry } from '../support/quirk-proxy.js';
import type { EmulatedRegistry } from '../support/quirk-proxy.js';

interface Raw {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** 429 answers seen per registry host (the raw client retries them once). */
const limited = new Map<string, Raw[]>();

function once(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers };
    if (body !== undefined) h['content-length'] = body.length;
    const req = httpRequest(url, { method, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (typeof v === 'string') out.set(k, v);
          else if (Array.isArray(v)) for (const x of v) out.append(k, x);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: out,
          body: Buffer.concat(chunks),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A deliberately dumb HTTP client: exactly the headers given (node:http adds
 * no Accept), no redirects; a 429 is recorded and retried once after its
 * Retry-After.
 */
async function raw(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer;
  } = {}
): Promise<Raw> {
  const u = new URL(url);
  const method = init.method ?? 'GET';
  const r = await once(u, method, init.headers ?? {}, init.body);
  if (r.status !== 429) return r;
  limited.set(u.host, [...(limited.get(u.host) ?? []), r]);
  const wait = Number(r.headers.get('retry-after') ?? '0');
  await new Promise((ok) => setTimeout(ok, wait * 1000));
  return once(u, method, init.headers ?? {}, init.body);
}

function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

/** The Authorization header a logged-in client ends up sending. */
async function authHeader(
  reg: EmulatedRegistry,
  repository: string
): Promise<Record<string, string>> {
  const { auth } = reg.profile;
  const login = auth.login;
  if (auth.scheme === 'none' || login === undefined) return {};
  const secret = login.kind === 'basic' ? login.password : login.token;
  if (auth.scheme === 'basic') {
    return { authorization: basic(login.username, secret) };
  }
  const realm = new URL(reg.proxy!.realm!);
  realm.searchParams.set('service', auth.service ?? '');
  realm.searchParams.append(
    'scope',
    `repository:${repository}:pull,push,delete`
  );
  const t = await raw(realm.href, {
    headers: { authorization: basic(login.username, secret) },
  });
  assert.equal(t.status, 200, t.body.toString());
  const j = JSON.parse(t.body.toString()) as {
    token?: string;
    access_token?: string;
  };
  const token = j.token ?? j.access_token;
  assert.ok(token !== undefined);
  return { authorization: `Bearer ${token}` };
}

async function pushBlob(
  base: string,
  repository: string,
  h: Record<string, string>,
  bytes: Buffer
): Promise<string> {
  const post = await raw(`${base}/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    headers: h,
  });
  assert.equal(post.status, 202);
  const loc = new URL(post.headers.get('location')!, base);
  const digest = ociDigest(bytes);
  loc.searchParams.set('digest', digest);
  const put = await raw(loc.href, {
    method: 'PUT',
    headers: { ...h, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  assert.equal(put.status, 201, put.body.toString());
  return digest;
}

function emulation(profile: QuirkProfile): void {
  describe(`${profile.name}: ${profile.title}`, { concurrency: 1 }, () => {
    let reg: EmulatedRegistry;
    let base: string;
    let h: Record<string, string>;
    const repository = 'wire/app';
    let manifestDigest: string;
    let layerDigest: string;
    const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');

    before(async () => {
      reg = await startEmulatedRegistry(profile);
      base = `http://${reg.host}`;
      h = await authHeader(reg, repository);
      layerDigest = await pushBlob(base, repository, h, randomBytes(100));
      const configDigest = await pushBlob(base, repository, h, configBytes);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.DockerManifest,
          config: {
            mediaType: MediaType.DockerConfig,
            digest: configDigest,
            size: configBytes.length,
          },
          layers: [
            {
              mediaType: MediaType.DockerLayer,
              digest: layerDigest,
              size: 100,
            },
          ],
        })
      );
      const put = await raw(`${base}/v2/${repository}/manifests/v1`, {
        method: 'PUT',
        headers: { ...h, 'content-type': MediaType.DockerManifest },
        body: manifest,
      });
      assert.equal(put.status, 201, put.body.toString());
      manifestDigest = ociDigest(manifest);
    });

    after(async () => {
      await reg.stop();
    });

    const q = profile.quirks;
    const accept = {
      accept: [MediaType.DockerManifest, MediaType.OciManifest].join(', '),
    };

    if (profile.auth.scheme !== 'none') {
      it(`challenges with "${profile.auth.challengeScheme}"`, async () => {
        const r = await raw(`${base}/v2/`);
        assert.equal(r.status, 401);
        const c = r.headers.get('www-authenticate') ?? '';
        assert.ok(c.startsWith(`${profile.auth.challengeScheme} `), c);
        if (profile.auth.scheme === 'bearer') {
          const realm = /realm="([^"]+)"/.exec(c)?.[1] ?? '';
          const sameHost = new URL(realm).host === reg.host;
          assert.equal(sameHost, profile.auth.tokenHost === 'registry');
        }
      });
    }

    it(
      q.omitManifestDigestHeader === true
        ? 'leaves Docker-Content-Digest off manifest responses'
        : 'sends Docker-Content-Digest with manifests',
      async () => {
        const r = await raw(`${base}/v2/${repository}/manifests/v1`, {
          headers: { ...h, ...accept },
        });
        assert.equal(r.status, 200);
        assert.equal(ociDigest(r.body), manifestDigest);
        const dcd = r.headers.get('docker-content-digest');
        assert.equal(
          dcd,
          q.omitManifestDigestHeader === true ? null : manifestDigest
        );
      }
    );

    it('answers HEAD of a missing tag as documented', async () => {
      const r = await raw(`${base}/v2/${repository}/manifests/missing`, {
        method: 'HEAD',
        headers: { ...h, ...accept },
      });
      assert.equal(r.status, q.headMissingTagStatus ?? 404);
    });

    it(
      q.headManifestBroken === true
        ? 'answers HEAD 404 for a manifest GET serves'
        : 'answers HEAD 200 for an existing manifest',
      async () => {
        const r = await raw(`${base}/v2/${repository}/manifests/v1`, {
          method: 'HEAD',
          headers: { ...h, ...accept },
        });
        assert.equal(r.status, q.headManifestBroken === true ? 404 : 200);
      }
    );

    it('serves blobs as documented (Accept, redirects)', async () => {
      const url = `${base}/v2/${repository}/blobs/${layerDigest}`;
      if (q.blobGetNeedsAccept === true) {
        const r = await raw(url, { headers: h });
        assert.equal(r.status, 400);
      }
      const r = await raw(url, { headers: { ...h, accept: '*/*' } });
      if (q.blobRedirect === undefined) {
        assert.equal(r.status, 200);
        assert.equal(ociDigest(r.body), layerDigest);
        return;
      }
      assert.equal(r.status, q.blobRedirect === 's3' ? 307 : 302);
      const to = r.headers.get('location')!;
      assert.notEqual(new URL(to).host, reg.host);
      // Object storage refuses a pre-signed URL that also carries credentials.
      const withAuth = await raw(to, { headers: h });
      assert.equal(withAuth.status, 400);
      const ok = await raw(to);
      assert.equal(ok.status, 200);
      assert.equal(ociDigest(ok.body), layerDigest);
      // The storage URL's signature is checked: a forged one is refused.
      const forged = await raw(
        to.replace(/(Signature=)[0-9a-f]+/, `$1${'0'.repeat(64)}`)
      );
      assert.equal(forged.status, 403);
    });

    it(`handles chunked uploads: ${q.chunkedUpload}`, async () => {
      const post = await raw(`${base}/v2/${repository}/blobs/uploads/`, {
        method: 'POST',
        headers: h,
      });
      assert.equal(post.status, 202);
      const loc = new URL(post.headers.get('location')!, base).href;
      const part = randomBytes(10);
      const patch = (range: string, loc2 = loc): Promise<Raw> =>
        raw(loc2, {
          method: 'PATCH',
          headers: {
            ...h,
            'content-type': 'application/octet-stream',
            'content-range': range,
          },
          body: part,
        });
      switch (q.chunkedUpload) {
        case 'refused':
          assert.equal((await patch('0-9')).status, 405);
          return;
        case 'strict-content-range':
          assert.equal((await patch('bytes 0-9/*')).status, 400);
          assert.equal((await patch('0-9')).status, 202);
          return;
        case 'ecr': {
          const first = await patch('0-9');
          assert.equal(first.status, 201);
          const next = new URL(first.headers.get('location')!, base).href;
          const second = await patch('10-19', next);
          assert.equal(second.status, 400, 'parts below 5 MiB are refused');
          return;
        }
        case 'supported': {
          const first = await patch('0-9');
          assert.equal(first.status, 202);
          return;
        }
      }
    });

    it('serves or refuses the referrers API as documented', async () => {
      const r = await raw(
        `${base}/v2/${repository}/referrers/${manifestDigest}`,
        { headers: { ...h, accept: MediaType.OciIndex } }
      );
      if (q.referrers === 'api') {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), MediaType.OciIndex);
      } else {
        assert.equal(r.status, 404);
        assert.equal(
          /json/.test(r.headers.get('content-type') ?? '') ||
            /html/.test(r.headers.get('content-type') ?? ''),
          q.referrers === 'none-json'
        );
      }
    });

    it('accepts or refuses OCI 1.1 artifacts as documented', async () => {
      const empty = await pushBlob(base, repository, h, Buffer.from('{}'));
      const put = (body: object): Promise<Raw> => {
        const bytes = Buffer.from(JSON.stringify(body));
        return raw(`${base}/v2/${repository}/manifests/${ociDigest(bytes)}`, {
          method: 'PUT',
          headers: { ...h, 'content-type': MediaType.OciManifest },
          body: bytes,
        });
      };
      const artifact = (artifactType: string, subjectType: string): object => ({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType,
        config: { mediaType: MediaType.OciEmpty, digest: empty, size: 2 },
        layers: [{ mediaType: artifactType, digest: layerDigest, size: 100 }],
        subject: { mediaType: subjectType, digest: manifestDigest, size: 10 },
      });
      const bundle = 'application/vnd.dev.sigstore.bundle.v0.3+json';
      const r = await put(artifact(bundle, MediaType.DockerManifest));
      if (q.rejectConfigTypes?.types.includes(MediaType.OciEmpty) === true) {
        assert.equal(r.status, q.rejectConfigTypes.status);
        assert.match(r.body.toString(), /unknown manifest class/);
        return;
      }
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(
        r.headers.get('oci-subject'),
        q.ociSubjectHeader === true ? manifestDigest : null
      );
      const odd = await put(
        artifact('application/vnd.example.unknown', MediaType.DockerManifest)
      );
      assert.equal(odd.status, q.allowedConfigTypes !== undefined ? 400 : 201);
      const ofIndex = await put(artifact(bundle, MediaType.OciIndex));
      assert.equal(ofIndex.status, q.rejectIndexSubject === true ? 405 : 201);
      const withData = await put({
        ...artifact(bundle, MediaType.DockerManifest),
        config: {
          mediaType: MediaType.OciEmpty,
          digest: empty,
          size: 2,
          data: 'e30=',
        },
      });
      assert.equal(withData.status, q.rejectDataField === true ? 405 : 201);
    });

    it('pages tag lists within the documented limit', async () => {
      const r = await raw(`${base}/v2/${repository}/tags/list?n=1001`, {
        headers: h,
      });
      assert.equal(r.status, q.maxTagPageSize !== undefined ? 400 : 200);
    });

    it(
      q.rateLimit !== undefined
        ? 'rate-limits once with TOOMANYREQUESTS'
        : 'does not rate-limit',
      () => {
        const seen = limited.get(reg.host) ?? [];
        assert.equal(seen.length, q.rateLimit !== undefined ? 1 : 0);
        for (const r of seen) {
          assert.match(r.body.toString(), /TOOMANYREQUESTS/);
          assert.equal(
            r.headers.get('retry-after'),
            q.rateLimit?.retryAfterSeconds !== undefined
              ? String(q.rateLimit.retryAfterSeconds)
              : null
          );
          for (const [k, v] of Object.entries(q.rateLimit?.headers ?? {})) {
            assert.equal(r.headers.get(k), v);
          }
        }
      }
    );

    it(
      q.noManifestDelete === true
        ? 'refuses manifest DELETE with 405'
        : 'deletes manifests by digest',
      async () => {
        const r = await raw(
          `${base}/v2/${repository}/manifests/${manifestDigest}`,
          { method: 'DELETE', headers: h }
        );
        assert.equal(r.status, q.noManifestDelete === true ? 405 : 202);
      }
    );
  });
}

describe('quirk profiles on the wire', { concurrency: true }, () => {
  for (const p of PROFILES) emulation(p);
});
