/**
 * What the real registry does not show, against small fault servers:
 * 429 + Retry-After, 5xx backoff, dropped connections, a 307 to another
 * host (credentials must not follow), missing or wrong
 * Docker-Content-Digest, bodies that do not match their digest, hostile
 * huge bodies, Link pagination, the referrers API, refused monolithic
 * uploads, garbage answers.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ociDigest } from '../../src/core/digest.js';
import { MediaType } from '../../src/oci/types.js';
import { RegistryClient } from '../../src/oci/registry.js';
import type { RegistryClientOptions } from '../../src/oci/registry.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { ociError, ping, startFaultServer } from '../support/fault-server.js';
import type { FaultHandler, FaultServer } from '../support/fault-server.js';

const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciEmpty, digest: ociDigest('{}'), size: 2 },
    layers: [],
  })
);
const MANIFEST_DIGEST = ociDigest(MANIFEST);
/** An image manifest with an ordinary config (no OCI 1.1 features). */
const PLAIN = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: {
      mediaType: MediaType.OciConfig,
      digest: ociDigest('cfg'),
      size: 3,
    },
    layers: [],
  })
);

function manifestOk(bytes: Buffer = MANIFEST, digestHeader?: string) {
  const headers: Record<string, string> = {
    'content-type': MediaType.OciManifest,
  };
  if (digestHeader !== undefined)
    headers['docker-content-digest'] = digestHeader;
  return { status: 200, headers, body: bytes };
}

const servers: FaultServer[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.stop();
});

async function serve(
  handler: FaultHandler,
  hostname?: '127.0.0.1' | '127.0.0.2'
) {
  const s = await startFaultServer(handler, hostname ? { hostname } : {});
  servers.push(s);
  return s;
}

function client(opts: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({
    credentials: staticCredentialProvider({}),
    ...opts,
  });
  clients.push(c);
  return c;
}

function recordingSleep(): {
  sleeps: number[];
  sleep: (ms: number) => Promise<void>;
} {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  };
}

const repoOf = (s: FaultServer, repository = 'fault/app') => ({
  registry: s.host,
  repository,
});

describe('retries', () => {
  it('honours Retry-After in seconds on 429', async () => {
    let n = 0;
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (++n <= 2) {
        return {
          ...ociError(429, 'TOOMANYREQUESTS', 'slow down'),
          headers: { 'retry-after': '3', 'content-type': 'application/json' },
        };
      }
      return manifestOk();
    });
    const { sleeps, sleep } = recordingSleep();
    const c = client({ sleep, random: () => 0 });
    const m = await c.getManifest(repoOf(s), 'latest');
    assert.equal(m.digest, MANIFEST_DIGEST);
    assert.deepEqual(sleeps, [3000, 3000]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    let n = 0;
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (++n === 1) {
        return {
          status: 503,
          headers: { 'retry-after': 'Sun, 01 Mar 2026 12:00:07 GMT' },
        };
      }
      return manifestOk();
    });
    const { sleeps, sleep } = recordingSleep();
    const c = client({ sleep, now: () => now });
    await c.getManifest(repoOf(s), 'latest');
    assert.deepEqual(sleeps, [7000]);
  });

  it('gives up at once when Retry-After is longer than the maximum wait', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      return {
        ...ociError(429, 'TOOMANYREQUESTS', 'quota'),
        headers: { 'retry-after': '3600', 'content-type': 'application/json' },
      };
    });
    const { sleeps, sleep } = recordingSleep();
    const c = client({ sleep });
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_UNAVAILABLE',
      ociCode: 'TOOMANYREQUESTS',
      status: 429,
      retryable: true,
    });
    assert.deepEqual(sleeps, []);
  });

  it('backs off exponentially with full jitter on 5xx, then reports REGISTRY_UNAVAILABLE', async () => {
    const s = await serve(
      (req) => ping(req) ?? { status: 502, body: 'bad gateway' }
    );
    const { sleeps, sleep } = recordingSleep();
    const c = client({
      sleep,
      random: () => 0.5,
      retry: { maxAttempts: 4, baseDelayMs: 200 },
    });
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_UNAVAILABLE',
      status: 502,
    });
    assert.deepEqual(sleeps, [100, 200, 400]);
    assert.equal(
      s.requests.filter((r) => r.url.pathname.includes('manifests')).length,
      4
    );
  });

  it('caps the backoff at maxDelayMs', async () => {
    const s = await serve((req) => ping(req) ?? { status: 500 });
    const { sleeps, sleep } = recordingSleep();
    const c = client({
      sleep,
      random: () => 0.999,
      retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 2500 },
    });
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      code: 'REGISTRY_UNAVAILABLE',
    });
    assert.deepEqual(sleeps, [999, 1998, 2497, 2497]);
  });

  it('retries a dropped connection', async () => {
    let n = 0;
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      return ++n === 1 ? { reset: true } : manifestOk();
    });
    const { sleeps, sleep } = recordingSleep();
    const c = client({ sleep });
    assert.equal(
      (await c.getManifest(repoOf(s), 'latest')).digest,
      MANIFEST_DIGEST
    );
    assert.equal(sleeps.length, 1);
  });

  it('does not retry 404, 400 or 403', async () => {
    for (const [status, code] of [
      [404, 'REGISTRY_NOT_FOUND'],
      [400, 'REGISTRY_PROTOCOL'],
      [403, 'REGISTRY_DENIED'],
    ] as const) {
      const s = await serve((req) => ping(req) ?? { status });
      const { sleeps, sleep } = recordingSleep();
      const c = client({ sleep });
      await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
        name: 'RegistryError',
        code,
        status,
      });
      assert.deepEqual(sleeps, []);
    }
  });

  it('does not retry a POST', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      return { status: 503 };
    });
    const { sleeps, sleep } = recordingSleep();
    const c = client({ sleep });
    await assert.rejects(c.putBlob(repoOf(s), randomBytes(10)), {
      code: 'REGISTRY_UNAVAILABLE',
    });
    assert.equal(s.requests.filter((r) => r.method === 'POST').length, 1);
    assert.deepEqual(sleeps, []);
  });
});

describe('redirects', () => {
  it('follows a 307 to another host without sending the registry credentials', async () => {
    const blob = randomBytes(4096);
    const digest = ociDigest(blob);
    const storage = await serve(
      () => ({ status: 200, body: blob }),
      '127.0.0.2'
    );
    const authHeader = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
    const reg = await serve((req) => {
      if (req.headers.authorization !== authHeader) {
        return {
          status: 401,
          headers: { 'www-authenticate': 'Basic realm="fault"' },
        };
      }
      if (req.url.pathname === '/v2/') return { status: 200 };
      return {
        status: 307,
        headers: { location: `${storage.url}/blobs/${digest}?sig=abc` },
      };
    });
    const c = new RegistryClient({
      credentials: staticCredentialProvider({
        [reg.host]: { kind: 'basic', username: 'alice', password: 's3cret' },
      }),
    });
    clients.push(c);
    const got = await c.getBlob(repoOf(reg), digest, {
      expectedSize: blob.length,
    });
    assert.ok(got.equals(blob));
    assert.equal(storage.requests.length, 1);
    assert.equal(storage.requests[0]?.headers.authorization, undefined);
    assert.ok(reg.requests.some((r) => r.headers.authorization === authHeader));
  });

  it('sends no credentials on a hop back to the registry after leaving it (A → B → A)', async () => {
    const blob = randomBytes(100);
    const digest = ociDigest(blob);
    let regUrl = '';
    const other = await serve(
      () => ({
        status: 302,
        headers: { location: `${regUrl}/final/${digest}` },
      }),
      '127.0.0.2'
    );
    const reg = await serve((req) => {
      if (req.url.pathname.startsWith('/final/'))
        return { status: 200, body: blob };
      if (req.headers.authorization !== 'Bearer tok-123') {
        return {
          status: 401,
          headers: {
            'www-authenticate': 'Bearer realm="https://auth.invalid/token"',
          },
        };
      }
      if (req.url.pathname === '/v2/') return { status: 200 };
      return { status: 307, headers: { location: `${other.url}/bounce` } };
    });
    regUrl = reg.url;
    const c = new RegistryClient({
      credentials: staticCredentialProvider({
        [reg.host]: { kind: 'registryToken', token: 'tok-123' },
      }),
    });
    clients.push(c);
    assert.ok((await c.getBlob(repoOf(reg), digest)).equals(blob));
    const final = reg.requests.find((r) =>
      r.url.pathname.startsWith('/final/')
    );
    assert.ok(final);
    assert.equal(final.headers.authorization, undefined);
    assert.equal(other.requests[0]?.headers.authorization, undefined);
  });

  it('refuses redirect loops', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? { status: 302, headers: { location: req.url.pathname } }
    );
    const c = client();
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_PROTOCOL',
    });
  });

  it('refuses a redirect to a non-http scheme', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? {
          status: 307,
          headers: { location: 'file:///etc/passwd' },
        }
    );
    const c = client();
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_PROTOCOL',
    });
  });
});

describe('digests', () => {
  it('works without Docker-Content-Digest: HEAD falls back to GET, GET hashes the body', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      return manifestOk(); // never sends Docker-Content-Digest
    });
    const c = client();
    const h = await c.headManifest(repoOf(s), 'latest');
    assert.deepEqual(h, {
      digest: MANIFEST_DIGEST,
      mediaType: MediaType.OciManifest,
      size: MANIFEST.length,
    });
    assert.deepEqual(
      s.requests
        .filter((r) => r.url.pathname.includes('manifests'))
        .map((r) => r.method),
      ['HEAD', 'GET']
    );
  });

  it('ignores a wrong Docker-Content-Digest on a tag and uses the content digest', async () => {
    const events: string[] = [];
    const s = await serve(
      (req) => ping(req) ?? manifestOk(MANIFEST, ociDigest('lies'))
    );
    const c = client({ log: (e) => events.push(`${e.level}:${e.message}`) });
    const m = await c.getManifest(repoOf(s), 'latest');
    assert.equal(m.digest, MANIFEST_DIGEST);
    assert.ok(events.some((e) => e.startsWith('warn:')));
  });

  it('rejects a manifest fetched by digest whose body hashes differently', async () => {
    const other = Buffer.from(
      MANIFEST.toString('utf8').replace('"layers":[]', '"layers":[] ')
    );
    const s = await serve(
      (req) => ping(req) ?? manifestOk(other, MANIFEST_DIGEST)
    );
    const c = client();
    await assert.rejects(c.getManifest(repoOf(s), MANIFEST_DIGEST), {
      name: 'RegistryError',
      code: 'REGISTRY_DIGEST_MISMATCH',
    });
  });

  it('rejects a blob whose body hashes differently', async () => {
    const s = await serve(
      (req) => ping(req) ?? { status: 200, body: randomBytes(64) }
    );
    const c = client();
    await assert.rejects(c.getBlob(repoOf(s), ociDigest('expected')), {
      name: 'RegistryError',
      code: 'REGISTRY_DIGEST_MISMATCH',
    });
  });

  it('rejects a manifest push the registry stored under another digest', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? {
          status: 201,
          headers: { 'docker-content-digest': ociDigest('x') },
        }
    );
    const c = client();
    await assert.rejects(
      c.putManifest(repoOf(s), 'v1', MANIFEST, MediaType.OciManifest),
      {
        name: 'RegistryError',
        code: 'REGISTRY_DIGEST_MISMATCH',
      }
    );
  });
});

describe('hostile bodies', () => {
  it('stops reading an endless manifest body at the cap', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? {
          endless: true,
          headers: { 'content-type': MediaType.OciManifest },
        }
    );
    const c = client({ maxManifestBytes: 1024 * 1024 });
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_TOO_LARGE',
    });
    assert.ok(s.endlessBytes < 64 * 1024 * 1024);
  });

  it('refuses a declared Content-Length over the cap without reading', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? {
          status: 200,
          headers: { 'content-length': String(10 * 1024 * 1024 * 1024) },
          body: '',
        }
    );
    const c = client();
    await assert.rejects(
      c.getBlob(repoOf(s), ociDigest('big'), { maxBytes: 1024 }),
      {
        name: 'RegistryError',
        code: 'REGISTRY_TOO_LARGE',
      }
    );
  });

  it('truncates a huge error body and still reports the status', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? {
          endless: true,
          status: 404,
          headers: { 'content-type': 'text/html' },
        }
    );
    const c = client();
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_NOT_FOUND',
      status: 404,
    });
  });

  it('refuses a huge token response', async () => {
    let url = '';
    const s = await serve((req) => {
      if (req.url.pathname === '/token')
        return {
          endless: true,
          headers: { 'content-type': 'application/json' },
        };
      return {
        status: 401,
        headers: {
          'www-authenticate': `Bearer realm="${url}/token",service="x"`,
        },
      };
    });
    url = s.url;
    const c = client();
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_TOO_LARGE',
    });
  });

  it('answers garbage with REGISTRY_PROTOCOL', async () => {
    const html = await serve(
      (req) =>
        ping(req) ?? {
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: '<html>hello</html>',
        }
    );
    await assert.rejects(client().getManifest(repoOf(html), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_PROTOCOL',
    });
    const notRegistry = await serve(() => ({ status: 404, body: 'not here' }));
    await assert.rejects(client().getManifest(repoOf(notRegistry), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_PROTOCOL',
    });
    const schema1 = await serve(
      (req) =>
        ping(req) ?? {
          status: 200,
          headers: {
            'content-type':
              'application/vnd.docker.distribution.manifest.v1+prettyjws',
          },
          body: '{"schemaVersion":1}',
        }
    );
    await assert.rejects(client().getManifest(repoOf(schema1), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_UNSUPPORTED',
    });
  });

  it('keeps tokens and query secrets out of error messages', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? {
          status: 307,
          headers: {
            location: `http://127.0.0.2:1/x?token=SECRET123&X-Amz-Signature=SIG456`,
          },
        }
    );
    const c = new RegistryClient({
      credentials: staticCredentialProvider({
        [s.host]: { kind: 'registryToken', token: 'TOKEN789' },
      }),
      retry: { maxAttempts: 1 },
    });
    clients.push(c);
    await assert.rejects(c.getManifest(repoOf(s), 'latest'), (err: Error) => {
      assert.equal(err.name, 'RegistryError');
      for (const secret of ['SECRET123', 'SIG456', 'TOKEN789'])
        assert.ok(!err.message.includes(secret), err.message);
      return true;
    });
  });
});

describe('pagination and referrers', () => {
  it('follows Link pagination for tags', async () => {
    const pages: Record<string, { tags: string[]; next?: string }> = {
      '': { tags: ['a', 'b'], next: '/v2/fault/app/tags/list?n=2&last=b' },
      b: { tags: ['c', 'd'], next: '/v2/fault/app/tags/list?n=2&last=d' },
      d: { tags: ['e'] },
    };
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      const page = pages[req.url.searchParams.get('last') ?? ''];
      if (!page) return { status: 404 };
      const headers: Record<string, string> = {
        'content-type': 'application/json',
      };
      if (page.next) headers['link'] = `<${page.next}>; rel="next"`;
      return {
        status: 200,
        headers,
        body: JSON.stringify({ name: 'fault/app', tags: page.tags }),
      };
    });
    assert.deepEqual(await client().listTags(repoOf(s)), [
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
  });

  it('refuses a next page on another host', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      return {
        status: 200,
        headers: {
          'content-type': 'application/json',
          link: '<http://127.0.0.2:9/v2/x/tags/list>; rel="next"',
        },
        body: JSON.stringify({ tags: ['a'] }),
      };
    });
    await assert.rejects(client().listTags(repoOf(s)), {
      name: 'RegistryError',
      code: 'REGISTRY_PROTOCOL',
    });
  });

  it('trusts the referrers API when it answers an OCI index, merging pages and filtering', async () => {
    const d = (n: string, artifactType: string) => ({
      mediaType: MediaType.OciManifest,
      digest: ociDigest(n),
      size: 10,
      artifactType,
    });
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      const second = req.url.searchParams.get('page') === '2';
      const headers: Record<string, string> = {
        'content-type': MediaType.OciIndex,
      };
      if (!second) headers['link'] = `<${req.url.pathname}?page=2>; rel="next"`;
      const manifests = second
        ? [d('c', 'application/x-sig')]
        : [d('a', 'application/x-sig'), d('b', 'application/x-sbom')];
      return {
        status: 200,
        headers,
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciIndex,
          manifests,
        }),
      };
    });
    const c = client();
    const all = await c.referrers(repoOf(s), MANIFEST_DIGEST);
    assert.equal(all?.manifests.length, 3);
    const sigs = await c.referrers(
      repoOf(s),
      MANIFEST_DIGEST,
      'application/x-sig'
    );
    assert.deepEqual(
      sigs?.manifests.map((m) => m.digest),
      [ociDigest('a'), ociDigest('c')]
    );
    const q = s.requests.find(
      (r) => r.url.searchParams.get('artifactType') === 'application/x-sig'
    );
    assert.ok(q);
  });

  it('does not trust a 200 referrers answer with another content type', async () => {
    const s = await serve(
      (req) =>
        ping(req) ?? {
          status: 200,
          headers: { 'content-type': 'text/plain' },
          body: '{"manifests":[]}',
        }
    );
    assert.equal(
      await client().referrers(repoOf(s), MANIFEST_DIGEST),
      undefined
    );
  });
});

describe('uploads', () => {
  it('falls back to chunked PATCH uploads when the monolithic PUT is refused with 413', async () => {
    const received: Buffer[] = [];
    const ranges: string[] = [];
    let cancelled = 0;
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      if (req.method === 'POST')
        return { status: 202, headers: { location: '/upload/1?_state=abc' } };
      if (req.method === 'DELETE') {
        cancelled++;
        return { status: 204 };
      }
      if (req.method === 'PATCH') {
        received.push(req.body);
        ranges.push(String(req.headers['content-range']));
        const total = received.reduce((n, b) => n + b.length, 0);
        return {
          status: 202,
          headers: {
            location: `/upload/1?_state=s${total}`,
            range: `0-${total - 1}`,
          },
        };
      }
      if (req.method === 'PUT' && req.body.length > 0)
        return ociError(413, 'SIZE_INVALID', 'too big');
      if (req.method === 'PUT') {
        const all = Buffer.concat(received);
        if (ociDigest(all) !== req.url.searchParams.get('digest'))
          return ociError(400, 'DIGEST_INVALID', 'bad');
        return {
          status: 201,
          headers: { 'docker-content-digest': ociDigest(all) },
        };
      }
      return { status: 405 };
    });
    const c = client({ chunkSize: 1000, minChunkSize: 1 });
    const data = randomBytes(2500);
    const d = await c.putBlob(repoOf(s), data);
    assert.equal(d.digest, ociDigest(data));
    assert.ok(Buffer.concat(received).equals(data));
    assert.deepEqual(ranges, ['0-999', '1000-1999', '2000-2499']);
    assert.equal(cancelled, 1);
    const finalPut = s.requests.filter((r) => r.method === 'PUT').at(-1);
    assert.equal(finalPut?.url.searchParams.get('_state'), 's2500');
  });

  it('sends exact Content-Length and application/octet-stream on the monolithic PUT, keeping the Location query', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      if (req.method === 'POST')
        return { status: 202, headers: { location: '/up/x?_state=a%2Bb%3D' } };
      return { status: 201 };
    });
    const data = randomBytes(777);
    await client().putBlob(repoOf(s), data);
    const put = s.requests.find((r) => r.method === 'PUT');
    assert.ok(put);
    assert.equal(put.headers['content-length'], '777');
    assert.equal(put.headers['content-type'], 'application/octet-stream');
    assert.equal(put.headers['transfer-encoding'], undefined);
    assert.equal(put.url.searchParams.get('_state'), 'a+b=');
    assert.equal(put.url.searchParams.get('digest'), ociDigest(data));
    assert.ok(put.body.equals(data));
  });

  it('retries a plain upload when the mount is refused with a 4xx', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      if (req.method === 'POST' && req.url.searchParams.has('mount'))
        return ociError(401, 'UNAUTHORIZED', 'project not found');
      if (req.method === 'POST')
        return { status: 202, headers: { location: '/up/y' } };
      return { status: 201 };
    });
    const c = client();
    await c.putBlob(repoOf(s), randomBytes(10), {
      mountFrom: repoOf(s, 'fault/other'),
    });
    assert.deepEqual(
      s.requests
        .filter((r) => r.url.pathname !== '/v2/')
        .map((r) =>
          `${r.method} ${r.url.searchParams.has('mount') ? 'mount' : ''}`.trim()
        ),
      ['HEAD', 'POST mount', 'POST', 'PUT']
    );
  });
});

describe('registry warnings and abandoned uploads', () => {
  it('shows a Warning: 299 header once, as a warn event', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      const r = manifestOk();
      return {
        ...r,
        headers: {
          ...r.headers,
          warning: '299 - "this repository is deprecated"',
        },
      };
    });
    const events: string[] = [];
    const c = client({ log: (e) => events.push(`${e.level}:${e.message}`) });
    await c.getManifest(repoOf(s), 'latest');
    await c.getManifest(repoOf(s), 'latest');
    const warns = events.filter((e) =>
      e.includes('this repository is deprecated')
    );
    assert.equal(warns.length, 1);
    assert.ok(warns[0]?.startsWith('warn:'));
  });

  it('cancels the upload session when the PUT fails', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      if (req.method === 'POST')
        return { status: 202, headers: { location: '/up/z?_state=q' } };
      if (req.method === 'PUT')
        return ociError(400, 'DIGEST_INVALID', 'digest did not match');
      if (req.method === 'DELETE') return { status: 204 };
      return { status: 405 };
    });
    await assert.rejects(client().putBlob(repoOf(s), randomBytes(10)), {
      name: 'RegistryError',
      code: 'REGISTRY_PROTOCOL',
      ociCode: 'DIGEST_INVALID',
    });
    const del = s.requests.find((r) => r.method === 'DELETE');
    assert.equal(del?.url.pathname, '/up/z');
    assert.equal(del?.url.searchParams.get('_state'), 'q');
  });
});

describe('quirk handling', () => {
  it('retries a POST that was rate limited (429 means not processed)', async () => {
    let posts = 0;
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      if (req.method === 'POST' && ++posts === 1) {
        return {
          ...ociError(429, 'TOOMANYREQUESTS', 'Rate exceeded'),
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
        };
      }
      if (req.method === 'POST')
        return { status: 202, headers: { location: '/up/r' } };
      return { status: 201 };
    });
    const { sleeps, sleep } = recordingSleep();
    await client({ sleep }).putBlob(repoOf(s), randomBytes(10));
    assert.equal(posts, 2);
    assert.deepEqual(sleeps, [1000]);
  });

  it('confirms a HEAD 404 with GET (Nexus, GitLab), unless told to trust HEAD', async () => {
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      return manifestOk();
    });
    const h = await client().headManifest(repoOf(s), 'latest');
    assert.equal(h?.digest, MANIFEST_DIGEST);
    assert.equal(
      await client({ trustHeadNotFound: true }).headManifest(
        repoOf(s),
        'latest'
      ),
      undefined
    );
  });

  it('raises chunks to the 5 MiB minimum by default', async () => {
    const patches: number[] = [];
    const s = await serve((req) => {
      const p = ping(req);
      if (p) return p;
      if (req.method === 'HEAD') return { status: 404 };
      if (req.method === 'POST')
        return { status: 202, headers: { location: '/up/c' } };
      if (req.method === 'PATCH') {
        patches.push(req.body.length);
        return { status: 202, headers: { location: '/up/c' } };
      }
      return { status: 201 };
    });
    await client({ uploadMode: 'chunked', chunkSize: 1024 }).putBlob(
      repoOf(s),
      randomBytes(6 * 1024 * 1024)
    );
    assert.deepEqual(patches, [5 * 1024 * 1024, 1024 * 1024]);
  });

  it('explains a registry that refuses OCI media types (Artifactory 6.16)', async () => {
    const s = await serve(
      (req) =>
        ping(req) ??
        ociError(
          400,
          'MANIFEST_INVALID',
          'manifest invalid: unsupported manifest media type application/vnd.oci.image.manifest.v1+json'
        )
    );
    await assert.rejects(
      client().putManifest(repoOf(s), 'v1', PLAIN, MediaType.OciManifest),
      (e: Error & { code?: string; ociCode?: string }) => {
        assert.equal(e.name, 'RegistryError');
        assert.equal(e.code, 'REGISTRY_UNSUPPORTED');
        assert.equal(e.ociCode, 'MANIFEST_INVALID');
        assert.match(e.message, /COSIGN_DOCKER_MEDIA_TYPES=1/);
        return true;
      }
    );
  });

  it('explains a registry that refuses OCI 1.1 artifacts (Alibaba)', async () => {
    const s = await serve(
      (req) =>
        ping(req) ??
        ociError(
          403,
          'DENIED',
          'unknown manifest class for application/vnd.oci.empty.v1+json'
        )
    );
    await assert.rejects(
      client().putManifest(repoOf(s), 'v1', MANIFEST, MediaType.OciManifest),
      (e: Error & { code?: string }) => {
        assert.equal(e.name, 'RegistryError');
        assert.equal(e.code, 'REGISTRY_DENIED');
        assert.match(e.message, /--new-bundle-format=false/);
        return true;
      }
    );
  });
});
