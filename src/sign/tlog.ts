/**
 * Transparency-log upload for `sign` (spec signature-storage.md §9.1,
 * §9.2): a `hashedrekord` 0.0.1 entry for the payload digest (the hash the
 * key signs with: sha256 for P-256 and RSA keys), the signature
 * and the PEM public key, then the `dev.sigstore.cosign/bundle` annotation
 * built from the entry the log returned.
 *
 * The entry is never stored unchecked: its SET must verify with a trusted
 * log key and its body must be about exactly this signature, key and
 * payload — a misbehaving or hostile log cannot make signet store a bundle
 * that `verify` would later reject (or, worse, one about something else).
 */
import type { KeyObject } from 'node:crypto';
import { TlogError, VerificationError } from '../errors.js';
import { publicKeyPem } from '../keys/index.js';
import {
  formatCosignBundle,
  hashedRekordProposal,
  type LogEntry,
} from '../tlog/bundle.js';
import type { TlogClient } from '../tlog/client.js';
import {
  verifyEntryBodyBinding,
  verifyLogEntry,
  type LogEntryVerification,
  type TrustedLog,
} from '../verify/tlog.js';
import { BUNDLE_ANNOTATION } from '../oci/cosign-layout.js';
import { entryDigest } from '../verify/tlog-bundle.js';
import type { SignLog } from './ports.js';

/** What signing needs to record one signature in a log. */
export interface SignTlog {
  /**
   * Uploads the entry for (payload, signature, key) and returns the verified
   * entry. Throws TlogError (transport, rejection) or VerificationError
   * TLOG_VERIFICATION (the log's answer does not check out).
   */
  record(input: TlogRecordInput): Promise<RecordedEntry>;
}

export interface TlogRecordInput {
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKey: KeyObject;
}

export interface RecordedEntry {
  readonly entry: LogEntry;
  /** False when the log already had the entry (409) and it was fetched. */
  readonly created: boolean;
  readonly verification: LogEntryVerification;
  /** The `dev.sigstore.cosign/bundle` annotation value. */
  readonly bundle: string;
}

export interface LogUploaderOptions {
  readonly client: Pick<TlogClient, 'createEntry'>;
  /**
   * The log keys an answer must be signed by; a function is called once,
   * on first use (e.g. to fetch the key from the log: trust on first use).
   */
  readonly trustedLogs:
    | readonly (KeyObject | TrustedLog)[]
    | (() => Promise<readonly (KeyObject | TrustedLog)[]>);
  /** Shown in messages, e.g. the log URL. */
  readonly logName?: string;
  readonly log?: SignLog;
}

/** The hashedrekord proposal cosign uploads for a signature (pkg/cosign/tlog.go). */
export function signatureProposal(input: TlogRecordInput): unknown {
  return hashedRekordProposal({
    signature: input.signature,
    verifierPem: publicKeyPem(input.publicKey),
    digest: entryDigest(input.payload, input.publicKey),
  });
}

/**
 * Checks a log's answer for a signature: trusted log ID, valid SET, and a
 * body bound to this signature, key and sha256(payload). Pure.
 */
export function checkRecordedEntry(
  entry: LogEntry,
  input: TlogRecordInput,
  trustedLogs: readonly (KeyObject | TrustedLog)[]
): LogEntryVerification {
  const verification = verifyLogEntry(entry, trustedLogs, {
    requireSET: true,
  });
  verifyEntryBodyBinding(entry.body, {
    signature: input.signature,
    digest: entryDigest(input.payload, input.publicKey),
    publicKey: input.publicKey,
  });
  return verification;
}

/** A SignTlog over a Rekor v1 API client. */
export function logUploader(opts: LogUploaderOptions): SignTlog {
  let trusted: Promise<readonly (KeyObject | TrustedLog)[]> | undefined;
  const trustedLogs = (): Promise<readonly (KeyObject | TrustedLog)[]> => {
    const t = opts.trustedLogs;
    trusted ??= typeof t === 'function' ? t() : Promise.resolve(t);
    return trusted;
  };
  const where = opts.logName !== undefined ? ` ${opts.logName}` : '';
  return {
    async record(input: TlogRecordInput): Promise<RecordedEntry> {
      const keys = await trustedLogs();
      const { entry, created } = await opts.client.createEntry(
        signatureProposal(input)
      );
      let verification: LogEntryVerification;
      try {
        verification = checkRecordedEntry(entry, input, keys);
      } catch (e) {
        if (e instanceof VerificationError) {
          throw new VerificationError(
            'TLOG_VERIFICATION',
            `the entry returned by the transparency log${where} does not verify: ${e.message}`,
            { cause: e }
          );
        }
        throw e;
      }
      if (entry.signedEntryTimestamp === undefined) {
        throw new TlogError(
          'TLOG_PROTOCOL',
          `the transparency log${where} returned an entry without a SignedEntryTimestamp`
        );
      }
      opts.log?.({
        level: 'info',
        message: created
          ? `tlog entry created with index: ${entry.logIndex}`
          : `tlog entry already present with index: ${entry.logIndex}`,
      });
      return {
        entry,
        created,
        verification,
        bundle: formatCosignBundle(entry),
      };
    },
  };
}

/** The layer annotations a recorded entry adds. */
export function bundleAnnotations(
  recorded: RecordedEntry
): Record<string, string> {
  return { [BUNDLE_ANNOTATION]: recorded.bundle };
}
