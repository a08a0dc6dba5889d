import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  apiHost,
  formatReference,
  parseReference,
  parseRepository,
  repositoryName,
  withDigest,
  type Reference,
} from '../../src/oci/reference.js';

const HEX = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const D = `sha256:${HEX}`;
const INVALID = { name: 'SignetError', code: 'INVALID_REFERENCE' };

interface Good {
  in: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  canonical: string;
}

const good: Good[] = [
  // Docker Hub normalisation
  {
    in: 'alpine',
    registry: 'index.docker.io',
    repository: 'library/alpine',
    tag: 'latest',
    canonical: 'index.docker.io/library/alpine:latest',
  },
  {
    in: 'alpine:3.19',
    registry: 'index.docker.io',
    repository: 'library/alpine',
    tag: '3.19',
    canonical: 'index.docker.io/library/alpine:3.19',
  },
  {
    in: 'user/app',
    registry: 'index.docker.io',
    repository: 'user/app',
    tag: 'latest',
    canonical: 'index.docker.io/user/app:latest',
  },
  {
    in: 'docker.io/alpine',
    registry: 'index.docker.io',
    repository: 'library/alpine',
    tag: 'latest',
    canonical: 'index.docker.io/library/alpine:latest',
  },
  {
    in: 'docker.io/library/alpine:edge',
    registry: 'index.docker.io',
    repository: 'library/alpine',
    tag: 'edge',
    canonical: 'index.docker.io/library/alpine:edge',
  },
  {
    in: 'index.docker.io/alpine',
    registry: 'index.docker.io',
    repository: 'library/alpine',
    tag: 'latest',
    canonical: 'index.docker.io/library/alpine:latest',
  },
  {
    in: 'index.docker.io/user/app:v1',
    registry: 'index.docker.io',
    repository: 'user/app',
    tag: 'v1',
    canonical: 'index.docker.io/user/app:v1',
  },
  {
    in: 'DOCKER.IO/alpine',
    registry: 'index.docker.io',
    repository: 'library/alpine',
    tag: 'latest',
    canonical: 'index.docker.io/library/alpine:latest',
  },
  {
    in: 'registry-1.docker.io/library/alpine',
    registry: 'registry-1.docker.io',
    repository: 'library/alpine',
    tag: 'latest',
    canonical: 'registry-1.docker.io/library/alpine:latest',
  },
  // Digests, with and without tags
  {
    in: `alpine@${D}`,
    registry: 'index.docker.io',
    repository: 'library/alpine',
    digest: D,
    canonical: `index.docker.io/library/alpine@${D}`,
  },
  {
    in: `alpine:3@${D}`,
    registry: 'index.docker.io',
    repository: 'library/alpine',
    tag: '3',
    digest: D,
    canonical: `index.docker.io/library/alpine:3@${D}`,
  },
  {
    in: `ghcr.io/o/a@${D}`,
    registry: 'ghcr.io',
    repository: 'o/a',
    digest: D,
    canonical: `ghcr.io/o/a@${D}`,
  },
  {
    in: `localhost:5000/a:v1@${D}`,
    registry: 'localhost:5000',
    repository: 'a',
    tag: 'v1',
    digest: D,
    canonical: `localhost:5000/a:v1@${D}`,
  },
  {
    in: `r.io/a@sha512:${'ab'.repeat(64)}`,
    registry: 'r.io',
    repository: 'a',
    digest: `sha512:${'ab'.repeat(64)}`,
    canonical: `r.io/a@sha512:${'ab'.repeat(64)}`,
  },
  {
    in: `r.io/a@multihash+base58:${'0123456789abcdef'.repeat(2)}`,
    registry: 'r.io',
    repository: 'a',
    digest: `multihash+base58:${'0123456789abcdef'.repeat(2)}`,
    canonical: `r.io/a@multihash+base58:${'0123456789abcdef'.repeat(2)}`,
  },
  // Registries: hosts, ports, IPs
  {
    in: 'ghcr.io/org/app:v1.2.3',
    registry: 'ghcr.io',
    repository: 'org/app',
    tag: 'v1.2.3',
    canonical: 'ghcr.io/org/app:v1.2.3',
  },
  {
    in: 'GHCR.IO/org/app',
    registry: 'ghcr.io',
    repository: 'org/app',
    tag: 'latest',
    canonical: 'ghcr.io/org/app:latest',
  },
  {
    in: 'localhost/app',
    registry: 'localhost',
    repository: 'app',
    tag: 'latest',
    canonical: 'localhost/app:latest',
  },
  {
    in: 'localhost:5000/app',
    registry: 'localhost:5000',
    repository: 'app',
    tag: 'latest',
    canonical: 'localhost:5000/app:latest',
  },
  {
    in: '127.0.0.1:5000/demo:t',
    registry: '127.0.0.1:5000',
    repository: 'demo',
    tag: 't',
    canonical: '127.0.0.1:5000/demo:t',
  },
  {
    in: '[::1]:5000/demo',
    registry: '[::1]:5000',
    repository: 'demo',
    tag: 'latest',
    canonical: '[::1]:5000/demo:latest',
  },
  {
    in: '[2001:DB8::1]/x/y:z',
    registry: '[2001:db8::1]',
    repository: 'x/y',
    tag: 'z',
    canonical: '[2001:db8::1]/x/y:z',
  },
  {
    in: 'myhost:8080/a/b/c',
    registry: 'myhost:8080',
    repository: 'a/b/c',
    tag: 'latest',
    canonical: 'myhost:8080/a/b/c:latest',
  },
  {
    in: 'my-registry.example.com/team/app',
    registry: 'my-registry.example.com',
    repository: 'team/app',
    tag: 'latest',
    canonical: 'my-registry.example.com/team/app:latest',
  },
  {
    in: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1',
    registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
    repository: 'app',
    tag: '1',
    canonical: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1',
  },
  // Path component separators
  {
    in: 'r.io/a.b_c__d-e--f',
    registry: 'r.io',
    repository: 'a.b_c__d-e--f',
    tag: 'latest',
    canonical: 'r.io/a.b_c__d-e--f:latest',
  },
  {
    in: 'r.io/a/b/c/d/e',
    registry: 'r.io',
    repository: 'a/b/c/d/e',
    tag: 'latest',
    canonical: 'r.io/a/b/c/d/e:latest',
  },
  // A first component without '.' or ':' that is not localhost is a Hub namespace
  {
    in: 'myhost/app',
    registry: 'index.docker.io',
    repository: 'myhost/app',
    tag: 'latest',
    canonical: 'index.docker.io/myhost/app:latest',
  },
  // Known distribution quirk: host:port without '/' is a Hub repo with a tag
  {
    in: 'localhost:5000',
    registry: 'index.docker.io',
    repository: 'library/localhost',
    tag: '5000',
    canonical: 'index.docker.io/library/localhost:5000',
  },
  // Tags
  {
    in: 'a:_x',
    registry: 'index.docker.io',
    repository: 'library/a',
    tag: '_x',
    canonical: 'index.docker.io/library/a:_x',
  },
  {
    in: 'a:V1.0-RC_2',
    registry: 'index.docker.io',
    repository: 'library/a',
    tag: 'V1.0-RC_2',
    canonical: 'index.docker.io/library/a:V1.0-RC_2',
  },
  {
    in: `a:${'t'.repeat(128)}`,
    registry: 'index.docker.io',
    repository: 'library/a',
    tag: 't'.repeat(128),
    canonical: `index.docker.io/library/a:${'t'.repeat(128)}`,
  },
  {
    in: `sha256-${HEX}.sig`.replace(/^/, 'r.io/a:'),
    registry: 'r.io',
    repository: 'a',
    tag: `sha256-${HEX}.sig`,
    canonical: `r.io/a:sha256-${HEX}.sig`,
  },
  // Length limit is on the path as written
  {
    in: `r.io/${'a'.repeat(255)}`,
    registry: 'r.io',
    repository: 'a'.repeat(255),
    tag: 'latest',
    canonical: `r.io/${'a'.repeat(255)}:latest`,
  },
];

const bad: { in: string; why: string }[] = [
  { in: '', why: 'empty' },
  { in: ' alpine', why: 'leading space' },
  { in: 'alpine ', why: 'trailing space' },
  { in: 'alp ine', why: 'inner space' },
  { in: 'alpine\n', why: 'newline' },
  { in: 'alpine\u0000', why: 'NUL' },
  { in: 'Alpine', why: 'upper-case Hub repository' },
  { in: 'Foo/bar', why: 'upper-case first component is not a registry' },
  { in: 'ghcr.io/Org/app', why: 'upper-case path' },
  { in: 'alpine:', why: 'empty tag' },
  { in: 'alpine@', why: 'empty digest' },
  { in: ':tag', why: 'no name' },
  { in: '@' + D, why: 'no name before digest' },
  { in: 'alpine:.x', why: 'tag starts with .' },
  { in: 'alpine:-x', why: 'tag starts with -' },
  { in: 'alpine:a+b', why: 'tag with +' },
  { in: `alpine:${'t'.repeat(129)}`, why: 'tag too long' },
  { in: `alpine@sha256:${HEX.slice(1)}`, why: 'sha256 with 63 hex' },
  { in: `alpine@sha256:${HEX}0`, why: 'sha256 with 65 hex' },
  { in: `alpine@sha256:${HEX.toUpperCase()}`, why: 'sha256 upper-case hex' },
  { in: `alpine@${HEX}`, why: 'digest without algorithm' },
  { in: `alpine@sha256:${'g'.repeat(64)}`, why: 'non-hex digest' },
  { in: `alpine@1sha:${HEX}`, why: 'algorithm starting with a digit' },
  {
    in: `alpine@foo:${'a'.repeat(31)}`,
    why: 'unknown algorithm with < 32 hex',
  },
  { in: `alpine@${D}@${D}`, why: 'two digests' },
  { in: HEX, why: 'bare 64-hex image ID' },
  { in: '/alpine', why: 'leading slash' },
  { in: 'alpine/', why: 'trailing slash' },
  { in: 'ghcr.io/a//b', why: 'empty path component' },
  { in: 'ghcr.io/', why: 'registry only' },
  { in: 'r.io/a..b', why: 'double dot separator' },
  { in: 'r.io/a___b', why: 'triple underscore separator' },
  { in: 'r.io/-a', why: 'component starts with -' },
  { in: 'r.io/a-', why: 'component ends with -' },
  { in: 'r.io/a.', why: 'component ends with .' },
  { in: 'r.io/a!b', why: 'punctuation in path' },
  { in: 'https://ghcr.io/org/app:v1', why: 'URL scheme' },
  { in: 'host:/app', why: 'empty port' },
  { in: 'host:abc/app', why: 'non-numeric port' },
  { in: 'host:65536/app', why: 'port out of range' },
  { in: 'host:0/app', why: 'port zero' },
  { in: '-bad.io/app', why: 'host label starts with -' },
  { in: 'bad-.io/app', why: 'host label ends with -' },
  { in: 'a..io/app', why: 'empty host label' },
  { in: 'ex_ample.com/app', why: 'underscore in host' },
  { in: '[::1/app', why: 'unterminated IPv6' },
  { in: '[::1]x/app', why: 'junk after IPv6' },
  { in: '[zz::1]/app', why: 'non-hex IPv6' },
  { in: `r.io/${'a'.repeat(256)}`, why: 'repository too long' },
];

describe('parseReference', () => {
  for (const c of good) {
    it(`parses ${JSON.stringify(c.in.length > 80 ? c.in.slice(0, 80) + '…' : c.in)}`, () => {
      const r = parseReference(c.in);
      assert.equal(r.registry, c.registry);
      assert.equal(r.repository, c.repository);
      assert.equal(r.tag, c.tag);
      assert.equal(r.digest, c.digest);
      assert.equal(r.original, c.in);
      assert.equal(formatReference(r), c.canonical);
      // The canonical form is a fixed point.
      const again = parseReference(c.canonical);
      assert.equal(formatReference(again), c.canonical);
    });
  }

  for (const c of bad) {
    it(`rejects ${c.why}`, () => {
      assert.throws(() => parseReference(c.in), INVALID);
    });
  }

  it('omits tag and digest properties rather than setting them undefined', () => {
    const r = parseReference(`ghcr.io/o/a@${D}`);
    assert.equal(Object.hasOwn(r, 'tag'), false);
    const t = parseReference('ghcr.io/o/a:v1');
    assert.equal(Object.hasOwn(t, 'digest'), false);
  });

  it('names the bad input and the reason in the message', () => {
    assert.throws(
      () => parseReference('ghcr.io/Org/app'),
      (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.equal((e as { code?: string }).code, 'INVALID_REFERENCE');
        assert.ok(e.message.includes('"ghcr.io/Org/app"'));
        assert.ok(e.message.includes('lowercase'));
        return true;
      }
    );
  });

  it('does not echo credentials embedded in a URL-like input', () => {
    assert.throws(
      () => parseReference('https://user:s3cret@ghcr.io/o/a'),
      (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.equal(e.message.includes('s3cret'), false);
        return true;
      }
    );
  });

  it('uses defaultRegistry for names without a registry, without library/', () => {
    const r = parseReference('app:1', { defaultRegistry: 'Reg.Example:5000' });
    assert.equal(r.registry, 'reg.example:5000');
    assert.equal(r.repository, 'app');
    const explicit = parseReference('ghcr.io/o/a', {
      defaultRegistry: 'reg.example',
    });
    assert.equal(explicit.registry, 'ghcr.io');
    const hub = parseReference('app', { defaultRegistry: 'docker.io' });
    assert.equal(hub.registry, 'index.docker.io');
    assert.equal(hub.repository, 'library/app');
  });

  it('rejects an invalid defaultRegistry', () => {
    assert.throws(
      () => parseReference('app', { defaultRegistry: 'bad host' }),
      INVALID
    );
  });
});

describe('parseRepository', () => {
  it('normalises like parseReference', () => {
    assert.deepEqual(parseRepository('ghcr.io/org/sigs'), {
      registry: 'ghcr.io',
      repository: 'org/sigs',
    });
    assert.deepEqual(parseRepository('localhost:5000/sigs'), {
      registry: 'localhost:5000',
      repository: 'sigs',
    });
    assert.deepEqual(parseRepository('sigs'), {
      registry: 'index.docker.io',
      repository: 'library/sigs',
    });
    assert.deepEqual(parseRepository('docker.io/me/sigs'), {
      registry: 'index.docker.io',
      repository: 'me/sigs',
    });
  });

  for (const input of [
    'ghcr.io/org/sigs:v1',
    `ghcr.io/org/sigs@${D}`,
    'Sigs',
    '',
    'ghcr.io/',
    'r.io/a b',
  ]) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseRepository(input), INVALID);
    });
  }
});

describe('repositoryName and apiHost', () => {
  it('joins registry and repository', () => {
    assert.equal(
      repositoryName(parseReference('alpine:3')),
      'index.docker.io/library/alpine'
    );
    assert.equal(
      repositoryName({ registry: '127.0.0.1:5000', repository: 'a/b' }),
      '127.0.0.1:5000/a/b'
    );
  });

  it('maps Docker Hub to its API host only', () => {
    assert.equal(apiHost('index.docker.io'), 'registry-1.docker.io');
    assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(apiHost('ghcr.io'), 'ghcr.io');
    assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(apiHost('notdocker.io'), 'notdocker.io');
  });
});

describe('withDigest', () => {
  it('pins the repository to the digest and drops the tag', () => {
    const r = parseReference('ghcr.io/o/a:v1');
    const d = withDigest(r, D);
    const expected: Reference = {
      registry: 'ghcr.io',
      repository: 'o/a',
      digest: D,
      original: 'ghcr.io/o/a:v1',
    };
    assert.deepEqual(d, expected);
    assert.equal(formatReference(d), `ghcr.io/o/a@${D}`);
  });

  it('rejects a malformed digest', () => {
    const r = parseReference('ghcr.io/o/a:v1');
    assert.throws(() => withDigest(r, 'sha256:abc'), INVALID);
    assert.throws(() => withDigest(r, ''), INVALID);
  });
});

describe('interop with cosign payloads', () => {
  it('gives the docker-reference cosign wrote for a docker.io image', () => {
    // cosign pkg/cosign/obsolete_test.go signs
    // docker.io/namespace/image@sha256:4aa3…; its payload names the
    // repository as index.docker.io/namespace/image (ggcr normalisation).
    const payload = JSON.parse(
      readFileSync(
        join(sharedFixtures, 'cosign', 'legacy-signature', 'payload.json'),
        'utf8'
      )
    ) as {
      critical: {
        identity: { 'docker-reference': string };
        image: { 'docker-manifest-digest': string };
      };
    };
    const digest = payload.critical.image['docker-manifest-digest'];
    const ref = parseReference(`docker.io/namespace/image@${digest}`);
    assert.equal(
      repositoryName(ref),
      payload.critical.identity['docker-reference']
    );
    assert.equal(ref.digest, digest);
  });
});
