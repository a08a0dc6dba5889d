import {
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { VerificationError } from '../errors.js';
import { sha256 } from '../core/digest.js';
import { decodeBase64Strict, encodeBase64 } from '../core/encoding.js';
import {
  HASH_SIZE,
  MAX_UINT64,
  toTreeIndex,
  type TreeIndex,
} from './merkle.js';

/**
 * Signed notes and checkpoints (C2SP signed-note.md, tlog-checkpoint.md) as
 * Rekor v1 writes them (pkg/util/checkpoint.go, signed_note.go):
 *
 *   <origin>\n<size>\n<base64 root>\n[<extension>\n]*\n— <name> <base64(hint ‖ sig)>\n…
 *
 * Rekor v1's key hint is the first 4 bytes of SHA-256(DER SPKI) for every key
 * type (spec §6.1), and the signature is the log key's signature over the
 * note text including its final newline (ECDSA: SHA-256, DER).
 */

/** A parsed checkpoint body (the signed text of the note). */
export interface Checkpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly rootHash: Buffer;
  /** Extension lines, e.g. Rekor's legacy `Timestamp: <nanos>`; signed too. */
  readonly extensions: readonly string[];
}

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  /** The 4-byte key hint (key ID) that precedes the signature bytes. */
  readonly keyHint: Buffer;
  readonly signature: Buffer;
}

/** A signed note: its text (with the final `\n`) and its signature lines. */
export interface SignedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A function that signs bytes with a log key (see logSigner()). */
export type SignFunction = (data: Buffer) => Buffer;

/** Notes bigger than this are refused before parsing (a checkpoint is ~300 bytes). */
export const MAX_NOTE_BYTES = 1 << 20;
/** C2SP: verifiers must accept at least 16 signatures; we allow more but not without bound. */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH_PREFIX = '\u2014 ';

function bad(message: string): never {
  throw new VerificationError('TLOG_VERIFICATION', message);
}

/** SHA-256 of the key's DER SPKI: Rekor's log ID (pkg/sharding/ranges.go). */
export function computeLogId(publicKey: KeyObject): Buffer {
  // Exporting a key is costly next to a hash; KeyObjects are immutable, so
  // the ID is computed once per key object.
  let id = logIdCache.get(publicKey);
  if (id === undefined) {
    id = sha256(spkiDer(publicKey));
    logIdCache.set(publicKey, id);
  }
  return Buffer.from(id);
}

const logIdCache = new WeakMap<KeyObject, Buffer>();

/** Rekor v1 key hint: first 4 bytes of SHA-256(DER SPKI), any key type. */
export function rekorKeyHint(publicKey: KeyObject): Buffer {
  return computeLogId(publicKey).subarray(0, 4);
}

function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

/**
 * The digest Rekor's log signers use for a key: SHA-256 for ECDSA and RSA
 * (PKCS#1 v1.5), none for Ed25519 (signs the message itself).
 */
function digestFor(key: KeyObject): string | null {
  const t = key.asymmetricKeyType;
  if (t === 'ec' || t === 'rsa') return 'sha256';
  if (t === 'ed25519') return null;
  bad(`log key type ${String(t)} is not supported`);
}

/** A SignFunction for a private log key (ECDSA → DER over SHA-256). */
export function logSigner(privateKey: KeyObject): SignFunction {
  if (privateKey.type !== 'private') {
    throw new TypeError('logSigner needs a private key');
  }
  const alg = digestFor(privateKey);
  return (data) => cryptoSign(alg, data, privateKey);
}

/** Verifies a log signature (SET or note) with a log public key; never throws on bad bytes. */
export function logVerify(
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array
): boolean {
  try {
    return cryptoVerify(digestFor(publicKey), data, publicKey, signature);
  } catch (e) {
    if (e instanceof VerificationError) throw e;
    return false; // malformed DER and the like: not a valid signature
  }
}

const DECIMAL_RE = /^(?:0|[1-9][0-9]*)$/;

/** The note body text of a checkpoint (ends with `\n`). */
export function formatCheckpoint(cp: {
  readonly origin: string;
  readonly size: TreeIndex;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}): string {
  if (cp.origin === '' || /[\n\r]/.test(cp.origin)) {
    throw new TypeError('checkpoint origin must be one non-empty line');
  }
  if (cp.rootHash.length !== HASH_SIZE) {
    throw new TypeError(`checkpoint root hash must be ${HASH_SIZE} bytes`);
  }
  const size = toTreeIndex(cp.size, 'checkpoint size');
  const ext = cp.extensions ?? [];
  for (const e of ext) {
    if (e === '' || /[\n\r]/.test(e)) {
      throw new TypeError('checkpoint extension must be one non-empty line');
    }
  }
  return [cp.origin, size.toString(), encodeBase64(cp.rootHash), ...ext]
    .map((l) => `${l}\n`)
    .join('');
}

/** Parses the signed text of a checkpoint note (C2SP tlog-checkpoint). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) bad('checkpoint text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('checkpoint has fewer than three lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  if (origin === '') bad('checkpoint origin is empty');
  if (!DECIMAL_RE.test(sizeText)) bad('checkpoint size is not a decimal');
  const size = BigInt(sizeText);
  if (size > MAX_UINT64) bad('checkpoint size exceeds 64 bits');
  const rootHash = decodeBase64Strict(rootText);
  if (rootHash?.length !== HASH_SIZE)
    bad('checkpoint root hash is not 32 base64 bytes');
  for (const e of extensions) if (e === '') bad('checkpoint has an empty line');
  return { origin, size, rootHash, extensions };
}

/**
 * Appends one signature line to a note body. `sign` receives the exact body
 * bytes (UTF-8, including the final `\n`); `keyHint` must be 4 bytes.
 */
export function signNote(
  body: string,
  name: string,
  keyHint: Uint8Array,
  sign: SignFunction
): string {
  if (!body.endsWith('\n') || body.includes('\n\n')) {
    throw new TypeError(
      'note body must end with one newline and have no empty line'
    );
  }
  if (name === '' || /[\s+]/.test(name)) {
    throw new TypeError(
      'note key name must be non-empty without spaces or "+"'
    );
  }
  if (keyHint.length !== 4)
    throw new TypeError('note key hint must be 4 bytes');
  const sig = sign(Buffer.from(body, 'utf8'));
  const blob = Buffer.concat([keyHint, sig]);
  return `${body}\n${EM_DASH_PREFIX}${name} ${encodeBase64(blob)}\n`;
}

/**
 * Signs a checkpoint the way Rekor v1 does: key name = `name` (the log's
 * hostname), hint = rekorKeyHint(public key).
 */
export function signCheckpoint(
  cp: Parameters<typeof formatCheckpoint>[0],
  name: string,
  privateKey: KeyObject
): string {
  return signNote(
    formatCheckpoint(cp),
    name,
    rekorKeyHint(privateKey),
    logSigner(privateKey)
  );
}

/**
 * Splits a signed note into its text and signature lines. Only the U+2014
 * signature prefix is accepted; the text keeps its final newline.
 */
export function parseSignedNote(note: string): SignedNote {
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES)
    bad('signed note is too large');
  if (note.includes('\r')) bad('signed note contains a carriage return');
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) bad('signed note has no signature block');
  const text = note.slice(0, sep + 1);
  const block = note.slice(sep + 2);
  if (!block.endsWith('\n')) bad('signed note does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES)
    bad('signed note has too many signatures');
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(EM_DASH_PREFIX)) {
      bad('signed note signature line does not start with an em dash');
    }
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) bad('signed note signature line is malformed');
    const name = rest.slice(0, space);
    if (/[\s+]/.test(name)) bad('signed note key name contains a space or "+"');
    const blob = decodeBase64Strict(rest.slice(space + 1));
    if (blob === undefined || blob.length < 5)
      bad('signed note signature is not valid base64');
    return { name, keyHint: blob.subarray(0, 4), signature: blob.subarray(4) };
  });
  return { text, signatures };
}

/** Options of verifyCheckpoint(). */
export interface VerifyCheckpointOptions {
  /** Exact origin required (e.g. `rekor.sigstore.dev - 1193050959916656506`). */
  readonly origin?: string;
  /** Required signer key name (the log's hostname for Rekor v1). */
  readonly name?: string;
}

/**
 * Verifies a Rekor v1 checkpoint note against a trusted log key and returns
 * the parsed checkpoint. Signature lines from other keys (different hint or
 * name) are ignored (C2SP signed-note); at least one line must carry this
 * key's hint and verify, and a line that claims this key but does not verify
 * fails the whole note. The signer name must be the origin's hostname part
 * (`<name> - <treeID>`) or the origin itself, so that a checkpoint of
 * another log sharing the key name is not mistaken for this one.
 */
export function verifyCheckpoint(
  note: string,
  publicKey: KeyObject,
  opts: VerifyCheckpointOptions = {}
): Checkpoint {
  const parsed = parseSignedNote(note);
  const cp = parseCheckpoint(parsed.text);
  if (opts.origin !== undefined && cp.origin !== opts.origin) {
    bad(
      `checkpoint origin "${cp.origin}" is not the expected "${opts.origin}"`
    );
  }
  const hint = rekorKeyHint(publicKey);
  const data = Buffer.from(parsed.text, 'utf8');
  let verified = false;
  for (const s of parsed.signatures) {
    if (!s.keyHint.equals(hint)) continue;
    if (opts.name !== undefined && s.name !== opts.name) continue;
    if (cp.origin !== s.name && !cp.origin.startsWith(`${s.name} - `)) {
      bad(`checkpoint signer "${s.name}" does not match origin "${cp.origin}"`);
    }
    if (!logVerify(publicKey, data, s.signature)) {
      bad(
        `checkpoint signature by ${s.name} (${hint.toString('hex')}) does not verify`
      );
    }
    verified = true;
  }
  if (!verified) {
    bad(
      `checkpoint has no signature by the trusted log key (hint ${hint.toString('hex')})`
    );
  }
  return cp;
}
