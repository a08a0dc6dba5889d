// Verification: image signatures (over a registry) and log entries (pure).
export {
  NoMatchingSignatureError,
  resolveImageDigest,
  verifyImageSignatures,
  verifyImages,
  type ImageVerification,
  type LayerFailure,
  type SignatureSource,
  type VerifyImageOptions,
} from './image.js';
export {
  checkClaims,
  decodeSimpleSigningPayload,
  type SimpleSigningPayload,
} from './payload.js';
export {
  verifyPayloadSignature,
  verifySignatureLayer,
  type VerifiedSignature,
} from './signature.js';
export {
  trustedLogsFromTrustedRoot,
  verifyEntryBodyBinding,
  verifyLogEntry,
  type LogEntryVerification,
  type TrustedLog,
} from './tlog.js';
export {
  verifyLayerBundle,
  verifyLayerTlog,
  type TlogPolicy,
} from './tlog-bundle.js';
