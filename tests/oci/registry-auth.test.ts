/**
 * Authentication against the real registry: htpasswd Basic, and Bearer
 * tokens from tests/support/token-server.ts that the registry verifies
 * through auth.token.rootcertbundle.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient } from '../../src/oci/registry.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import type { Credential } from '../../src/oci/credentials.js';
import { startRegistry } from '../support/registry.js';
import type { RunningRegistry } from '../support/registry.js';
import { pushRandomImage } from '../support/images.js';

function clientFor(
  reg: RunningRegistry,
  cred: Credential | undefined,
  extra: ConstructorParameters<typeof RegistryClient>[0] = {}
): RegistryClient {
  return new RegistryClient({
    credentials: staticCredentialProvider(cred ? { [reg.host]: cred } : {}),
    retry: { maxAttempts: 1 },
    ...extra,
  });
}

const GOOD: Credential = {
  kind: 'basic',
  username: 'signet',
  password: 'signet-password',
};

describe('Basic auth (htpasswd)', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'basic' });
  });
  after(async () => {
    await reg.stop();
  });

  it('pushes and pulls with the right credentials', async () => {
    const c = clientFor(reg, GOOD);
    try {
      const repo = { registry: reg.host, repository: 'basic/app' };
      const img = await pushRandomImage(c, repo, { tag: 'v1' });
      assert.deepEqual(await c.authScheme(reg.host), { kind: 'basic' });
      assert.equal((await c.getManifest(repo, 'v1')).digest, img.digest);
      assert.deepEqual(await c.listTags(repo), ['v1']);
      await c.deleteManifest(repo, img.digest);
    } finally {
      await c.close();
    }
  });

  it('sends Basic credentials up front: one request per operation after the ping', async () => {
    const c = clientFor(reg, GOOD);
    try {
      const repo = { registry: reg.host, repository: 'basic/count' };
      await pushRandomImage(c, repo, { tag: 'x' });
      const before = c.stats.requests;
      await c.headManifest(repo, 'x');
      assert.equal(c.stats.requests - before, 1);
    } finally {
      await c.close();
    }
  });

  it('fails anonymously with REGISTRY_UNAUTHORIZED', async () => {
    const c = clientFor(reg, undefined);
    try {
      await assert.rejects(
        c.getManifest({ registry: reg.host, repository: 'basic/app' }, 'v1'),
        { name: 'RegistryError', code: 'REGISTRY_UNAUTHORIZED', status: 401 }
      );
    } finally {
      await c.close();
    }
  });

  it('fails with a wrong password with REGISTRY_UNAUTHORIZED, never echoing it', async () => {
    const c = clientFor(reg, {
      kind: 'basic',
      username: 'signet',
      password: 'hunter2-wrong',
    });
    try {
      await assert.rejects(
        c.getManifest({ registry: reg.host, repository: 'basic/app' }, 'v1'),
        (err: Error & { code?: string }) => {
          assert.equal(err.name, 'RegistryError');
          assert.equal(err.code, 'REGISTRY_UNAUTHORIZED');
          assert.ok(!err.message.includes('hunter2'));
          return true;
        }
      );
    } finally {
      await c.close();
    }
  });
});

describe('Bearer token auth', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry({
      auth: 'token',
      users: { signet: 'signet-password', reader: 'reader-password' },
      token: {
        readOnlyUsers: ['reader'],
        refreshTokens: { 'refresh-abc': 'signet' },
      },
    });
  });
  after(async () => {
    await reg.stop();
  });
  const ts = () => {
    const t = reg.tokenServer;
    assert.ok(t);
    return t;
  };

  it('gets tokens by GET with Basic credentials, pushes and pulls', async () => {
    const c = clientFor(reg, GOOD);
    try {
      const repo = { registry: reg.host, repository: 'tok/app' };
      const from = ts().requests.length;
      const img = await pushRandomImage(c, repo, { tag: 'v1' });
      const scheme = await c.authScheme(reg.host);
      assert.equal(scheme.kind, 'bearer');
      const reqs = ts().requests.slice(from);
      assert.ok(reqs.length >= 1);
      for (const r of reqs) {
        assert.equal(r.method, 'GET');
        assert.equal(r.user, 'signet');
        assert.equal(r.service, 'signet-test-registry');
      }
      assert.deepEqual(reqs[0]?.scopes, ['repository:tok/app:pull,push']);
      assert.equal((await c.getManifest(repo, 'v1')).digest, img.digest);
    } finally {
      await c.close();
    }
  });

  it('caches tokens per scope set', async () => {
    const c = clientFor(reg, GOOD);
    try {
      const repo = { registry: reg.host, repository: 'tok/cache' };
      await pushRandomImage(c, repo, { tag: 'v1' });
      const from = ts().requests.length;
      await c.getManifest(repo, 'v1');
      await c.getManifest(repo, 'v1');
      await c.headManifest(repo, 'v1');
      await c.listTags(repo);
      const reqs = ts().requests.slice(from);
      assert.equal(reqs.length, 1);
      assert.deepEqual(reqs[0]?.scopes, ['repository:tok/cache:pull']);
    } finally {
      await c.close();
    }
  });

  it('renews a token when it expires', async () => {
    let now = Date.now();
    const c = clientFor(reg, GOOD, { now: () => now });
    try {
      const repo = { registry: reg.host, repository: 'tok/expiry' };
      await pushRandomImage(c, repo, { tag: 'v1' });
      await c.getManifest(repo, 'v1');
      const from = ts().requests.length;
      now += 301_000; // the token server issues 300 s tokens
      await c.getManifest(repo, 'v1');
      assert.equal(ts().requests.length - from, 1);
    } finally {
      await c.close();
    }
  });

  it('asks for push scope first and pull on the source for a cross-repository mount', async () => {
    const c = clientFor(reg, GOOD);
    try {
      const src = { registry: reg.host, repository: 'tok/src' };
      const dst = { registry: reg.host, repository: 'tok/dst' };
      const img = await pushRandomImage(c, src, { layers: [2000] });
      const layer = img.layers[0];
      assert.ok(layer);
      const data = await c.getBlob(src, layer.digest);
      const from = ts().requests.length;
      const before = c.stats.requests;
      await c.putBlob(dst, data, { mountFrom: src });
      const reqs = ts().requests.slice(from);
      assert.deepEqual(reqs[0]?.scopes, [
        'repository:tok/dst:pull,push',
        'repository:tok/src:pull',
      ]);
      // token, HEAD, POST ?mount= (201)
      assert.equal(c.stats.requests - before, 3);
      assert.equal(await c.blobExists(dst, layer.digest), true);
    } finally {
      await c.close();
    }
  });

  it('asks for delete scope to delete', async () => {
    const c = clientFor(reg, GOOD);
    try {
      const repo = { registry: reg.host, repository: 'tok/del' };
      const img = await pushRandomImage(c, repo, { tag: 'v1' });
      const from = ts().requests.length;
      await c.deleteManifest(repo, img.digest);
      assert.deepEqual(ts().requests.slice(from)[0]?.scopes, [
        'repository:tok/del:pull,push,delete',
      ]);
      assert.equal(await c.headManifest(repo, img.digest), undefined);
    } finally {
      await c.close();
    }
  });

  it('fails anonymously with REGISTRY_UNAUTHORIZED', async () => {
    const c = clientFor(reg, undefined);
    try {
      await assert.rejects(
        c.getManifest({ registry: reg.host, repository: 'tok/app' }, 'v1'),
        { name: 'RegistryError', code: 'REGISTRY_UNAUTHORIZED', status: 401 }
      );
    } finally {
      await c.close();
    }
  });

  it('fails with bad credentials with REGISTRY_UNAUTHORIZED from the token server', async () => {
    const c = clientFor(reg, {
      kind: 'basic',
      username: 'signet',
      password: 'nope',
    });
    try {
      await assert.rejects(
        c.getManifest({ registry: reg.host, repository: 'tok/app' }, 'v1'),
        { name: 'RegistryError', code: 'REGISTRY_UNAUTHORIZED' }
      );
    } finally {
      await c.close();
    }
  });

  it('reports a push beyond the granted scope as REGISTRY_DENIED', async () => {
    const writer = clientFor(reg, GOOD);
    const reader = clientFor(reg, {
      kind: 'basic',
      username: 'reader',
      password: 'reader-password',
    });
    try {
      const repo = { registry: reg.host, repository: 'tok/ro' };
      const img = await pushRandomImage(writer, repo, { tag: 'v1' });
      assert.equal((await reader.getManifest(repo, 'v1')).digest, img.digest);
      await assert.rejects(
        reader.putManifest(repo, 'v2', img.bytes, img.mediaType),
        { name: 'RegistryError', code: 'REGISTRY_DENIED' }
      );
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('uses an identity token with the OAuth2 refresh-token POST and follows rotation', async () => {
    const c = clientFor(reg, { kind: 'identityToken', token: 'refresh-abc' });
    try {
      const a = { registry: reg.host, repository: 'tok/oauth-a' };
      const b = { registry: reg.host, repository: 'tok/oauth-b' };
      const from = ts().requests.length;
      await pushRandomImage(c, a, { tag: 'v1' });
      await pushRandomImage(c, b, { tag: 'v1' });
      const reqs = ts().requests.slice(from);
      assert.equal(reqs.length, 2);
      assert.equal(reqs[0]?.method, 'POST');
      assert.equal(reqs[0]?.grantType, 'refresh_token');
      assert.equal(reqs[0]?.refreshToken, 'refresh-abc');
      assert.equal(reqs[0]?.user, 'signet');
      assert.deepEqual(reqs[0]?.scopes, ['repository:tok/oauth-a:pull,push']);
      // the server rotated the refresh token; the second POST uses the new one
      assert.equal(reqs[1]?.method, 'POST');
      assert.notEqual(reqs[1]?.refreshToken, 'refresh-abc');
      assert.equal(reqs[1]?.user, 'signet');
    } finally {
      await c.close();
    }
  });

  it('sends a registry token as-is, without asking the token server', async () => {
    // Obtain a pull token the way a `docker login --password-stdin` token store would.
    const url = new URL(ts().realm);
    url.searchParams.set('service', ts().service);
    url.searchParams.set('scope', 'repository:tok/app:pull');
    const res = await fetch(url, {
      headers: {
        authorization: `Basic ${Buffer.from('signet:signet-password').toString('base64')}`,
      },
    });
    const { token } = (await res.json()) as { token: string };
    const writer = clientFor(reg, GOOD);
    const c = clientFor(reg, { kind: 'registryToken', token });
    try {
      const repo = { registry: reg.host, repository: 'tok/app' };
      const img = await pushRandomImage(writer, repo, { tag: 'rt' });
      const from = ts().requests.length;
      assert.equal((await c.getManifest(repo, 'rt')).digest, img.digest);
      assert.equal(ts().requests.length, from);
    } finally {
      await writer.close();
      await c.close();
    }
  });
});

describe('Bearer token auth: fallbacks', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry({
      auth: 'token',
      token: {
        anonymousPull: true,
        disablePost: true,
        refreshTokens: { 'refresh-xyz': 'signet' },
      },
    });
  });
  after(async () => {
    await reg.stop();
  });

  it('falls back to GET when the token server refuses the OAuth2 POST', async () => {
    const c = clientFor(reg, { kind: 'identityToken', token: 'refresh-xyz' });
    try {
      const ts = reg.tokenServer;
      assert.ok(ts);
      const from = ts.requests.length;
      await pushRandomImage(
        c,
        { registry: reg.host, repository: 'fb/app' },
        { tag: 'v1' }
      );
      const reqs = ts.requests.slice(from);
      assert.equal(reqs[0]?.method, 'POST');
      assert.equal(reqs[1]?.method, 'GET');
      assert.equal(reqs[1]?.user, 'signet');
      assert.equal(reqs[1]?.refreshToken, 'refresh-xyz');
    } finally {
      await c.close();
    }
  });

  it('pulls anonymously with an anonymous token, and cannot push', async () => {
    const writer = clientFor(reg, GOOD);
    const anon = clientFor(reg, undefined);
    try {
      const repo = { registry: reg.host, repository: 'fb/public' };
      const img = await pushRandomImage(writer, repo, { tag: 'v1' });
      assert.equal((await anon.getManifest(repo, 'v1')).digest, img.digest);
      const ts = reg.tokenServer;
      assert.ok(ts);
      assert.ok(
        ts.requests.some((r) => r.user === undefined && !r.hadAuthorization)
      );
      await assert.rejects(
        anon.putManifest(repo, 'v2', img.bytes, img.mediaType),
        {
          name: 'RegistryError',
          code: 'REGISTRY_UNAUTHORIZED',
        }
      );
    } finally {
      await writer.close();
      await anon.close();
    }
  });
});
