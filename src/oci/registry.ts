/**
 * OCI distribution client (EDGE; spec/registry-client.md §1, §5).
 *
 * What every method guarantees:
 * - manifests are fetched with the full Accept list and their digest is
 *   computed locally; a by-digest fetch whose body hashes differently fails
 *   with REGISTRY_DIGEST_MISMATCH. `Docker-Content-Digest` is optional and
 *   never trusted for a GET (ggcr: "so many registries implement this
 *   incorrectly");
 * - blobs are read with a size cap and checked against digest and size;
 * - uploads: HEAD first, optional cross-repository mount, POST + one
 *   monolithic PUT with exact Content-Length and
 *   `Content-Type: application/octet-stream`; chunked PATCH uploads when the
 *   registry refuses the monolithic PUT (or when asked);
 * - credentials only ever go to the registry origin (transport.ts) and its
 *   token realm (auth.ts).
 */
import { RegistryError } from '../errors.js';
import { ociDigest } from '../core/digest.js';
import { redact } from '../core/redact.js';
import { MediaType } from './types.js';
import type { Descriptor, ImageIndex } from './types.js';
import { Authenticator, scopesFor } from './auth.js';
import type { AuthScheme } from './auth.js';
import {
  explainDeleteRefusal,
  explainManifestRefusal,
  registryQuirks,
  withRefusalHint,
} from './quirks.js';
import type { RegistryQuirks } from './quirks.js';
import { dockerCredentialProvider } from './credentials.js';
import type { CredentialProvider } from './credentials.js';
import {
  Transport,
  errorFromResponse,
  headerValue,
  headerValues,
  isPrivateAddress,
  safeUrl,
} from './transport.js';
import type {
  HttpMethod,
  LogFn,
  TransportRequest,
  TransportResponse,
} from './transport.js';
import type { RepoRef } from './types.js';

export type { RepoRef } from './types.js';

export type UploadMode = 'auto' | 'monolithic' | 'chunked';

export interface RegistryClientOptions {
  /** Default: Docker/Podman config discovery (dockerCredentialProvider()). */
  credentials?: CredentialProvider;
  /** Plain HTTP for hosts that are not loopback (--allow-http-registry). */
  allowHttp?: boolean;
  /** Skip TLS certificate verification (--allow-insecure-registry). */
  insecureSkipTlsVerify?: boolean;
  userAgent?: string;
  log?: LogFn;
  retry?: {
    maxAttempts?: number;
    baseDelayMs?: number;
    maxDelayMs?: number;
    maxRetryAfterMs?: number;
  };
  timeoutMs?: number;
  /** Extra trusted CA certificates (PEM). */
  ca?: string | readonly string[];
  /**
   * 'auto' (default): monolithic PUT, falling back to chunked PATCH when the
   * registry refuses it (413, SIZE_INVALID, BLOB_UPLOAD_INVALID);
   * 'monolithic': never chunk; 'chunked': always PATCH in chunks.
   */
  uploadMode?: UploadMode;
  /** Chunk size for chunked uploads. Default 8 MiB (raised to the minimum below). */
  chunkSize?: number;
  /**
   * Smallest chunk sent except the last. Default 5 MiB: ECR refuses smaller
   * parts (dotnet/sdk-container-builds#424); raised further by a registry's
   * OCI-Chunk-Min-Length.
   */
  minChunkSize?: number;
  /** Cap for manifest bodies. Default 4 MiB. */
  maxManifestBytes?: number;
  /** Cap for blob bodies when the caller gives none. Default 512 MiB. */
  maxBlobBytes?: number;
  /**
   * Take a 404 to a manifest HEAD as final. Default false: confirm with a
   * GET, because some registries (old Nexus, GitLab) answer HEAD 404 for
   * manifests they serve.
   */
  trustHeadNotFound?: boolean;
  /** Injected for tests: waits between retries. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests: uniform [0, 1) for backoff jitter. */
  random?: () => number;
  /** Injected for tests: wall clock in ms (token expiry, Retry-After dates). */
  now?: () => number;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  /** sha256 of `bytes`, computed locally. */
  digest: string;
}

export interface BlobDescriptor {
  digest: string;
  size: number;
}

/** Every manifest type we parse; schema 1 is asked for so it can be refused by name. */
export const MANIFEST_ACCEPT_ALL: readonly string[] = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
];

const KNOWN_MANIFEST_TYPES = new Set<string>(MANIFEST_ACCEPT_ALL);
const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
]);

const DEFAULT_MANIFEST_CAP = 4 * 1024 * 1024;
const DEFAULT_BLOB_CAP = 512 * 1024 * 1024;
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const DEFAULT_MIN_CHUNK = 5 * 1024 * 1024;
const LIST_CAP = 4 * 1024 * 1024;
const MAX_PAGES = 1000;

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function isDigestRef(tagOrDigest: string): boolean {
  return tagOrDigest.includes(':');
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const mt = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return mt === '' ? undefined : mt;
}

function objectName(repo: RepoRef, tagOrDigest?: string): string {
  const base = `${repo.registry}/${repo.repository}`;
  if (tagOrDigest === undefined) return base;
  return `${base}${isDigestRef(tagOrDigest) ? '@' : ':'}${tagOrDigest}`;
}

function requireSha256(digest: string, what: string): void {
  if (SHA256_DIGEST.test(digest)) return;
  if (ANY_DIGEST.test(digest)) {
    throw new RegistryError(
      'REGISTRY_UNSUPPORTED',
      `${what}: only sha256 digests are supported`
    );
  }
  throw new RegistryError('REGISTRY_PROTOCOL', `${what}: malformed digest`);
}

/** `Link: <url>; rel="next"` (RFC 8288): the next-page target, if any. */
export function parseNextLink(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const re = /<([^>]*)>\s*((?:;\s*[^,;]*)*)/g;
  for (let m = re.exec(header); m !== null; m = re.exec(header)) {
    const params = m[2] ?? '';
    if (/;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(params)) {
      return m[1];
    }
  }
  return undefined;
}

interface CallOptions {
  method: HttpMethod;
  /** Path under the registry base (`/v2/...`) or an absolute URL (upload locations). */
  target: string | URL;
  scopes: readonly string[];
  what: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  maxBodyBytes?: number;
  retry?: boolean;
  /** Return a final 401 instead of throwing (mount attempts). */
  allow401?: boolean;
}

export class RegistryClient {
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #uploadMode: UploadMode;
  readonly #chunkSize: number;
  readonly #manifestCap: number;
  readonly #blobCap: number;
  readonly #log: LogFn | undefined;
  readonly #warned = new Set<string>();
  readonly #trustHeadNotFound: boolean;

  constructor(opts: RegistryClientOptions = {}) {
    const t: ConstructorParameters<typeof Transport>[0] = {};
    if (opts.allowHttp !== undefined) t.allowHttp = opts.allowHttp;
    if (opts.insecureSkipTlsVerify !== undefined)
      t.insecureSkipTlsVerify = opts.insecureSkipTlsVerify;
    if (opts.userAgent !== undefined) t.userAgent = opts.userAgent;
    if (opts.log !== undefined) t.log = opts.log;
    if (opts.retry !== undefined) t.retry = opts.retry;
    if (opts.timeoutMs !== undefined) t.timeoutMs = opts.timeoutMs;
    if (opts.ca !== undefined) t.ca = opts.ca;
    if (opts.sleep !== undefined) t.sleep = opts.sleep;
    if (opts.random !== undefined) t.random = opts.random;
    if (opts.now !== undefined) t.now = opts.now;
    this.#transport = new Transport(t);
    this.#auth = new Authenticator(
      this.#transport,
      opts.credentials ?? dockerCredentialProvider(),
      opts.now !== undefined ? { now: opts.now } : {}
    );
    this.#uploadMode = opts.uploadMode ?? 'auto';
    this.#chunkSize = Math.max(
      1,
      opts.chunkSize ?? DEFAULT_CHUNK,
      opts.minChunkSize ?? DEFAULT_MIN_CHUNK
    );
    this.#manifestCap = opts.maxManifestBytes ?? DEFAULT_MANIFEST_CAP;
    this.#blobCap = opts.maxBlobBytes ?? DEFAULT_BLOB_CAP;
    this.#log = opts.log;
    this.#trustHeadNotFound = opts.trustHeadNotFound ?? false;
  }

  /** Count of HTTP requests sent (pings, token requests, retries and redirect hops included). */
  get stats(): { requests: number } {
    return this.#transport.stats;
  }

  /** The authentication scheme a registry asked for at the ping (quirk detection). */
  authScheme(registry: string): Promise<AuthScheme> {
    return this.#auth.scheme(registry);
  }

  /** The base URL the client talks to for a registry (after https/http selection). */
  baseUrl(registry: string): Promise<URL> {
    return this.#auth.base(registry);
  }

  /**
   * What Signet knows about a registry (src/oci/quirks.ts): by host name,
   * else by what it answered at the ping. Names the registry in refusals
   * and drives its workarounds.
   */
  async quirks(registry: string): Promise<RegistryQuirks> {
    return registryQuirks(registry, await this.#auth.observation(registry));
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  #warn(message: string): void {
    this.#log?.({ level: 'warn', message });
  }

  /**
   * `Warning: 299 - "text"` (distribution-spec v1.1): shown once per client,
   * never acted on.
   */
  #noteWarnings(repo: RepoRef, res: TransportResponse): void {
    for (const w of headerValues(res.headers, 'warning')) {
      const m = /^299\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(w);
      const text = m?.[1]?.replace(/\\(.)/g, '$1');
      if (text === undefined || this.#warned.has(text)) continue;
      if (this.#warned.size < 100) this.#warned.add(text);
      // eslint-disable-next-line no-control-regex
      const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300);
      this.#warn(`registry ${repo.registry} warns: ${redact(clean)}`);
    }
  }

  /**
   * One registry request with authentication: credentials only while the
   * URL is on the registry's origin; one re-authentication on 401.
   */
  async #call(repo: RepoRef, o: CallOptions): Promise<TransportResponse> {
    const base = await this.#auth.base(repo.registry);
    const url =
      typeof o.target === 'string' ? new URL(o.target, base) : o.target;
    const onOrigin = url.protocol === base.protocol && url.host === base.host;
    const req: TransportRequest = {
      method: o.method,
      url,
      what: o.what,
    };
    if (o.headers) req.headers = o.headers;
    if (o.body !== undefined) req.body = o.body;
    if (o.maxBodyBytes !== undefined) req.maxBodyBytes = o.maxBodyBytes;
    if (o.retry !== undefined) req.retry = o.retry;
    if (onOrigin)
      req.credentials = await this.#auth.authorize(repo.registry, o.scopes);
    let res = await this.#transport.send(req);
    this.#noteWarnings(repo, res);
    if (res.status === 401 && onOrigin && !res.leftOrigin) {
      const again = await this.#auth.reauthorize(repo.registry, o.scopes, res);
      if (again) {
        res = await this.#transport.send({
          ...req,
          credentials: again.headers,
        });
        this.#noteWarnings(repo, res);
      }
      if (res.status === 401 && !res.leftOrigin && o.allow401 !== true) {
        const err = errorFromResponse(res, o.what);
        const insufficient = /error="?insufficient_scope/i.test(
          headerValue(res.headers, 'www-authenticate') ?? ''
        );
        if (insufficient && (await this.#auth.hasCredential(repo.registry))) {
          throw new RegistryError(
            'REGISTRY_DENIED',
            `${err.message}: the credentials lack permission`,
            { status: 401, ...(err.ociCode ? { ociCode: err.ociCode } : {}) }
          );
        }
        throw err;
      }
    }
    return res;
  }

  // ---------------------------------------------------------------- manifests

  async getManifest(
    repo: RepoRef,
    tagOrDigest: string,
    opts: { accept?: readonly string[]; maxBytes?: number } = {}
  ): Promise<FetchedManifest> {
    const what = `fetching manifest ${objectName(repo, tagOrDigest)}`;
    if (isDigestRef(tagOrDigest)) requireSha256(tagOrDigest, what);
    const accept = opts.accept ?? MANIFEST_ACCEPT_ALL;
    const res = await this.#call(repo, {
      method: 'GET',
      target: `/v2/${repo.repository}/manifests/${tagOrDigest}`,
      scopes: scopesFor(repo.repository, 'pull'),
      what,
      headers: { accept: accept.join(', ') },
      maxBodyBytes: opts.maxBytes ?? this.#manifestCap,
    });
    if (res.status !== 200) throw errorFromResponse(res, what);
    const bytes = res.body;
    const digest = ociDigest(bytes);
    if (isDigestRef(tagOrDigest) && digest !== tagOrDigest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${what}: content hashes to ${digest}`,
        { status: res.status }
      );
    }
    const mediaType = this.#manifestMediaType(res, bytes, what);
    const dcd = headerValue(res.headers, 'docker-content-digest');
    if (dcd !== undefined && dcd !== digest) {
      this.#warn(
        `${what}: registry reports digest ${dcd}, content hashes to ${digest}; using the content's`
      );
    }
    return { bytes, mediaType, digest };
  }

  /** Media type from Content-Type, else from the body; refuses non-manifests. */
  #manifestMediaType(
    res: TransportResponse,
    bytes: Buffer,
    what: string
  ): string {
    const ct = mediaTypeOf(headerValue(res.headers, 'content-type'));
    if (ct !== undefined && SCHEMA1_TYPES.has(ct)) {
      throw new RegistryError(
        'REGISTRY_UNSUPPORTED',
        `${what}: docker schema 1 manifests are not supported`,
        { status: res.status }
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: response is not a JSON manifest (content-type ${ct ?? 'none'})`,
        { status: res.status }
      );
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: response is not a manifest object`,
        { status: res.status }
      );
    }
    const b = body as Record<string, unknown>;
    const bodyType =
      typeof b['mediaType'] === 'string' ? b['mediaType'] : undefined;
    if (b['schemaVersion'] === 1) {
      throw new RegistryError(
        'REGISTRY_UNSUPPORTED',
        `${what}: docker schema 1 manifests are not supported`,
        { status: res.status }
      );
    }
    if (ct !== undefined && KNOWN_MANIFEST_TYPES.has(ct)) {
      if (bodyType !== undefined && bodyType !== ct) {
        this.#warn(`${what}: content-type ${ct} but body says ${bodyType}`);
      }
      return ct;
    }
    if (bodyType !== undefined) return bodyType;
    if (b['schemaVersion'] === 2) {
      if (Array.isArray(b['manifests'])) return MediaType.OciIndex;
      if (typeof b['config'] === 'object') return MediaType.OciManifest;
    }
    throw new RegistryError(
      'REGISTRY_PROTOCOL',
      `${what}: response is not a known manifest type (content-type ${ct ?? 'none'})`,
      { status: res.status }
    );
  }

  /**
   * Resolves a manifest without its body. Falls back to GET when HEAD is
   * refused or lacks Docker-Content-Digest / Content-Length (ECR, Nexus,
   * Harbor). Undefined when the manifest does not exist.
   */
  async headManifest(
    repo: RepoRef,
    tagOrDigest: string
  ): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    const what = `resolving manifest ${objectName(repo, tagOrDigest)}`;
    if (isDigestRef(tagOrDigest)) requireSha256(tagOrDigest, what);
    const res = await this.#call(repo, {
      method: 'HEAD',
      target: `/v2/${repo.repository}/manifests/${tagOrDigest}`,
      scopes: scopesFor(repo.repository, 'pull'),
      what,
      headers: { accept: MANIFEST_ACCEPT_ALL.join(', ') },
    });
    // Nexus and GitLab have answered 404 to HEAD for manifests GET serves:
    // a 404 is confirmed with GET unless the caller trusts HEAD.
    if (res.status === 404 && this.#trustHeadNotFound) return undefined;
    if (res.status === 200) {
      const dcd = headerValue(res.headers, 'docker-content-digest');
      const len = Number(headerValue(res.headers, 'content-length'));
      const mt = mediaTypeOf(headerValue(res.headers, 'content-type'));
      const digestOk =
        dcd !== undefined &&
        SHA256_DIGEST.test(dcd) &&
        (!isDigestRef(tagOrDigest) || dcd === tagOrDigest);
      if (
        digestOk &&
        Number.isSafeInteger(len) &&
        len >= 0 &&
        mt !== undefined &&
        KNOWN_MANIFEST_TYPES.has(mt)
      ) {
        return { digest: dcd, mediaType: mt, size: len };
      }
    } else if (![400, 403, 404, 405].includes(res.status)) {
      throw errorFromResponse(res, what);
    }
    try {
      const m = await this.getManifest(repo, tagOrDigest);
      return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'REGISTRY_NOT_FOUND')
        return undefined;
      throw err;
    }
  }

  async putManifest(
    repo: RepoRef,
    tagOrDigest: string,
    bytes: Uint8Array,
    mediaType: string
  ): Promise<{ digest: string }> {
    const what = `pushing manifest ${objectName(repo, tagOrDigest)}`;
    const digest = ociDigest(bytes);
    if (isDigestRef(tagOrDigest) && tagOrDigest !== digest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${what}: content hashes to ${digest}`
      );
    }
    const res = await this.#call(repo, {
      method: 'PUT',
      target: `/v2/${repo.repository}/manifests/${tagOrDigest}`,
      scopes: scopesFor(repo.repository, 'push'),
      what,
      // Content-Type must equal the body's mediaType, without parameters.
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (res.status < 200 || res.status >= 300) {
      // Name the registry behaviour and the way out (spec §4; quirks.ts).
      const err = errorFromResponse(res, what);
      const q = await this.quirks(repo.registry);
      const refused = {
        status: err.status,
        ociCode: err.ociCode,
        detail: err.message,
      };
      throw withRefusalHint(
        err,
        explainManifestRefusal(q, refused, { mediaType, bytes, tagOrDigest })
      );
    }
    const dcd = headerValue(res.headers, 'docker-content-digest');
    if (dcd !== undefined && dcd !== digest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${what}: registry stored ${dcd}, content hashes to ${digest}`,
        { status: res.status }
      );
    }
    return { digest };
  }

  async deleteManifest(repo: RepoRef, digest: string): Promise<void> {
    const what = `deleting manifest ${objectName(repo, digest)}`;
    requireSha256(digest, what);
    const res = await this.#call(repo, {
      method: 'DELETE',
      target: `/v2/${repo.repository}/manifests/${digest}`,
      scopes: scopesFor(repo.repository, 'delete'),
      what,
    });
    if (res.status < 200 || res.status >= 300) {
      // Docker Hub and GHCR have no manifest DELETE (405, spec §2.8, §4.8).
      const err = errorFromResponse(res, what);
      const q = await this.quirks(repo.registry);
      throw withRefusalHint(
        err,
        explainDeleteRefusal(q, { status: err.status, ociCode: err.ociCode })
      );
    }
  }

  // -------------------------------------------------------------------- blobs

  async blobExists(repo: RepoRef, digest: string): Promise<boolean> {
    return this.#blobExists(repo, digest, scopesFor(repo.repository, 'pull'));
  }

  async #blobExists(
    repo: RepoRef,
    digest: string,
    scopes: readonly string[]
  ): Promise<boolean> {
    const what = `checking blob ${objectName(repo, digest)}`;
    requireSha256(digest, what);
    const res = await this.#call(repo, {
      method: 'HEAD',
      target: `/v2/${repo.repository}/blobs/${digest}`,
      scopes,
      what,
    });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw errorFromResponse(res, what);
  }

  /** Downloads a blob (following redirects to storage), verifying size and digest. */
  async getBlob(
    repo: RepoRef,
    digest: string,
    opts: { maxBytes?: number; expectedSize?: number } = {}
  ): Promise<Buffer> {
    const what = `fetching blob ${objectName(repo, digest)}`;
    requireSha256(digest, what);
    const cap = opts.maxBytes ?? this.#blobCap;
    if (opts.expectedSize !== undefined && opts.expectedSize > cap) {
      throw new RegistryError(
        'REGISTRY_TOO_LARGE',
        `${what}: ${opts.expectedSize} bytes is over the ${cap}-byte limit`
      );
    }
    let res: TransportResponse;
    try {
      res = await this.#call(repo, {
        method: 'GET',
        target: `/v2/${repo.repository}/blobs/${digest}`,
        scopes: scopesFor(repo.repository, 'pull'),
        what,
        headers: { accept: '*/*' },
        // Never read more than the descriptor says: a longer body is wrong anyway.
        maxBodyBytes: opts.expectedSize !== undefined ? opts.expectedSize : cap,
      });
    } catch (err) {
      if (
        opts.expectedSize !== undefined &&
        err instanceof RegistryError &&
        err.code === 'REGISTRY_TOO_LARGE'
      ) {
        throw new RegistryError(
          'REGISTRY_DIGEST_MISMATCH',
          `${what}: more than the expected ${opts.expectedSize} bytes`,
          {},
          { cause: err }
        );
      }
      throw err;
    }
    if (res.status !== 200) throw errorFromResponse(res, what);
    const body = res.body;
    if (opts.expectedSize !== undefined && body.length !== opts.expectedSize) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${what}: got ${body.length} bytes, expected ${opts.expectedSize}`,
        { status: res.status }
      );
    }
    const got = ociDigest(body);
    if (got !== digest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${what}: content hashes to ${got}`,
        { status: res.status }
      );
    }
    return body;
  }

  /**
   * Uploads a blob unless the repository already has it. With `mountFrom`
   * (same registry) a cross-repository mount is tried first; a refused
   * mount (any 4xx) falls back to a normal upload, a 202 continues as one.
   */
  async putBlob(
    repo: RepoRef,
    bytes: Uint8Array,
    opts: {
      digest?: string;
      mountFrom?: RepoRef;
      /**
       * The caller expects the blob to be new (e.g. a signature config that
       * lists a fresh set of layers): skip the existence HEAD, saving a
       * request. Uploading a blob that exists is harmless, only wasted bytes.
       */
      probablyNew?: boolean;
    } = {}
  ): Promise<BlobDescriptor> {
    const digest = ociDigest(bytes);
    const what = `pushing blob ${objectName(repo, digest)}`;
    if (opts.digest !== undefined && opts.digest !== digest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${what}: content does not match the expected digest ${opts.digest}`
      );
    }
    const desc = { digest, size: bytes.length };
    const from =
      opts.mountFrom !== undefined &&
      opts.mountFrom.registry === repo.registry &&
      opts.mountFrom.repository !== repo.repository
        ? opts.mountFrom.repository
        : undefined;
    const scopes = scopesFor(repo.repository, 'push', from);
    if (
      opts.probablyNew !== true &&
      (await this.#blobExists(repo, digest, scopes))
    ) {
      return desc;
    }

    let session: URL | undefined;
    if (from !== undefined) {
      const q = new URLSearchParams({ mount: digest, from });
      const res = await this.#call(repo, {
        method: 'POST',
        target: `/v2/${repo.repository}/blobs/uploads/?${q.toString()}`,
        scopes,
        what: `mounting blob ${objectName(repo, digest)} from ${from}`,
        allow401: true,
      });
      if (res.status === 201) {
        this.#checkStoredDigest(res, digest, what);
        return desc;
      }
      if (res.status === 202) {
        session = this.#uploadLocation(repo, res, what);
      } else if (res.status >= 400 && res.status < 500) {
        this.#log?.({
          level: 'debug',
          message: `${what}: mount refused (HTTP ${res.status}), uploading`,
        });
      } else {
        throw errorFromResponse(res, what);
      }
    }
    if (this.#uploadMode === 'chunked') {
      await this.#uploadChunked(repo, bytes, digest, scopes, what, session);
      return desc;
    }
    session ??= await this.#startUpload(repo, scopes, what);
    const put = await this.#call(repo, {
      method: 'PUT',
      target: withDigestParam(session, digest),
      scopes,
      what,
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    if (put.status >= 200 && put.status < 300) {
      this.#checkStoredDigest(put, digest, what);
      return desc;
    }
    const err = errorFromResponse(put, what);
    const refusedMonolithic =
      put.status === 413 ||
      err.ociCode === 'SIZE_INVALID' ||
      err.ociCode === 'BLOB_UPLOAD_INVALID';
    // No chunked fallback where chunks are refused too (Artifact Registry, ECR).
    if (
      this.#uploadMode === 'auto' &&
      refusedMonolithic &&
      !(await this.quirks(repo.registry)).noChunkedUpload
    ) {
      this.#log?.({
        level: 'info',
        message: `${what}: monolithic upload refused (${err.ociCode ?? put.status}), retrying in chunks`,
      });
      await this.#cancelUpload(repo, session, scopes, what);
      await this.#uploadChunked(repo, bytes, digest, scopes, what, undefined);
      return desc;
    }
    await this.#cancelUpload(repo, session, scopes, what);
    throw err;
  }

  #checkStoredDigest(
    res: TransportResponse,
    digest: string,
    what: string
  ): void {
    const dcd = headerValue(res.headers, 'docker-content-digest');
    if (dcd !== undefined && dcd !== digest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${what}: registry stored ${dcd}`,
        { status: res.status }
      );
    }
  }

  /** Resolves an upload Location against the final request URL, keeping its query. */
  #uploadLocation(repo: RepoRef, res: TransportResponse, what: string): URL {
    const loc = headerValue(res.headers, 'location');
    if (loc === undefined || loc === '') {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: upload response has no Location`,
        { status: res.status }
      );
    }
    let url: URL;
    try {
      url = new URL(loc, res.url);
    } catch {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: malformed upload Location`,
        {
          status: res.status,
        }
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: upload Location has scheme ${url.protocol}`
      );
    }
    // ggcr #2295: a public registry may not point uploads at private addresses.
    if (
      url.host !== res.url.host &&
      isPrivateAddress(url.hostname) &&
      !isPrivateAddress(res.url.hostname)
    ) {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: refusing upload location on private address ${url.host}`
      );
    }
    void repo;
    return url;
  }

  async #startUpload(
    repo: RepoRef,
    scopes: readonly string[],
    what: string
  ): Promise<URL> {
    const res = await this.#call(repo, {
      method: 'POST',
      target: `/v2/${repo.repository}/blobs/uploads/`,
      scopes,
      what,
    });
    if (res.status !== 202 && res.status !== 201)
      throw errorFromResponse(res, what);
    return this.#uploadLocation(repo, res, what);
  }

  async #cancelUpload(
    repo: RepoRef,
    session: URL,
    scopes: readonly string[],
    what: string
  ): Promise<void> {
    try {
      await this.#call(repo, {
        method: 'DELETE',
        target: session,
        scopes,
        what: `${what} (cancel)`,
        retry: false,
      });
    } catch {
      // best effort: the registry expires abandoned uploads
    }
  }

  /** POST, then PATCH chunks with Content-Range, then PUT ?digest= with no body. */
  async #uploadChunked(
    repo: RepoRef,
    bytes: Uint8Array,
    digest: string,
    scopes: readonly string[],
    what: string,
    session: URL | undefined
  ): Promise<void> {
    let chunk = this.#chunkSize;
    let location = session;
    if (location === undefined) {
      const res = await this.#call(repo, {
        method: 'POST',
        target: `/v2/${repo.repository}/blobs/uploads/`,
        scopes,
        what,
      });
      if (res.status !== 202) throw errorFromResponse(res, what);
      location = this.#uploadLocation(repo, res, what);
      const min = Number(headerValue(res.headers, 'oci-chunk-min-length'));
      if (Number.isSafeInteger(min) && min > chunk) chunk = min;
    }
    for (let off = 0; off < bytes.length; off += chunk) {
      const part = bytes.subarray(off, Math.min(bytes.length, off + chunk));
      const end = off + part.length - 1;
      const res = await this.#call(repo, {
        method: 'PATCH',
        target: location,
        scopes,
        what,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${off}-${end}`,
        },
        body: part,
      });
      // ECR answers 201 instead of 202.
      if (res.status !== 202 && res.status !== 201 && res.status !== 204) {
        throw errorFromResponse(res, what);
      }
      // distribution ignores Content-Range: check the offset ourselves.
      const range = headerValue(res.headers, 'range');
      const m = range !== undefined ? /^(?:bytes=)?0-(\d+)$/.exec(range) : null;
      if (m && Number(m[1]) !== end) {
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${what}: registry holds bytes 0-${m[1]} after sending 0-${end}`,
          { status: res.status }
        );
      }
      if (headerValue(res.headers, 'location')) {
        location = this.#uploadLocation(repo, res, what);
      }
    }
    const put = await this.#call(repo, {
      method: 'PUT',
      target: withDigestParam(location, digest),
      scopes,
      what,
      headers: { 'content-type': 'application/octet-stream' },
      retry: false,
    });
    if (put.status < 200 || put.status >= 300)
      throw errorFromResponse(put, what);
    this.#checkStoredDigest(put, digest, what);
  }

  // ---------------------------------------------------------- tags, referrers

  /** All tags, following `Link: <…>; rel="next"` pages on the same origin. */
  async listTags(repo: RepoRef): Promise<string[]> {
    const what = `listing tags of ${objectName(repo)}`;
    const base = await this.#auth.base(repo.registry);
    const seen = new Set<string>();
    const out: string[] = [];
    let target: URL = new URL(`/v2/${repo.repository}/tags/list?n=1000`, base);
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.#call(repo, {
        method: 'GET',
        target,
        scopes: scopesFor(repo.repository, 'pull'),
        what,
        headers: { accept: 'application/json' },
        maxBodyBytes: LIST_CAP,
      });
      if (res.status !== 200) throw errorFromResponse(res, what);
      let body: unknown;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${what}: response is not JSON`,
          { status: 200 }
        );
      }
      const tags = (body as { tags?: unknown } | null)?.tags;
      if (tags !== null && tags !== undefined && !Array.isArray(tags)) {
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${what}: malformed tag list`,
          { status: 200 }
        );
      }
      for (const t of (tags ?? []) as unknown[]) {
        if (typeof t !== 'string') {
          throw new RegistryError(
            'REGISTRY_PROTOCOL',
            `${what}: malformed tag list`,
            { status: 200 }
          );
        }
        if (!seen.has(t)) {
          seen.add(t);
          out.push(t);
        }
      }
      const next = this.#nextPage(res, base, what);
      if (next === undefined) return out;
      target = next;
    }
    throw new RegistryError(
      'REGISTRY_PROTOCOL',
      `${what}: more than ${MAX_PAGES} pages`
    );
  }

  #nextPage(res: TransportResponse, base: URL, what: string): URL | undefined {
    const link = parseNextLink(headerValue(res.headers, 'link'));
    if (link === undefined) return undefined;
    let next: URL;
    try {
      next = new URL(link, res.url);
    } catch {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: malformed Link header`
      );
    }
    // ggcr validatePaginationURL: pages stay on the registry's origin.
    if (next.protocol !== base.protocol || next.host !== base.host) {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: refusing next page on another origin (${safeUrl(next)})`
      );
    }
    return next;
  }

  /**
   * The referrers API (OCI distribution v1.1). Trusted only when it answers
   * 200 with `Content-Type: application/vnd.oci.image.index.v1+json`
   * (ggcr #1968; a 404, 400, 405, 406 or another content type means "not
   * supported" and gives undefined — use the `sha256-<hex>` fallback tag).
   * Pages are merged; the artifactType filter is applied here when the
   * server did not report applying it.
   */
  async referrers(
    repo: RepoRef,
    digest: string,
    artifactType?: string
  ): Promise<ImageIndex | undefined> {
    const what = `listing referrers of ${objectName(repo, digest)}`;
    requireSha256(digest, what);
    const base = await this.#auth.base(repo.registry);
    let target = new URL(`/v2/${repo.repository}/referrers/${digest}`, base);
    if (artifactType !== undefined)
      target.searchParams.set('artifactType', artifactType);
    const manifests: Descriptor[] = [];
    let filtered = true;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.#call(repo, {
        method: 'GET',
        target,
        scopes: scopesFor(repo.repository, 'pull'),
        what,
        headers: { accept: MediaType.OciIndex },
        maxBodyBytes: this.#manifestCap,
      });
      if (
        res.status === 401 ||
        res.status === 403 ||
        res.status === 429 ||
        res.status >= 500
      ) {
        throw errorFromResponse(res, what);
      }
      const ct = mediaTypeOf(headerValue(res.headers, 'content-type'));
      if (res.status !== 200 || ct !== MediaType.OciIndex) {
        if (page === 0) return undefined;
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${what}: a later page is not an OCI index`,
          {
            status: res.status,
          }
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${what}: referrers response is not JSON`,
          { status: 200 }
        );
      }
      const list = (body as { manifests?: unknown } | null)?.manifests;
      if (!Array.isArray(list)) {
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${what}: referrers response has no manifests list`,
          {
            status: 200,
          }
        );
      }
      for (const d of list as unknown[])
        manifests.push(checkDescriptor(d, what));
      const applied = headerValue(res.headers, 'oci-filters-applied') ?? '';
      if (
        !applied
          .split(',')
          .map((s) => s.trim())
          .includes('artifactType')
      )
        filtered = false;
      const next = this.#nextPage(res, base, what);
      if (next === undefined) break;
      target = next;
    }
    // Filter here even when the server says it did (ggcr always re-filters).
    const result =
      artifactType !== undefined
        ? manifests.filter((m) => m.artifactType === artifactType)
        : manifests;
    if (artifactType !== undefined && !filtered) {
      this.#log?.({
        level: 'debug',
        message: `${what}: server did not filter by artifactType`,
      });
    }
    return {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: result,
    };
  }
}

function withDigestParam(location: URL, digest: string): URL {
  // Append to the Location's query as given (it may carry essential state).
  const href = location.href;
  const sep = location.search === '' ? '?' : '&';
  const hashless =
    location.hash === '' ? href : href.slice(0, -location.hash.length);
  return new URL(`${hashless}${sep}digest=${encodeURIComponent(digest)}`);
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  if (typeof d !== 'object' || d === null) {
    throw new RegistryError(
      'REGISTRY_PROTOCOL',
      `${what}: malformed descriptor`
    );
  }
  const o = d as Record<string, unknown>;
  if (
    typeof o['mediaType'] !== 'string' ||
    typeof o['digest'] !== 'string' ||
    !SHA256_DIGEST.test(o['digest']) ||
    typeof o['size'] !== 'number' ||
    !Number.isSafeInteger(o['size']) ||
    o['size'] < 0
  ) {
    throw new RegistryError(
      'REGISTRY_PROTOCOL',
      `${what}: malformed descriptor`
    );
  }
  return d as Descriptor;
}
