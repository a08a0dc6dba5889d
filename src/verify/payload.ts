/**
 * The simple-signing payload as a verifier reads it (spec
 * signature-storage.md §6): decode it the way cosign's Go decoder does, check
 * the claims cosign checks, and re-marshal it exactly as `cosign verify`
 * prints it (§12).
 *
 * PURE: bytes in, typed values or a VerificationError out.
 */
import {
  isJsonObject,
  parseStrictJson,
  type JsonObject,
  type JsonValue,
} from '../core/strict-json.js';
import { VerificationError } from '../errors.js';
import { goJsonString } from '../oci/cosign-layout.js';

/**
 * sigstore/sigstore `payload.SimpleContainerImage`, field names as JSON
 * tags. `optional` is a Go `map[string]interface{}`: null when absent.
 */
export interface SimpleSigningPayload {
  readonly critical: {
    readonly identity: { readonly 'docker-reference': string };
    readonly image: { readonly 'docker-manifest-digest': string };
    readonly type: string;
  };
  readonly optional: Readonly<Record<string, JsonValue>> | null;
}

export interface DecodePayloadOptions {
  /** Largest payload accepted (the caller's attachment cap). Default 128 MiB. */
  readonly maxBytes?: number;
}

/** cosign's default attachment cap, 128 MiB (internal/pkg/cosign/payload/size). */
export const DEFAULT_MAX_ATTACHMENT_SIZE = 128 * 1024 * 1024;

/**
 * Go's encoding/json key folding (`foldName`, same relation as
 * bytes.EqualFold): ASCII letters fold case-insensitively, and the only
 * non-ASCII runes whose simple-fold orbit contains an ASCII letter are
 * U+212A KELVIN SIGN (k) and U+017F LATIN SMALL LETTER LONG S (s). A hostile
 * payload may spell a key with them; cosign still matches it, so must we.
 */
function goFold(key: string): string {
  let out = '';
  for (const ch of key) {
    const c = ch.charCodeAt(0);
    if (c >= 0x61 && c <= 0x7a) out += String.fromCharCode(c - 0x20);
    else if (ch === '\u212a') out += 'K';
    else if (ch === '\u017f') out += 'S';
    else out += ch;
  }
  return out;
}

/**
 * Mutable decode target mirroring the Go structs. Decoding into an existing
 * value is how Go handles a second key that folds to the same field: nested
 * structs and maps MERGE, scalars are overwritten, null is a no-op for
 * structs and strings and resets a map to nil.
 */
interface Target {
  dockerReference: string;
  digest: string;
  type: string;
  optional: Record<string, JsonValue> | null;
}

type FieldDecoder = (
  t: Target,
  v: JsonValue,
  path: string,
  errs: string[]
) => void;

function goTypeName(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

function stringField(set: (t: Target, s: string) => void): FieldDecoder {
  return (t, v, path, errs) => {
    if (v === null) return; // Go: null into a string is a no-op
    if (typeof v !== 'string') {
      errs.push(
        `cannot unmarshal ${goTypeName(v)} into Go struct field ${path} of type string`
      );
      return;
    }
    set(t, v);
  };
}

function structField(
  fields: ReadonlyMap<string, FieldDecoder>,
  goType: string
): FieldDecoder {
  return (t, v, path, errs) => {
    if (v === null) return; // Go: null into a struct is a no-op
    if (!isJsonObject(v)) {
      errs.push(
        `cannot unmarshal ${goTypeName(v)} into Go struct field ${path} of type ${goType}`
      );
      return;
    }
    decodeStruct(t, v, fields, path, errs);
  };
}

/** Go: for each key in document order, the exact-name field, else the folded one. */
function decodeStruct(
  t: Target,
  obj: JsonObject,
  fields: ReadonlyMap<string, FieldDecoder>,
  path: string,
  errs: string[]
): void {
  for (const [key, value] of Object.entries(obj)) {
    const dec = fields.get(goFold(key));
    if (dec === undefined) continue; // unknown fields are ignored
    dec(t, value, path === '' ? key : `${path}.${key}`, errs);
  }
}

const identityFields = new Map<string, FieldDecoder>([
  [goFold('docker-reference'), stringField((t, s) => (t.dockerReference = s))],
]);
const imageFields = new Map<string, FieldDecoder>([
  [goFold('docker-manifest-digest'), stringField((t, s) => (t.digest = s))],
]);
const criticalFields = new Map<string, FieldDecoder>([
  [goFold('identity'), structField(identityFields, 'payload.Identity')],
  [goFold('image'), structField(imageFields, 'payload.Image')],
  [goFold('type'), stringField((t, s) => (t.type = s))],
]);
const optionalField: FieldDecoder = (t, v, path, errs) => {
  if (v === null) {
    t.optional = null; // Go: null into a map sets it to nil
    return;
  }
  if (!isJsonObject(v)) {
    errs.push(
      `cannot unmarshal ${goTypeName(v)} into Go struct field ${path} of type map[string]interface {}`
    );
    return;
  }
  // Go reuses a non-nil map: entries from an earlier "Optional" key stay.
  const m = t.optional ?? {};
  for (const [k, val] of Object.entries(v)) defineKey(m, k, val);
  t.optional = m;
};
const topFields = new Map<string, FieldDecoder>([
  [goFold('critical'), structField(criticalFields, 'payload.Critical')],
  [goFold('optional'), optionalField],
]);

function defineKey(
  o: Record<string, JsonValue>,
  k: string,
  v: JsonValue
): void {
  Object.defineProperty(o, k, {
    value: v,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * Decodes a simple-signing payload the way cosign does
 * (`json.Unmarshal(payload, &payload.SimpleContainerImage{})`): keys matched
 * case-insensitively with Go's folding, unknown keys ignored, `null` a no-op,
 * a value of the wrong JSON type an error. On top of Go, the bytes must be
 * strict JSON (no duplicate keys, bounded depth and size): a document two
 * parsers could read differently never verifies.
 *
 * Throws VerificationError('PAYLOAD_MALFORMED').
 */
export function decodeSimpleSigningPayload(
  bytes: Uint8Array,
  opts: DecodePayloadOptions = {}
): SimpleSigningPayload {
  let doc: JsonValue;
  try {
    doc = parseStrictJson(bytes, {
      maxBytes: opts.maxBytes ?? DEFAULT_MAX_ATTACHMENT_SIZE,
      what: 'signature payload',
    });
  } catch (err) {
    throw new VerificationError(
      'PAYLOAD_MALFORMED',
      err instanceof Error ? err.message : 'signature payload: invalid JSON',
      { cause: err }
    );
  }
  const t: Target = {
    dockerReference: '',
    digest: '',
    type: '',
    optional: null,
  };
  const errs: string[] = [];
  if (doc !== null) {
    if (!isJsonObject(doc)) {
      throw new VerificationError(
        'PAYLOAD_MALFORMED',
        `signature payload: cannot unmarshal ${goTypeName(doc)} into Go value of type payload.SimpleContainerImage`
      );
    }
    decodeStruct(t, doc, topFields, '', errs);
  }
  if (errs.length > 0) {
    throw new VerificationError(
      'PAYLOAD_MALFORMED',
      `signature payload: ${errs[0]}`
    );
  }
  return {
    critical: {
      identity: { 'docker-reference': t.dockerReference },
      image: { 'docker-manifest-digest': t.digest },
      type: t.type,
    },
    optional: t.optional,
  };
}

export interface ClaimExpectations {
  /** The digest the signature must name: the image digest being verified. */
  readonly digest: string;
  /**
   * `-a key=value` pairs that must be present in `optional` with equal
   * string values. Undefined = no annotation check (cosign: nil map).
   */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/**
 * cosign's SimpleClaimVerifier (spec §6.2 step 5):
 *  - `critical.image.docker-manifest-digest` must equal the verified digest
 *    exactly. This is what stops replay: a valid signature for image A
 *    copied onto image B's `.sig` tag names A's digest.
 *  - every requested annotation must be in `optional` with an equal value.
 *    Go interface equality: a JSON number or bool never equals the string
 *    given on the command line; keys match exactly (a map lookup).
 * Deliberately NOT checked, as cosign: `critical.type`,
 * `critical.identity.docker-reference` and unknown fields.
 *
 * Throws VerificationError('CLAIM_MISMATCH').
 */
export function checkClaims(
  payload: SimpleSigningPayload,
  expected: ClaimExpectations
): void {
  const found = payload.critical.image['docker-manifest-digest'];
  if (found !== expected.digest) {
    throw new VerificationError(
      'CLAIM_MISMATCH',
      `invalid or missing digest in claim: ${found}`
    );
  }
  const wanted = expected.annotations;
  if (wanted === undefined) return;
  const have = payload.optional;
  for (const [k, v] of Object.entries(wanted)) {
    const got =
      have !== null && Object.prototype.hasOwnProperty.call(have, k)
        ? have[k]
        : undefined;
    if (got !== v) {
      throw new VerificationError(
        'CLAIM_MISMATCH',
        `missing or incorrect annotation: ${k}`
      );
    }
  }
}

/**
 * A JSON value marshalled as Go's encoding/json marshals an `interface{}`
 * holding it: objects as `map[string]interface{}` (keys sorted by UTF-8
 * bytes), numbers as float64 (shortest round-trip form; exponent form below
 * 1e-6 and from 1e21, which is also where JavaScript switches), strings
 * HTML-safe escaped.
 */
export function marshalGoJson(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    return Object.is(v, -0) ? '-0' : JSON.stringify(v);
  }
  if (typeof v === 'string') return goJsonString(v);
  if (Array.isArray(v)) return `[${v.map(marshalGoJson).join(',')}]`;
  return `{${goSortedKeys(v)
    .map((k) => `${goJsonString(k)}:${marshalGoJson(v[k]!)}`)
    .join(',')}}`;
}

function goSortedKeys(o: Readonly<Record<string, JsonValue>>): string[] {
  const keys = Object.keys(o);
  // Code-unit order equals UTF-8 byte order unless a key holds a character
  // at or above U+D800; only then pay for the byte comparison.
  if (keys.every((k) => !/[\ud800-\uffff]/.test(k))) return keys.sort();
  return keys.sort((a, b) =>
    Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
  );
}

/**
 * The payload re-marshalled from the decoded struct, as `cosign verify -o
 * json` prints each element (spec §12): keys always lower-case, Go field
 * order, `optional` sorted (or null). `optional` may be extended by the
 * caller (e.g. certificate or bundle details) before marshalling.
 */
export function marshalSimpleSigningPayload(p: SimpleSigningPayload): string {
  return (
    '{"critical":{"identity":{"docker-reference":' +
    goJsonString(p.critical.identity['docker-reference']) +
    '},"image":{"docker-manifest-digest":' +
    goJsonString(p.critical.image['docker-manifest-digest']) +
    '},"type":' +
    goJsonString(p.critical.type) +
    '},"optional":' +
    (p.optional === null ? 'null' : marshalGoJson(p.optional)) +
    '}'
  );
}
