/**
 * Key generation with node:crypto. cosign's `generate-key-pair` makes ECDSA
 * P-256 keys only; the library (`GeneratePrivateKeyWithAlgorithm`) also
 * knows the other supported types, and so does Signet's `--algorithm`.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from './key-type.js';

export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm =
  'ecdsa-sha2-256-nistp256';

/** A fresh private key for the algorithm (Ed25519 for both Ed25519 names). */
export function generatePrivateKey(
  algorithm: SigningAlgorithm = DEFAULT_SIGNING_ALGORITHM
): KeyObject {
  switch (algorithm) {
    case 'ecdsa-sha2-256-nistp256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'ecdsa-sha2-384-nistp384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    case 'ecdsa-sha2-512-nistp521':
      return generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey;
    case 'ed25519':
    case 'ed25519-ph':
      return generateKeyPairSync('ed25519').privateKey;
    case 'rsa-sign-pkcs1-2048-sha256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'rsa-sign-pkcs1-3072-sha256':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
    case 'rsa-sign-pkcs1-4096-sha256':
      return generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey;
  }
}
