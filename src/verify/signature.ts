/**
 * Verification of ONE signature layer of a mode-A signature manifest (spec
 * signature-storage.md §6.2): the signature annotation over the payload
 * bytes, then the claims. PURE and SYNCHRONOUS: the caller fetched the blob
 * (digest and size checked) and passes bytes in.
 */
import { decodeBase64Strict } from '../core/encoding.js';
import { VerificationError } from '../errors.js';
import { SIGNATURE_ANNOTATION } from '../oci/cosign-layout.js';
import {
  checkClaims,
  decodeSimpleSigningPayload,
  DEFAULT_MAX_ATTACHMENT_SIZE,
  type SimpleSigningPayload,
} from './payload.js';
import type { LayerTlogVerification } from './tlog-bundle.js';

/**
 * The role a public key plays here. src/keys' `Verifier` satisfies it; the
 * hash and scheme follow the key as cosign's do (keys.md §6).
 */
export interface PayloadVerifier {
  verify(data: Uint8Array, signature: Uint8Array): boolean;
}

/** One layer as stored: payload blob bytes plus its descriptor annotations. */
export interface SignatureLayerInput {
  /** The layer blob (the signed payload), already digest- and size-checked. */
  readonly payload: Uint8Array;
  /** Annotations from the manifest DESCRIPTOR (never from the blob). */
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

export interface LayerPolicy {
  readonly verifier: PayloadVerifier;
  /** The digest being verified (what `docker-manifest-digest` must say). */
  readonly digest: string;
  /** Required `-a` annotations; only checked together with the claims. */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** cosign `--check-claims` (default true). */
  readonly checkClaims?: boolean;
  /** Payload cap for JSON decoding; default 128 MiB. */
  readonly maxPayloadBytes?: number;
}

export interface VerifiedSignature {
  /** The payload bytes exactly as stored and signed. */
  readonly payload: Buffer;
  /** The decoded claims; undefined only with checkClaims=false and an undecodable payload. */
  readonly claims: SimpleSigningPayload | undefined;
  /** The decoded signature bytes. */
  readonly signature: Buffer;
  /** The layer's descriptor annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The transparency-log check, when one was required (src/verify/tlog-bundle.ts). */
  readonly tlog?: LayerTlogVerification;
}

/**
 * The raw signature from the `dev.cosignproject.cosign/signature`
 * annotation. Strict standard base64 with padding: a lenient decoder would
 * let different strings stand for one signature (and skip garbage).
 * Throws VerificationError('SIGNATURE_MALFORMED').
 */
export function signatureFromAnnotations(
  annotations: Readonly<Record<string, string>> | undefined
): Buffer {
  const b64 =
    annotations !== undefined &&
    Object.prototype.hasOwnProperty.call(annotations, SIGNATURE_ANNOTATION)
      ? annotations[SIGNATURE_ANNOTATION]
      : undefined;
  if (b64 === undefined) {
    throw new VerificationError(
      'SIGNATURE_MALFORMED',
      `signature layer is missing ${JSON.stringify(SIGNATURE_ANNOTATION)} annotation`
    );
  }
  const sig = decodeBase64Strict(b64);
  if (sig === undefined || sig.length === 0) {
    throw new VerificationError(
      'SIGNATURE_MALFORMED',
      'signature annotation is not valid base64'
    );
  }
  return sig;
}

/**
 * Checks `signature` over the exact payload bytes. A verifier that throws
 * (malformed DER, wrong length) counts as "does not verify".
 * Throws VerificationError('SIGNATURE_INVALID').
 */
export function verifyPayloadSignature(
  payload: Uint8Array,
  signature: Uint8Array,
  verifier: PayloadVerifier
): void {
  let ok = false;
  try {
    ok = verifier.verify(payload, signature);
  } catch (err) {
    throw new VerificationError(
      'SIGNATURE_INVALID',
      'invalid signature when validating ASN.1 encoded signature',
      { cause: err }
    );
  }
  if (!ok) {
    throw new VerificationError(
      'SIGNATURE_INVALID',
      'invalid signature when validating ASN.1 encoded signature'
    );
  }
}

/**
 * cosign's per-signature pipeline for a key-based `.sig` layer, in its order:
 *
 *  1. (transparency log: see the marked place below)
 *  2. crypto: strict base64 signature annotation, verified over the payload
 *     bytes with the given key;
 *  3. claims (unless checkClaims=false): payload decoded with Go semantics,
 *     `docker-manifest-digest` equal to the verified digest, requested
 *     annotations present and equal.
 *
 * Returns what passed; throws VerificationError with the first failure.
 */
export function verifySignatureLayer(
  layer: SignatureLayerInput,
  policy: LayerPolicy
): VerifiedSignature {
  const signature = signatureFromAnnotations(layer.annotations);

  // ---- transparency-log checks go here (not implemented by this module) --
  // spec §6.2 step 2 / §9.3: verify the `dev.sigstore.cosign/bundle`
  // annotation offline (bind entry to this layer's signature, key and
  // sha256(payload); SET), or look the entry up online. Added by the
  // transparency-log issue as an optional policy member; until then Signet
  // verifies as `cosign verify --insecure-ignore-tlog` does.
  // ------------------------------------------------------------------------

  verifyPayloadSignature(layer.payload, signature, policy.verifier);

  const payload = Buffer.from(
    layer.payload.buffer,
    layer.payload.byteOffset,
    layer.payload.byteLength
  );
  const maxBytes = policy.maxPayloadBytes ?? DEFAULT_MAX_ATTACHMENT_SIZE;
  let claims: SimpleSigningPayload | undefined;
  if (policy.checkClaims ?? true) {
    claims = decodeSimpleSigningPayload(payload, { maxBytes });
    checkClaims(claims, {
      digest: policy.digest,
      annotations: policy.annotations,
    });
  } else {
    try {
      claims = decodeSimpleSigningPayload(payload, { maxBytes });
    } catch {
      claims = undefined; // cosign prints a decode error for it instead
    }
  }
  return {
    payload,
    claims,
    signature,
    annotations: layer.annotations ?? {},
  };
}
