// Public API: re-exports only. Sub-paths (`signet/oci`, `signet/keys`,
// `signet/sign`, `signet/verify`, `signet/tlog`) give each area whole.
export * from './errors.js';
export {
  parseReference,
  RegistryClient,
  dockerCredentialProvider,
  type Reference,
  type RegistryClientOptions,
} from './oci/index.js';
export {
  decryptCosignKey,
  encryptCosignKey,
  generatePrivateKey,
  parsePublicKeyPem,
  publicKeyPem,
  signerFromPrivateKey,
  verifierFromPublicKey,
  type Signer,
  type Verifier,
} from './keys/index.js';
export { signImage, type SignOptions } from './sign/index.js';
export {
  verifyImageSignatures,
  verifyImages,
  verifyLogEntry,
  type VerifyImageOptions,
} from './verify/index.js';
export { RekorClient, type TlogClient } from './tlog/index.js';
