import { createHash } from 'node:crypto';

/** The one sha256 entry point. */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256:<hex>` of the bytes, as OCI digests are written. */
export function ociDigest(data: Uint8Array | string): string {
  return `sha256:${sha256Hex(data)}`;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True for a well-formed lower-case `sha256:<64 hex>` digest. */
export function isSha256Digest(s: string): boolean {
  return DIGEST_RE.test(s);
}
