/**
 * cosign's tag-based ("mode A") signature storage, byte for byte.
 *
 * PURE: no network, no files, no clock. Everything here is a function of its
 * arguments so the exact bytes cosign writes can be reproduced and tested
 * against the upstream fixtures (spec/signature-storage.md §2, §3, §6).
 */
import { ociDigest, isSha256Digest } from '../core/digest.js';
import { SignetError, UsageError } from '../errors.js';
import { MediaType } from './types.js';

/** Layer annotation carrying the base64 signature (spec §2.4). */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Layer annotation carrying the Rekor bundle JSON (spec §2.4, §9.1). */
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** Layer annotation carrying the signing certificate PEM. */
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
/** Layer annotation carrying the certificate chain PEM. */
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
/** Layer annotation carrying an RFC 3161 timestamp. */
export const RFC3161_TIMESTAMP_ANNOTATION =
  'dev.sigstore.cosign/rfc3161timestamp';

/** Media type of a simple-signing signature layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = MediaType.CosignSimpleSigning;
/** Media type of a DSSE attestation layer. */
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** The constant `critical.type` of a simple-signing payload. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

/**
 * cosign refuses signature images with more layers than this
 * (GHSA-88jx-383q-w4qc, GHSA-95pr-fxf5-86gv; `maxLayers` in cosign).
 */
export const MAX_SIGNATURE_LAYERS = 1000;

/** ggcr's zero `time.Time`, as cosign ≥ v2.2.4 writes `created`. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function suffixTag(digest: string, suffix: string, prefix: string): string {
  if (!isSha256Digest(digest)) {
    throw new SignetError(
      'INVALID_REFERENCE',
      `invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex>`
    );
  }
  return `${prefix}${digest.replace(':', '-')}.${suffix}`;
}

/** `sha256-<hex>.sig` for a subject digest (spec §2.1). */
export function signatureTag(digest: string, prefix = ''): string {
  return suffixTag(digest, 'sig', prefix);
}

/** `sha256-<hex>.att` for a subject digest. */
export function attestationTag(digest: string, prefix = ''): string {
  return suffixTag(digest, 'att', prefix);
}

/** `sha256-<hex>.sbom` for a subject digest. */
export function sbomTag(digest: string, prefix = ''): string {
  return suffixTag(digest, 'sbom', prefix);
}

// ---------------------------------------------------------------------------
// Go encoding/json string and object encoding
// ---------------------------------------------------------------------------

/**
 * A JSON string literal exactly as Go's encoding/json writes it (HTML-safe
 * escaping on): `<`, `>`, `&`, U+2028 and U+2029 become `\u003c` etc.,
 * control characters use `\b \f \n \r \t` (Go ≥ 1.22) or `\u00xx`, and a
 * lone surrogate (invalid UTF-8 in Go) becomes `\ufffd`.
 */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else {
        out += '\\ufffd';
      }
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\\ufffd';
      continue;
    }
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      default:
        break;
    }
    if (
      c < 0x20 ||
      c === 0x3c ||
      c === 0x3e ||
      c === 0x26 ||
      c === 0x2028 ||
      c === 0x2029
    ) {
      out += '\\u' + c.toString(16).padStart(4, '0');
      continue;
    }
    out += s[i]!;
  }
  return out + '"';
}

/** Go sorts map keys by their UTF-8 bytes, not by UTF-16 code units. */
function goSortedKeys(obj: Readonly<Record<string, string>>): string[] {
  return Object.keys(obj).sort((a, b) =>
    Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
  );
}

/** A Go `map[string]string` marshalled: keys sorted, compact. */
function goStringMap(obj: Readonly<Record<string, string>>): string {
  return (
    '{' +
    goSortedKeys(obj)
      .map((k) => `${goJsonString(k)}:${goJsonString(obj[k]!)}`)
      .join(',') +
    '}'
  );
}

// ---------------------------------------------------------------------------
// Simple-signing payload (spec §6.1)
// ---------------------------------------------------------------------------

export interface SimpleSigningPayloadInput {
  /** `registry/repository`, no tag or digest (Docker Hub as `index.docker.io/…`). */
  readonly dockerReference: string;
  /** The signed manifest digest, `sha256:<hex>`. */
  readonly digest: string;
  /** The `-a key=value` map; `optional` is `null` when absent or empty. */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/**
 * The simple-signing payload exactly as cosign writes it: compact, Go struct
 * field order, `optional` keys sorted, no trailing newline.
 */
export function simpleSigningPayload(input: SimpleSigningPayloadInput): Buffer {
  if (!isSha256Digest(input.digest)) {
    throw new SignetError(
      'INVALID_REFERENCE',
      `invalid digest ${JSON.stringify(input.digest)}: expected sha256:<64 hex>`
    );
  }
  const ann = input.annotations;
  // sigstore/sigstore payload.Cosign: `optional` is the annotations map, nil
  // (JSON null) when there are none. cosign passes nil for an empty -a list.
  const optional =
    ann !== undefined && Object.keys(ann).length > 0
      ? goStringMap(ann)
      : 'null';
  const json =
    '{"critical":{"identity":{"docker-reference":' +
    goJsonString(input.dockerReference) +
    '},"image":{"docker-manifest-digest":' +
    goJsonString(input.digest) +
    '},"type":' +
    goJsonString(SIMPLE_SIGNING_TYPE) +
    '},"optional":' +
    optional +
    '}';
  return Buffer.from(json, 'utf8');
}

// ---------------------------------------------------------------------------
// Signature image: config and manifest (spec §2.2, §2.3)
// ---------------------------------------------------------------------------

/** One descriptor of a signature manifest, as stored. */
export interface SignatureLayer {
  readonly mediaType: string;
  readonly size: number;
  readonly digest: string;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** Other descriptor fields kept when re-writing an existing manifest. */
  readonly urls?: readonly string[] | undefined;
  readonly artifactType?: string | undefined;
}

export interface BuildSignatureImageOptions {
  /** Docker schema2 media types (COSIGN_DOCKER_MEDIA_TYPES) for a new image. */
  readonly docker: boolean;
  /**
   * When appending to an existing signature manifest: its manifest and
   * config media types, kept as cosign keeps them (spec §2.3), and its
   * top-level annotations / subject, kept as ggcr's mutate keeps them.
   */
  readonly base?:
    | {
        readonly manifestMediaType: string;
        readonly configMediaType: string;
        readonly annotations?: Readonly<Record<string, string>> | undefined;
        readonly subject?: SignatureLayer | undefined;
      }
    | undefined;
}

export interface SignatureImage {
  readonly configBytes: Buffer;
  readonly configDigest: string;
  readonly manifestBytes: Buffer;
  readonly manifestDigest: string;
  /** The manifest media type (also the PUT `Content-Type`). */
  readonly mediaType: string;
  readonly configMediaType: string;
}

/**
 * The config blob of a signature image: ggcr's empty image plus one zero
 * `history` entry and one `diff_ids` entry per layer, in Go field order.
 * Signature layers are uncompressed, so diffID = layer digest.
 */
export function signatureConfig(layers: readonly SignatureLayer[]): Buffer {
  const history = layers.map(() => `{"created":"${ZERO_TIME}"}`).join(',');
  const diffIds = layers.map((l) => goJsonString(l.digest)).join(',');
  // ggcr ConfigFile: architecture, created, history (omitempty), os, rootfs,
  // config. An empty image has neither history nor diff_ids.
  const historyField = layers.length > 0 ? `"history":[${history}],` : '';
  const diffField = layers.length > 0 ? `,"diff_ids":[${diffIds}]` : '';
  return Buffer.from(
    `{"architecture":"","created":"${ZERO_TIME}",${historyField}"os":"",` +
      `"rootfs":{"type":"layers"${diffField}},"config":{}}`,
    'utf8'
  );
}

/** A descriptor in ggcr field order: mediaType, size, digest, urls, annotations, artifactType. */
function descriptorJson(d: SignatureLayer): string {
  let s =
    `{"mediaType":${goJsonString(d.mediaType)},"size":${d.size}` +
    `,"digest":${goJsonString(d.digest)}`;
  if (d.urls !== undefined && d.urls.length > 0) {
    s += `,"urls":[${d.urls.map(goJsonString).join(',')}]`;
  }
  if (d.annotations !== undefined && Object.keys(d.annotations).length > 0) {
    s += `,"annotations":${goStringMap(d.annotations)}`;
  }
  if (d.artifactType !== undefined && d.artifactType !== '') {
    s += `,"artifactType":${goJsonString(d.artifactType)}`;
  }
  return s + '}';
}

/**
 * Lays out a signature image exactly as cosign (ggcr) writes it: the config
 * blob and the compact manifest referencing it and the given layers.
 */
export function buildSignatureImage(
  layers: readonly SignatureLayer[],
  opts: BuildSignatureImageOptions
): SignatureImage {
  if (layers.length > MAX_SIGNATURE_LAYERS) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `signature image would have ${layers.length} layers; the limit is ${MAX_SIGNATURE_LAYERS}`
    );
  }
  const mediaType =
    opts.base?.manifestMediaType ??
    (opts.docker ? MediaType.DockerManifest : MediaType.OciManifest);
  const configMediaType =
    opts.base?.configMediaType ??
    (opts.docker ? MediaType.DockerConfig : MediaType.OciConfig);
  const configBytes = signatureConfig(layers);
  const configDigest = ociDigest(configBytes);
  let json =
    `{"schemaVersion":2,"mediaType":${goJsonString(mediaType)},` +
    `"config":${descriptorJson({ mediaType: configMediaType, size: configBytes.length, digest: configDigest })},` +
    `"layers":[${layers.map(descriptorJson).join(',')}]`;
  const ann = opts.base?.annotations;
  if (ann !== undefined && Object.keys(ann).length > 0) {
    json += `,"annotations":${goStringMap(ann)}`;
  }
  if (opts.base?.subject !== undefined) {
    json += `,"subject":${descriptorJson(opts.base.subject)}`;
  }
  json += '}';
  const manifestBytes = Buffer.from(json, 'utf8');
  return {
    configBytes,
    configDigest,
    manifestBytes,
    manifestDigest: ociDigest(manifestBytes),
    mediaType,
    configMediaType,
  };
}

// ---------------------------------------------------------------------------
// Parsing a stored signature manifest (strict guards)
// ---------------------------------------------------------------------------

export interface ParsedSignatureManifest {
  /** `mediaType` from the body; undefined when the body omits it. */
  readonly mediaType: string | undefined;
  readonly config: SignatureLayer;
  readonly layers: readonly SignatureLayer[];
  readonly annotations: Readonly<Record<string, string>> | undefined;
  readonly subject: SignatureLayer | undefined;
}

function malformed(what: string, detail: string): SignetError {
  return new SignetError('MALFORMED_INPUT', `${what}: ${detail}`);
}

/** Sets an own property even for keys such as `__proto__`. */
function setOwn(obj: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(obj, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseStringMap(
  v: unknown,
  what: string
): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw malformed(what, 'annotations must be an object');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') {
      throw malformed(what, `annotation ${JSON.stringify(k)} is not a string`);
    }
    setOwn(out, k, val);
  }
  return out;
}

function parseDescriptor(v: unknown, what: string): SignatureLayer {
  if (!isPlainObject(v)) throw malformed(what, 'descriptor is not an object');
  const { mediaType, size, digest, urls, artifactType } = v;
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw malformed(what, 'descriptor has no mediaType');
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw malformed(what, 'descriptor size is not a non-negative integer');
  }
  if (typeof digest !== 'string' || !isSha256Digest(digest)) {
    throw malformed(
      what,
      `descriptor digest ${JSON.stringify(digest)} is not sha256:<64 hex>`
    );
  }
  let urlList: string[] | undefined;
  if (urls !== undefined && urls !== null) {
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string')) {
      throw malformed(what, 'descriptor urls must be strings');
    }
    urlList = urls;
  }
  if (artifactType !== undefined && typeof artifactType !== 'string') {
    throw malformed(what, 'descriptor artifactType must be a string');
  }
  return {
    mediaType,
    size,
    digest,
    annotations: parseStringMap(v['annotations'], what),
    urls: urlList,
    artifactType,
  };
}

/**
 * Parses a signature manifest fetched from a registry with strict guards:
 * an image manifest (OCI or Docker schema2, never an index), schemaVersion 2,
 * well-formed descriptors with sha256 digests, string annotations, and at
 * most `maxLayers` layers (cosign's limit, 1000). Throws SignetError
 * MALFORMED_INPUT. Layer media types are not filtered here: the caller
 * decides what a layer of another type means.
 */
export function parseSignatureManifest(
  bytes: Uint8Array,
  opts: { maxLayers?: number; what?: string } = {}
): ParsedSignatureManifest {
  const what = opts.what ?? 'signature manifest';
  const maxLayers = opts.maxLayers ?? MAX_SIGNATURE_LAYERS;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    // SyntaxError for bad JSON, RangeError for pathological nesting.
    throw new SignetError('MALFORMED_INPUT', `${what}: not valid JSON`, {
      cause: e,
    });
  }
  if (!isPlainObject(doc)) throw malformed(what, 'not a JSON object');
  if (doc['schemaVersion'] !== 2) {
    throw malformed(what, 'schemaVersion is not 2');
  }
  const mediaType = doc['mediaType'];
  if (mediaType !== undefined) {
    if (
      mediaType !== MediaType.OciManifest &&
      mediaType !== MediaType.DockerManifest
    ) {
      throw malformed(
        what,
        `unexpected media type ${JSON.stringify(mediaType)}`
      );
    }
  }
  if ('manifests' in doc) {
    throw malformed(what, 'is an index, not an image manifest');
  }
  const layersRaw = doc['layers'];
  if (!Array.isArray(layersRaw)) throw malformed(what, 'layers is not a list');
  if (layersRaw.length > maxLayers) {
    throw malformed(
      what,
      `number of layers (${layersRaw.length}) exceeded the limit (${maxLayers})`
    );
  }
  const config = parseDescriptor(doc['config'], `${what} config`);
  const layers = layersRaw.map((l, i) =>
    parseDescriptor(l, `${what} layer ${i}`)
  );
  const subject =
    doc['subject'] === undefined || doc['subject'] === null
      ? undefined
      : parseDescriptor(doc['subject'], `${what} subject`);
  return {
    mediaType,
    config,
    layers,
    annotations: parseStringMap(doc['annotations'], what),
    subject,
  };
}

// ---------------------------------------------------------------------------
// -a key=value (cosign options/annotations.go over pflag's stringSlice)
// ---------------------------------------------------------------------------

/**
 * pflag's stringSlice reads each flag value as ONE CSV record with Go's
 * encoding/csv defaults: commas separate fields, a field may be quoted
 * with "" as an escaped quote, a bare quote inside an unquoted field is an
 * error, only the first record (line) is read, empty lines are skipped,
 * and an empty value yields no fields.
 */
export function splitGoCsvRecord(value: string): string[] {
  if (value === '') return [];
  let s = value;
  // encoding/csv skips empty lines before the first record.
  while (s.startsWith('\n') || s.startsWith('\r\n')) {
    s = s.slice(s.startsWith('\n') ? 1 : 2);
  }
  if (s === '') return [];
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (s[i] === '"') {
      // Quoted field.
      let field = '';
      i++;
      for (;;) {
        if (i >= s.length) {
          throw new UsageError(
            `invalid argument ${JSON.stringify(value)} for "-a, --annotations" flag: extraneous or missing " in quoted-field`
          );
        }
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i]!;
        i++;
      }
      fields.push(field);
      if (i >= s.length || s[i] === '\n' || s.startsWith('\r\n', i)) break;
      if (s[i] !== ',') {
        throw new UsageError(
          `invalid argument ${JSON.stringify(value)} for "-a, --annotations" flag: extraneous or missing " in quoted-field`
        );
      }
      i++;
      continue;
    }
    // Unquoted field up to the next comma or end of line.
    let end = i;
    while (end < s.length && s[end] !== ',' && s[end] !== '\n') end++;
    let field = s.slice(i, end);
    if (field.endsWith('\r') && s[end] === '\n') field = field.slice(0, -1);
    if (field.includes('"')) {
      throw new UsageError(
        `invalid argument ${JSON.stringify(value)} for "-a, --annotations" flag: bare " in non-quoted-field`
      );
    }
    fields.push(field);
    if (end >= s.length || s[end] === '\n') break;
    i = end + 1;
  }
  return fields;
}

/**
 * Parses repeated `-a key=value` flags as cosign does: each value is a CSV
 * record (so `-a k=a,b` yields `k=a` and a bogus `b`), each entry is split on
 * the FIRST `=` (cosign ≥ #4957; values may contain `=`), later keys win.
 * Throws UsageError `unable to parse annotation: <entry>`.
 */
export function parseAnnotationsFlag(
  values: readonly string[]
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    for (const entry of splitGoCsvRecord(v)) {
      const eq = entry.indexOf('=');
      if (eq < 0) {
        throw new UsageError(`unable to parse annotation: ${entry}`);
      }
      const key = entry.slice(0, eq);
      setOwn(out, key, entry.slice(eq + 1));
    }
  }
  return out;
}
