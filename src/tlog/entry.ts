/**
 * PURE: validation and canonicalisation of proposed Rekor entries, as Rekor
 * v1 does it (spec §2; rekor `pkg/types/{hashedrekord/v0.0.1,intoto/v0.0.2,
 * dsse/v0.0.1}/entry.go`).
 *
 * A proposed entry is accepted only if its signatures verify; the stored
 * body is a *reduced* object (only the server-verified, read-only fields)
 * serialised as RFC 8785 JSON. Those bytes are the Merkle leaf; the entry
 * UUID is SHA-256(0x00 ‖ body) in hex, the entry ID prefixes the tree ID.
 *
 * Errors are TlogError('TLOG_REJECTED', detail, 400); the HTTP layer
 * prefixes Rekor's `error processing entry: `.
 */
import {
  X509Certificate,
  createPublicKey,
  verify,
  type KeyObject,
} from 'node:crypto';
import { TlogError } from '../errors.js';
import { canonicalJsonBytes } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import {
  decodeBase64Strict,
  decodeHexStrict,
  encodeBase64,
} from '../core/encoding.js';
import { decodePemBlocks, encodePem } from '../core/pem.js';
import { parseStrictJson, type JsonValue } from '../core/strict-json.js';
import { leafHash } from './merkle.js';
import {
  UnsupportedAlgorithmError,
  verifyPrehashed,
  type DigestAlgorithm,
} from './prehashed.js';

export type EntryKind = 'hashedrekord' | 'intoto' | 'dsse';

export interface CanonicalEntry {
  readonly kind: EntryKind;
  readonly apiVersion: string;
  /** RFC 8785 bytes of {apiVersion, kind, spec}: the leaf value and `body`. */
  readonly body: Buffer;
  /** SHA-256(0x00 ‖ body). */
  readonly leafHash: Buffer;
  /**
   * Search keys (lower-case): SHA-256 hex of each canonical public key or
   * certificate PEM, certificate subjects (e-mail, URI SANs), `sha256:<hex>`
   * artifact / payload / envelope / in-toto subject digests.
   */
  readonly indexKeys: string[];
}

export interface CanonicalizeOptions {
  /**
   * For lookups (`/api/v1/log/entries/retrieve`): also accept the stored
   * (canonical) form of intoto and dsse entries, which cannot be verified
   * again because the server never stored the payload.
   */
  readonly lookup?: boolean;
}

function reject(message: string, cause?: unknown): never {
  throw new TlogError(
    'TLOG_REJECTED',
    message,
    400,
    cause === undefined ? undefined : { cause }
  );
}

type Obj = Record<string, JsonValue>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) reject(`${what} must be an object`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') reject(`${what} is required`);
  return v;
}

function b64(v: unknown, what: string): Buffer {
  const s = str(v, what);
  const out = decodeBase64Strict(s);
  if (out === undefined) reject(`${what} is not valid base64`);
  return out;
}

/** 64-bit tree ID → 16 lowercase hex. */
export function treeIdHex(treeId: bigint): string {
  return treeId.toString(16).padStart(16, '0');
}

/** Entry ID = 16-hex tree ID ‖ 64-hex leaf hash (rekor pkg/sharding). */
export function entryId(treeId: bigint, leaf: Uint8Array): string {
  return treeIdHex(treeId) + Buffer.from(leaf).toString('hex');
}

const ENTRY_ID_RE = /^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/;

/** Parses a 64-hex UUID or 80-hex entry ID; undefined if malformed. */
export function parseEntryId(
  id: string
): { treeId?: bigint; leafHash: Buffer } | undefined {
  if (!ENTRY_ID_RE.test(id)) return undefined;
  const lower = id.toLowerCase();
  if (lower.length === 64) return { leafHash: Buffer.from(lower, 'hex') };
  const treeId = BigInt(`0x${lower.slice(0, 16)}`);
  const leaf = Buffer.from(lower.slice(16), 'hex');
  // Tree ID 0 is not a tree: such an ID is a bare UUID (spec §1.4).
  return treeId === 0n ? { leafHash: leaf } : { treeId, leafHash: leaf };
}

// ---------------------------------------------------------------------------
// Public keys and certificates (rekor pkg/pki/x509 NewPublicKey)

export interface ParsedVerifier {
  /** The key that verifies (a certificate's subject key). */
  readonly key: KeyObject;
  /** Canonical PEM: `PUBLIC KEY` (PKIX) or the certificate(s), Go encoding. */
  readonly canonicalPem: string;
  /** Lower-cased e-mail and URI subject alternative names. */
  readonly subjects: readonly string[];
}

const verifierCache = new Map<string, ParsedVerifier>();
const VERIFIER_CACHE_MAX = 4096;

function sanSubjects(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san === undefined) return [];
  const out: string[] = [];
  const re = /(email|URI):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of san.matchAll(re)) {
    let v = m[2] ?? '';
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        continue;
      }
    }
    if (v !== '') out.push(v.toLowerCase());
  }
  return out;
}

/**
 * A PEM public key or X.509 certificate (chain: the first certificate is the
 * signer) as Rekor's x509 type reads it. Results are cached by PEM text:
 * parsing costs more than verifying.
 */
export function parseVerifierPem(pem: Buffer): ParsedVerifier {
  const text = pem.toString('utf8');
  const hit = verifierCache.get(text);
  if (hit !== undefined) return hit;
  let blocks;
  try {
    blocks = decodePemBlocks(text);
  } catch (e) {
    reject('invalid public key: failure decoding PEM', e);
  }
  const first = blocks[0];
  if (first === undefined) reject('invalid public key: failure decoding PEM');
  let parsed: ParsedVerifier;
  try {
    if (blocks.length > 1 || first.label === 'CERTIFICATE') {
      if (blocks.length > 10) reject('certificate chain is too long');
      const certs = blocks.map((b) => {
        if (b.label !== 'CERTIFICATE') {
          reject(`invalid public key: unexpected PEM block ${b.label}`);
        }
        return new X509Certificate(b.der);
      });
      const leaf = certs[0] as X509Certificate;
      parsed = {
        key: leaf.publicKey,
        canonicalPem: certs
          .map((c) => encodePem('CERTIFICATE', c.raw))
          .join(''),
        subjects: sanSubjects(leaf),
      };
    } else if (first.label === 'PUBLIC KEY') {
      const key = createPublicKey({
        key: first.der,
        format: 'der',
        type: 'spki',
      });
      parsed = {
        key,
        canonicalPem: encodePem(
          'PUBLIC KEY',
          key.export({ format: 'der', type: 'spki' })
        ),
        subjects: [],
      };
    } else {
      reject(`invalid public key: cannot handle type ${first.label}`);
    }
  } catch (e) {
    if (e instanceof TlogError) throw e;
    reject(`invalid public key: ${(e as Error).message}`, e);
  }
  if (verifierCache.size >= VERIFIER_CACHE_MAX) {
    const oldest = verifierCache.keys().next().value;
    if (oldest !== undefined) verifierCache.delete(oldest);
  }
  verifierCache.set(text, parsed);
  return parsed;
}

function keyIndexKeys(v: ParsedVerifier): string[] {
  return [sha256Hex(v.canonicalPem), ...v.subjects];
}

// ---------------------------------------------------------------------------
// hashedrekord 0.0.1

const HASH_HEX_LENGTH: Record<DigestAlgorithm, number> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

function hashedrekord(spec: Obj): CanonicalEntry {
  const sig = obj(spec['signature'], 'signature');
  const pk = obj(sig['publicKey'], 'signature.publicKey');
  const data = obj(spec['data'], 'data');
  const hash = obj(data['hash'], 'data.hash');
  const algorithm = str(hash['algorithm'], 'data.hash.algorithm');
  if (!(algorithm in HASH_HEX_LENGTH)) {
    reject(`unsupported hash algorithm ${algorithm}`);
  }
  const alg = algorithm as DigestAlgorithm;
  const value = str(hash['value'], 'data.hash.value');
  const digest = decodeHexStrict(value);
  if (digest === undefined || value.length !== HASH_HEX_LENGTH[alg]) {
    reject('invalid value for hash');
  }
  const signature = b64(sig['content'], 'signature.content');
  const verifier = parseVerifierPem(
    b64(pk['content'], 'signature.publicKey.content')
  );
  let ok: boolean;
  try {
    ok = verifyPrehashed(verifier.key, alg, digest, signature);
  } catch (e) {
    if (e instanceof UnsupportedAlgorithmError) {
      reject('entry algorithms are not allowed', e);
    }
    throw e;
  }
  if (!ok) {
    reject(
      'verifying signature: invalid signature when validating ASN.1 encoded signature'
    );
  }
  return finish(
    'hashedrekord',
    '0.0.1',
    {
      data: { hash: { algorithm: alg, value } },
      signature: {
        content: encodeBase64(signature),
        publicKey: {
          content: encodeBase64(Buffer.from(verifier.canonicalPem)),
        },
      },
    },
    [...keyIndexKeys(verifier), `${alg}:${value}`.toLowerCase()]
  );
}

// ---------------------------------------------------------------------------
// DSSE (shared by intoto 0.0.2 and dsse 0.0.1)

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** DSSE pre-authentication encoding. */
function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${t.length} `),
    t,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** DSSE signatures are standard or URL-safe base64, padded or not. */
function decodeDsseB64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return undefined;
  const std = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (std.length % 4 === 1) return undefined;
  return Buffer.from(std, 'base64');
}

/** Signature over the PAE, as sigstore's LoadVerifier(key, SHA256) checks it. */
function verifyDsseSignature(
  key: KeyObject,
  message: Buffer,
  sig: Buffer
): boolean {
  const t = key.asymmetricKeyType;
  try {
    if (t === 'ed25519') return verify(null, message, key, sig);
    if (t === 'ec')
      return verify('sha256', message, { key, dsaEncoding: 'der' }, sig);
    if (t === 'rsa') return verify('sha256', message, key, sig);
  } catch {
    return false;
  }
  return false;
}

interface DsseSig {
  readonly keyid?: string;
  readonly sig: string;
}

/**
 * Rekor's verifyEnvelope: every key must verify at least one signature and
 * every signature must be verified by some key. Returns sig → verifier.
 */
function verifyEnvelope(
  payloadType: string,
  payload: Buffer,
  sigs: readonly DsseSig[],
  verifiers: readonly ParsedVerifier[]
): Map<string, ParsedVerifier> {
  const message = pae(payloadType, payload);
  const bySig = new Map<string, ParsedVerifier>();
  for (const v of verifiers) {
    let any = false;
    for (const s of sigs) {
      const raw = decodeDsseB64(s.sig);
      if (raw !== undefined && verifyDsseSignature(v.key, message, raw)) {
        bySig.set(s.sig, v);
        any = true;
      }
    }
    if (!any)
      reject(
        'could not verify envelope: no signature verifies with a given key'
      );
  }
  for (const s of sigs) {
    if (!bySig.has(s.sig))
      reject('all signatures must have a key that verifies it');
  }
  return bySig;
}

function statementSubjectKeys(payloadType: string, payload: Buffer): string[] {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) return [];
  let st: JsonValue;
  try {
    st = parseStrictJson(payload, { what: 'in-toto statement' });
  } catch {
    return [];
  }
  const out: string[] = [];
  if (!isObj(st) || !Array.isArray(st['subject'])) return out;
  for (const s of st['subject']) {
    if (!isObj(s) || !isObj(s['digest'])) continue;
    for (const [alg, d] of Object.entries(s['digest'])) {
      if (typeof d === 'string') out.push(`${alg}:${d}`.toLowerCase());
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// intoto 0.0.2

function hashObj(
  v: unknown,
  what: string
): { algorithm: string; value: string } {
  const h = obj(v, what);
  const algorithm = str(h['algorithm'], `${what}.algorithm`);
  const value = str(h['value'], `${what}.value`);
  if (algorithm !== 'sha256' || !/^[0-9a-fA-F]{64}$/.test(value)) {
    reject(`${what} must be a sha256 hex digest`);
  }
  return { algorithm, value };
}

function intoto(spec: Obj, opts: CanonicalizeOptions): CanonicalEntry {
  const content = obj(spec['content'], 'content');
  const env = obj(content['envelope'], 'content.envelope');
  const payloadType = str(env['payloadType'], 'content.envelope.payloadType');
  const hash = hashObj(content['hash'], 'content.hash');
  const rawSigs = env['signatures'];
  if (!Array.isArray(rawSigs) || rawSigs.length === 0) {
    reject('content.envelope.signatures is required');
  }
  const sigs = rawSigs.map((s, i) => {
    const o = obj(s, `content.envelope.signatures[${i}]`);
    const keyid = o['keyid'];
    if (keyid !== undefined && typeof keyid !== 'string') {
      reject('signature keyid must be a string');
    }
    return {
      keyid: keyid === '' ? undefined : keyid,
      // Stored double-encoded: base64 of the DSSE signature's base64 text.
      sigText: b64(o['sig'], `content.envelope.signatures[${i}].sig`).toString(
        'utf8'
      ),
      publicKey: b64(
        o['publicKey'],
        `content.envelope.signatures[${i}].publicKey`
      ),
    };
  });
  let payloadHash: { algorithm: string; value: string };
  const indexKeys: string[] = [];
  if (env['payload'] === undefined && opts.lookup === true) {
    payloadHash = hashObj(content['payloadHash'], 'content.payloadHash');
  } else {
    const payloadText = b64(
      env['payload'],
      'content.envelope.payload'
    ).toString('utf8');
    const payload = decodeBase64Strict(payloadText);
    if (payload === undefined) reject('could not decode envelope payload');
    const verifiers = sigs.map((s) => parseVerifierPem(s.publicKey));
    verifyEnvelope(
      payloadType,
      payload,
      sigs.map((s) => ({ sig: s.sigText })),
      verifiers
    );
    payloadHash = { algorithm: 'sha256', value: sha256Hex(payload) };
    for (const v of verifiers) indexKeys.push(...keyIndexKeys(v));
    indexKeys.push(...statementSubjectKeys(payloadType, payload));
  }
  indexKeys.push(`sha256:${payloadHash.value}`.toLowerCase());
  return finish(
    'intoto',
    '0.0.2',
    {
      content: {
        envelope: {
          payloadType,
          signatures: sigs.map((s) => ({
            ...(s.keyid === undefined ? {} : { keyid: s.keyid }),
            publicKey: encodeBase64(s.publicKey),
            sig: encodeBase64(Buffer.from(s.sigText, 'utf8')),
          })),
        },
        hash,
        payloadHash,
      },
    },
    indexKeys
  );
}

// ---------------------------------------------------------------------------
// dsse 0.0.1

function dsse(spec: Obj, opts: CanonicalizeOptions): CanonicalEntry {
  const proposed = spec['proposedContent'];
  const hasStored =
    spec['envelopeHash'] !== undefined ||
    spec['payloadHash'] !== undefined ||
    spec['signatures'] !== undefined;
  if (proposed === undefined) {
    if (opts.lookup !== true || !hasStored) {
      reject('proposedContent is required');
    }
    const sigs = spec['signatures'];
    if (!Array.isArray(sigs) || sigs.length === 0)
      reject('signatures are required');
    const signatures = sigs.map((s, i) => {
      const o = obj(s, `signatures[${i}]`);
      return {
        signature: str(o['signature'], `signatures[${i}].signature`),
        verifier: encodeBase64(b64(o['verifier'], `signatures[${i}].verifier`)),
      };
    });
    signatures.sort((a, b) => cmp(a.signature, b.signature));
    return finish(
      'dsse',
      '0.0.1',
      {
        envelopeHash: hashObj(spec['envelopeHash'], 'envelopeHash'),
        payloadHash: hashObj(spec['payloadHash'], 'payloadHash'),
        signatures,
      },
      []
    );
  }
  if (hasStored) {
    reject(
      'either proposedContent or envelopeHash, payloadHash, and signatures must be present but not both'
    );
  }
  const pc = obj(proposed, 'proposedContent');
  const envelopeText = str(pc['envelope'], 'proposedContent.envelope');
  let envJson: JsonValue;
  try {
    envJson = parseStrictJson(envelopeText, { what: 'dsse envelope' });
  } catch (e) {
    reject('proposedContent.envelope is not a valid DSSE envelope', e);
  }
  const env = obj(envJson, 'envelope');
  const payloadType = str(env['payloadType'], 'envelope.payloadType');
  const payload = decodeDsseB64(str(env['payload'], 'envelope.payload'));
  if (payload === undefined) reject('could not decode envelope payload');
  const rawSigs = env['signatures'];
  if (!Array.isArray(rawSigs) || rawSigs.length === 0) {
    reject('envelope.signatures is required');
  }
  const sigs: DsseSig[] = rawSigs.map((s, i) => {
    const o = obj(s, `envelope.signatures[${i}]`);
    return { sig: str(o['sig'], `envelope.signatures[${i}].sig`) };
  });
  const rawVerifiers = pc['verifiers'];
  if (!Array.isArray(rawVerifiers) || rawVerifiers.length === 0) {
    reject('proposedContent.verifiers is required');
  }
  const verifiers = rawVerifiers.map((v, i) =>
    parseVerifierPem(b64(v, `proposedContent.verifiers[${i}]`))
  );
  const bySig = verifyEnvelope(payloadType, payload, sigs, verifiers);
  const signatures = [...bySig.entries()]
    .map(([sig, v]) => ({
      signature: sig,
      verifier: encodeBase64(Buffer.from(v.canonicalPem)),
    }))
    .sort((a, b) => cmp(a.signature, b.signature));
  const payloadHash = sha256Hex(payload);
  const envelopeHash = sha256Hex(envelopeText);
  const indexKeys: string[] = [];
  for (const v of new Set(bySig.values())) indexKeys.push(...keyIndexKeys(v));
  indexKeys.push(`sha256:${payloadHash}`, `sha256:${envelopeHash}`);
  indexKeys.push(...statementSubjectKeys(payloadType, payload));
  return finish(
    'dsse',
    '0.0.1',
    {
      envelopeHash: { algorithm: 'sha256', value: envelopeHash },
      payloadHash: { algorithm: 'sha256', value: payloadHash },
      signatures,
    },
    indexKeys
  );
}

/** Go's sort.Strings order (bytewise), not localeCompare. */
function cmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// ---------------------------------------------------------------------------

function finish(
  kind: EntryKind,
  apiVersion: string,
  spec: unknown,
  keys: string[]
): CanonicalEntry {
  const body = canonicalJsonBytes({ apiVersion, kind, spec });
  return {
    kind,
    apiVersion,
    body,
    leafHash: leafHash(body),
    indexKeys: [...new Set(keys.map((k) => k.toLowerCase()))],
  };
}

/**
 * Validates a ProposedEntry (`{kind, apiVersion, spec}`, already parsed JSON)
 * and returns its canonical body. Throws TlogError TLOG_REJECTED (400).
 */
export function canonicalizeEntry(
  proposed: unknown,
  opts: CanonicalizeOptions = {}
): CanonicalEntry {
  const pe = obj(proposed, 'proposed entry');
  const kind = str(pe['kind'], 'kind');
  const apiVersion = str(pe['apiVersion'], 'apiVersion');
  const spec = obj(pe['spec'], 'spec');
  if (kind === 'hashedrekord' && apiVersion === '0.0.1')
    return hashedrekord(spec);
  if (kind === 'intoto' && apiVersion === '0.0.2') return intoto(spec, opts);
  if (kind === 'dsse' && apiVersion === '0.0.1') return dsse(spec, opts);
  if (kind === 'hashedrekord' || kind === 'intoto' || kind === 'dsse') {
    reject(`${kind} version ${apiVersion} is not supported`);
  }
  reject(`entry kind ${kind} is not supported`);
}

/** The SHA-256 digest of the canonical body's leaf: the 64-hex UUID. */
export function entryUuid(body: Uint8Array): string {
  return leafHash(body).toString('hex');
}

/**
 * The search key of a PEM public key or certificate, as entries index it
 * (`/api/v1/index/retrieve` with `publicKey`). Throws TLOG_REJECTED.
 */
export function publicKeyIndexKey(pem: Buffer): string {
  return sha256Hex(parseVerifierPem(pem).canonicalPem);
}
