// Keys: cosign key files, PEM import/export, signers and verifiers.
export {
  SIGNING_ALGORITHMS,
  describeKey,
  isSigningAlgorithm,
  type HashAlgorithm,
  type KeyInfo,
  type SigningAlgorithm,
} from './key-type.js';
export {
  COSIGN_PRIVATE_KEY_LABEL,
  DEFAULT_SCRYPT_N,
  SCRYPT_N_VALUES,
  SIGSTORE_PRIVATE_KEY_LABEL,
  decryptCosignKey,
  decryptCosignKeyAsync,
  encryptCosignKey,
  parseKeyEnvelope,
  type CosignKeyLabel,
  type EncryptOptions,
  type KeyEnvelope,
  type ScryptN,
} from './envelope.js';
export {
  importPrivateKeyPem,
  parsePublicKeyPem,
  publicKeyDer,
  publicKeyPem,
} from './pem-keys.js';
export {
  signerFromPrivateKey,
  verifierFromPublicKey,
  type Signer,
  type SignerOptions,
  type Verifier,
} from './signer.js';
export { ed25519phSignDigest, ed25519phVerifyDigest } from './ed25519ph.js';
export { DEFAULT_SIGNING_ALGORITHM, generatePrivateKey } from './generate.js';
