/**
 * Registry flags shared by every command that talks to a registry
 * (digest, manifest, and later sign/verify), spelled as cosign spells them.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { RegistryClient } from '../oci/registry.js';
import type { RegistryClientOptions } from '../oci/registry.js';
import type { LogEvent } from '../oci/transport.js';

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

function debugEnabled(): boolean {
  const v = process.env['SIGNET_DEBUG'];
  return v !== undefined && v !== '' && v !== '0';
}

/** Prints registry warnings on stderr; debug detail only with SIGNET_DEBUG. */
export function printRegistryEvent(e: LogEvent): void {
  if (e.level === 'debug' && !debugEnabled()) return;
  process.stderr.write(`${e.level}: ${e.message}\n`);
}

/** A RegistryClient configured from the flags (credentials: Docker/Podman config). */
export function registryClientFromFlags(
  flags: RegistryFlags,
  extra: Partial<RegistryClientOptions> = {}
): RegistryClient {
  return new RegistryClient({
    allowHttp: flags.allowHttpRegistry,
    insecureSkipTlsVerify: flags.allowInsecureRegistry,
    log: printRegistryEvent,
    ...extra,
  });
}
