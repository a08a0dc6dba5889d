// Signing: orchestration over a registry, a signer and cosign's layout.
export {
  appendSignatureLayers,
  isLayerPresent,
  isMediaTypeRejection,
  type AppendOptions,
  type AppendResult,
  type AppendTuning,
  type NewSignatureLayer,
} from './append.js';
export {
  signImage,
  tagWarning,
  type SignOptions,
  type SignedObject,
} from './sign.js';
export type {
  PayloadSigner,
  PayloadVerifier,
  RepoRef,
  SignLog,
  SignLogEvent,
  SignRegistry,
} from './ports.js';
export {
  bundleAnnotations,
  checkRecordedEntry,
  logUploader,
  signatureProposal,
  type LogUploaderOptions,
  type RecordedEntry,
  type SignTlog,
  type TlogRecordInput,
} from './tlog.js';
