import type { KeyObject } from 'node:crypto';
import { VerificationError } from '../errors.js';
import { canonicalJsonBytes } from '../core/canonical-json.js';
import { decodeBase64Strict } from '../core/encoding.js';
import { logSigner, logVerify, type SignFunction } from './checkpoint.js';

/**
 * Signed Entry Timestamp (SET, "inclusion promise"): the log key's signature
 * over RFC 8785 JSON of exactly {body, integratedTime, logID, logIndex}
 * (rekor pkg/api/entries.go signEntry, pkg/verify/verify.go; spec §4).
 * `logIndex` is the GLOBAL index, not the shard-local one of the proof.
 */
export interface SetFields {
  /** Standard base64 of the canonical entry body, exactly as served. */
  readonly body: string;
  /** Unix seconds. */
  readonly integratedTime: bigint | number;
  /** 64 lowercase hex: SHA-256 of the log key's SPKI. */
  readonly logID: string;
  /** Global (virtual) log index. */
  readonly logIndex: bigint | number;
}

const LOG_ID_RE = /^[0-9a-f]{64}$/;

function bad(message: string): never {
  throw new VerificationError('TLOG_VERIFICATION', message);
}

/**
 * JCS numbers are IEEE doubles: integers above 2^53 cannot be written
 * exactly, so they are refused rather than silently rounded.
 */
function safeInt(v: bigint | number, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (
    !Number.isSafeInteger(n) ||
    n < 0 ||
    (typeof v === 'bigint' && BigInt(n) !== v)
  ) {
    bad(`${what} ${String(v)} is not a non-negative safe integer`);
  }
  return n;
}

/** The exact bytes a SET signs. */
export function setPayload(fields: SetFields): Buffer {
  if (decodeBase64Strict(fields.body) === undefined || fields.body === '') {
    bad('SET body is not standard base64');
  }
  if (!LOG_ID_RE.test(fields.logID)) bad('SET logID is not 64 lowercase hex');
  return canonicalJsonBytes({
    body: fields.body,
    integratedTime: safeInt(fields.integratedTime, 'integratedTime'),
    logID: fields.logID,
    logIndex: safeInt(fields.logIndex, 'logIndex'),
  });
}

/** Signs a SET with a sign function or a private log key; returns the DER signature. */
export function signSET(
  fields: SetFields,
  signer: SignFunction | KeyObject
): Buffer {
  const sign = typeof signer === 'function' ? signer : logSigner(signer);
  return sign(setPayload(fields));
}

/** Throws VerificationError TLOG_VERIFICATION unless `signature` is a valid SET by `publicKey`. */
export function verifySET(
  fields: SetFields,
  signature: Uint8Array,
  publicKey: KeyObject
): void {
  if (!logVerify(publicKey, setPayload(fields), signature)) {
    bad(
      `signed entry timestamp does not verify for log index ${String(fields.logIndex)}`
    );
  }
}
