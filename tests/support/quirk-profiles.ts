/**
 * One quirk profile per registry Signet supports. Each profile describes how
 * that registry authenticates and how it deviates from the distribution spec,
 * with the evidence cited in ../shared/spec/registry-client.md (§2 auth, §4
 * quirks). tests/support/quirk-proxy.ts reproduces a profile in front of the
 * real CNCF distribution registry, so every test that runs "against ECR" talks
 * to a real registry that behaves, on the wire, the way ECR is documented to.
 *
 * Only what is documented is emulated; the spec citation sits beside each
 * field. docs/registries.md is the user-facing summary of the same table.
 */
import { MediaType } from '../../src/oci/types.js';

export type ProfileName =
  | 'distribution'
  | 'ecr'
  | 'gar'
  | 'dockerhub'
  | 'acr'
  | 'artifactory'
  | 'gitlab'
  | 'ghcr'
  | 'harbor'
  | 'digitalocean'
  | 'nexus'
  | 'alibaba';

/** The login a test user has at the emulated registry (mirrors credentials.ts). */
export type ProfileLogin =
  | {
      readonly kind: 'basic';
      readonly username: string;
      readonly password: string;
    }
  | {
      readonly kind: 'identityToken';
      readonly username: string;
      readonly token: string;
    };

export interface ProfileAuth {
  /** 'none': anonymous registry; 'basic': Basic challenge; 'bearer': token service. */
  readonly scheme: 'none' | 'basic' | 'bearer';
  /** The challenge scheme exactly as the registry spells it ('BASIC' for Nexus). */
  readonly challengeScheme: string;
  /** Basic challenge realm (ECR sends its own URL, Nexus a product name). */
  readonly basicRealm?: string;
  /** `service` challenge parameter (Basic: ECR's; Bearer: required on token requests). */
  readonly service?: string;
  /** Where the token service runs: on the registry origin or another host. */
  readonly tokenHost?: 'registry' | 'separate';
  /** Path of the token realm on that host. */
  readonly tokenPath?: string;
  /** Anonymous callers get pull tokens (public repositories, GHCR needs one even then). */
  readonly anonymousPull?: boolean;
  /** Which fields the token response carries. */
  readonly tokenFields?: 'token' | 'access_token' | 'both';
  /** The token service accepts OAuth2 POST (grant_type=refresh_token|password). */
  readonly oauth2Post?: boolean;
  /** The user the tests log in as. */
  readonly login?: ProfileLogin;
}

export interface ProfileQuirks {
  /** How PATCH uploads behave. */
  readonly chunkedUpload:
    | 'supported'
    | 'refused' // Artifact Registry: no chunked uploads
    | 'ecr' // 201 instead of 202, parts >= 5 MiB, later part bodies dropped
    | 'strict-content-range'; // ACR: 'bytes a-b/*' rejected
  /** Minimum size of every non-final PATCH part (ECR: 5 MiB). */
  readonly minChunkBytes?: number;
  /** HEAD of a missing tag answers 403 instead of 404 (Artifactory virtual repos). */
  readonly headMissingTagStatus?: 403;
  /** HEAD of a manifest answers 404 even though GET serves it (old Nexus). */
  readonly headManifestBroken?: boolean;
  /** Blob GET without an Accept header answers 400 (Nexus proxy repositories). */
  readonly blobGetNeedsAccept?: boolean;
  /** Error bodies are HTML, not the JSON error envelope (Nexus). */
  readonly htmlErrors?: boolean;
  /** Manifest PUTs whose config media type is listed are refused. */
  readonly rejectConfigTypes?: {
    readonly types: readonly string[];
    readonly status: number;
    readonly code: string;
    readonly message: string; // `${type}` is appended
  };
  /** Manifest PUTs whose config type / artifactType is not in this list are refused. */
  readonly allowedConfigTypes?: readonly string[];
  /** Manifest PUTs with a descriptor `data` field are refused with 405 (ECR Public). */
  readonly rejectDataField?: boolean;
  /** An existing tag cannot be moved (Harbor immutability rules, ECR IMMUTABLE). */
  readonly immutableTags?: boolean;
  /** Manifest PUT with these Content-Types refused (old Artifactory, old Quay). */
  readonly rejectManifestTypes?: readonly string[];
  /** DELETE of manifests is refused with 405 UNSUPPORTED. */
  readonly noManifestDelete?: boolean;
  /**
   * Referrers API: 'none-text' = route unknown (text 404, distribution);
   * 'none-json' = 404 MANIFEST_UNKNOWN/NAME_UNKNOWN JSON; 'api' = served by
   * the proxy from the manifests pushed through it.
   */
  readonly referrers: 'none-text' | 'none-json' | 'api';
  /** Manifest PUT with `subject` answers `OCI-Subject`. */
  readonly ociSubjectHeader?: boolean;
  /** Referrers whose subject is an index are refused with 405 (ECR). */
  readonly rejectIndexSubject?: boolean;
  /** A `sha256-<hex>` tag is resolved as the digest `sha256:<hex>` (GitLab). */
  readonly fallbackTagIsDigest?: boolean;
  /** Docker-Content-Digest left off manifest GET/HEAD responses. */
  readonly omitManifestDigestHeader?: boolean;
  /** Blob GETs redirect to object storage that refuses an Authorization header. */
  readonly blobRedirect?: 's3' | 'gcs';
  /** One 429 TOOMANYREQUESTS on the first manifest GET (Retry-After seconds, if any). */
  readonly rateLimit?: {
    readonly on: 'manifest-get' | 'upload-start';
    readonly retryAfterSeconds?: number;
    readonly headers?: Readonly<Record<string, string>>;
  };
  /** Tag listing refuses `n` above this (ECR: 1000). */
  readonly maxTagPageSize?: number;
  /** Mount from a repository that does not exist answers 401 (Harbor). */
  readonly mountMissingSource401?: boolean;
  /** Response headers that identify the product (used by behaviour detection). */
  readonly serverHeaders?: Readonly<Record<string, string>>;
}

export interface QuirkProfile {
  readonly name: ProfileName;
  /** Product name as users know it. */
  readonly title: string;
  /** A real host of this registry (what src/oci/quirks.ts matches by pattern). */
  readonly exampleHost: string;
  /** Spec sections and upstream evidence this profile reproduces. */
  readonly cites: readonly string[];
  /** false: the real distribution registry is used as is, no proxy. */
  readonly proxied: boolean;
  readonly auth: ProfileAuth;
  readonly quirks: ProfileQuirks;
}

const MiB = 1024 * 1024;

/** Config / artifact types GitLab's registry accepts (§4.7 allow-list). */
export const GITLAB_ALLOWED_TYPES: readonly string[] = [
  MediaType.OciConfig,
  MediaType.DockerConfig,
  MediaType.OciEmpty,
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.cosign.artifact.sig.v1+json',
  'application/vnd.in-toto+json',
  'application/vnd.cncf.helm.config.v1+json',
];

export const PROFILES: readonly QuirkProfile[] = [
  {
    name: 'distribution',
    title: 'CNCF distribution 2.8.2 (registry:2)',
    exampleHost: 'localhost:5000',
    cites: ['§1.10 observed on loopback', '§7.2'],
    proxied: false,
    auth: { scheme: 'none', challengeScheme: 'Bearer' },
    quirks: { chunkedUpload: 'supported', referrers: 'none-text' },
  },
  {
    name: 'ecr',
    title: 'Amazon ECR',
    exampleHost: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
    cites: [
      '§2.9 Basic realm https://<acct>.dkr.ecr.<region>.amazonaws.com/ (mayflower/docker-ls#28)',
      '§4.1 no Docker-Content-Digest (aws/containers-roadmap#1931)',
      '§4.1 blob GET → S3 pre-signed URL (open-policy-agent/opa#6728)',
      '§4.1 PATCH → 201, parts >= 5 MiB, later bodies dropped (dotnet/sdk-container-builds#424, aws/containers-roadmap#2831)',
      '§4.1 OCI-Subject; 405 for index subjects (sigstore-js#1183, aws/containers-roadmap#2783)',
      '§4.1 data field → 405 (aws/containers-roadmap#2023); n <= 1000 (ggcr#681)',
      '§4.1 TOOMANYREQUESTS without Retry-After (ggcr#750)',
    ],
    proxied: true,
    auth: {
      scheme: 'basic',
      challengeScheme: 'Basic',
      basicRealm: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com/',
      service: 'ecr.amazonaws.com',
      // `aws ecr get-login-password` output: a token used as the Basic password.
      login: {
        kind: 'basic',
        username: 'AWS',
        password: 'eyJwYXlsb2FkIjoiZWNyLXRlc3QtdG9rZW4ifQ==',
      },
    },
    quirks: {
      chunkedUpload: 'ecr',
      minChunkBytes: 5 * MiB,
      referrers: 'api',
      ociSubjectHeader: true,
      rejectIndexSubject: true,
      omitManifestDigestHeader: true,
      blobRedirect: 's3',
      rejectDataField: true,
      maxTagPageSize: 1000,
      rateLimit: { on: 'upload-start' },
      serverHeaders: {},
    },
  },
  {
    name: 'gar',
    title: 'Google Artifact Registry / Container Registry',
    exampleHost: 'us-docker.pkg.dev',
    cites: [
      '§2.9 Bearer, token endpoint on the registry host; oauth2accesstoken + access token',
      '§4.2 no chunked uploads (dotnet/sdk-container-builds#287)',
      '§4.2 blob downloads redirect to Google storage',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'us-docker.pkg.dev',
      tokenHost: 'registry',
      tokenPath: '/v2/token',
      tokenFields: 'both',
      login: {
        kind: 'basic',
        username: 'oauth2accesstoken',
        password: 'ya29.a0AfH6SMBtest-access-token',
      },
    },
    quirks: {
      chunkedUpload: 'refused',
      referrers: 'none-json',
      blobRedirect: 'gcs',
      serverHeaders: { 'docker-distribution-api-version': 'registry/2.0' },
    },
  },
  {
    name: 'dockerhub',
    title: 'Docker Hub',
    exampleHost: 'registry-1.docker.io',
    cites: [
      '§2.8 Bearer realm https://auth.docker.io/token on another host, service registry.docker.io',
      '§2.5 mount needs pull on the source in the token (oras-project/rust-oci-client#235)',
      '§2.8 no referrers API (docker/roadmap#724), no manifest DELETE (docker/sbx-releases#553)',
      '§1.8/§4.3 429 TOOMANYREQUESTS + Retry-After, ratelimit-* headers (docker/docs#22916)',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'registry.docker.io',
      tokenHost: 'separate',
      tokenPath: '/token',
      anonymousPull: true,
      tokenFields: 'both',
      oauth2Post: true,
      login: {
        kind: 'basic',
        username: 'signet',
        password: 'dckr_pat_testtoken',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      referrers: 'none-json',
      noManifestDelete: true,
      rateLimit: {
        on: 'manifest-get',
        retryAfterSeconds: 1,
        headers: {
          'ratelimit-limit': '100;w=21600',
          'ratelimit-remaining': '0;w=21600',
          'docker-ratelimit-source': '127.0.0.1',
        },
      },
      serverHeaders: { 'docker-distribution-api-version': 'registry/2.0' },
    },
  },
  {
    name: 'acr',
    title: 'Azure Container Registry',
    exampleHost: 'myregistry.azurecr.io',
    cites: [
      '§2.9 Bearer https://<reg>.azurecr.io/oauth2/token; refresh token POST, user 00000000-0000-0000-0000-000000000000',
      '§4.4 strict Accept (Azure/azure-cli#24976)',
      '§4.4 Content-Range "bytes a-b/*" rejected (dotnet/sdk-container-builds#258)',
      '§4.4 referrers API supported',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'myregistry.azurecr.io',
      tokenHost: 'registry',
      tokenPath: '/oauth2/token',
      tokenFields: 'access_token',
      oauth2Post: true,
      login: {
        kind: 'identityToken',
        username: '00000000-0000-0000-0000-000000000000',
        token: 'eyJhbGciOiJSUzI1NiJ9.acr-refresh-token.sig',
      },
    },
    quirks: {
      chunkedUpload: 'strict-content-range',
      referrers: 'api',
      ociSubjectHeader: true,
      serverHeaders: { 'docker-distribution-api-version': 'registry/2.0' },
    },
  },
  {
    name: 'artifactory',
    title: 'JFrog Artifactory',
    exampleHost: 'example.jfrog.io',
    cites: [
      '§4.9 403 (not 404) on HEAD of a missing tag in virtual repositories (ggcr#1691)',
      '§4.9 referrers depend on version (ocx-sh/ocx#392) — emulated as absent',
      '§2.9 Bearer realm /artifactory/api/docker/<repo>/v2/token',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'example.jfrog.io',
      tokenHost: 'registry',
      tokenPath: '/artifactory/api/docker/docker-virtual/v2/token',
      tokenFields: 'both',
      login: {
        kind: 'basic',
        username: 'ci-user',
        password: 'cmVmdGtuOjAxOjE3MDAwMDAwMDA',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      headMissingTagStatus: 403,
      referrers: 'none-json',
      serverHeaders: {
        server: 'Artifactory/7.77.5',
        'x-artifactory-id': 'a1b2c3d4e5f6',
        'x-jfrog-version': 'Artifactory/7.77.5 77705900',
      },
    },
  },
  {
    name: 'gitlab',
    title: 'GitLab container registry',
    exampleHost: 'registry.gitlab.com',
    cites: [
      '§2.9 Bearer https://gitlab.com/jwt/auth (another host), service container_registry',
      '§4.7 no referrers API; sha256-<hex> "tag" resolves to the subject (oras-project/oras-go#1396)',
      '§4.7 config/artifact media-type allow-list → 400 MANIFEST_INVALID (ocx-sh/ocx#480)',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'container_registry',
      tokenHost: 'separate',
      tokenPath: '/jwt/auth',
      tokenFields: 'token',
      login: {
        kind: 'basic',
        username: 'gitlab-ci-token',
        password: 'glcbt-64_testjobtoken',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      referrers: 'none-json',
      fallbackTagIsDigest: true,
      allowedConfigTypes: GITLAB_ALLOWED_TYPES,
      serverHeaders: { 'gitlab-container-registry-version': 'v4.15.2-gitlab' },
    },
  },
  {
    name: 'ghcr',
    title: 'GitHub Container Registry',
    exampleHost: 'ghcr.io',
    cites: [
      '§2.9 Bearer https://ghcr.io/token; anonymous token needed even for public pulls (sigstore/cosign#1460)',
      '§4.8 no referrers API, 404 MANIFEST_UNKNOWN (NVIDIA/aicr#1957)',
      '§4.8 manifest DELETE → 405 (docker/sbx-releases#553)',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'ghcr.io',
      tokenHost: 'registry',
      tokenPath: '/token',
      anonymousPull: true,
      tokenFields: 'token',
      login: {
        kind: 'basic',
        username: 'octocat',
        password: 'ghp_testpersonalaccesstoken',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      referrers: 'none-json',
      noManifestDelete: true,
      serverHeaders: { 'docker-distribution-api-version': 'registry/2.0' },
    },
  },
  {
    name: 'harbor',
    title: 'Harbor 2.8',
    exampleHost: 'harbor.example.com',
    cites: [
      '§2.9 Bearer https://<harbor>/service/token, service harbor-registry',
      '§4.6 referrers API since 2.8 without OCI-Subject (goharbor/harbor#17928, #18865)',
      '§4.6 mount from a missing project → 401 (goharbor/harbor#17097)',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'harbor-registry',
      tokenHost: 'registry',
      tokenPath: '/service/token',
      tokenFields: 'both',
      login: {
        kind: 'basic',
        username: 'robot$signer',
        password: 'robot-secret-1',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      referrers: 'api',
      ociSubjectHeader: false,
      mountMissingSource401: true,
      serverHeaders: { 'docker-distribution-api-version': 'registry/2.0' },
    },
  },
  {
    name: 'digitalocean',
    title: 'DigitalOcean Container Registry',
    exampleHost: 'registry.digitalocean.com',
    cites: [
      '§4.11 listed as working by cosign; test Basic and Bearer paths (dotnet/sdk-container-builds#501)',
      'API token used as user name and password (doctl registry login)',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'registry.digitalocean.com',
      tokenHost: 'separate',
      tokenPath: '/v2/registry/auth',
      tokenFields: 'token',
      login: {
        kind: 'basic',
        username: 'dop_v1_testtoken',
        password: 'dop_v1_testtoken',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      referrers: 'none-json',
      serverHeaders: { 'docker-distribution-api-version': 'registry/2.0' },
    },
  },
  {
    name: 'nexus',
    title: 'Sonatype Nexus Repository',
    exampleHost: 'nexus.example.com:8443',
    cites: [
      '§2.1/§4.10 "BASIC" upper-case challenge (dotnet/sdk-container-builds#527)',
      '§4.10 HEAD 404 for manifests that GET serves (andrey-pohilko/registry-cli#14)',
      '§4.10 blob GET without Accept → 400 "Content type could not be determined"',
      '§1.8 HTML error bodies',
    ],
    proxied: true,
    auth: {
      scheme: 'basic',
      challengeScheme: 'BASIC',
      basicRealm: 'Sonatype Nexus Repository Manager',
      login: {
        kind: 'basic',
        username: 'deployer',
        password: 'nexus-pass:with:colons',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      headManifestBroken: true,
      blobGetNeedsAccept: true,
      htmlErrors: true,
      referrers: 'none-json',
      serverHeaders: { server: 'Nexus/3.2.0-01 (OSS)' },
    },
  },
  {
    name: 'alibaba',
    title: 'Alibaba Cloud Container Registry',
    exampleHost: 'registry.cn-hangzhou.aliyuncs.com',
    cites: [
      '§4.11 legacy signatures work (sigstore/cosign#524)',
      '§4.11 empty config → "denied: unknown manifest class for application/vnd.oci.empty.v1+json" (Ahoo-Wang/CosId#1079)',
      'Bearer realm https://dockerauth.cn-hangzhou.aliyuncs.com/auth (another host)',
    ],
    proxied: true,
    auth: {
      scheme: 'bearer',
      challengeScheme: 'Bearer',
      service: 'registry.aliyuncs.com:cn-hangzhou:26842',
      tokenHost: 'separate',
      tokenPath: '/auth',
      tokenFields: 'token',
      login: {
        kind: 'basic',
        username: 'signet@example',
        password: 'aliyun-pass',
      },
    },
    quirks: {
      chunkedUpload: 'supported',
      referrers: 'none-json',
      rejectConfigTypes: {
        types: [MediaType.OciEmpty],
        status: 403,
        code: 'DENIED',
        message: 'unknown manifest class for ',
      },
      serverHeaders: { 'docker-distribution-api-version': 'registry/2.0' },
    },
  },
];

const HARBOR = PROFILES.find((p) => p.name === 'harbor')!;

/** Harbor with a tag immutability rule over the whole project (§1.7, §4.6). */
export const IMMUTABLE_HARBOR: QuirkProfile = {
  ...HARBOR,
  title: 'Harbor with an immutable tag rule',
  cites: [
    '§1.7/§4.6 immutable tag rules block .sig and fallback tags: 412 PRECONDITION (goharbor/harbor#17332)',
  ],
  quirks: { ...HARBOR.quirks, immutableTags: true },
};

/**
 * Older releases and configurations whose behaviour differs from the
 * current profile, run through the sign → verify flow only.
 */
export const VARIANT_PROFILES: readonly QuirkProfile[] = [
  {
    ...PROFILES.find((p) => p.name === 'artifactory')!,
    title: 'JFrog Artifactory 6.16',
    cites: [
      '§4.9 6.16 rejected cosign signature manifests with MANIFEST_INVALID (sigstore/cosign#1994)',
      '§4.9 COSIGN_DOCKER_MEDIA_TYPES=1 as the way out',
    ],
    quirks: {
      ...PROFILES.find((p) => p.name === 'artifactory')!.quirks,
      rejectManifestTypes: [MediaType.OciManifest, MediaType.OciIndex],
    },
  },
  IMMUTABLE_HARBOR,
];

export function profile(name: ProfileName): QuirkProfile {
  const p = PROFILES.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no quirk profile ${name}`);
  return p;
}
