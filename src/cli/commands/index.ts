import type { Command } from 'commander';
import { registerTlog } from './tlog.js';
import { registerGenerateKeyPair } from './generate-key-pair.js';
import { registerImportKeyPair } from './import-key-pair.js';
import { registerPublicKey } from './public-key.js';
import { registerSign } from './sign.js';
import { registerVerify } from './verify.js';
import { registerDigest } from './digest.js';
import { registerManifest } from './manifest.js';

/**
 * Every command registers itself here, one line each, in the order they
 * appear in `signet --help`.
 */
export function registerCommands(program: Command): void {
  registerTlog(program);
  registerGenerateKeyPair(program);
  registerImportKeyPair(program);
  registerPublicKey(program);
  registerSign(program);
  registerVerify(program);
  registerDigest(program);
  registerManifest(program);
}
