/**
 * `verify` for images in a registry (spec signature-storage.md §7, mode A):
 * resolve the image digest, find `sha256-<hex>.sig` in the image repository
 * (or COSIGN_REPOSITORY), fetch every signature layer with digest and size
 * checked, verify each layer independently and return what passed.
 *
 * Orchestration only: IO goes through a RegistryClient-shaped interface
 * (`SignatureSource`), every check on bytes lives in the pure modules
 * beside this one.
 */
import { ociDigest } from '../core/digest.js';
import { parseStrictJson } from '../core/strict-json.js';
import {
  RegistryError,
  SignetError,
  VerificationError,
  type ErrorCode,
} from '../errors.js';
import {
  MAX_SIGNATURE_LAYERS,
  parseSignatureManifest,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type ParsedSignatureManifest,
  type SignatureLayer,
} from '../oci/cosign-layout.js';
import { DEFAULT_TAG, type Reference } from '../oci/reference.js';
import { MANIFEST_ACCEPT, MediaType } from '../oci/types.js';
import { DEFAULT_MAX_ATTACHMENT_SIZE } from './payload.js';
import { verifyLayerTlog, type TlogPolicy } from './tlog-bundle.js';
import {
  verifySignatureLayer,
  type PayloadVerifier,
  type VerifiedSignature,
} from './signature.js';
import type { RepoRef } from '../oci/types.js';

export { DEFAULT_MAX_ATTACHMENT_SIZE } from './payload.js';

/** A repository on a registry (`Reference` satisfies it). */
export type { RepoRef } from '../oci/types.js';

/**
 * The registry operations verification needs; `RegistryClient` implements
 * them. Contracts:
 *  - headManifest resolves a tag to `{digest}`; `undefined` means 404.
 *  - getManifest throws RegistryError `REGISTRY_NOT_FOUND` on 404.
 *  - getBlob returns the blob and should check digest and size itself
 *    (this module re-checks the digest: it is cheap and the contract is
 *    the security boundary).
 */
export interface SignatureSource {
  headManifest(
    repo: RepoRef,
    tagOrDigest: string
  ): Promise<{ digest: string } | undefined>;
  getManifest(
    repo: RepoRef,
    tagOrDigest: string,
    opts?: { accept?: readonly string[]; maxBytes?: number }
  ): Promise<{ bytes: Buffer; mediaType: string }>;
  getBlob(
    repo: RepoRef,
    digest: string,
    opts?: { maxBytes?: number; expectedSize?: number }
  ): Promise<Buffer>;
}

export interface LogEvent {
  readonly level: 'debug' | 'info' | 'warn';
  readonly message: string;
}

export interface VerifyImageOptions {
  readonly verifier: PayloadVerifier;
  /** `-a key=value`: must be in each payload's `optional` (with checkClaims). */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** cosign `--check-claims`, default true. */
  readonly checkClaims?: boolean;
  /** COSIGN_REPOSITORY: where `.sig` tags are read. Default: the image repository. */
  readonly signatureRepository?: RepoRef | undefined;
  /** Largest signature layer accepted (COSIGN_MAX_ATTACHMENT_SIZE); default 128 MiB. */
  readonly maxAttachmentSize?: number;
  /** Most layers accepted in a signature manifest; default (and cosign's) 1000. */
  readonly maxLayers?: number;
  /** Concurrent blob fetches per image (cosign `--max-workers`); default 10. */
  readonly maxWorkers?: number;
  readonly log?: (event: LogEvent) => void;
  /**
   * Transparency-log check of each signature (src/verify/tlog-bundle.ts).
   * Undefined: none (`--insecure-ignore-tlog`).
   */
  readonly tlog?: TlogPolicy;
}

/** Why one layer did not verify (or was not a signature at all). */
export interface LayerFailure {
  readonly index: number;
  readonly digest: string;
  readonly mediaType: string;
  /** True for layers of another media type, which are not signatures. */
  readonly skipped: boolean;
  readonly error: SignetError;
}

export interface ImageVerification {
  readonly reference: Reference;
  /** The verified image digest. */
  readonly digest: string;
  readonly signatureRepository: RepoRef;
  readonly signatureTag: string;
  /** Signatures that passed, in layer order. Never empty. */
  readonly signatures: readonly VerifiedSignature[];
  /** Layers that did not pass, in layer order. */
  readonly failures: readonly LayerFailure[];
}

/**
 * Thrown when a signature manifest exists but no layer verified
 * (`NO_MATCHING_SIGNATURE`, cosign exit 12); `failures` says why per layer.
 */
export class NoMatchingSignatureError extends VerificationError {
  constructor(
    message: string,
    readonly failures: readonly LayerFailure[]
  ) {
    super('NO_MATCHING_SIGNATURE', message);
  }
}

/** Signature manifests larger than this are refused before parsing. */
const MAX_SIGNATURE_MANIFEST_BYTES = 8 * 1024 * 1024;

/** Registry errors that describe the CONTENT of one layer, not the connection. */
const CONTENT_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'REGISTRY_NOT_FOUND',
  'REGISTRY_DIGEST_MISMATCH',
  'REGISTRY_TOO_LARGE',
  'REGISTRY_PROTOCOL',
]);

function describe(ref: Reference): string {
  return ref.original;
}

/**
 * The digest to verify (spec §2.1, §7 step 1). A digest reference is used
 * as is, WITHOUT any request: cosign verifies signatures for a digest even
 * when the image manifest itself is gone. A tag is resolved with HEAD; 404
 * is `IMAGE_NOT_FOUND` (cosign exit 11).
 */
export async function resolveImageDigest(
  source: Pick<SignatureSource, 'headManifest'>,
  ref: Reference
): Promise<string> {
  if (ref.digest !== undefined) return ref.digest;
  const tag = ref.tag ?? DEFAULT_TAG;
  let head: { digest: string } | undefined;
  try {
    head = await source.headManifest(ref, tag);
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'REGISTRY_NOT_FOUND') {
      head = undefined;
    } else {
      throw err;
    }
  }
  if (head === undefined) {
    throw new SignetError(
      'IMAGE_NOT_FOUND',
      `image tag not found: ${describe(ref)}`
    );
  }
  return head.digest;
}

async function fetchSignatureManifest(
  source: SignatureSource,
  repo: RepoRef,
  tag: string,
  ref: Reference,
  maxLayers: number
): Promise<ParsedSignatureManifest> {
  let fetched: { bytes: Buffer; mediaType: string };
  try {
    fetched = await source.getManifest(repo, tag, {
      accept: MANIFEST_ACCEPT,
      maxBytes: MAX_SIGNATURE_MANIFEST_BYTES,
    });
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'REGISTRY_NOT_FOUND') {
      throw new VerificationError(
        'NO_SIGNATURES_FOUND',
        `no signatures found for ${describe(ref)}`,
        { cause: err }
      );
    }
    throw err;
  }
  const where = `signature manifest ${repo.registry}/${repo.repository}:${tag}`;
  if (fetched.bytes.length > MAX_SIGNATURE_MANIFEST_BYTES) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `${where}: larger than ${MAX_SIGNATURE_MANIFEST_BYTES} bytes`
    );
  }
  // Strict parse first: duplicate keys or absurd nesting are rejected before
  // any field is read, so no two readers can disagree about this manifest.
  parseStrictJson(fetched.bytes, {
    maxBytes: MAX_SIGNATURE_MANIFEST_BYTES,
    what: where,
  });
  const parsed = parseSignatureManifest(fetched.bytes, {
    maxLayers,
    what: where,
  });
  const mediaType = parsed.mediaType ?? fetched.mediaType;
  if (
    mediaType !== MediaType.OciManifest &&
    mediaType !== MediaType.DockerManifest
  ) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `${where}: unexpected media type ${JSON.stringify(mediaType)}`
    );
  }
  return parsed;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
async function mapSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>
): Promise<PromiseSettledResult<R>[]> {
  const out = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

function asSignetError(err: unknown): SignetError {
  if (err instanceof SignetError) return err;
  return new SignetError(
    'INTERNAL',
    err instanceof Error ? err.message : String(err),
    { cause: err }
  );
}

function layerLabel(i: number, l: { digest: string }): string {
  return `layer ${i} (${l.digest})`;
}

/**
 * Verifies the signatures of one image. Resolves (or, for a digest, does
 * not resolve) the image, reads its signature manifest and verifies every
 * `application/vnd.dev.cosign.simplesigning.v1+json` layer in parallel.
 *
 * Throws:
 *  - SignetError IMAGE_NOT_FOUND (11): the tag does not resolve;
 *  - VerificationError NO_SIGNATURES_FOUND (10): no `.sig` manifest, or no
 *    signature layer in it;
 *  - NoMatchingSignatureError NO_MATCHING_SIGNATURE (12): none verified;
 *  - SignetError MALFORMED_INPUT: the signature manifest is not one (bad
 *    JSON, duplicate keys, an index, more than `maxLayers` layers) — never
 *    a partial result;
 *  - RegistryError for transport problems when nothing verified.
 */
export async function verifyImageSignatures(
  source: SignatureSource,
  ref: Reference,
  opts: VerifyImageOptions
): Promise<ImageVerification> {
  const log = opts.log ?? (() => undefined);
  const maxSize = opts.maxAttachmentSize ?? DEFAULT_MAX_ATTACHMENT_SIZE;
  const maxLayers = opts.maxLayers ?? MAX_SIGNATURE_LAYERS;
  const digest = await resolveImageDigest(source, ref);
  const repo: RepoRef = opts.signatureRepository ?? {
    registry: ref.registry,
    repository: ref.repository,
  };
  const tag = signatureTag(digest);
  log({
    level: 'debug',
    message: `reading signatures for ${digest} from ${repo.registry}/${repo.repository}:${tag}`,
  });
  const manifest = await fetchSignatureManifest(
    source,
    repo,
    tag,
    ref,
    maxLayers
  );

  const failures: LayerFailure[] = [];
  const candidates: { index: number; layer: SignatureLayer }[] = [];
  manifest.layers.forEach((layer, index) => {
    const fail = (error: SignetError, skipped = false): void => {
      failures.push({
        index,
        digest: layer.digest,
        mediaType: layer.mediaType,
        skipped,
        error,
      });
    };
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
      // Not a signature (skopeo and cosign ignore such layers too).
      fail(
        new VerificationError(
          'SIGNATURE_MALFORMED',
          `${layerLabel(index, layer)}: media type ${layer.mediaType} is not a signature; skipped`
        ),
        true
      );
      return;
    }
    // cosign checks the DESCRIPTOR size before reading (GHSA-vfp6-jrw2-99g9).
    if (layer.size > maxSize) {
      fail(
        new VerificationError(
          'ATTACHMENT_TOO_LARGE',
          `${layerLabel(index, layer)}: size ${layer.size} exceeds the limit of ${maxSize} bytes`
        )
      );
      return;
    }
    candidates.push({ index, layer });
  });

  if (candidates.length === 0 && failures.every((f) => f.skipped)) {
    const skipped = failures.length;
    throw new VerificationError(
      'NO_SIGNATURES_FOUND',
      `no signatures found for ${describe(ref)}` +
        (skipped > 0
          ? ` (${skipped} layer(s) of other media types skipped)`
          : '')
    );
  }

  // Fetch each distinct blob once (several layers may share a payload).
  // Keyed by digest AND size: every descriptor's size must hold too.
  const blobKey = (l: { digest: string; size: number }): string =>
    `${l.digest}/${l.size}`;
  const unique = new Map<string, { digest: string; size: number }>();
  for (const c of candidates) unique.set(blobKey(c.layer), c.layer);
  const wanted = [...unique.values()];
  const blobs = await mapSettled(
    wanted,
    opts.maxWorkers ?? 10,
    async ({ digest: d, size }) => {
      const bytes = await source.getBlob(repo, d, {
        maxBytes: maxSize,
        expectedSize: size,
      });
      // Never trust a blob until its digest and size match the descriptor.
      if (bytes.length !== size || ociDigest(bytes) !== d) {
        throw new RegistryError(
          'REGISTRY_DIGEST_MISMATCH',
          `blob ${repo.registry}/${repo.repository}@${d}: content does not match its digest or size`
        );
      }
      return bytes;
    }
  );
  const blobByKey = new Map<string, PromiseSettledResult<Buffer>>();
  wanted.forEach((l, i) => blobByKey.set(blobKey(l), blobs[i]!));

  const signatures: { index: number; sig: VerifiedSignature }[] = [];
  let operational: SignetError | undefined;
  for (const { index, layer } of candidates) {
    const blob = blobByKey.get(blobKey(layer))!;
    if (blob.status === 'rejected') {
      const e = asSignetError(blob.reason);
      if (!CONTENT_ERRORS.has(e.code)) operational ??= e;
      failures.push({
        index,
        digest: layer.digest,
        mediaType: layer.mediaType,
        skipped: false,
        error: e,
      });
      continue;
    }
    try {
      const sig = verifySignatureLayer(
        { payload: blob.value, annotations: layer.annotations },
        {
          verifier: opts.verifier,
          digest,
          annotations: opts.annotations,
          checkClaims: opts.checkClaims ?? true,
          maxPayloadBytes: maxSize,
        }
      );
      // ---- transparency log (src/verify/tlog-bundle.ts) ----
      const tlog =
        opts.tlog === undefined
          ? undefined
          : await verifyLayerTlog(
              {
                payload: blob.value,
                signature: sig.signature,
                annotations: layer.annotations,
              },
              opts.tlog
            );
      signatures.push({
        index,
        sig: tlog === undefined ? sig : { ...sig, tlog },
      });
    } catch (err) {
      // A log that cannot be reached says nothing about the signature.
      if (err instanceof SignetError && err.code === 'TLOG_UNAVAILABLE') {
        operational ??= err;
      }
      failures.push({
        index,
        digest: layer.digest,
        mediaType: layer.mediaType,
        skipped: false,
        error: asSignetError(err),
      });
    }
  }
  failures.sort((a, b) => a.index - b.index);

  if (signatures.length === 0) {
    // A transport failure is reported as such, not as "no matching
    // signatures": the signatures were never looked at.
    if (operational !== undefined) throw operational;
    const reasons = failures
      .filter((f) => !f.skipped)
      .map((f) => `${layerLabel(f.index, f)}: ${f.error.message}`);
    throw new NoMatchingSignatureError(
      `no matching signatures for ${describe(ref)}: ${reasons.join('; ')}`,
      failures
    );
  }
  for (const f of failures) {
    log({
      level: 'debug',
      message: `${layerLabel(f.index, f)}: ${f.error.message}`,
    });
  }
  return {
    reference: ref,
    digest,
    signatureRepository: repo,
    signatureTag: tag,
    signatures: signatures.sort((a, b) => a.index - b.index).map((s) => s.sig),
    failures,
  };
}

/**
 * Verifies many images with at most `concurrency` (default 16) in flight;
 * one settled result per reference, in order.
 */
export async function verifyImages(
  source: SignatureSource,
  refs: readonly Reference[],
  opts: VerifyImageOptions & { readonly concurrency?: number }
): Promise<PromiseSettledResult<ImageVerification>[]> {
  return mapSettled(refs, opts.concurrency ?? 16, (ref) =>
    verifyImageSignatures(source, ref, opts)
  );
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  p: 1e15,
  pb: 1e15,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
  e: 1e18,
  eb: 1e18,
  ei: 1024 ** 6,
  eib: 1024 ** 6,
};

/**
 * Parses a size as COSIGN_MAX_ATTACHMENT_SIZE is parsed (go-humanize
 * ParseBytes): a decimal number (commas ignored) and an optional unit,
 * SI (`K`, `MB`, `1GB` = 10^9) or IEC (`KiB`, `45MiB`), case-insensitive.
 * Returns undefined when it does not parse (cosign then uses the default).
 */
export function parseByteSize(s: string): number | undefined {
  const m = /^([0-9.,]*)(.*)$/s.exec(s);
  if (m === null) return undefined;
  const num = m[1]!.replace(/,/g, '');
  if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(num)) return undefined;
  const unit = SIZE_UNITS[m[2]!.trim().toLowerCase()];
  if (unit === undefined) return undefined;
  const v = Math.floor(Number(num) * unit);
  return Number.isFinite(v) ? v : undefined;
}
