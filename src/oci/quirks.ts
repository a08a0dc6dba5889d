/**
 * What Signet knows about particular registries (spec registry-client.md §2.9
 * and §4), so the client can work around their deviations without a flag and
 * explain the ones it cannot work around.
 *
 * A registry is recognised by its host name where the product has a fixed
 * one (ECR, Artifact Registry, Docker Hub, ACR, GHCR, …) and otherwise by
 * behaviour seen at the `/v2/` ping: the challenge's realm and service
 * (Harbor's `harbor-registry`, GitLab's `container_registry`, Nexus's
 * `BASIC realm="Sonatype Nexus Repository Manager"`) and product headers
 * (`Server: Artifactory/…`, `Server: Nexus/…`). Unknown registries get the
 * generic profile: the spec's behaviour with the cross-cutting defences of
 * §4.12, which the client applies everywhere anyway.
 *
 * PURE: no IO. The client feeds observations in; this module only decides.
 */
import { RegistryError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

export type RegistryKind =
  | 'ecr'
  | 'gar'
  | 'dockerhub'
  | 'acr'
  | 'artifactory'
  | 'distribution'
  | 'gitlab'
  | 'ghcr'
  | 'harbor'
  | 'digitalocean'
  | 'nexus'
  | 'alibaba'
  | 'quay'
  | 'generic';

/** Behaviour flags the client acts on. Every flag cites its evidence in §4. */
export interface RegistryQuirks {
  readonly kind: RegistryKind;
  /** Product name for messages. */
  readonly title: string;
  /** OCI manifests may be refused: offer Docker media types (§4.5, §4.9 old Quay/Artifactory). */
  readonly preferDockerMediaTypes: boolean;
  /** Chunked PATCH uploads are refused or broken: monolithic PUT only (§4.1, §4.2). */
  readonly noChunkedUpload: boolean;
  /** Minimum size of non-final PATCH parts (ECR 5 MiB, §4.1). */
  readonly minChunkBytes: number | undefined;
  /** HEAD of a missing tag answers 403, not 404 (Artifactory, §4.9). */
  readonly head403AsNotFound: boolean;
  /** HEAD of a manifest may answer 404 though GET serves it (old Nexus, §4.10). */
  readonly headUnreliable: boolean;
  /** No referrers API: go straight to the `sha256-<hex>` fallback tag (§4.3, §4.7, §4.8). */
  readonly noReferrers: boolean;
  /** The `sha256-<hex>` tag resolves to the subject manifest itself (GitLab, §4.7). */
  readonly referrersTagIsDigest: boolean;
  /** Manifest DELETE is refused (Docker Hub, GHCR: 405, §2.8, §4.8). */
  readonly noManifestDelete: boolean;
  /** Docker-Content-Digest is missing from manifest responses (ECR, §4.1). */
  readonly noDockerContentDigest: boolean;
  /** OCI 1.1 artifacts (empty config, artifactType) refused (Alibaba, §4.11). */
  readonly rejectsOci11Artifacts: boolean;
  /** Config / artifact media types are allow-listed (GitLab, old Quay, §4.5, §4.7). */
  readonly mediaTypeAllowList: boolean;
  /** Referrers whose subject is an index are refused (ECR, aws/containers-roadmap#2783). */
  readonly rejectsIndexSubject: boolean;
  /** Tag list page size limit (`n`), ECR 1000 (§4.1). */
  readonly maxTagPageSize: number | undefined;
  /** Repositories may be configured with immutable tags (ECR, Harbor, §1.7). */
  readonly immutableTagsPossible: boolean;
  /** Repositories must be created before a push (ECR, §4.1). */
  readonly repositoriesMustExist: boolean;
  /** Blob downloads redirect to object storage (§1.4). Informational. */
  readonly blobRedirects: boolean;
}

const GENERIC: RegistryQuirks = {
  kind: 'generic',
  title: 'the registry',
  preferDockerMediaTypes: false,
  noChunkedUpload: false,
  minChunkBytes: undefined,
  head403AsNotFound: false,
  headUnreliable: false,
  noReferrers: false,
  referrersTagIsDigest: false,
  noManifestDelete: false,
  noDockerContentDigest: false,
  rejectsOci11Artifacts: false,
  mediaTypeAllowList: false,
  rejectsIndexSubject: false,
  maxTagPageSize: undefined,
  immutableTagsPossible: false,
  repositoriesMustExist: false,
  blobRedirects: false,
};

const MiB = 1024 * 1024;

/** The knowledge table, one entry per registry (spec §4). */
export const REGISTRY_QUIRKS: Readonly<Record<RegistryKind, RegistryQuirks>> = {
  generic: GENERIC,
  distribution: {
    ...GENERIC,
    kind: 'distribution',
    title: 'CNCF distribution',
    // §1.10: no referrers API (text 404), tag delete refused with 400.
    noReferrers: true,
  },
  ecr: {
    ...GENERIC,
    kind: 'ecr',
    title: 'Amazon ECR',
    noChunkedUpload: true,
    minChunkBytes: 5 * MiB,
    noDockerContentDigest: true,
    rejectsIndexSubject: true,
    maxTagPageSize: 1000,
    immutableTagsPossible: true,
    repositoriesMustExist: true,
    blobRedirects: true,
  },
  gar: {
    ...GENERIC,
    kind: 'gar',
    title: 'Google Artifact Registry',
    noChunkedUpload: true,
    blobRedirects: true,
  },
  dockerhub: {
    ...GENERIC,
    kind: 'dockerhub',
    title: 'Docker Hub',
    noReferrers: true,
    noManifestDelete: true,
    blobRedirects: true,
  },
  acr: {
    ...GENERIC,
    kind: 'acr',
    title: 'Azure Container Registry',
    blobRedirects: true,
  },
  artifactory: {
    ...GENERIC,
    kind: 'artifactory',
    title: 'JFrog Artifactory',
    head403AsNotFound: true,
    noReferrers: true,
  },
  gitlab: {
    ...GENERIC,
    kind: 'gitlab',
    title: 'GitLab container registry',
    noReferrers: true,
    referrersTagIsDigest: true,
    mediaTypeAllowList: true,
    headUnreliable: true,
  },
  ghcr: {
    ...GENERIC,
    kind: 'ghcr',
    title: 'GitHub Container Registry',
    noReferrers: true,
    noManifestDelete: true,
  },
  harbor: {
    ...GENERIC,
    kind: 'harbor',
    title: 'Harbor',
    headUnreliable: true,
    immutableTagsPossible: true,
  },
  digitalocean: {
    ...GENERIC,
    kind: 'digitalocean',
    title: 'DigitalOcean Container Registry',
    noReferrers: true,
  },
  nexus: {
    ...GENERIC,
    kind: 'nexus',
    title: 'Sonatype Nexus',
    headUnreliable: true,
    noReferrers: true,
  },
  alibaba: {
    ...GENERIC,
    kind: 'alibaba',
    title: 'Alibaba Cloud Container Registry',
    rejectsOci11Artifacts: true,
    noReferrers: true,
  },
  quay: {
    ...GENERIC,
    kind: 'quay',
    title: 'Quay',
    mediaTypeAllowList: true,
  },
};

/** Host patterns of registries with fixed host names (lower-case host, no port). */
const HOST_PATTERNS: readonly [RegExp, RegistryKind][] = [
  [/^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/, 'ecr'],
  [/^public\.ecr\.aws$/, 'ecr'],
  [/^(?:[a-z0-9-]+\.)?gcr\.io$/, 'gar'],
  [/^(?:[a-z0-9-]+-)?docker\.pkg\.dev$/, 'gar'],
  [/^(?:index|registry-1)\.docker\.io$/, 'dockerhub'],
  [/^docker\.io$/, 'dockerhub'],
  [/^[a-z0-9-]+\.azurecr\.(?:io|cn|us)$/, 'acr'],
  [/^[a-z0-9-]+(?:\.[a-z0-9-]+)?\.jfrog\.io$/, 'artifactory'],
  [/^registry\.gitlab\.com$/, 'gitlab'],
  [/^ghcr\.io$/, 'ghcr'],
  [/^docker\.pkg\.github\.com$/, 'ghcr'],
  [/^demo\.goharbor\.io$/, 'harbor'],
  [/^registry\.digitalocean\.com$/, 'digitalocean'],
  [/^(?:[a-z0-9-]+\.)*aliyuncs\.com$/, 'alibaba'],
  [/^quay\.io$/, 'quay'],
];

function stripPort(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

/** The registry a host name belongs to, when the product has fixed host names. */
export function kindFromHost(host: string): RegistryKind | undefined {
  const h = stripPort(host);
  for (const [re, kind] of HOST_PATTERNS) if (re.test(h)) return kind;
  return undefined;
}

/** What the client saw of a registry at the ping (or any answer). */
export interface RegistryObservation {
  /** Parsed challenges (challenge.ts): lower-cased scheme, lower-cased param names. */
  readonly challenges?: readonly {
    readonly scheme: string;
    readonly params: Readonly<Record<string, string>>;
  }[];
  /** Response headers, names lower-cased. */
  readonly headers?: Readonly<
    Record<string, string | readonly string[] | undefined>
  >;
}

function header(obs: RegistryObservation, name: string): string | undefined {
  const v = obs.headers?.[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v[0];
}

function realmPath(realm: string): { host: string; path: string } {
  try {
    const u = new URL(realm);
    return { host: u.hostname.toLowerCase(), path: u.pathname };
  } catch {
    return { host: '', path: '' };
  }
}

/**
 * Recognises a registry by behaviour: challenge realm/service shapes (§2.9)
 * and product headers. Undefined when nothing is characteristic.
 */
export function kindFromBehaviour(
  obs: RegistryObservation
): RegistryKind | undefined {
  const server = header(obs, 'server') ?? '';
  if (/^Nexus\//i.test(server)) return 'nexus';
  if (
    /^Artifactory\//i.test(server) ||
    header(obs, 'x-jfrog-version') !== undefined ||
    header(obs, 'x-artifactory-id') !== undefined
  ) {
    return 'artifactory';
  }
  if (header(obs, 'gitlab-container-registry-version') !== undefined) {
    return 'gitlab';
  }
  for (const c of obs.challenges ?? []) {
    const realm = c.params['realm'] ?? '';
    const service = c.params['service'] ?? '';
    if (c.scheme === 'basic') {
      if (/sonatype nexus/i.test(realm)) return 'nexus';
      if (service === 'ecr.amazonaws.com') return 'ecr';
      continue;
    }
    if (c.scheme !== 'bearer') continue;
    const { host, path } = realmPath(realm);
    if (service === 'harbor-registry' || path === '/service/token') {
      return 'harbor';
    }
    if (service === 'container_registry' || path === '/jwt/auth') {
      return 'gitlab';
    }
    if (service === 'registry.docker.io' || host === 'auth.docker.io') {
      return 'dockerhub';
    }
    if (path.startsWith('/artifactory/api/docker/')) return 'artifactory';
    if (path === '/oauth2/token' || /\.azurecr\.(?:io|cn|us)$/.test(service)) {
      return 'acr';
    }
    if (service === 'ghcr.io') return 'ghcr';
    if (
      service.startsWith('registry.aliyuncs.com') ||
      /^dockerauth\..*aliyuncs\.com$/.test(host)
    ) {
      return 'alibaba';
    }
    if (service === 'registry.digitalocean.com') return 'digitalocean';
    if (/(?:^|\.)gcr\.io$|docker\.pkg\.dev$/.test(service)) return 'gar';
    if (service === 'quay.io') return 'quay';
  }
  return undefined;
}

/**
 * The quirks to apply for a registry: by host name first (a fixed host is
 * certain), else by behaviour, else the generic profile.
 */
export function registryQuirks(
  host: string,
  observation?: RegistryObservation
): RegistryQuirks {
  const kind =
    kindFromHost(host) ??
    (observation !== undefined ? kindFromBehaviour(observation) : undefined);
  return REGISTRY_QUIRKS[kind ?? 'generic'];
}

/**
 * Whether a 403 to a HEAD of a manifest means "does not exist" (Artifactory
 * virtual repositories, ggcr#1691). Elsewhere a 403 is a permission problem.
 */
export function headStatusMeansMissing(
  q: RegistryQuirks,
  status: number
): boolean {
  return status === 404 || (status === 403 && q.head403AsNotFound);
}

/**
 * Checks what came back for a `sha256-<hex>` referrers fallback tag (§1.7).
 * GitLab resolves that "tag" as the digest and returns the subject itself
 * (oras-project/oras-go#1396); anything that is not an OCI index, or whose
 * digest is the subject's, is "no referrers", never a referrers list.
 */
export function isUsableFallbackIndex(
  subjectDigest: string,
  fetched: { readonly digest: string; readonly mediaType: string }
): boolean {
  return (
    fetched.digest !== subjectDigest &&
    fetched.mediaType === 'application/vnd.oci.image.index.v1+json'
  );
}

/** A registry error as the client saw it. */
export interface RefusedRequest {
  readonly status: number | undefined;
  readonly ociCode: string | undefined;
  /** The registry's error message (first error), if any. */
  readonly detail?: string;
}

/** What was being pushed when the registry refused. */
export interface ManifestPushContext {
  /** Content-Type / mediaType of the manifest pushed. */
  readonly mediaType: string;
  /** The manifest bytes (config type, artifactType and subject are read from them). */
  readonly bytes: Uint8Array;
  /** The tag or digest it was pushed to. */
  readonly tagOrDigest: string;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

interface ManifestFacts {
  configType: string | undefined;
  artifactType: string | undefined;
  subjectType: string | undefined;
  hasSubject: boolean;
}

function manifestFacts(bytes: Uint8Array): ManifestFacts {
  const facts: ManifestFacts = {
    configType: undefined,
    artifactType: undefined,
    subjectType: undefined,
    hasSubject: false,
  };
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return facts;
  }
  if (typeof v !== 'object' || v === null) return facts;
  const o = v as Record<string, unknown>;
  const config = o['config'];
  if (typeof config === 'object' && config !== null) {
    const t = (config as Record<string, unknown>)['mediaType'];
    if (typeof t === 'string') facts.configType = t;
  }
  if (typeof o['artifactType'] === 'string')
    facts.artifactType = o['artifactType'];
  const subject = o['subject'];
  if (typeof subject === 'object' && subject !== null) {
    facts.hasSubject = true;
    const t = (subject as Record<string, unknown>)['mediaType'];
    if (typeof t === 'string') facts.subjectType = t;
  }
  return facts;
}

function refusedStatus(r: RefusedRequest): boolean {
  return (
    // Some registries answer 401 naming the type they refuse.
    (r.status === 401 && /media ?type|manifest class/i.test(r.detail ?? '')) ||
    r.status === 400 ||
    r.status === 403 ||
    r.status === 405 ||
    r.status === 415 ||
    r.ociCode === 'MANIFEST_INVALID' ||
    r.ociCode === 'DENIED' ||
    r.ociCode === 'UNSUPPORTED'
  );
}

/**
 * Explains a refused manifest push: which registry behaviour it is and the
 * option that gets past it. Undefined when the refusal is not one of the
 * known media-type / OCI 1.1 / immutability / repository behaviours (then the
 * registry's own message is all we have).
 */
export function explainManifestRefusal(
  q: RegistryQuirks,
  refused: RefusedRequest,
  ctx: ManifestPushContext
): string | undefined {
  const detail = refused.detail ?? '';
  const facts = manifestFacts(ctx.bytes);
  const who = q.title;

  if (
    refused.ociCode === 'NAME_UNKNOWN' ||
    /RepositoryNotFound/i.test(detail)
  ) {
    return q.repositoriesMustExist
      ? `${who} does not create repositories on push: create the repository first, or set COSIGN_REPOSITORY to an existing repository for signatures`
      : `the repository does not exist and ${who} did not create it: create it first, or set COSIGN_REPOSITORY to an existing repository`;
  }
  if (
    refused.status === 412 ||
    /immutable|ImageTagAlreadyExists|PRECONDITION/i.test(detail) ||
    refused.ociCode === 'TAG_INVALID'
  ) {
    return `${who} refuses to overwrite tag ${ctx.tagOrDigest} (immutable tags): exclude sha256-* tags from tag immutability, or set COSIGN_REPOSITORY to a repository with mutable tags`;
  }
  if (!refusedStatus(refused)) return undefined;

  const indexSubject =
    facts.subjectType === OCI_INDEX || facts.subjectType === DOCKER_LIST;
  if (
    facts.hasSubject &&
    indexSubject &&
    (q.rejectsIndexSubject || refused.status === 405)
  ) {
    return `${who} refuses OCI 1.1 referrers whose subject is an image index (aws/containers-roadmap#2783): use legacy .sig signatures (what signet sign writes; cosign --new-bundle-format=false), or sign the platform manifests`;
  }
  const oci11 =
    facts.configType === OCI_EMPTY ||
    facts.artifactType !== undefined ||
    facts.hasSubject;
  const namedType =
    [facts.configType, facts.artifactType, ctx.mediaType].find(
      (t) => t !== undefined && detail.includes(t)
    ) ?? undefined;
  if (
    oci11 &&
    (q.rejectsOci11Artifacts ||
      q.mediaTypeAllowList ||
      namedType !== undefined ||
      /manifest class|media ?type/i.test(detail))
  ) {
    const t =
      namedType ?? facts.artifactType ?? facts.configType ?? ctx.mediaType;
    return `${who} refuses OCI 1.1 artifacts (${t}): use legacy .sig signatures (what signet sign writes; cosign --new-bundle-format=false), or set COSIGN_REPOSITORY to a registry that accepts OCI 1.1 artifacts`;
  }
  if (ctx.mediaType === OCI_MANIFEST || ctx.mediaType === OCI_INDEX) {
    if (
      q.preferDockerMediaTypes ||
      q.mediaTypeAllowList ||
      refused.ociCode === 'MANIFEST_INVALID' ||
      refused.status === 415 ||
      /media ?type|manifest class|schema version/i.test(detail)
    ) {
      return `${who} refuses OCI manifests (${ctx.mediaType}): set COSIGN_DOCKER_MEDIA_TYPES=1 to push Docker media types, or set COSIGN_REPOSITORY to a registry that accepts OCI manifests`;
    }
  }
  return undefined;
}

/** Explains a refused manifest DELETE (Docker Hub, GHCR: 405, §2.8, §4.8). */
export function explainDeleteRefusal(
  q: RegistryQuirks,
  refused: RefusedRequest
): string | undefined {
  if (
    refused.status === 405 ||
    refused.ociCode === 'UNSUPPORTED' ||
    (q.noManifestDelete && (refused.status === 400 || refused.status === 403))
  ) {
    return `${q.title} does not allow deleting manifests through the registry API: delete it in the registry's web interface or API`;
  }
  return undefined;
}

/** Explains a refused chunked upload (Artifact Registry, ECR, ACR; §4.1, §4.2, §4.4). */
export function explainUploadRefusal(
  q: RegistryQuirks,
  refused: RefusedRequest,
  chunked: boolean
): string | undefined {
  if (!chunked) return undefined;
  if (
    q.noChunkedUpload ||
    refused.status === 405 ||
    refused.ociCode === 'UNSUPPORTED' ||
    refused.ociCode === 'BLOB_UPLOAD_INVALID'
  ) {
    return `${q.title} does not support chunked uploads: use monolithic uploads (the default; do not force chunked mode)`;
  }
  return undefined;
}

/** Appends a hint to an error message the way every Signet message reads. */
export function withHint(message: string, hint: string | undefined): string {
  return hint === undefined ? message : `${message}; ${hint}`;
}

/**
 * The same registry error, re-worded with the registry behaviour and the way
 * out. A refused media type is not a protocol error but something the
 * registry does not support: REGISTRY_PROTOCOL becomes REGISTRY_UNSUPPORTED.
 * Status, OCI code and retryability are kept; the original is the cause.
 */
export function withRefusalHint(
  err: RegistryError,
  hint: string | undefined
): RegistryError {
  if (hint === undefined) return err;
  const code: ErrorCode =
    err.code === 'REGISTRY_PROTOCOL' ? 'REGISTRY_UNSUPPORTED' : err.code;
  const details: { status?: number; ociCode?: string; retryable: boolean } = {
    retryable: err.retryable,
  };
  if (err.status !== undefined) details.status = err.status;
  if (err.ociCode !== undefined) details.ociCode = err.ociCode;
  return new RegistryError(code, withHint(err.message, hint), details, {
    cause: err,
  });
}
