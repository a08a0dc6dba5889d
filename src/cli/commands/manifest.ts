import type { Command } from 'commander';
import type { FetchedManifest } from '../../oci/registry.js';
import { DEFAULT_TAG, parseReference } from '../../oci/reference.js';
import {
  addRegistryOptions,
  registryClientFromFlags,
} from '../registry-options.js';
import type { RegistryFlags } from '../registry-options.js';

/** A command that fetches IMAGE's manifest and prints something of it. */
function registerManifestCommand(
  program: Command,
  name: string,
  description: string,
  print: (m: FetchedManifest) => Promise<void>
): void {
  const cmd = program
    .command(name)
    .description(description)
    .argument('<image>', 'image reference, e.g. registry.example/app:1.0');
  addRegistryOptions(cmd).action(
    async (image: string, flags: RegistryFlags) => {
      const ref = parseReference(image);
      const client = registryClientFromFlags(flags);
      try {
        await print(
          await client.getManifest(ref, ref.digest ?? ref.tag ?? DEFAULT_TAG)
        );
      } finally {
        await client.close();
      }
    }
  );
}

function writeStdout(data: string | Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    process.stdout.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * `signet digest IMAGE`: prints the digest of the image's manifest, like
 * `crane digest`. The manifest is fetched and hashed locally, so the answer
 * is the digest of the bytes the registry serves, whatever its
 * Docker-Content-Digest header says.
 */
export function registerDigest(program: Command): void {
  registerManifestCommand(
    program,
    'digest',
    "print the digest of an image's manifest",
    (m) => writeStdout(`${m.digest}\n`)
  );
}

/**
 * `signet manifest IMAGE`: writes the image's manifest to stdout exactly as
 * the registry serves it (no reformatting, no trailing newline), like
 * `crane manifest`. A by-digest reference is checked against the bytes.
 */
export function registerManifest(program: Command): void {
  registerManifestCommand(
    program,
    'manifest',
    "print an image's raw manifest",
    (m) => writeStdout(m.bytes)
  );
}
