/**
 * The transparency-log check of one cosign signature layer (spec
 * signature-storage.md §9.3, §9.4; cosign pkg/cosign/verify.go
 * VerifyBundle / tlogValidateEntry):
 *
 *  - with a `dev.sigstore.cosign/bundle` annotation: offline — the entry
 *    body must be about THIS layer (signature, key, sha256(payload)), and
 *    its SET must verify with a trusted log key;
 *  - without one (and unless offline): the log is searched for
 *    sha256(payload), each candidate entry bound to this layer is verified
 *    with its inclusion proof and signed checkpoint (and SET when present),
 *    and the earliest valid integratedTime wins.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { describeKey } from '../keys/key-type.js';
import { SignetError, VerificationError } from '../errors.js';
import { BUNDLE_ANNOTATION } from '../oci/cosign-layout.js';
import { parseCosignBundle, type LogEntry } from '../tlog/bundle.js';
import type { TlogClient } from '../tlog/client.js';
import {
  verifyEntryBodyBinding,
  verifyLogEntry,
  type LogEntryVerification,
  type TrustedLog,
} from './tlog.js';

/** How a signature's log entry is checked. */
export interface TlogPolicy {
  /** Logs whose keys are trusted (at least one). */
  readonly trustedLogs: readonly (KeyObject | TrustedLog)[];
  /** The verification key: the entry must name it. */
  readonly publicKey: KeyObject;
  /**
   * Looks entries up when a layer has no bundle. Undefined: offline, a
   * layer without a bundle fails.
   */
  readonly client?: Pick<TlogClient, 'searchIndex' | 'retrieveEntries'>;
  /** Most candidate entries fetched per signature online (default 50). */
  readonly maxCandidates?: number;
  /** For the future-integratedTime check (default: now). */
  readonly now?: Date;
}

export interface LayerTlogVerification {
  /** `bundle`: verified offline from the annotation; `online`: looked up. */
  readonly mode: 'bundle' | 'online';
  readonly entry: LogEntry;
  readonly verification: LogEntryVerification;
}

export interface TlogLayer {
  readonly payload: Uint8Array;
  /** The layer's decoded signature. */
  readonly signature: Uint8Array;
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

function fail(message: string, cause?: unknown): never {
  throw new VerificationError(
    'TLOG_VERIFICATION',
    message,
    cause === undefined ? undefined : { cause }
  );
}

/**
 * The digest a hashedrekord entry for a signature by `publicKey` names: the
 * hash the key signs with (sha256 for P-256 and RSA, sha384 for P-384,
 * sha512 for P-521 and Ed25519ph), as the log checks the signature
 * against it.
 */
export function entryDigest(
  payload: Uint8Array,
  publicKey: KeyObject
): { algorithm: 'sha256' | 'sha384' | 'sha512'; hex: string } {
  const algorithm = describeKey(publicKey).hash;
  return {
    algorithm,
    hex: createHash(algorithm).update(payload).digest('hex'),
  };
}

function bindingFor(layer: TlogLayer, publicKey: KeyObject) {
  return {
    signature: layer.signature,
    digest: entryDigest(layer.payload, publicKey),
    publicKey,
  };
}

/** Offline check of a bundle annotation value against one layer. Pure. */
export function verifyLayerBundle(
  bundleText: string,
  layer: TlogLayer,
  policy: Pick<TlogPolicy, 'trustedLogs' | 'publicKey' | 'now'>
): LayerTlogVerification {
  let entry: LogEntry;
  try {
    entry = parseCosignBundle(bundleText);
  } catch (e) {
    fail(`bundle annotation: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  try {
    verifyEntryBodyBinding(entry.body, bindingFor(layer, policy.publicKey));
  } catch (e) {
    if (e instanceof VerificationError) {
      fail(`bundle does not belong to this signature: ${e.message}`, e);
    }
    throw e;
  }
  let verification: LogEntryVerification;
  try {
    verification = verifyLogEntry(entry, policy.trustedLogs, {
      requireSET: true,
      now: policy.now ?? new Date(),
      maxFutureSkewSeconds: 300,
    });
  } catch (e) {
    if (e instanceof VerificationError) fail(`bundle: ${e.message}`, e);
    throw e;
  }
  return { mode: 'bundle', entry, verification };
}

/**
 * Online lookup (no bundle): entries for sha256(payload), those bound to
 * this layer verified with inclusion proof + checkpoint; earliest
 * integratedTime. Throws VerificationError TLOG_VERIFICATION when none
 * verifies; TlogError when the log cannot be asked.
 */
export async function findLayerEntry(
  layer: TlogLayer,
  policy: TlogPolicy & {
    readonly client: Pick<TlogClient, 'searchIndex' | 'retrieveEntries'>;
  }
): Promise<LayerTlogVerification> {
  const digest = entryDigest(layer.payload, policy.publicKey);
  const hash = `${digest.algorithm}:${digest.hex}`;
  const uuids = await policy.client.searchIndex({ hash });
  const max = policy.maxCandidates ?? 50;
  const wanted = [...new Set(uuids)].slice(0, max);
  const reasons: string[] = [];
  let best: LayerTlogVerification | undefined;
  for (let i = 0; i < wanted.length; i += 10) {
    const entries = await policy.client.retrieveEntries(
      wanted.slice(i, i + 10)
    );
    for (const entry of entries) {
      try {
        verifyEntryBodyBinding(entry.body, bindingFor(layer, policy.publicKey));
        const verification = verifyLogEntry(entry, policy.trustedLogs, {
          requireInclusionProof: true,
          now: policy.now ?? new Date(),
          maxFutureSkewSeconds: 300,
        });
        if (
          best === undefined ||
          entry.integratedTime < best.entry.integratedTime
        ) {
          best = { mode: 'online', entry, verification };
        }
      } catch (e) {
        if (!(e instanceof SignetError)) throw e;
        reasons.push(`entry ${entry.logIndex}: ${e.message}`);
      }
    }
  }
  if (best !== undefined) return best;
  if (wanted.length === 0) {
    fail(`signature not found in the transparency log (searched for ${hash})`);
  }
  fail(
    `no entry in the transparency log verifies for this signature: ${reasons.join('; ')}`
  );
}

/**
 * The layer's log check under `policy`: the bundle annotation when there
 * is one (a bad bundle fails — it is not silently replaced by a lookup),
 * else the online lookup, else (offline) a failure.
 */
export async function verifyLayerTlog(
  layer: TlogLayer,
  policy: TlogPolicy
): Promise<LayerTlogVerification> {
  const bundle = layer.annotations?.[BUNDLE_ANNOTATION];
  if (bundle !== undefined) return verifyLayerBundle(bundle, layer, policy);
  if (policy.client === undefined) {
    fail(
      'signature has no transparency log bundle and online lookup is disabled (--offline)'
    );
  }
  return findLayerEntry(layer, { ...policy, client: policy.client });
}
