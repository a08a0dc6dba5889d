/**
 * Scopes, challenge choice, and token-response handling. Token responses
 * come from a fault server acting as registry + token realm, since the
 * real token server answers one shape only.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseScheme, scopesFor } from '../../src/oci/auth.js';
import { parseWwwAuthenticate } from '../../src/oci/challenge.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { MediaType } from '../../src/oci/types.js';
import { ociDigest } from '../../src/core/digest.js';
import { startFaultServer } from '../support/fault-server.js';
import type {
  FaultRequest,
  FaultResponse,
  FaultServer,
} from '../support/fault-server.js';

describe('scopesFor', () => {
  it('pull', () =>
    assert.deepEqual(scopesFor('a/b', 'pull'), ['repository:a/b:pull']));
  it('push', () =>
    assert.deepEqual(scopesFor('a/b', 'push'), ['repository:a/b:pull,push']));
  it('delete', () =>
    assert.deepEqual(scopesFor('a/b', 'delete'), [
      'repository:a/b:pull,push,delete',
    ]));
  it('mount: push scope first, then pull on the source', () =>
    assert.deepEqual(scopesFor('a/b', 'push', 'c/d'), [
      'repository:a/b:pull,push',
      'repository:c/d:pull',
    ]));
  it('mount from the same repository adds nothing', () =>
    assert.deepEqual(scopesFor('a/b', 'push', 'a/b'), [
      'repository:a/b:pull,push',
    ]));
});

describe('chooseScheme', () => {
  const cases: [string[], unknown][] = [
    [
      [
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      ],
      {
        kind: 'bearer',
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
      },
    ],
    [['BASIC realm="Sonatype Nexus Repository Manager"'], { kind: 'basic' }],
    [['Negotiate', 'Basic realm="x"'], { kind: 'basic' }],
    [
      ['Basic realm="x", Bearer realm="https://t/token"'],
      { kind: 'bearer', realm: 'https://t/token', service: undefined },
    ],
    [['Negotiate abc=='], undefined],
    [['Bearer service="no-realm"'], undefined],
  ];
  for (const [headers, want] of cases) {
    it(headers.join(' | '), () =>
      assert.deepEqual(chooseScheme(parseWwwAuthenticate(headers)), want)
    );
  }
});

const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciEmpty, digest: ociDigest('{}'), size: 2 },
    layers: [],
  })
);

describe('token responses', () => {
  const servers: FaultServer[] = [];
  const clients: RegistryClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) await s.stop();
  });

  /** A registry that wants `Bearer good-token` and serves its token endpoint itself. */
  async function registry(
    token: (req: FaultRequest) => FaultResponse,
    challengeScope?: string
  ): Promise<FaultServer> {
    let base = '';
    const s = await startFaultServer((req) => {
      if (req.url.pathname === '/token') return token(req);
      if (req.headers.authorization === 'Bearer good-token') {
        return {
          status: 200,
          headers: { 'content-type': MediaType.OciManifest },
          body: MANIFEST,
        };
      }
      const scope = challengeScope ? `,scope="${challengeScope}"` : '';
      return {
        status: 401,
        headers: {
          'www-authenticate': `Bearer realm="${base}/token?fixed=1",service="svc"${scope}`,
        },
        body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
      };
    });
    base = s.url;
    servers.push(s);
    return s;
  }
  const json = (o: unknown): FaultResponse => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(o),
  });
  function client(s: FaultServer, now?: () => number): RegistryClient {
    const c = new RegistryClient({
      credentials: staticCredentialProvider({
        [s.host]: { kind: 'basic', username: 'u', password: 'p' },
      }),
      retry: { maxAttempts: 1 },
      ...(now ? { now } : {}),
    });
    clients.push(c);
    return c;
  }
  const tokenRequests = (s: FaultServer) =>
    s.requests.filter((r) => r.url.pathname === '/token');

  it('uses access_token when token is absent, keeps the realm query, sends service and scope', async () => {
    const s = await registry(() => json({ access_token: 'good-token' }));
    const c = client(s);
    await c.getManifest({ registry: s.host, repository: 'a/b' }, 'v1');
    const [t] = tokenRequests(s);
    assert.ok(t);
    assert.equal(t.url.searchParams.get('fixed'), '1');
    assert.equal(t.url.searchParams.get('service'), 'svc');
    assert.deepEqual(t.url.searchParams.getAll('scope'), [
      'repository:a/b:pull',
    ]);
    assert.equal(
      t.headers.authorization,
      `Basic ${Buffer.from('u:p').toString('base64')}`
    );
  });

  it('clamps a short expires_in to 60 s and renews after it', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const s = await registry(() =>
      json({ token: 'good-token', expires_in: 5 })
    );
    const c = client(s, () => now);
    const repo = { registry: s.host, repository: 'a/b' };
    await c.getManifest(repo, 'v1');
    now += 30_000;
    await c.getManifest(repo, 'v1');
    assert.equal(tokenRequests(s).length, 1);
    now += 30_000;
    await c.getManifest(repo, 'v1');
    assert.equal(tokenRequests(s).length, 2);
  });

  it('ignores an issued_at in the future', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const s = await registry(() =>
      json({
        token: 'good-token',
        expires_in: 300,
        issued_at: '2030-01-01T00:00:00Z',
      })
    );
    const c = client(s, () => now);
    const repo = { registry: s.host, repository: 'a/b' };
    await c.getManifest(repo, 'v1');
    now += 200_000;
    await c.getManifest(repo, 'v1');
    assert.equal(tokenRequests(s).length, 1);
    now += 100_000;
    await c.getManifest(repo, 'v1');
    assert.equal(tokenRequests(s).length, 2);
  });

  it('refuses a token response without a token', async () => {
    const s = await registry(() => json({ expires_in: 300 }));
    await assert.rejects(
      client(s).getManifest({ registry: s.host, repository: 'a/b' }, 'v1'),
      {
        name: 'RegistryError',
        code: 'REGISTRY_PROTOCOL',
      }
    );
  });

  it('refuses a token response that is not JSON', async () => {
    const s = await registry(() => ({
      status: 200,
      body: '<html>login</html>',
    }));
    await assert.rejects(
      client(s).getManifest({ registry: s.host, repository: 'a/b' }, 'v1'),
      {
        name: 'RegistryError',
        code: 'REGISTRY_PROTOCOL',
      }
    );
  });

  it('adds a scope named by the challenge in front and retries once', async () => {
    const s = await registry((req) => {
      const scopes = req.url.searchParams.getAll('scope');
      return json({
        token: scopes.includes('repository:a/b:pull,extra')
          ? 'good-token'
          : 'weak-token',
      });
    }, 'repository:a/b:pull,extra');
    const c = client(s);
    await c.getManifest({ registry: s.host, repository: 'a/b' }, 'v1');
    const reqs = tokenRequests(s);
    assert.equal(reqs.length, 2);
    assert.deepEqual(reqs[1]?.url.searchParams.getAll('scope'), [
      'repository:a/b:pull,extra',
      'repository:a/b:pull',
    ]);
  });

  it('reports a token server that refuses the credentials as REGISTRY_UNAUTHORIZED', async () => {
    const s = await registry(() => ({
      status: 401,
      headers: { 'content-type': 'application/json' },
      body: '{"details":"bad creds"}',
    }));
    await assert.rejects(
      client(s).getManifest({ registry: s.host, repository: 'a/b' }, 'v1'),
      {
        name: 'RegistryError',
        code: 'REGISTRY_UNAUTHORIZED',
      }
    );
  });

  it('refuses a realm with a non-http scheme', async () => {
    const s = await startFaultServer(() => ({
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="file:///etc/passwd"' },
    }));
    servers.push(s);
    await assert.rejects(
      client(s).getManifest({ registry: s.host, repository: 'a/b' }, 'v1'),
      {
        name: 'RegistryError',
        code: 'REGISTRY_PROTOCOL',
      }
    );
  });

  it('refuses a registry offering no scheme it can answer', async () => {
    const s = await startFaultServer(() => ({
      status: 401,
      headers: { 'www-authenticate': 'Negotiate' },
    }));
    servers.push(s);
    await assert.rejects(
      client(s).getManifest({ registry: s.host, repository: 'a/b' }, 'v1'),
      {
        name: 'RegistryError',
        code: 'REGISTRY_UNSUPPORTED',
      }
    );
  });
});
