import { SignetError } from '../errors.js';
import {
  decodeBase64Strict,
  decodeHexStrict,
  encodeBase64,
  encodeHex,
} from '../core/encoding.js';
import { HASH_SIZE, MAX_UINT64, leafHash } from './merkle.js';

/**
 * One typed model for a transparency-log entry, whichever wire form it came
 * in (spec §1.2 and §7):
 *
 *  - a Rekor v1 REST `LogEntry` (`{"<entryID>": {body, integratedTime, …}}`),
 *  - a Sigstore bundle v0.1–v0.3 `TransparencyLogEntry` (protojson),
 *  - cosign's `dev.sigstore.cosign/bundle` annotation (SET + payload only).
 *
 * Each is parsed once here, with explicit guards, into LogEntry; nothing
 * downstream looks at the raw JSON again. Malformed input throws
 * SignetError MALFORMED_INPUT (the client re-wraps it as TLOG_PROTOCOL).
 */

/** A Merkle inclusion proof as served with a v1 entry (shard-local). */
export interface InclusionProof {
  /** Shard-local leaf index (NOT the global logIndex). */
  readonly logIndex: bigint;
  readonly treeSize: bigint;
  readonly rootHash: Buffer;
  /** Sibling hashes, leaf to root. */
  readonly hashes: readonly Buffer[];
  /** The signed-note checkpoint for `treeSize`. */
  readonly checkpoint: string;
}

export interface LogEntry {
  /** Entry ID (80 hex: tree ID + leaf hash) or UUID (64 hex), when known. */
  readonly uuid?: string;
  /** Canonical entry body bytes, exactly as stored as the leaf. */
  readonly body: Buffer;
  /** Unix seconds. */
  readonly integratedTime: bigint;
  /** SHA-256 of the log key's SPKI DER (32 bytes). */
  readonly logID: Buffer;
  /** Global (virtual) log index. */
  readonly logIndex: bigint;
  /** `kind`/`apiVersion` as claimed by a bundle (checked against the body). */
  readonly kindVersion?: { readonly kind: string; readonly version: string };
  /** The SET (inclusion promise), DER signature bytes. */
  readonly signedEntryTimestamp?: Buffer;
  readonly inclusionProof?: InclusionProof;
}

/** Rekor v1 `LogEntryAnon` (the value under the entry ID key). */
export interface RekorLogEntryAnon {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification?: {
    inclusionProof?: {
      checkpoint: string;
      hashes: string[];
      logIndex: number;
      rootHash: string;
      treeSize: number;
    };
    signedEntryTimestamp?: string;
  };
}

/** Sigstore bundle `TransparencyLogEntry` in protojson form. */
export interface BundleTlogEntry {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise?: { signedEntryTimestamp: string };
  inclusionProof?: {
    logIndex: string;
    rootHash: string;
    treeSize: string;
    hashes: string[];
    checkpoint: { envelope: string };
  };
  canonicalizedBody: string;
}

/** A decoded entry body: `{apiVersion, kind, spec}`. */
export interface EntryBody {
  readonly apiVersion: string;
  readonly kind: string;
  readonly spec: Record<string, unknown>;
}

// ---------------------------------------------------------------- guards

function malformed(what: string, message: string): never {
  throw new SignetError('MALFORMED_INPUT', `${what}: ${message}`);
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Json {
  if (!isObject(v)) malformed(what, 'not a JSON object');
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') malformed(what, 'not a string');
  return v;
}

function optional<T>(
  o: Json,
  key: string,
  parse: (v: unknown, what: string) => T,
  what: string
): T | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : parse(v, `${what}.${key}`);
}

const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,19})$/;

/** A uint64 as a JSON number (safe integers only) or a decimal string (protojson). */
function uint64(v: unknown, what: string): bigint {
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0)
      malformed(what, 'not a non-negative safe integer');
    n = BigInt(v);
  } else if (typeof v === 'string' && DECIMAL_RE.test(v)) {
    n = BigInt(v);
  } else {
    malformed(what, 'not a non-negative integer');
  }
  if (n > MAX_UINT64) malformed(what, 'exceeds 64 bits');
  return n;
}

function b64(v: unknown, what: string): Buffer {
  const s = str(v, what);
  const bytes = decodeBase64Strict(s);
  if (bytes === undefined) malformed(what, 'not standard base64');
  return bytes;
}

function hex(v: unknown, what: string, size?: number): Buffer {
  const s = str(v, what);
  const bytes = decodeHexStrict(s);
  if (bytes === undefined || s === '') malformed(what, 'not hex');
  if (size !== undefined && bytes.length !== size) {
    malformed(what, `not ${size} bytes`);
  }
  return bytes;
}

function hash(bytes: Buffer, what: string): Buffer {
  if (bytes.length !== HASH_SIZE)
    malformed(what, `not a ${HASH_SIZE}-byte hash`);
  return bytes;
}

function arr(v: unknown, what: string, max = 256): unknown[] {
  if (!Array.isArray(v)) malformed(what, 'not an array');
  if (v.length > max) malformed(what, `more than ${max} items`);
  return v;
}

function nonEmptyBody(bytes: Buffer, what: string): Buffer {
  if (bytes.length === 0) malformed(what, 'empty entry body');
  return bytes;
}

const UUID_RE = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/;

// ---------------------------------------------------------- Rekor v1 API

/**
 * Parses a Rekor v1 `LogEntryAnon` object. `uuid` is the entry ID it was
 * served under, if known.
 */
export function parseRekorLogEntryAnon(
  value: unknown,
  uuid?: string,
  what = 'log entry'
): LogEntry {
  const o = obj(value, what);
  const verification = optional(o, 'verification', obj, what);
  let signedEntryTimestamp: Buffer | undefined;
  let inclusionProof: InclusionProof | undefined;
  if (verification !== undefined) {
    const w = `${what}.verification`;
    signedEntryTimestamp = optional(
      verification,
      'signedEntryTimestamp',
      b64,
      w
    );
    const p = optional(verification, 'inclusionProof', obj, w);
    if (p !== undefined) {
      const pw = `${w}.inclusionProof`;
      inclusionProof = {
        logIndex: uint64(p['logIndex'], `${pw}.logIndex`),
        treeSize: uint64(p['treeSize'], `${pw}.treeSize`),
        rootHash: hex(p['rootHash'], `${pw}.rootHash`, HASH_SIZE),
        hashes: arr(p['hashes'], `${pw}.hashes`, 64).map((h, i) =>
          hex(h, `${pw}.hashes[${i}]`, HASH_SIZE)
        ),
        checkpoint: str(p['checkpoint'], `${pw}.checkpoint`),
      };
    }
  }
  if (uuid !== undefined && !UUID_RE.test(uuid)) {
    malformed(what, 'entry ID is not 64 or 80 lowercase hex');
  }
  return {
    ...(uuid !== undefined && { uuid }),
    body: nonEmptyBody(b64(o['body'], `${what}.body`), `${what}.body`),
    integratedTime: uint64(o['integratedTime'], `${what}.integratedTime`),
    logID: hex(o['logID'], `${what}.logID`, HASH_SIZE),
    logIndex: uint64(o['logIndex'], `${what}.logIndex`),
    ...(signedEntryTimestamp !== undefined && { signedEntryTimestamp }),
    ...(inclusionProof !== undefined && { inclusionProof }),
  };
}

/**
 * Parses a Rekor v1 `LogEntry` response: an object with exactly one key
 * (the entry ID) whose value is a LogEntryAnon.
 */
export function parseRekorLogEntry(value: unknown): LogEntry {
  const o = obj(value, 'log entry');
  const keys = Object.keys(o);
  if (keys.length !== 1)
    malformed('log entry', `expected one entry, got ${keys.length}`);
  const uuid = keys[0] as string;
  return parseRekorLogEntryAnon(
    o[uuid],
    uuid.toLowerCase(),
    `log entry ${uuid.slice(0, 24)}`
  );
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    malformed(what, 'too large for a Rekor v1 JSON number');
  }
  return Number(v);
}

/** The Rekor v1 `LogEntry` JSON of an entry (entry ID computed when absent). */
export function toRekorLogEntry(
  entry: LogEntry
): Record<string, RekorLogEntryAnon> {
  const anon: RekorLogEntryAnon = {
    body: encodeBase64(entry.body),
    integratedTime: safeNumber(entry.integratedTime, 'integratedTime'),
    logID: encodeHex(entry.logID),
    logIndex: safeNumber(entry.logIndex, 'logIndex'),
  };
  const p = entry.inclusionProof;
  if (p !== undefined || entry.signedEntryTimestamp !== undefined) {
    anon.verification = {
      ...(p !== undefined && {
        inclusionProof: {
          checkpoint: p.checkpoint,
          hashes: p.hashes.map(encodeHex),
          logIndex: safeNumber(p.logIndex, 'inclusionProof.logIndex'),
          rootHash: encodeHex(p.rootHash),
          treeSize: safeNumber(p.treeSize, 'inclusionProof.treeSize'),
        },
      }),
      ...(entry.signedEntryTimestamp !== undefined && {
        signedEntryTimestamp: encodeBase64(entry.signedEntryTimestamp),
      }),
    };
  }
  return { [entryIdOf(entry)]: anon };
}

/**
 * The tree ID in a Rekor v1 checkpoint origin `<hostname> - <treeID>`, or
 * undefined when the origin has another form.
 */
export function treeIdFromOrigin(origin: string): bigint | undefined {
  const m = / - (0|[1-9][0-9]{0,19})$/.exec(origin);
  if (!m) return undefined;
  const id = BigInt(m[1] as string);
  return id > 0n && id <= MAX_UINT64 ? id : undefined;
}

/**
 * The entry's ID: the one it was served under, else `%016x`(tree ID from the
 * checkpoint origin) + hex leaf hash, else the bare 64-hex UUID.
 */
export function entryIdOf(entry: LogEntry): string {
  if (entry.uuid !== undefined) return entry.uuid;
  const uuid = leafHash(entry.body).toString('hex');
  const cp = entry.inclusionProof?.checkpoint;
  const origin = cp?.slice(0, cp.indexOf('\n'));
  const tree = origin !== undefined ? treeIdFromOrigin(origin) : undefined;
  return tree !== undefined ? tree.toString(16).padStart(16, '0') + uuid : uuid;
}

// ---------------------------------------------------- Sigstore bundles

/** Parses one `verificationMaterial.tlogEntries[]` item (protojson). */
export function parseBundleTlogEntry(
  value: unknown,
  what = 'tlog entry'
): LogEntry {
  const o = obj(value, what);
  const logId = obj(o['logId'], `${what}.logId`);
  const kv = obj(o['kindVersion'], `${what}.kindVersion`);
  const promise = optional(o, 'inclusionPromise', obj, what);
  const p = optional(o, 'inclusionProof', obj, what);
  let inclusionProof: InclusionProof | undefined;
  if (p !== undefined) {
    const pw = `${what}.inclusionProof`;
    const cp = obj(p['checkpoint'], `${pw}.checkpoint`);
    inclusionProof = {
      logIndex: uint64(p['logIndex'], `${pw}.logIndex`),
      treeSize: uint64(p['treeSize'], `${pw}.treeSize`),
      rootHash: hash(b64(p['rootHash'], `${pw}.rootHash`), `${pw}.rootHash`),
      hashes: arr(p['hashes'] ?? [], `${pw}.hashes`, 64).map((h, i) =>
        hash(b64(h, `${pw}.hashes[${i}]`), `${pw}.hashes[${i}]`)
      ),
      checkpoint: str(cp['envelope'], `${pw}.checkpoint.envelope`),
    };
  }
  const signedEntryTimestamp =
    promise !== undefined
      ? b64(
          promise['signedEntryTimestamp'],
          `${what}.inclusionPromise.signedEntryTimestamp`
        )
      : undefined;
  return {
    body: nonEmptyBody(
      b64(o['canonicalizedBody'], `${what}.canonicalizedBody`),
      what
    ),
    integratedTime: uint64(
      o['integratedTime'] ?? '0',
      `${what}.integratedTime`
    ),
    logID: hash(
      b64(logId['keyId'], `${what}.logId.keyId`),
      `${what}.logId.keyId`
    ),
    logIndex: uint64(o['logIndex'] ?? '0', `${what}.logIndex`),
    kindVersion: {
      kind: str(kv['kind'], `${what}.kindVersion.kind`),
      version: str(kv['version'], `${what}.kindVersion.version`),
    },
    ...(signedEntryTimestamp !== undefined && { signedEntryTimestamp }),
    ...(inclusionProof !== undefined && { inclusionProof }),
  };
}

/** The protojson `TransparencyLogEntry` of an entry (spec §7 mapping). */
export function toBundleTlogEntry(entry: LogEntry): BundleTlogEntry {
  const kindVersion = entry.kindVersion ?? kindVersionOf(entry.body);
  const p = entry.inclusionProof;
  return {
    logIndex: entry.logIndex.toString(),
    logId: { keyId: encodeBase64(entry.logID) },
    kindVersion: { kind: kindVersion.kind, version: kindVersion.version },
    integratedTime: entry.integratedTime.toString(),
    ...(entry.signedEntryTimestamp !== undefined && {
      inclusionPromise: {
        signedEntryTimestamp: encodeBase64(entry.signedEntryTimestamp),
      },
    }),
    ...(p !== undefined && {
      inclusionProof: {
        logIndex: p.logIndex.toString(),
        rootHash: encodeBase64(p.rootHash),
        treeSize: p.treeSize.toString(),
        hashes: p.hashes.map(encodeBase64),
        checkpoint: { envelope: p.checkpoint },
      },
    }),
    canonicalizedBody: encodeBase64(entry.body),
  };
}

/** Sigstore bundle media types we read, by version. */
const BUNDLE_MEDIA_TYPES: Record<string, '0.1' | '0.2' | '0.3'> = {
  'application/vnd.dev.sigstore.bundle+json;version=0.1': '0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2': '0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3': '0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json': '0.3',
};

/** The media type signet writes. */
export const BUNDLE_V03_MEDIA_TYPE =
  'application/vnd.dev.sigstore.bundle.v0.3+json';

/** The parts of a Sigstore bundle the log checks and the body binding need. */
export interface SigstoreBundle {
  readonly mediaType: string;
  readonly version: '0.1' | '0.2' | '0.3';
  readonly tlogEntries: readonly LogEntry[];
  /** DER certificates: v0.3 `certificate`, or the `x509CertificateChain` (leaf first). */
  readonly certificates: readonly Buffer[];
  /** `publicKey.hint` of a managed-key bundle. */
  readonly publicKeyHint?: string;
  readonly messageSignature?: {
    readonly digestAlgorithm: string;
    readonly digest: Buffer;
    readonly signature: Buffer;
  };
  readonly dsseEnvelope?: {
    readonly payloadType: string;
    readonly payload: Buffer;
    readonly signatures: readonly {
      readonly keyid: string;
      readonly sig: Buffer;
    }[];
  };
}

/**
 * Parses a Sigstore bundle (v0.1–v0.3). v0.2 and later must carry an
 * inclusion proof for every log entry (protobuf-specs sigstore_bundle.proto);
 * v0.1 may carry only the promise (SET).
 */
export function parseSigstoreBundle(value: unknown): SigstoreBundle {
  const o = obj(value, 'bundle');
  const mediaType = str(o['mediaType'], 'bundle.mediaType');
  const version = BUNDLE_MEDIA_TYPES[mediaType];
  if (version === undefined)
    malformed('bundle', `unsupported media type ${mediaType}`);
  const vm = obj(o['verificationMaterial'], 'bundle.verificationMaterial');
  const tlogEntries = arr(
    vm['tlogEntries'] ?? [],
    'bundle.tlogEntries',
    16
  ).map((e, i) => parseBundleTlogEntry(e, `bundle.tlogEntries[${i}]`));
  if (version !== '0.1') {
    tlogEntries.forEach((e, i) => {
      if (e.inclusionProof === undefined) {
        malformed(
          `bundle.tlogEntries[${i}]`,
          `a v${version} bundle requires an inclusion proof`
        );
      }
    });
  }
  const certificates: Buffer[] = [];
  const cert = optional(vm, 'certificate', obj, 'bundle.verificationMaterial');
  if (cert !== undefined)
    certificates.push(b64(cert['rawBytes'], 'bundle.certificate.rawBytes'));
  const chain = optional(
    vm,
    'x509CertificateChain',
    obj,
    'bundle.verificationMaterial'
  );
  if (chain !== undefined) {
    arr(
      chain['certificates'],
      'bundle.x509CertificateChain.certificates',
      16
    ).forEach((c, i) =>
      certificates.push(
        b64(obj(c, 'certificate')['rawBytes'], `bundle.certificates[${i}]`)
      )
    );
  }
  const pk = optional(vm, 'publicKey', obj, 'bundle.verificationMaterial');
  const publicKeyHint =
    pk !== undefined
      ? optional(pk, 'hint', str, 'bundle.publicKey')
      : undefined;

  const ms = optional(o, 'messageSignature', obj, 'bundle');
  const de = optional(o, 'dsseEnvelope', obj, 'bundle');
  if ((ms === undefined) === (de === undefined)) {
    malformed(
      'bundle',
      'needs exactly one of messageSignature and dsseEnvelope'
    );
  }
  let messageSignature: SigstoreBundle['messageSignature'];
  if (ms !== undefined) {
    const md = obj(
      ms['messageDigest'],
      'bundle.messageSignature.messageDigest'
    );
    messageSignature = {
      digestAlgorithm: str(md['algorithm'], 'bundle.messageDigest.algorithm'),
      digest: b64(md['digest'], 'bundle.messageDigest.digest'),
      signature: b64(ms['signature'], 'bundle.messageSignature.signature'),
    };
  }
  let dsseEnvelope: SigstoreBundle['dsseEnvelope'];
  if (de !== undefined) {
    dsseEnvelope = {
      payloadType: str(de['payloadType'], 'bundle.dsseEnvelope.payloadType'),
      payload: b64(de['payload'], 'bundle.dsseEnvelope.payload'),
      signatures: arr(
        de['signatures'],
        'bundle.dsseEnvelope.signatures',
        16
      ).map((s, i) => {
        const so = obj(s, `bundle.dsseEnvelope.signatures[${i}]`);
        return {
          keyid: optional(so, 'keyid', str, 'signature') ?? '',
          sig: b64(so['sig'], `bundle.dsseEnvelope.signatures[${i}].sig`),
        };
      }),
    };
  }
  return {
    mediaType,
    version,
    tlogEntries,
    certificates,
    ...(publicKeyHint !== undefined && { publicKeyHint }),
    ...(messageSignature !== undefined && { messageSignature }),
    ...(dsseEnvelope !== undefined && { dsseEnvelope }),
  };
}

// ------------------------------------------------ cosign bundle annotation

/** Annotation key on a cosign signature layer. */
export const COSIGN_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

/**
 * Parses the `dev.sigstore.cosign/bundle` annotation value
 * (`{"SignedEntryTimestamp": b64, "Payload": {body, integratedTime, logIndex, logID}}`,
 * cosign pkg/cosign/bundle/rekor.go). It has no inclusion proof.
 */
export function parseCosignBundle(text: string): LogEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SignetError(
      'MALFORMED_INPUT',
      'cosign bundle annotation: not JSON',
      { cause: e }
    );
  }
  const o = obj(value, 'cosign bundle');
  const payload = obj(o['Payload'], 'cosign bundle.Payload');
  return {
    body: nonEmptyBody(
      b64(payload['body'], 'cosign bundle.Payload.body'),
      'cosign bundle'
    ),
    integratedTime: uint64(
      payload['integratedTime'],
      'cosign bundle.Payload.integratedTime'
    ),
    logID: hex(payload['logID'], 'cosign bundle.Payload.logID', HASH_SIZE),
    logIndex: uint64(payload['logIndex'], 'cosign bundle.Payload.logIndex'),
    signedEntryTimestamp: b64(
      o['SignedEntryTimestamp'],
      'cosign bundle.SignedEntryTimestamp'
    ),
  };
}

/** The annotation value cosign writes for an entry (field order as cosign's). */
export function formatCosignBundle(entry: LogEntry): string {
  if (entry.signedEntryTimestamp === undefined) {
    throw new TypeError('a cosign bundle needs the entry SET');
  }
  return JSON.stringify({
    SignedEntryTimestamp: encodeBase64(entry.signedEntryTimestamp),
    Payload: {
      body: encodeBase64(entry.body),
      integratedTime: safeNumber(entry.integratedTime, 'integratedTime'),
      logIndex: safeNumber(entry.logIndex, 'logIndex'),
      logID: encodeHex(entry.logID),
    },
  });
}

// ------------------------------------------------------------ bodies

/** Decodes the canonical body into `{apiVersion, kind, spec}`. */
export function decodeEntryBody(body: Uint8Array): EntryBody {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (e) {
    throw new SignetError('MALFORMED_INPUT', 'entry body: not JSON', {
      cause: e,
    });
  }
  const o = obj(value, 'entry body');
  return {
    apiVersion: str(o['apiVersion'], 'entry body.apiVersion'),
    kind: str(o['kind'], 'entry body.kind'),
    spec: obj(o['spec'], 'entry body.spec'),
  };
}

function kindVersionOf(body: Buffer): { kind: string; version: string } {
  const b = decodeEntryBody(body);
  return { kind: b.kind, version: b.apiVersion };
}

/** A `hashedrekord` 0.0.1 proposal (POST /api/v1/log/entries body, spec §2.1). */
export interface HashedRekordProposal {
  apiVersion: '0.0.1';
  kind: 'hashedrekord';
  spec: {
    data: { hash: { algorithm: string; value: string } };
    signature: { content: string; publicKey: { content: string } };
  };
}

/**
 * Builds a hashedrekord proposal: `signature` over the artifact whose digest
 * is given, `verifierPem` the PEM public key or certificate that verifies it.
 */
export function hashedRekordProposal(p: {
  readonly signature: Uint8Array;
  readonly verifierPem: string;
  readonly digest: {
    readonly algorithm: 'sha256' | 'sha384' | 'sha512';
    readonly hex: string;
  };
}): HashedRekordProposal {
  const size = { sha256: 32, sha384: 48, sha512: 64 }[p.digest.algorithm];
  const bytes = decodeHexStrict(p.digest.hex);
  if (bytes?.length !== size) {
    throw new TypeError(`digest is not ${size} bytes of hex`);
  }
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: {
        hash: {
          algorithm: p.digest.algorithm,
          value: p.digest.hex.toLowerCase(),
        },
      },
      signature: {
        content: encodeBase64(p.signature),
        publicKey: {
          content: Buffer.from(p.verifierPem, 'utf8').toString('base64'),
        },
      },
    },
  };
}

/**
 * The artifact digest a `hashedrekord` or `rekord` 0.0.1 body names
 * (`spec.data.hash`), or undefined for other kinds or a body without one.
 */
export function entryArtifactDigest(
  body: Uint8Array
): { readonly algorithm: string; readonly hex: string } | undefined {
  const b = decodeEntryBody(body);
  if (
    (b.kind !== 'hashedrekord' && b.kind !== 'rekord') ||
    b.apiVersion !== '0.0.1'
  ) {
    return undefined;
  }
  const data = b.spec['data'];
  const hash = isObject(data) ? data['hash'] : undefined;
  if (!isObject(hash)) return undefined;
  const algorithm = hash['algorithm'];
  const value = hash['value'];
  if (typeof algorithm !== 'string' || typeof value !== 'string')
    return undefined;
  if (!/^[0-9a-f]+$/.test(value)) return undefined;
  return { algorithm, hex: value };
}
