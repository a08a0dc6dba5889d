/**
 * Transparency-log flags shared by `sign` and `verify` (cosign names,
 * spec signature-storage.md §11, §13): `--rekor-url`, the trusted log keys
 * (`--rekor-public-key` / SIGSTORE_REKOR_PUBLIC_KEY, `--trusted-root` /
 * SIGSTORE_ROOT_FILE).
 */
import type { KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import { parsePublicKeyPem } from '../keys/index.js';
import type { SignLog } from '../sign/ports.js';
import { logUploader, type SignTlog } from '../sign/tlog.js';
import { RekorClient } from '../tlog/client.js';
import { trustedLogsFromTrustedRoot, type TrustedLog } from '../verify/tlog.js';
import { readUserFile, readUserJsonFile, withContext } from './password.js';

/** cosign's default log (options.DefaultRekorURL). */
export const DEFAULT_REKOR_URL = 'https://rekor.sigstore.dev';

const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

export interface TlogTrustFlags {
  rekorUrl?: string;
  rekorPublicKey?: string[];
  trustedRoot?: string;
}

export function addTlogTrustOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--rekor-url <url>',
        `transparency log address (env SIGNET_REKOR_URL or COSIGN_REKOR_URL; default ${DEFAULT_REKOR_URL})`
      )
    )
    .addOption(
      new Option(
        '--rekor-public-key <file>',
        'trusted log public key, PEM (repeatable; env SIGSTORE_REKOR_PUBLIC_KEY)'
      ).argParser((v: string, prev: string[] | undefined) => [
        ...(prev ?? []),
        v,
      ])
    )
    .addOption(
      new Option(
        '--trusted-root <file>',
        'Sigstore trusted_root.json whose tlogs are trusted'
      ).env('SIGSTORE_ROOT_FILE')
    );
}

/** --rekor-url, else SIGNET_REKOR_URL, else COSIGN_REKOR_URL, else cosign's default. */
export function rekorUrlFromFlags(flags: TlogTrustFlags): string {
  const env = (name: string): string | undefined => {
    const v = process.env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  return (
    flags.rekorUrl ??
    env('SIGNET_REKOR_URL') ??
    env('COSIGN_REKOR_URL') ??
    DEFAULT_REKOR_URL
  );
}

/** A log client for the flags (close it). */
export function rekorClientFromFlags(flags: TlogTrustFlags): RekorClient {
  return new RekorClient(rekorUrlFromFlags(flags), {
    userAgent: 'signet',
  });
}

/**
 * The log keys the user pinned: every --rekor-public-key (else the file in
 * SIGSTORE_REKOR_PUBLIC_KEY) plus the Rekor v1 logs of --trusted-root.
 * Empty when nothing was given.
 */
export async function pinnedTrustedLogs(
  flags: TlogTrustFlags
): Promise<(KeyObject | TrustedLog)[]> {
  const out: (KeyObject | TrustedLog)[] = [];
  let keyFiles = flags.rekorPublicKey ?? [];
  const envKey = process.env['SIGSTORE_REKOR_PUBLIC_KEY'];
  if (keyFiles.length === 0 && envKey !== undefined && envKey !== '') {
    keyFiles = [envKey];
  }
  for (const p of keyFiles) {
    const text = (
      await readUserFile(p, 'log public key', undefined, 'KEY_MALFORMED')
    ).toString('utf8');
    try {
      out.push(parsePublicKeyPem(text));
    } catch (e) {
      throw withContext(e, `loading log public key ${p}`);
    }
  }
  if (flags.trustedRoot !== undefined && flags.trustedRoot !== '') {
    const path = flags.trustedRoot;
    const { value } = await readUserJsonFile(
      path,
      'trusted root',
      MAX_TRUSTED_ROOT_BYTES
    );
    try {
      out.push(...trustedLogsFromTrustedRoot(value));
    } catch (e) {
      throw withContext(e, `reading trusted root ${path}`);
    }
  }
  return out;
}

/**
 * The log uploader for `sign`: the answer's SET must verify with a pinned
 * key; without one, the key the log serves at /api/v1/log/publicKey is
 * fetched and trusted on first use (weaker: whoever answers at the URL is
 * believed), with a warning.
 */
export function signTlogFromFlags(
  flags: TlogTrustFlags,
  log: SignLog
): { tlog: SignTlog; url: string; close(): Promise<void> } {
  const url = rekorUrlFromFlags(flags);
  const client = rekorClientFromFlags(flags);
  const tlog = logUploader({
    client,
    logName: url,
    log,
    trustedLogs: async () => {
      const pinned = await pinnedTrustedLogs(flags);
      if (pinned.length > 0) return pinned;
      const { key } = await client.getPublicKey();
      log({
        level: 'warn',
        message: `no transparency log key pinned (--rekor-public-key, SIGSTORE_REKOR_PUBLIC_KEY or --trusted-root): trusting the key served by ${url} (trust on first use)`,
      });
      return [key];
    },
  });
  return { tlog, url, close: () => client.close() };
}
