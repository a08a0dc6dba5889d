/**
 * Registry flags shared by every command that talks to a registry
 * (digest, manifest, and later sign/verify), spelled as cosign spells them.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { RegistryClient } from '../oci/registry.js';
import type { RegistryClientOptions } from '../oci/registry.js';
import { printEvent } from './events.js';

export interface RegistryFlags {
  allowHttpRegistry: boolean;
  allowInsecureRegistry: boolean;
}

/** Adds --allow-http-registry and --allow-insecure-registry to a command. */
export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--allow-http-registry',
        'allow plain HTTP to registries that are not loopback (loopback always may)'
      ).default(false)
    )
    .addOption(
      new Option(
        '--allow-insecure-registry',
        'skip TLS certificate verification for registries'
      ).default(false)
    );
}

/** A RegistryClient configured from the flags (credentials: Docker/Podman config). */
export function registryClientFromFlags(
  flags: RegistryFlags,
  extra: Partial<RegistryClientOptions> = {}
): RegistryClient {
  return new RegistryClient({
    allowHttp: flags.allowHttpRegistry,
    insecureSkipTlsVerify: flags.allowInsecureRegistry,
    log: printEvent,
    ...extra,
  });
}
