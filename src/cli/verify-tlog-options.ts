/**
 * `verify`'s transparency-log flags (cosign names): `--insecure-ignore-tlog`
 * (alias `--private-infrastructure`), `--offline`, plus the shared
 * `--rekor-url`, `--rekor-public-key`, `--trusted-root`.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { formatCosignBundle } from '../tlog/bundle.js';
import {
  marshalSimpleSigningPayload,
  type SimpleSigningPayload,
} from '../verify/payload.js';
import type { VerifiedSignature } from '../verify/signature.js';
import type { TlogPolicy } from '../verify/tlog-bundle.js';
import type { ImageVerification, LogEvent } from '../verify/image.js';
import { boolFlag } from './bool-flags.js';
import {
  addTlogTrustOptions,
  pinnedTrustedLogs,
  rekorClientFromFlags,
  type TlogTrustFlags,
} from './tlog-options.js';

/** cosign's warning (cmd/cosign/cli/verify/verify.go). */
export const IGNORE_TLOG_WARNING =
  'Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.';

export interface VerifyTlogFlags extends TlogTrustFlags {
  insecureIgnoreTlog: boolean;
  privateInfrastructure: boolean;
  offline: boolean;
}

export function addVerifyTlogOptions(cmd: Command): Command {
  addTlogTrustOptions(cmd);
  return cmd
    .addOption(
      new Option(
        '--insecure-ignore-tlog [bool]',
        'do not require the signature to be in the transparency log (insecure)'
      )
        .argParser(boolFlag('insecure-ignore-tlog'))
        .default(false)
        .preset(true)
        .env('COSIGN_INSECURE_IGNORE_TLOG')
    )
    .addOption(
      new Option(
        '--private-infrastructure [bool]',
        'alias of --insecure-ignore-tlog'
      )
        .argParser(boolFlag('private-infrastructure'))
        .default(false)
        .preset(true)
        .env('COSIGN_PRIVATE_INFRASTRUCTURE')
    )
    .addOption(
      new Option(
        '--offline [bool]',
        'only verify bundles; never look entries up in the log'
      )
        .argParser(boolFlag('offline'))
        .default(false)
        .preset(true)
        .env('COSIGN_OFFLINE')
    );
}

/**
 * The tlog policy for the flags, or undefined with --insecure-ignore-tlog
 * (after cosign's warning). Needs at least one pinned log key: verification
 * never trusts a key served by the log it is checking.
 */
export async function verifyTlogPolicyFromFlags(
  flags: VerifyTlogFlags,
  publicKey: KeyObject,
  log: (e: LogEvent) => void
): Promise<{ policy: TlogPolicy; close(): Promise<void> } | undefined> {
  if (flags.insecureIgnoreTlog || flags.privateInfrastructure) {
    log({ level: 'warn', message: IGNORE_TLOG_WARNING });
    return undefined;
  }
  const trustedLogs = await pinnedTrustedLogs(flags);
  if (trustedLogs.length === 0) {
    throw new UsageError(
      'no trusted transparency log key: give --rekor-public-key (or SIGSTORE_REKOR_PUBLIC_KEY) or --trusted-root, or skip the log check with --insecure-ignore-tlog'
    );
  }
  if (flags.offline) {
    return {
      policy: { trustedLogs, publicKey },
      close: () => Promise.resolve(),
    };
  }
  const client = rekorClientFromFlags(flags);
  return {
    policy: { trustedLogs, publicKey, client },
    close: () => client.close(),
  };
}

/** cosign's header lines for the transparency checks that ran on an image. */
export function tlogHeaderLines(v: ImageVerification): string[] {
  const modes = new Set(v.signatures.map((s) => s.tlog?.mode));
  const lines: string[] = [];
  if (modes.has('bundle')) {
    lines.push(
      '  - Existence of the claims in the transparency log was verified offline'
    );
  }
  if (modes.has('online')) {
    lines.push(
      '  - The claims were present in the transparency log',
      '  - The signatures were integrated into the transparency log when the certificate was valid'
    );
  }
  return lines;
}

/**
 * One element of `verify -o json` as cosign prints it (PrintVerification):
 * the payload re-marshalled, with `optional.Bundle` set to the layer's
 * bundle annotation when its bundle was verified (Go map order: the key
 * sorts among the others; a payload's own `Bundle` is replaced).
 */
export function marshalVerifiedPayload(
  s: VerifiedSignature & { claims: SimpleSigningPayload }
): string {
  if (s.tlog?.mode !== 'bundle') return marshalSimpleSigningPayload(s.claims);
  const placeholder = `signet-bundle-${randomBytes(16).toString('hex')}`;
  const text = marshalSimpleSigningPayload({
    ...s.claims,
    optional: { ...(s.claims.optional ?? {}), Bundle: placeholder },
  });
  return text.replace(`"${placeholder}"`, () =>
    formatCosignBundle(s.tlog!.entry)
  );
}
