/**
 * `sign`: resolve → payload → signature → append to `sha256-<hex>.sig`
 * (spec signature-storage.md §2, §3, §4, §5, §6; cosign `signDigest`).
 */
import { encodeBase64 } from '../core/encoding.js';
import { RegistryError, SignetError } from '../errors.js';
import { verifierFromPublicKey } from '../keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureTag,
  simpleSigningPayload,
} from '../oci/cosign-layout.js';
import { repositoryName, type Reference } from '../oci/reference.js';
import {
  MANIFEST_ACCEPT,
  isImageManifestMediaType,
  isIndexMediaType,
} from '../oci/types.js';
import {
  appendSignatureLayers,
  type AppendResult,
  type AppendTuning,
} from './append.js';
import type {
  PayloadSigner,
  PayloadVerifier,
  RepoRef,
  SignLog,
  SignRegistry,
} from './ports.js';
import {
  bundleAnnotations,
  type RecordedEntry,
  type SignTlog,
} from './tlog.js';

export interface SignOptions {
  readonly registry: SignRegistry;
  readonly signer: PayloadSigner;
  /**
   * Duplicate detector (cosign's dedup). Defaults to a verifier for the
   * signer's public key.
   */
  readonly verifier?: PayloadVerifier;
  /** `-a key=value` annotations, written into the payload's `optional`. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Sign an index and every child manifest, depth first (`-r`). */
  readonly recursive?: boolean;
  /** false: sign only, write nothing to the registry (`--upload=false`). */
  readonly upload?: boolean;
  /** COSIGN_REPOSITORY: where `.sig` tags are written. */
  readonly targetRepository?: RepoRef;
  /** COSIGN_DOCKER_MEDIA_TYPES: Docker types for new signature manifests. */
  readonly dockerMediaTypes?: boolean;
  /** Retry with Docker types when the OCI type is refused (default true). */
  readonly dockerFallback?: boolean;
  /** How many objects are uploaded at once with --recursive (default 4). */
  readonly concurrency?: number;
  readonly log?: SignLog;
  /** Tuning of the no-lost-signatures loop. */
  readonly append?: AppendTuning;
  /**
   * Transparency log: each signature is recorded there BEFORE its layer is
   * written, and the layer carries the `dev.sigstore.cosign/bundle`
   * annotation (src/sign/tlog.ts). Undefined: no log (`--tlog-upload=false`).
   */
  readonly tlog?: SignTlog;
}

/** One signed object (an image, or with -r an index or one of its children). */
export interface SignedObject {
  /** `registry/repository@sha256:…` of the signed manifest. */
  readonly reference: string;
  readonly digest: string;
  /** The payload's `docker-reference`. */
  readonly dockerReference: string;
  readonly payload: Buffer;
  readonly signature: Buffer;
  /** `sha256-<hex>.sig`. */
  readonly signatureTag: string;
  /** `registry/repository` the signature went to (or would go to). */
  readonly signatureRepository: string;
  /** The upload result; undefined with upload=false. */
  readonly upload: AppendResult | undefined;
  /** The verified log entry; undefined without a log. */
  readonly tlog?: RecordedEntry;
}

/** cosign's warning when the input names a tag (sign.go). */
export function tagWarning(original: string): string {
  return (
    `Image reference ${original} uses a tag, not a digest, to identify the image to sign.\n` +
    '    This can lead you to sign a different image than the intended one. Please use a\n' +
    '    digest (example.com/ubuntu@sha256:abc123...) rather than tag\n' +
    '    (example.com/ubuntu:latest) for the input to cosign. The ability to refer to\n' +
    '    images by tag will be removed in a future release.\n'
  );
}

interface Target {
  readonly digest: string;
}

/** Walks an index depth-first: the index itself, then each child. */
async function collectRecursive(
  registry: SignRegistry,
  ref: Reference,
  tagOrDigest: string,
  out: Target[],
  seen: Set<string>,
  depth: number
): Promise<void> {
  if (depth > 16) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `index nesting deeper than 16 levels under ${repositoryName(ref)}`
    );
  }
  const m = await getImageManifest(registry, ref, tagOrDigest);
  if (seen.has(m.digest)) return;
  seen.add(m.digest);
  out.push({ digest: m.digest });
  if (!isIndexMediaType(m.mediaType)) return;
  let doc: unknown;
  try {
    doc = JSON.parse(m.bytes.toString('utf8'));
  } catch (e) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `index ${repositoryName(ref)}@${m.digest} is not valid JSON`,
      { cause: e }
    );
  }
  const manifests = (doc as { manifests?: unknown }).manifests;
  if (!Array.isArray(manifests)) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `index ${repositoryName(ref)}@${m.digest} has no manifests list`
    );
  }
  for (const child of manifests as unknown[]) {
    const c = child as { mediaType?: unknown; digest?: unknown };
    if (typeof c.digest !== 'string' || typeof c.mediaType !== 'string') {
      throw new SignetError(
        'MALFORMED_INPUT',
        `index ${repositoryName(ref)}@${m.digest} has a malformed child descriptor`
      );
    }
    if (isIndexMediaType(c.mediaType)) {
      await collectRecursive(registry, ref, c.digest, out, seen, depth + 1);
    } else if (isImageManifestMediaType(c.mediaType)) {
      if (!seen.has(c.digest)) {
        seen.add(c.digest);
        // Validates the digest form before it becomes a tag.
        signatureTag(c.digest);
        out.push({ digest: c.digest });
      }
    } else {
      // cosign: walk aborts on a child it cannot classify.
      throw new SignetError(
        'MALFORMED_INPUT',
        `unknown mime type: ${c.mediaType} (child ${c.digest} of ${repositoryName(ref)}@${m.digest})`
      );
    }
  }
}

async function getImageManifest(
  registry: SignRegistry,
  ref: Reference,
  tagOrDigest: string
): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
  try {
    return await registry.getManifest(ref, tagOrDigest, {
      accept: MANIFEST_ACCEPT,
    });
  } catch (e) {
    throw notFound(e, ref, tagOrDigest);
  }
}

function notFound(e: unknown, ref: Reference, tagOrDigest: string): unknown {
  if (e instanceof RegistryError && e.code === 'REGISTRY_NOT_FOUND') {
    const sep = tagOrDigest.includes(':') ? '@' : ':';
    return new SignetError(
      'IMAGE_NOT_FOUND',
      `image ${repositoryName(ref)}${sep}${tagOrDigest} not found`,
      { cause: e }
    );
  }
  return e;
}

/** Resolves what to sign: the digest, or with -r the index and children. */
async function resolveTargets(
  ref: Reference,
  opts: SignOptions
): Promise<Target[]> {
  if (ref.digest === undefined) {
    opts.log?.({ level: 'warn', message: tagWarning(ref.original) });
  }
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
  if (opts.recursive) {
    const out: Target[] = [];
    await collectRecursive(opts.registry, ref, tagOrDigest, out, new Set(), 0);
    return out;
  }
  if (ref.digest !== undefined) {
    // A digest reference causes no request (cosign signs even an image
    // that is absent: "SignedUnknown").
    signatureTag(ref.digest);
    return [{ digest: ref.digest }];
  }
  let head;
  try {
    head = await opts.registry.headManifest(ref, tagOrDigest);
  } catch (e) {
    throw notFound(e, ref, tagOrDigest);
  }
  if (head === undefined) {
    throw new SignetError(
      'IMAGE_NOT_FOUND',
      `image ${repositoryName(ref)}:${tagOrDigest} not found`
    );
  }
  return [{ digest: head.digest }];
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from(
    { length: Math.max(1, Math.min(limit, items.length)) },
    async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        results[i] = await fn(items[i]!);
      }
    }
  );
  await Promise.all(workers);
  return results;
}

/**
 * Signs one image reference (with `recursive`, an index and its children)
 * and, unless `upload` is false, stores each signature in its `.sig`
 * manifest without losing concurrent signers' signatures.
 */
export async function signImage(
  ref: Reference,
  opts: SignOptions
): Promise<SignedObject[]> {
  const targets = await resolveTargets(ref, opts);
  const dockerReference = repositoryName(ref);
  const target = opts.targetRepository ?? {
    registry: ref.registry,
    repository: ref.repository,
  };
  const verifier =
    opts.verifier ?? verifierFromPublicKey(opts.signer.publicKey);
  const upload = opts.upload ?? true;
  let docker = opts.dockerMediaTypes ?? false;
  if (upload) {
    opts.log?.({
      level: 'info',
      message: `Pushing signature to: ${repositoryName(target)}`,
    });
  }

  return mapLimit(targets, opts.concurrency ?? 4, async (t) => {
    const payload = simpleSigningPayload({
      dockerReference,
      digest: t.digest,
      annotations: opts.annotations,
    });
    const signature = await opts.signer.sign(payload);
    const tag = signatureTag(t.digest);
    // ---- transparency log (src/sign/tlog.ts) ----
    const recorded = await opts.tlog?.record({
      payload,
      signature,
      publicKey: opts.signer.publicKey,
    });
    let result: AppendResult | undefined;
    if (upload) {
      result = await appendSignatureLayers(
        opts.registry,
        target,
        tag,
        [
          {
            payload,
            mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
            annotations: {
              [SIGNATURE_ANNOTATION]: encodeBase64(signature),
              ...(recorded !== undefined && bundleAnnotations(recorded)),
            },
            dedupVerifier: verifier,
          },
        ],
        {
          ...opts.append,
          docker,
          dockerFallback: opts.dockerFallback ?? true,
          ...(opts.log !== undefined ? { log: opts.log } : {}),
        }
      );
      // Once a registry refused OCI, later new manifests go Docker directly.
      if (result.fellBackToDocker) docker = true;
    }
    return {
      reference: `${dockerReference}@${t.digest}`,
      digest: t.digest,
      dockerReference,
      payload,
      signature,
      signatureTag: tag,
      signatureRepository: repositoryName(target),
      upload: result,
      ...(recorded !== undefined && { tlog: recorded }),
    };
  });
}
