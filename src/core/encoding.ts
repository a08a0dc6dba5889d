/**
 * Strict base64 and hex codecs. Buffer.from(s, 'base64') silently skips
 * invalid characters; signatures and proofs must not be parsed that loosely.
 */

const B64_RE =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes standard padded base64; returns undefined if it is not valid. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (!B64_RE.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

export function encodeBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString(
    'base64'
  );
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes hex (even length, either case); undefined if it is not valid. */
export function decodeHexStrict(s: string): Buffer | undefined {
  if (!HEX_RE.test(s)) return undefined;
  return Buffer.from(s, 'hex');
}

export function encodeHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString(
    'hex'
  );
}
