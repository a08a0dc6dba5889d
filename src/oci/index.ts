// OCI: image references, the registry client, credentials, cosign's layout.
export {
  DEFAULT_TAG,
  DOCKER_HUB_API_HOST,
  DOCKER_HUB_REGISTRY,
  apiHost,
  formatReference,
  parseReference,
  parseRepository,
  repositoryName,
  withDigest,
  type Reference,
} from './reference.js';
export {
  RegistryClient,
  type BlobDescriptor,
  type FetchedManifest,
  type RegistryClientOptions,
  type UploadMode,
} from './registry.js';
export {
  chainCredentialProviders,
  dockerCredentialProvider,
  staticCredentialProvider,
  type Credential,
  type CredentialProvider,
  type DockerCredentialProviderOptions,
} from './credentials.js';
export {
  BUNDLE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  attestationTag,
  buildSignatureImage,
  parseSignatureManifest,
  sbomTag,
  signatureTag,
  simpleSigningPayload,
} from './cosign-layout.js';
export * from './types.js';
