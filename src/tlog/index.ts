// Transparency log: Merkle proofs, checkpoints, SETs, entries, the client.
export {
  leafHash,
  nodeHash,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export {
  computeLogId,
  formatCheckpoint,
  parseCheckpoint,
  parseSignedNote,
  rekorKeyHint,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
} from './checkpoint.js';
export { setPayload, signSET, verifySET } from './set.js';
export {
  formatCosignBundle,
  parseCosignBundle,
  parseRekorLogEntry,
  parseSigstoreBundle,
  toRekorLogEntry,
  type InclusionProof,
  type LogEntry,
} from './bundle.js';
export { RekorClient, type TlogClient } from './client.js';
