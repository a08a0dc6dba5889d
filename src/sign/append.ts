/**
 * Adding signature layers to a `sha256-<hex>.sig` manifest without losing
 * anyone's signature (docs/design/no-lost-signatures.md).
 *
 * cosign appends by GET → append → unconditional PUT (spec
 * signature-storage.md §3), so two concurrent signers overwrite each other
 * (sigstore/cosign#2432), and registries such as distribution 2.8.2 ignore
 * If-Match (registry-client.md §1.10). Blobs are content-addressed and never
 * race; only the tag does. So this module:
 *
 *   1. uploads every payload blob once, before the first read;
 *   2. reads the current manifest (404 → empty), merges in each of OUR
 *      layers that is missing (cosign's dedup rule decides "present"),
 *      uploads the config blob and PUTs the manifest;
 *   3. waits a settle delay longer than a signer's read→PUT window
 *      (measured), so that a writer whose stale read predates our PUT has
 *      landed its PUT, then reads the tag back;
 *   4. if any of our layers is gone, someone overwrote us: back off with
 *      jitter and go back to step 2 with a fresh read;
 *   5. gives up with REGISTRY_CONFLICT after a bounded number of writes,
 *      never silently.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { decodeBase64Strict } from '../core/encoding.js';
import { ociDigest } from '../core/digest.js';
import { RegistryError, SignetError } from '../errors.js';
import {
  SIGNATURE_ANNOTATION,
  buildSignatureImage,
  parseSignatureManifest,
  type SignatureLayer,
} from '../oci/cosign-layout.js';
import { MANIFEST_ACCEPT, MediaType } from '../oci/types.js';
import type {
  PayloadVerifier,
  RepoRef,
  SignLog,
  SignRegistry,
} from './ports.js';

/** A layer this process wants in the signature manifest. */
export interface NewSignatureLayer {
  /** Raw payload bytes: the layer blob. */
  readonly payload: Buffer;
  readonly mediaType: string;
  /** Descriptor annotations, including the signature annotation. */
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * cosign's duplicate detector: a verifier for the current signer's key.
   * Without one, only an identical descriptor counts as present (as
   * `cosign attach signature`, which never dedups, would still not want
   * the same descriptor twice after a retry).
   */
  readonly dedupVerifier?: PayloadVerifier | undefined;
}

export interface AppendTuning {
  /** Maximum manifest PUTs before REGISTRY_CONFLICT (default 25). */
  readonly maxWrites?: number;
  /** Backoff after a detected overwrite: base and cap in ms (50, 2000). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /**
   * Minimum settle delay before reading back after a PUT, in ms (default
   * 100); the delay used is max(this, 2 × the longest read→PUT window
   * seen), plus up to 50 % jitter. 0 reads back immediately.
   */
  readonly settleMs?: number;
  /**
   * When re-writing, also put back layers seen at the tag earlier in this
   * call that a concurrent writer dropped (default true).
   */
  readonly restoreSeen?: boolean;
  /** Injected for tests. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface AppendOptions extends AppendTuning {
  /** Docker schema2 media types for a brand-new signature manifest. */
  readonly docker?: boolean;
  /**
   * When the registry rejects a new OCI manifest's media type, retry once
   * with Docker media types and say so (default true).
   */
  readonly dockerFallback?: boolean;
  readonly log?: SignLog;
  /** Manifest read cap (default 4 MiB). */
  readonly maxManifestBytes?: number;
}

export interface AppendResult {
  /** Digest of the manifest last seen at the tag (contains all our layers). */
  readonly manifestDigest: string;
  /** Media type of that manifest. */
  readonly mediaType: string;
  /** Layers this call wrote (0 when all were already present). */
  readonly added: number;
  /** Layers that counted as already present (cosign's dedup). */
  readonly deduplicated: number;
  /** Manifest PUTs performed (≥ 1 when added > 0). */
  readonly writes: number;
  /** Times our layers were found overwritten and re-merged. */
  readonly conflicts: number;
  /** True when Docker media types were used after an OCI rejection. */
  readonly fellBackToDocker: boolean;
}

interface CurrentState {
  readonly digest: string;
  readonly mediaType: string;
  readonly configMediaType: string;
  readonly layers: readonly SignatureLayer[];
  readonly annotations: Readonly<Record<string, string>> | undefined;
  readonly subject: SignatureLayer | undefined;
}

function sameAnnotationsExceptSignature(
  wanted: Readonly<Record<string, string>>,
  have: Readonly<Record<string, string>> | undefined
): boolean {
  for (const [k, v] of Object.entries(wanted)) {
    if (k === SIGNATURE_ANNOTATION) continue;
    if (have === undefined || !Object.hasOwn(have, k) || have[k] !== v) {
      return false;
    }
  }
  return true;
}

/**
 * Is `layer` already in `existing`? cosign's dedup rule
 * (pkg/cosign/remote/remote.go findDuplicate; spec §3): same media type,
 * same digest, every annotation of the new layer except the signature
 * present with the same value, and a non-empty signature that verifies over
 * the payload with the current signer's key. An identical descriptor always
 * counts (it is literally our layer).
 */
export function isLayerPresent(
  layer: NewSignatureLayer,
  digest: string,
  existing: readonly SignatureLayer[]
): boolean {
  const ourSig = layer.annotations[SIGNATURE_ANNOTATION];
  for (const e of existing) {
    if (e.mediaType !== layer.mediaType || e.digest !== digest) continue;
    if (!sameAnnotationsExceptSignature(layer.annotations, e.annotations)) {
      continue;
    }
    const theirSig = e.annotations?.[SIGNATURE_ANNOTATION];
    if (theirSig === undefined || theirSig === '') continue;
    if (theirSig === ourSig) return true;
    if (layer.dedupVerifier === undefined) continue;
    const raw = decodeBase64Strict(theirSig);
    if (raw === undefined || raw.length === 0) continue;
    if (layer.dedupVerifier.verify(layer.payload, raw)) return true;
  }
  return false;
}

/**
 * A registry refused the manifest's media type (not its content): 415, or
 * MANIFEST_INVALID / UNSUPPORTED, or DENIED naming a media/manifest type
 * (Aliyun: `unknown manifest class`; registry-client.md §4.5, §4.11).
 */
export function isMediaTypeRejection(e: unknown): boolean {
  if (!(e instanceof RegistryError)) return false;
  if (e.status === 415) return true;
  if (e.ociCode === 'MANIFEST_INVALID' || e.ociCode === 'UNSUPPORTED') {
    return e.status === undefined || (e.status >= 400 && e.status < 500);
  }
  if (e.ociCode === 'DENIED') {
    return /media.?type|manifest class|mime/i.test(e.message);
  }
  return false;
}

function descriptorKey(l: SignatureLayer): string {
  const ann = l.annotations ?? {};
  return JSON.stringify([
    l.mediaType,
    l.digest,
    l.size,
    Object.keys(ann)
      .sort()
      .map((k) => [k, ann[k]]),
  ]);
}

function sameDescriptor(a: SignatureLayer, b: SignatureLayer): boolean {
  return descriptorKey(a) === descriptorKey(b);
}

async function readCurrent(
  registry: SignRegistry,
  repo: RepoRef,
  tag: string,
  maxBytes: number
): Promise<CurrentState | undefined> {
  let fetched;
  try {
    fetched = await registry.getManifest(repo, tag, {
      accept: MANIFEST_ACCEPT,
      maxBytes,
    });
  } catch (e) {
    if (e instanceof RegistryError && e.code === 'REGISTRY_NOT_FOUND') {
      return undefined;
    }
    throw e;
  }
  // Never overwrite what we cannot understand (an index, > 1000 layers…):
  // parse strictly and abort instead.
  const parsed = parseSignatureManifest(fetched.bytes, {
    what: `signature manifest ${repo.registry}/${repo.repository}:${tag}`,
  });
  return {
    digest: fetched.digest,
    mediaType: parsed.mediaType ?? fetched.mediaType,
    configMediaType: parsed.config.mediaType,
    layers: parsed.layers,
    annotations: parsed.annotations,
    subject: parsed.subject,
  };
}

/**
 * Adds `layers` to the signature manifest at `repo:tag` so that, when it
 * returns, every one of them is in the manifest the tag points to (or an
 * equivalent signature by the same key is, per cosign's dedup rule).
 */
export async function appendSignatureLayers(
  registry: SignRegistry,
  repo: RepoRef,
  tag: string,
  layers: readonly NewSignatureLayer[],
  opts: AppendOptions = {}
): Promise<AppendResult> {
  const maxWrites = opts.maxWrites ?? 25;
  const baseDelay = opts.baseDelayMs ?? 50;
  const maxDelay = opts.maxDelayMs ?? 2000;
  const settleMin = opts.settleMs ?? 100;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => sleepMs(ms));
  const now = opts.now ?? (() => performance.now());
  const maxBytes = opts.maxManifestBytes ?? 4 * 1024 * 1024;
  const where = `${repo.registry}/${repo.repository}:${tag}`;
  const log = opts.log;

  const ours = layers.map((l) => ({
    layer: l,
    digest: ociDigest(l.payload),
    descriptor: {
      mediaType: l.mediaType,
      size: l.payload.length,
      digest: ociDigest(l.payload),
      annotations: l.annotations,
    } satisfies SignatureLayer,
  }));

  // Blobs are content-addressed: uploading them can never lose anything,
  // so do it once, before the racy part (in parallel), and before the first
  // read so that the read→PUT window holds no upload we could do earlier.
  // A payload already present (the dedup case) costs one HEAD.
  const uniqueBlobs = new Map<string, Buffer>();
  for (const o of ours) uniqueBlobs.set(o.digest, o.layer.payload);
  await Promise.all(
    [...uniqueBlobs].map(([digest, bytes]) =>
      registry.putBlob(repo, bytes, { digest })
    )
  );

  let docker = opts.docker ?? false;
  let fellBackToDocker = false;
  let writes = 0;
  let conflicts = 0;
  let added: number | undefined;
  let afterWrite = false;
  /** Times the pre-PUT freshness read found the tag moved. */
  let moved = 0;
  let prefetched: { state: CurrentState | undefined; at: number } | undefined;
  /** Every layer seen at the tag during this call, in first-seen order. */
  const seen = new Map<string, SignatureLayer>();
  let longestWindow = 0;

  for (;;) {
    let current: CurrentState | undefined;
    let readStart: number;
    // A read made after (at least) the settle delay following our PUT.
    let settledRead = false;
    if (prefetched !== undefined) {
      ({ state: current, at: readStart } = prefetched);
      prefetched = undefined;
    } else {
      if (afterWrite && settleMin > 0) {
        // Step 3/4: read back only after a settle delay. A writer whose
        // stale read predates our PUT lands its PUT within about one
        // read→PUT window (ours is measured; theirs is similar), so wait
        // longer than that before trusting what the tag shows.
        const delay = Math.max(settleMin, 2 * longestWindow);
        await sleep(delay * (1 + 0.5 * random()));
      }
      settledRead = afterWrite;
      readStart = now();
      current = await readCurrent(registry, repo, tag, maxBytes);
    }
    const existing = current?.layers ?? [];
    for (const l of existing) {
      const k = descriptorKey(l);
      if (!seen.has(k)) seen.set(k, l);
    }
    const missing = ours.filter(
      (o) => !isLayerPresent(o.layer, o.digest, existing)
    );
    // What the first read lacks is what this call adds; the rest was
    // already there (cosign's dedup).
    added ??= missing.length;

    if (missing.length === 0 && writes > 0 && !settledRead) {
      // Present, but seen in a pre-PUT freshness read: confirm it after a
      // settle delay like any other success after a write.
      afterWrite = true;
      continue;
    }
    if (missing.length === 0) {
      return {
        manifestDigest: current?.digest ?? '',
        mediaType: current?.mediaType ?? '',
        added,
        deduplicated: layers.length - added,
        writes,
        conflicts,
        fellBackToDocker,
      };
    }

    if (afterWrite) {
      // We wrote, and our layers are gone: overwritten by a concurrent
      // writer. Back off (full jitter) and merge into a fresh read.
      conflicts++;
      afterWrite = false;
      log?.({
        level: 'debug',
        message: `signature manifest ${where} was overwritten by a concurrent writer; merging again (conflict ${conflicts})`,
      });
      if (writes >= maxWrites) {
        throw new SignetError(
          'REGISTRY_CONFLICT',
          `could not add ${missing.length} signature(s) to ${where}: concurrent writers overwrote them ${conflicts} times (gave up after ${writes} writes); they are NOT stored, re-run sign`
        );
      }
      const cap = Math.min(maxDelay, baseDelay * 2 ** Math.min(conflicts, 16));
      await sleep(cap * random());
      continue;
    }

    // Helping: layers this call saw in an earlier read that a concurrent
    // writer has since dropped go back in too. Every Signet writer carries
    // the union of what it has seen, so the manifest converges in far
    // fewer rounds than if each writer restored only its own layers.
    const restored =
      (opts.restoreSeen ?? true)
        ? [...seen.values()].filter(
            (l) => !existing.some((e) => sameDescriptor(e, l))
          )
        : [];
    const merged: SignatureLayer[] = [
      ...existing,
      ...restored,
      ...missing.map((m) => m.descriptor),
    ];
    const base =
      current === undefined
        ? undefined
        : {
            manifestMediaType: current.mediaType,
            configMediaType: current.configMediaType,
            annotations: current.annotations,
            subject: current.subject,
          };
    let image = buildSignatureImage(merged, { docker, base });
    // The config lists this exact layer set, which is new unless another
    // signer wrote the same set: skip the existence check.
    await registry.putBlob(repo, image.configBytes, {
      digest: image.configDigest,
      probablyNew: true,
    });
    if (conflicts > 0) {
      // Under contention, keep our stale window short: re-read just before
      // the PUT and start over from that read if the tag moved while the
      // config was uploading. (Skipped when uncontended: it costs a request.)
      const at = now();
      const fresh = await readCurrent(registry, repo, tag, maxBytes);
      if (fresh?.digest !== current?.digest) {
        if (++moved > 4 * maxWrites) {
          throw new SignetError(
            'REGISTRY_CONFLICT',
            `could not add ${missing.length} signature(s) to ${where}: the tag kept changing under concurrent writers (${moved} times); they are NOT stored, re-run sign`
          );
        }
        prefetched = { state: fresh, at };
        continue;
      }
      readStart = at;
    }
    try {
      await registry.putManifest(
        repo,
        tag,
        image.manifestBytes,
        image.mediaType
      );
    } catch (e) {
      const canFallBack =
        (opts.dockerFallback ?? true) &&
        current === undefined &&
        image.mediaType === MediaType.OciManifest &&
        isMediaTypeRejection(e);
      if (!canFallBack) throw e;
      docker = true;
      fellBackToDocker = true;
      log?.({
        level: 'warn',
        message: `registry ${repo.registry} rejected the OCI manifest media type for ${where} (${e instanceof Error ? e.message : String(e)}); retrying with Docker media types (as COSIGN_DOCKER_MEDIA_TYPES=1)`,
      });
      image = buildSignatureImage(merged, { docker: true });
      // Config bytes are identical for both media types: already uploaded.
      await registry.putManifest(
        repo,
        tag,
        image.manifestBytes,
        image.mediaType
      );
    }
    writes++;
    afterWrite = true;
    longestWindow = Math.max(longestWindow, now() - readStart);
  }
}
