import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWwwAuthenticate } from '../../src/oci/challenge.js';
import {
  REGISTRY_QUIRKS,
  explainDeleteRefusal,
  explainManifestRefusal,
  explainUploadRefusal,
  headStatusMeansMissing,
  isUsableFallbackIndex,
  kindFromBehaviour,
  kindFromHost,
  registryQuirks,
  withHint,
  withRefusalHint,
} from '../../src/oci/quirks.js';
import { RegistryError } from '../../src/errors.js';
import type { RegistryKind } from '../../src/oci/quirks.js';
import { PROFILES } from '../support/quirk-profiles.js';

describe('kindFromHost', () => {
  const cases: [string, RegistryKind | undefined][] = [
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com', 'ecr'],
    ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', 'ecr'],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', 'ecr'],
    ['public.ecr.aws', 'ecr'],
    ['gcr.io', 'gar'],
    ['eu.gcr.io', 'gar'],
    ['us-docker.pkg.dev', 'gar'],
    ['europe-west1-docker.pkg.dev', 'gar'],
    ['registry-1.docker.io', 'dockerhub'],
    ['index.docker.io', 'dockerhub'],
    ['docker.io', 'dockerhub'],
    ['myregistry.azurecr.io', 'acr'],
    ['acme.jfrog.io', 'artifactory'],
    ['registry.gitlab.com', 'gitlab'],
    ['ghcr.io', 'ghcr'],
    ['registry.digitalocean.com', 'digitalocean'],
    ['registry.cn-hangzhou.aliyuncs.com', 'alibaba'],
    ['acme-registry.cn-shanghai.cr.aliyuncs.com', 'alibaba'],
    ['quay.io', 'quay'],
    ['ghcr.io:443', 'ghcr'],
    ['127.0.0.1:5000', undefined],
    ['registry.example.com', undefined],
    // Look-alikes must not match: credentials and behaviour follow the kind.
    ['ghcr.io.evil.example', undefined],
    ['evilazurecr.io', undefined],
    ['123.dkr.ecr.us-east-1.amazonaws.com', undefined],
    ['notdocker.io', undefined],
  ];
  for (const [host, kind] of cases) {
    it(`${host} → ${kind ?? 'unknown'}`, () => {
      assert.equal(kindFromHost(host), kind);
    });
  }
});

describe('kindFromBehaviour', () => {
  const cases: [
    string,
    string,
    Record<string, string>,
    RegistryKind | undefined,
  ][] = [
    [
      'ECR Basic challenge',
      'Basic realm="https://111111111111.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
      {},
      'ecr',
    ],
    [
      'Nexus BASIC challenge',
      'BASIC realm="Sonatype Nexus Repository Manager"',
      {},
      'nexus',
    ],
    [
      'Harbor token service',
      'Bearer realm="https://harbor.example.com/service/token",service="harbor-registry"',
      {},
      'harbor',
    ],
    [
      'GitLab JWT realm',
      'Bearer realm="https://gitlab.example.com/jwt/auth",service="container_registry"',
      {},
      'gitlab',
    ],
    [
      'Docker Hub',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      {},
      'dockerhub',
    ],
    [
      'ACR',
      'Bearer realm="https://myreg.azurecr.io/oauth2/token",service="myreg.azurecr.io"',
      {},
      'acr',
    ],
    [
      'Artifactory realm',
      'Bearer realm="https://art.example.com/artifactory/api/docker/docker/v2/token",service="art.example.com"',
      {},
      'artifactory',
    ],
    [
      'Artifactory header',
      'Basic realm="x"',
      { server: 'Artifactory/7.77.5' },
      'artifactory',
    ],
    [
      'Nexus header',
      'Basic realm="x"',
      { server: 'Nexus/3.2.0-01 (OSS)' },
      'nexus',
    ],
    [
      'Alibaba',
      'Bearer realm="https://dockerauth.cn-hangzhou.aliyuncs.com/auth",service="registry.aliyuncs.com:cn-hangzhou:26842"',
      {},
      'alibaba',
    ],
    [
      'plain distribution token auth',
      'Bearer realm="https://auth.example.com/token",service="registry.example.com"',
      {},
      undefined,
    ],
  ];
  for (const [name, challenge, headers, kind] of cases) {
    it(`recognises ${name}`, () => {
      assert.equal(
        kindFromBehaviour({
          challenges: parseWwwAuthenticate(challenge),
          headers,
        }),
        kind
      );
    });
  }

  it('prefers the host name over behaviour', () => {
    const q = registryQuirks('ghcr.io', {
      challenges: parseWwwAuthenticate(
        'BASIC realm="Sonatype Nexus Repository Manager"'
      ),
    });
    assert.equal(q.kind, 'ghcr');
  });

  it('gives unknown registries the generic profile', () => {
    assert.equal(registryQuirks('registry.example.com').kind, 'generic');
  });
});

describe('quirk table', () => {
  it('has an entry for every emulated profile and names it', () => {
    for (const p of PROFILES) {
      const q = REGISTRY_QUIRKS[p.name];
      assert.equal(q.kind, p.name);
      assert.notEqual(q.title, '');
    }
  });

  it('matches every profile by its example host', () => {
    for (const p of PROFILES) {
      if (
        p.name === 'distribution' ||
        p.name === 'harbor' ||
        p.name === 'nexus'
      ) {
        // self-hosted: recognised by behaviour only
        assert.equal(kindFromHost(p.exampleHost), undefined);
        continue;
      }
      assert.equal(kindFromHost(p.exampleHost), p.name, p.exampleHost);
    }
  });
});

describe('headStatusMeansMissing', () => {
  it('treats 403 as missing only where the registry is known to send it', () => {
    assert.equal(
      headStatusMeansMissing(REGISTRY_QUIRKS.artifactory, 403),
      true
    );
    assert.equal(headStatusMeansMissing(REGISTRY_QUIRKS.ghcr, 403), false);
    assert.equal(headStatusMeansMissing(REGISTRY_QUIRKS.generic, 404), true);
  });
});

describe('isUsableFallbackIndex', () => {
  const subject = `sha256:${'a'.repeat(64)}`;
  it('rejects the subject itself (GitLab resolves the tag as a digest)', () => {
    assert.equal(
      isUsableFallbackIndex(subject, {
        digest: subject,
        mediaType: 'application/vnd.oci.image.index.v1+json',
      }),
      false
    );
  });
  it('rejects a non-index', () => {
    assert.equal(
      isUsableFallbackIndex(subject, {
        digest: `sha256:${'b'.repeat(64)}`,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
      }),
      false
    );
  });
  it('accepts an OCI index with another digest', () => {
    assert.equal(
      isUsableFallbackIndex(subject, {
        digest: `sha256:${'b'.repeat(64)}`,
        mediaType: 'application/vnd.oci.image.index.v1+json',
      }),
      true
    );
  });
});

function manifest(o: Record<string, unknown>): Uint8Array {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, ...o }));
}

const EMPTY = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest:
    'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

describe('explainManifestRefusal', () => {
  it('points Alibaba users at legacy signatures when OCI 1.1 artifacts are denied', () => {
    const hint = explainManifestRefusal(
      REGISTRY_QUIRKS.alibaba,
      {
        status: 403,
        ociCode: 'DENIED',
        detail: 'unknown manifest class for application/vnd.oci.empty.v1+json',
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        bytes: manifest({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
          config: EMPTY,
          layers: [],
        }),
        tagOrDigest: `sha256:${'c'.repeat(64)}`,
      }
    );
    assert.ok(hint !== undefined);
    assert.match(hint, /Alibaba/);
    assert.match(hint, /application\/vnd\.oci\.empty\.v1\+json/);
    assert.match(hint, /--new-bundle-format=false|COSIGN_REPOSITORY/);
  });

  it('offers COSIGN_DOCKER_MEDIA_TYPES when an OCI manifest is refused', () => {
    const hint = explainManifestRefusal(
      REGISTRY_QUIRKS.generic,
      { status: 400, ociCode: 'MANIFEST_INVALID', detail: 'manifest invalid' },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        bytes: manifest({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: EMPTY.digest,
            size: 2,
          },
          layers: [],
        }),
        tagOrDigest: `sha256-${'c'.repeat(64)}.sig`,
      }
    );
    assert.ok(hint?.includes('COSIGN_DOCKER_MEDIA_TYPES=1'));
  });

  it('explains ECR refusing referrers of an index', () => {
    const hint = explainManifestRefusal(
      REGISTRY_QUIRKS.ecr,
      { status: 405, ociCode: 'UNSUPPORTED' },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        bytes: manifest({
          config: EMPTY,
          layers: [],
          subject: {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            digest: `sha256:${'d'.repeat(64)}`,
            size: 10,
          },
        }),
        tagOrDigest: `sha256:${'c'.repeat(64)}`,
      }
    );
    assert.ok(hint?.includes('image index'));
  });

  it('explains immutable tags and names COSIGN_REPOSITORY', () => {
    const hint = explainManifestRefusal(
      REGISTRY_QUIRKS.harbor,
      {
        status: 412,
        ociCode: undefined,
        detail: 'PRECONDITION: configured as immutable',
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        bytes: manifest({ config: EMPTY, layers: [] }),
        tagOrDigest: 'sha256-abc.sig',
      }
    );
    assert.ok(hint?.includes('COSIGN_REPOSITORY'));
  });

  it('says nothing about refusals it does not recognise', () => {
    assert.equal(
      explainManifestRefusal(
        REGISTRY_QUIRKS.generic,
        { status: 500, ociCode: 'UNKNOWN' },
        {
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          bytes: manifest({ config: EMPTY, layers: [] }),
          tagOrDigest: 'v1',
        }
      ),
      undefined
    );
  });
});

describe('explainDeleteRefusal / explainUploadRefusal / withHint', () => {
  it('explains 405 on manifest delete', () => {
    assert.ok(
      explainDeleteRefusal(REGISTRY_QUIRKS.ghcr, {
        status: 405,
        ociCode: 'UNSUPPORTED',
      })?.includes('GitHub Container Registry')
    );
    assert.equal(
      explainDeleteRefusal(REGISTRY_QUIRKS.generic, {
        status: 404,
        ociCode: 'MANIFEST_UNKNOWN',
      }),
      undefined
    );
  });
  it('explains refused chunked uploads only for chunked uploads', () => {
    assert.ok(
      explainUploadRefusal(
        REGISTRY_QUIRKS.gar,
        { status: 405, ociCode: 'UNSUPPORTED' },
        true
      ) !== undefined
    );
    assert.equal(
      explainUploadRefusal(
        REGISTRY_QUIRKS.gar,
        { status: 405, ociCode: 'UNSUPPORTED' },
        false
      ),
      undefined
    );
  });
  it('keeps status, OCI code and cause when adding a hint', () => {
    const err = new RegistryError(
      'REGISTRY_PROTOCOL',
      'pushing manifest x: MANIFEST_INVALID',
      {
        status: 400,
        ociCode: 'MANIFEST_INVALID',
      }
    );
    const hinted = withRefusalHint(err, 'set COSIGN_DOCKER_MEDIA_TYPES=1');
    assert.equal(hinted.name, 'RegistryError');
    assert.equal(hinted.code, 'REGISTRY_UNSUPPORTED');
    assert.equal(hinted.status, 400);
    assert.equal(hinted.ociCode, 'MANIFEST_INVALID');
    assert.equal(hinted.cause, err);
    assert.equal(withRefusalHint(err, undefined), err);
    const denied = new RegistryError('REGISTRY_DENIED', 'x: DENIED', {
      status: 403,
      ociCode: 'DENIED',
    });
    assert.equal(withRefusalHint(denied, 'y').code, 'REGISTRY_DENIED');
  });

  it('appends a hint after a semicolon', () => {
    assert.equal(
      withHint('pushing x: DENIED', 'do y'),
      'pushing x: DENIED; do y'
    );
    assert.equal(withHint('pushing x: DENIED', undefined), 'pushing x: DENIED');
  });
});
