import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { SignetError, VerificationError } from '../errors.js';
import { decodePemBlocks } from '../core/pem.js';
import { decodeBase64Strict, encodeHex } from '../core/encoding.js';
import { leafHash, verifyInclusion } from '../tlog/merkle.js';
import {
  computeLogId,
  verifyCheckpoint,
  type Checkpoint,
} from '../tlog/checkpoint.js';
import { verifySET } from '../tlog/set.js';
import {
  decodeEntryBody,
  treeIdFromOrigin,
  type LogEntry,
} from '../tlog/bundle.js';

/**
 * Offline verification of transparency-log entries (spec §7 "client
 * verification order", sigstore-js packages/verify/src/tlog/index.ts,
 * rekor pkg/verify/verify.go). Pure and synchronous: bytes + trusted keys +
 * policy + now in, a result or a VerificationError out.
 */

/** A log the caller trusts: its key and, optionally, its name and validity. */
export interface TrustedLog {
  readonly publicKey: KeyObject;
  /** Checkpoint signer name (the log's hostname for Rekor v1). */
  readonly name?: string;
  /** Entries integrated outside [validFrom, validUntil] are refused. */
  readonly validFrom?: Date;
  readonly validUntil?: Date;
}

export interface VerifyLogEntryOptions {
  /** Fail unless the entry carries a valid SET (inclusion promise). */
  readonly requireSET?: boolean;
  /** Fail unless the entry carries an inclusion proof + checkpoint. */
  readonly requireInclusionProof?: boolean;
  /** When given, an integratedTime later than now + maxFutureSkewSeconds fails. */
  readonly now?: Date;
  readonly maxFutureSkewSeconds?: number;
}

export type TlogCheck =
  | 'log-id'
  | 'kind-version'
  | 'entry-id'
  | 'signed-entry-timestamp'
  | 'checkpoint'
  | 'inclusion-proof'
  | 'integrated-time';

export interface LogEntryVerification {
  readonly logIndex: bigint;
  readonly integratedTime: bigint;
  /** Hex log ID of the trusted log that vouched for the entry. */
  readonly logID: string;
  readonly leafHash: string;
  /** Checks performed and passed, in order. */
  readonly checks: readonly TlogCheck[];
  /** The verified checkpoint, when the entry had an inclusion proof. */
  readonly checkpoint?: Checkpoint;
}

function fail(message: string, cause?: unknown): never {
  throw new VerificationError(
    'TLOG_VERIFICATION',
    message,
    cause === undefined ? undefined : { cause }
  );
}

function asTrusted(k: KeyObject | TrustedLog): TrustedLog {
  return 'publicKey' in k ? k : { publicKey: k };
}

/**
 * Verifies one log entry against the trusted logs:
 *
 *  1. the entry's logID is the SHA-256 SPKI of a trusted key (the log that
 *     signed it must be one we trust — not merely some log);
 *  2. a bundle's claimed kind/version equals the body's;
 *  3. an 80-hex entry ID ends with the body's leaf hash (a UUID cannot be
 *     swapped under a body);
 *  4. SET over JCS{body, integratedTime, logID, global logIndex};
 *  5. checkpoint signed by that key (Rekor key hint), then its size and root
 *     must equal the proof's, and the origin's tree ID the entry ID's;
 *  6. RFC 9162 inclusion of leaf(body) at the shard-local index;
 *  7. integratedTime inside the key's validity (and not in the future).
 *
 * At least one of SET and inclusion proof must be present and verify.
 */
export function verifyLogEntry(
  entry: LogEntry,
  trustedLogs: readonly (KeyObject | TrustedLog)[],
  opts: VerifyLogEntryOptions = {}
): LogEntryVerification {
  const checks: TlogCheck[] = [];
  const logIdHex = encodeHex(entry.logID);
  const log = trustedLogs
    .map(asTrusted)
    .find((t) => computeLogId(t.publicKey).equals(entry.logID));
  if (log === undefined) {
    fail(`entry ${entry.logIndex} was logged by an untrusted log ${logIdHex}`);
  }
  checks.push('log-id');

  if (entry.kindVersion !== undefined) {
    let body;
    try {
      body = decodeEntryBody(entry.body);
    } catch (e) {
      fail(`entry ${entry.logIndex} body is not a log entry`, e);
    }
    if (
      body.kind !== entry.kindVersion.kind ||
      body.apiVersion !== entry.kindVersion.version
    ) {
      fail(
        `entry ${entry.logIndex} body is ${body.kind} ${body.apiVersion}, bundle claims ${entry.kindVersion.kind} ${entry.kindVersion.version}`
      );
    }
    checks.push('kind-version');
  }

  const leaf = leafHash(entry.body);
  const leafHex = leaf.toString('hex');
  let uuidTree: bigint | undefined;
  if (entry.uuid !== undefined) {
    if (entry.uuid.slice(-64) !== leafHex) {
      fail(
        `entry ID ${entry.uuid} does not match the body's leaf hash ${leafHex}`
      );
    }
    if (entry.uuid.length === 80)
      uuidTree = BigInt(`0x${entry.uuid.slice(0, 16)}`);
    checks.push('entry-id');
  }

  if (entry.signedEntryTimestamp !== undefined) {
    verifySET(
      {
        body: entry.body.toString('base64'),
        integratedTime: entry.integratedTime,
        logID: logIdHex,
        logIndex: entry.logIndex,
      },
      entry.signedEntryTimestamp,
      log.publicKey
    );
    checks.push('signed-entry-timestamp');
  } else if (opts.requireSET) {
    fail(`entry ${entry.logIndex} has no signed entry timestamp`);
  }

  let checkpoint: Checkpoint | undefined;
  const proof = entry.inclusionProof;
  if (proof !== undefined) {
    checkpoint = verifyCheckpoint(
      proof.checkpoint,
      log.publicKey,
      log.name !== undefined ? { name: log.name } : {}
    );
    // rekor pkg/verify/verify.go VerifyCheckpointSignature: the signed tree
    // head must be the very tree the proof is for.
    if (checkpoint.size !== proof.treeSize) {
      fail(
        `checkpoint size ${checkpoint.size} differs from the proof's tree size ${proof.treeSize}`
      );
    }
    if (!checkpoint.rootHash.equals(proof.rootHash)) {
      fail("checkpoint root hash differs from the proof's root hash");
    }
    const cpTree = treeIdFromOrigin(checkpoint.origin);
    if (uuidTree !== undefined && cpTree !== undefined && cpTree !== uuidTree) {
      fail(
        `checkpoint is for tree ${cpTree}, the entry ID names tree ${uuidTree}`
      );
    }
    // The global index is the shard-local one plus earlier shards' sizes.
    if (proof.logIndex > entry.logIndex) {
      fail(
        `shard-local index ${proof.logIndex} exceeds the global index ${entry.logIndex}`
      );
    }
    checks.push('checkpoint');
    verifyInclusion(
      proof.logIndex,
      proof.treeSize,
      leaf,
      proof.hashes,
      proof.rootHash
    );
    checks.push('inclusion-proof');
  } else if (opts.requireInclusionProof) {
    fail(`entry ${entry.logIndex} has no inclusion proof`);
  }

  if (
    !checks.includes('signed-entry-timestamp') &&
    !checks.includes('inclusion-proof')
  ) {
    fail(`entry ${entry.logIndex} has neither a SET nor an inclusion proof`);
  }

  const t = entry.integratedTime;
  const seconds = (d: Date): bigint => BigInt(Math.floor(d.getTime() / 1000));
  if (log.validFrom !== undefined && t < seconds(log.validFrom)) {
    fail(`entry ${entry.logIndex} predates the log key's validity`);
  }
  if (log.validUntil !== undefined && t > seconds(log.validUntil)) {
    fail(`entry ${entry.logIndex} postdates the log key's validity`);
  }
  if (opts.now !== undefined) {
    const skew = BigInt(opts.maxFutureSkewSeconds ?? 300);
    if (t > seconds(opts.now) + skew) {
      fail(`entry ${entry.logIndex} was integrated in the future (${t})`);
    }
  }
  if (
    log.validFrom !== undefined ||
    log.validUntil !== undefined ||
    opts.now !== undefined
  ) {
    checks.push('integrated-time');
  }

  return {
    logIndex: entry.logIndex,
    integratedTime: entry.integratedTime,
    logID: logIdHex,
    leafHash: leafHex,
    checks,
    ...(checkpoint !== undefined && { checkpoint }),
  };
}

/** What a log entry must say to be about a given signature. */
export interface ArtifactBinding {
  /** The raw signature bytes (e.g. a cosign layer's decoded signature). */
  readonly signature: Uint8Array;
  /** The signed digest: algorithm (`sha256`, `sha384`, `sha512`) and lowercase hex. */
  readonly digest: { readonly algorithm: string; readonly hex: string };
  /** The verifying key (compared as SPKI DER; a certificate's key also matches). */
  readonly publicKey?: KeyObject;
  /** The signing certificate, DER (compared byte for byte). */
  readonly certificate?: Uint8Array;
}

function field(o: unknown, path: readonly string[], what: string): unknown {
  let v = o;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      fail(`${what}: missing ${path.join('.')}`);
    }
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function fieldString(
  o: unknown,
  path: readonly string[],
  what: string
): string {
  const v = field(o, path, what);
  if (typeof v !== 'string') fail(`${what}: ${path.join('.')} is not a string`);
  return v;
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/**
 * Binds an entry body to a signature (cosign pkg/cosign/verify.go
 * VerifyBundle → compareSigs, comparePublicKey): for hashedrekord 0.0.1 and
 * rekord 0.0.1 the body's signature, digest and key (or certificate) must be
 * exactly the artifact's. Without this check a valid log entry for ANY
 * signature could be copied next to another one.
 */
export function verifyEntryBodyBinding(
  body: Uint8Array,
  expected: ArtifactBinding
): void {
  let decoded;
  try {
    decoded = decodeEntryBody(body);
  } catch (e) {
    fail('log entry body is not a log entry', e);
  }
  const what = `${decoded.kind} ${decoded.apiVersion} entry`;
  if (!(
    (decoded.kind === 'hashedrekord' || decoded.kind === 'rekord') &&
    decoded.apiVersion === '0.0.1'
  )) {
    fail(
      `${what}: binding to a signature is supported for hashedrekord and rekord 0.0.1 only`
    );
  }
  const spec = decoded.spec;

  const sig = decodeBase64Strict(
    fieldString(spec, ['signature', 'content'], what)
  );
  if (sig === undefined || !sig.equals(expected.signature)) {
    fail(`${what}: signature differs from the artifact's signature`);
  }

  const alg = fieldString(spec, ['data', 'hash', 'algorithm'], what);
  const value = fieldString(spec, ['data', 'hash', 'value'], what);
  if (
    alg !== expected.digest.algorithm ||
    value !== expected.digest.hex.toLowerCase()
  ) {
    fail(
      `${what}: digest ${alg}:${value} differs from the artifact's ${expected.digest.algorithm}:${expected.digest.hex}`
    );
  }

  if (expected.publicKey === undefined && expected.certificate === undefined) {
    throw new SignetError(
      'INTERNAL',
      'verifyEntryBodyBinding needs a public key or a certificate'
    );
  }
  const pemText = decodeBase64Strict(
    fieldString(spec, ['signature', 'publicKey', 'content'], what)
  );
  let blocks;
  try {
    blocks =
      pemText === undefined ? [] : decodePemBlocks(pemText.toString('utf8'));
  } catch (e) {
    fail(`${what}: public key is not PEM`, e);
  }
  const block = blocks[0];
  if (blocks.length !== 1 || block === undefined) {
    fail(`${what}: public key content is not one PEM block`);
  }
  let bodyKey: Buffer;
  try {
    if (block.label === 'CERTIFICATE') {
      if (expected.certificate !== undefined) {
        if (!block.der.equals(expected.certificate)) {
          fail(`${what}: certificate differs from the artifact's certificate`);
        }
        return;
      }
      bodyKey = spki(new X509Certificate(block.der).publicKey);
    } else if (block.label === 'PUBLIC KEY') {
      bodyKey = spki(
        createPublicKey({ key: block.der, format: 'der', type: 'spki' })
      );
    } else {
      fail(`${what}: unexpected PEM block ${block.label}`);
    }
  } catch (e) {
    if (e instanceof VerificationError) throw e;
    fail(`${what}: public key cannot be parsed`, e);
  }
  const want =
    expected.publicKey !== undefined
      ? spki(expected.publicKey)
      : spki(new X509Certificate(expected.certificate as Uint8Array).publicKey);
  if (!bodyKey.equals(want)) {
    fail(`${what}: public key differs from the artifact's key`);
  }
}

function malformedRoot(message: string): never {
  throw new SignetError('MALFORMED_INPUT', `trusted root: ${message}`);
}

function rootObj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    malformedRoot(`${what} is not an object`);
  }
  return v as Record<string, unknown>;
}

function rootDate(v: unknown, what: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const d = typeof v === 'string' ? new Date(v) : undefined;
  if (d === undefined || Number.isNaN(d.getTime())) {
    malformedRoot(`${what} is not an RFC 3339 time`);
  }
  return d;
}

/**
 * The Rekor v1 logs of a Sigstore trusted root (protobuf-specs
 * `TrustedRoot`, protojson, e.g. cosign's `trusted_root.json`): each
 * `tlogs[]` key with its `validFor` window and, as checkpoint signer name,
 * the host of its `baseUrl`. Logs whose `logId.keyId` is not SHA-256 of the
 * key's SPKI (Rekor v2 / C2SP logs) are left out: this verifier speaks v1.
 */
export function trustedLogsFromTrustedRoot(value: unknown): TrustedLog[] {
  const root = rootObj(value, 'document');
  const tlogs = root['tlogs'];
  if (!Array.isArray(tlogs)) malformedRoot('tlogs is not an array');
  const out: TrustedLog[] = [];
  tlogs.forEach((t, i) => {
    const what = `tlogs[${i}]`;
    const o = rootObj(t, what);
    const pk = rootObj(o['publicKey'], `${what}.publicKey`);
    const raw =
      typeof pk['rawBytes'] === 'string'
        ? decodeBase64Strict(pk['rawBytes'])
        : undefined;
    if (raw === undefined)
      malformedRoot(`${what}.publicKey.rawBytes is not base64`);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: raw, format: 'der', type: 'spki' });
    } catch (e) {
      throw new SignetError(
        'MALFORMED_INPUT',
        `trusted root: ${what}.publicKey is not an SPKI key`,
        { cause: e }
      );
    }
    const logId = rootObj(o['logId'], `${what}.logId`)['keyId'];
    const keyId =
      typeof logId === 'string' ? decodeBase64Strict(logId) : undefined;
    if (keyId === undefined) malformedRoot(`${what}.logId.keyId is not base64`);
    if (!keyId.equals(computeLogId(publicKey))) return; // not a Rekor v1 log
    let name: string | undefined;
    if (typeof o['baseUrl'] === 'string') {
      try {
        name = new URL(o['baseUrl']).hostname;
      } catch {
        malformedRoot(`${what}.baseUrl is not a URL`);
      }
    }
    const validFor =
      pk['validFor'] === undefined
        ? {}
        : rootObj(pk['validFor'], `${what}.publicKey.validFor`);
    const validFrom = rootDate(validFor['start'], `${what}.validFor.start`);
    const validUntil = rootDate(validFor['end'], `${what}.validFor.end`);
    out.push({
      publicKey,
      ...(name !== undefined && name !== '' && { name }),
      ...(validFrom !== undefined && { validFrom }),
      ...(validUntil !== undefined && { validUntil }),
    });
  });
  return out;
}
