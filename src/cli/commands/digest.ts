import type { Command } from 'commander';
import { parseReference } from '../../oci/reference.js';
import {
  addRegistryOptions,
  registryClientFromFlags,
} from '../registry-options.js';
import type { RegistryFlags } from '../registry-options.js';

/**
 * `signet digest IMAGE`: prints the digest of the image's manifest, like
 * `crane digest`. The manifest is fetched and hashed locally, so the answer
 * is the digest of the bytes the registry serves, whatever its
 * Docker-Content-Digest header says.
 */
export function registerDigest(program: Command): void {
  const cmd = program
    .command('digest')
    .description("print the digest of an image's manifest")
    .argument('<image>', 'image reference, e.g. registry.example/app:1.0');
  addRegistryOptions(cmd).action(
    async (image: string, flags: RegistryFlags) => {
      const ref = parseReference(image);
      const client = registryClientFromFlags(flags);
      try {
        const m = await client.getManifest(
          ref,
          ref.digest ?? ref.tag ?? 'latest'
        );
        process.stdout.write(`${m.digest}\n`);
      } finally {
        await client.close();
      }
    }
  );
}
