/**
 * Shared helpers for the sign tests: fresh keys, a hermetic registry
 * client, and reading a signature manifest back.
 */
import { generateKeyPairSync } from 'node:crypto';
import { decodeBase64Strict } from '../../src/core/encoding.js';
import {
  signerFromPrivateKey,
  verifierFromPublicKey,
  type Signer,
  type Verifier,
} from '../../src/keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  parseSignatureManifest,
  type ParsedSignatureManifest,
} from '../../src/oci/cosign-layout.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { RegistryClient, type RepoRef } from '../../src/oci/registry.js';
import { MANIFEST_ACCEPT } from '../../src/oci/types.js';

export interface TestKey {
  signer: Signer;
  verifier: Verifier;
}

export function newKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  return {
    signer: signerFromPrivateKey(privateKey),
    verifier: verifierFromPublicKey(publicKey),
  };
}

export function newClient(): RegistryClient {
  return new RegistryClient({ credentials: staticCredentialProvider({}) });
}

export interface StoredSignatures {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  manifest: ParsedSignatureManifest;
}

export async function readSignatures(
  client: RegistryClient,
  repo: RepoRef,
  tag: string
): Promise<StoredSignatures> {
  const m = await client.getManifest(repo, tag, { accept: MANIFEST_ACCEPT });
  return {
    bytes: m.bytes,
    mediaType: m.mediaType,
    digest: m.digest,
    manifest: parseSignatureManifest(m.bytes),
  };
}

/**
 * How many layers of the stored manifest carry a signature that verifies
 * with `key` over the layer blob fetched (digest-checked) from the registry.
 */
export async function countVerified(
  client: RegistryClient,
  repo: RepoRef,
  stored: StoredSignatures,
  key: Verifier
): Promise<number> {
  let n = 0;
  for (const l of stored.manifest.layers) {
    const sig = decodeBase64Strict(l.annotations?.[SIGNATURE_ANNOTATION] ?? '');
    if (sig === undefined) continue;
    const blob = await client.getBlob(repo, l.digest, { expectedSize: l.size });
    if (key.verify(blob, sig)) n++;
  }
  return n;
}
