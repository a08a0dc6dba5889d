/**
 * The small interfaces signing orchestrates over. A real RegistryClient
 * (src/oci/registry.ts) and a real Signer (src/keys) satisfy them
 * structurally; tests may pass other implementations of the same shape.
 */
import type { KeyObject } from 'node:crypto';
import type { RepoRef } from '../oci/types.js';

/** A repository on a registry (a Reference satisfies it). */
export type { RepoRef } from '../oci/types.js';

/** The subset of RegistryClient that signing uses. */
export interface SignRegistry {
  /** undefined on 404. */
  headManifest(
    repo: RepoRef,
    tagOrDigest: string
  ): Promise<{ digest: string; mediaType: string; size: number } | undefined>;
  /** 404 → RegistryError REGISTRY_NOT_FOUND; digest computed locally. */
  getManifest(
    repo: RepoRef,
    tagOrDigest: string,
    opts?: { accept?: readonly string[]; maxBytes?: number }
  ): Promise<{ bytes: Buffer; mediaType: string; digest: string }>;
  putManifest(
    repo: RepoRef,
    tagOrDigest: string,
    bytes: Uint8Array,
    mediaType: string
  ): Promise<{ digest: string }>;
  putBlob(
    repo: RepoRef,
    bytes: Uint8Array,
    opts?: { digest?: string; probablyNew?: boolean }
  ): Promise<{ digest: string; size: number }>;
}

/** Signs payload bytes; the hash follows the key (src/keys Signer). */
export interface PayloadSigner {
  readonly publicKey: KeyObject;
  sign(data: Uint8Array): Promise<Buffer>;
}

/** Checks a signature with the current signer's key (cosign's dedup). */
export interface PayloadVerifier {
  verify(data: Uint8Array, signature: Uint8Array): boolean;
}

/** What libraries report instead of printing. */
export interface SignLogEvent {
  readonly level: 'debug' | 'info' | 'warn';
  readonly message: string;
}

export type SignLog = (event: SignLogEvent) => void;
