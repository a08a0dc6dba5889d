import type { Command } from 'commander';
import { parseReference } from '../../oci/reference.js';
import {
  addRegistryOptions,
  registryClientFromFlags,
} from '../registry-options.js';
import type { RegistryFlags } from '../registry-options.js';

/**
 * `signet manifest IMAGE`: writes the image's manifest to stdout exactly as
 * the registry serves it (no reformatting, no trailing newline), like
 * `crane manifest`. A by-digest reference is checked against the bytes.
 */
export function registerManifest(program: Command): void {
  const cmd = program
    .command('manifest')
    .description("print an image's raw manifest")
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
        await new Promise<void>((resolve, reject) => {
          process.stdout.write(m.bytes, (err) =>
            err ? reject(err) : resolve()
          );
        });
      } finally {
        await client.close();
      }
    }
  );
}
