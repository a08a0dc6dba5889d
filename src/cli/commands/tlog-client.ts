import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Option } from 'commander';
import { SignetError, UsageError, VerificationError } from '../../errors.js';
import { decodeBase64Strict } from '../../core/encoding.js';
import { decodePemBlocks } from '../../core/pem.js';
import { parsePublicKeyPem } from '../../keys/index.js';
import { readUserFile, readUserJsonFile, withContext } from '../password.js';
import { RekorClient } from '../../tlog/client.js';
import {
  decodeEntryBody,
  entryArtifactDigest,
  entryIdOf,
  hashedRekordProposal,
  parseCosignBundle,
  parseRekorLogEntry,
  parseRekorLogEntryAnon,
  parseSigstoreBundle,
  toRekorLogEntry,
  type LogEntry,
  type SigstoreBundle,
} from '../../tlog/bundle.js';
import { verifyCheckpoint, type Checkpoint } from '../../tlog/checkpoint.js';
import { verifyConsistency } from '../../tlog/merkle.js';
import {
  trustedLogsFromTrustedRoot,
  verifyEntryBodyBinding,
  verifyLogEntry,
  type LogEntryVerification,
  type TrustedLog,
} from '../../verify/tlog.js';

/**
 * `signet tlog upload|get|verify|info`: a rekor-cli-like client for any
 * Rekor v1 log (ours or the public instance). `verify` is fully offline.
 */

const DEFAULT_REKOR_URL = 'https://rekor.sigstore.dev';
const MAX_ENTRY_FILE_BYTES = 64 * 1024 * 1024;

function rekorUrlOption(): Option {
  return new Option('--rekor-url <url>', 'address of the Rekor v1 log')
    .env('SIGNET_REKOR_URL')
    .default(DEFAULT_REKOR_URL);
}

function rekorKeyOption(): Option {
  return new Option(
    '--rekor-public-key <file>',
    'trusted log public key (PEM); repeat for several logs'
  )
    .env('SIGSTORE_REKOR_PUBLIC_KEY')
    .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
}

async function loadLogKeys(
  paths: readonly string[] | undefined
): Promise<KeyObject[]> {
  const out: KeyObject[] = [];
  for (const p of paths ?? []) {
    const text = (
      await readUserFile(p, 'log public key', undefined, 'KEY_MALFORMED')
    ).toString('utf8');
    try {
      out.push(parsePublicKeyPem(text));
    } catch (e) {
      throw withContext(e, `loading log public key ${p}`);
    }
  }
  return out;
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  return (await readUserJsonFile(path, what, MAX_ENTRY_FILE_BYTES)).value;
}

async function writeUserFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new SignetError('IO', `writing ${path}: ${code}`, { cause: e });
  }
}

async function hashFile(path: string, algorithm: string): Promise<string> {
  const h = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new SignetError('IO', `reading artifact ${path}: ${code}`, {
      cause: e,
    });
  }
  return h.digest('hex');
}

/** A signature file holds base64 text (as cosign writes it) or raw bytes. */
function signatureBytes(data: Buffer): Buffer {
  const text = data.toString('utf8').trim();
  const decoded = decodeBase64Strict(text);
  return decoded !== undefined && decoded.length > 0 ? decoded : data;
}

function isoTime(unixSeconds: bigint): string {
  return new Date(Number(unixSeconds) * 1000).toISOString();
}

function describeChecks(v: LogEntryVerification): string {
  const parts: string[] = [];
  if (v.checks.includes('entry-id')) parts.push('entry ID matches body');
  if (v.checks.includes('kind-version')) parts.push('kind/version match body');
  if (v.checks.includes('signed-entry-timestamp'))
    parts.push('signed entry timestamp');
  if (v.checkpoint !== undefined) {
    parts.push(
      `checkpoint (${v.checkpoint.origin}, size ${v.checkpoint.size})`
    );
  }
  if (v.checks.includes('inclusion-proof')) parts.push('inclusion proof');
  return parts.join(', ');
}

function printEntry(entry: LogEntry, url: string | undefined): void {
  const id = entryIdOf(entry);
  const lines = [
    `LogID: ${entry.logID.toString('hex')}`,
    `Index: ${entry.logIndex}`,
    `IntegratedTime: ${isoTime(entry.integratedTime)}`,
    `UUID: ${id}`,
  ];
  if (url !== undefined) lines.push(`URL: ${url}/api/v1/log/entries/${id}`);
  let body: string;
  try {
    body = JSON.stringify(decodeEntryBody(entry.body));
  } catch {
    body = entry.body.toString('base64');
  }
  lines.push(`Body: ${body}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printJson(entry: LogEntry): void {
  process.stdout.write(`${JSON.stringify(toRekorLogEntry(entry), null, 2)}\n`);
}

function reportVerified(v: LogEntryVerification, id: string): void {
  process.stderr.write(
    `Verified log entry ${v.logIndex} (${id}) integrated ${isoTime(v.integratedTime)} by log ${v.logID}: ${describeChecks(v)}\n`
  );
}

interface UploadOpts {
  artifact: string;
  signature: string;
  publicKey: string;
  hash: 'sha256' | 'sha384' | 'sha512';
  rekorUrl: string;
  rekorPublicKey?: string[];
  json?: boolean;
}

async function upload(o: UploadOpts): Promise<void> {
  const sig = signatureBytes(await readUserFile(o.signature, 'signature'));
  const pem = (
    await readUserFile(o.publicKey, 'public key', undefined, 'KEY_MALFORMED')
  ).toString('utf8');
  // The verifier may be a public key or a certificate; parse it to fail early.
  let key: KeyObject;
  let certificate: Buffer | undefined;
  try {
    const block = decodePemBlocks(pem)[0];
    if (block?.label === 'CERTIFICATE') {
      certificate = block.der;
      key = new X509Certificate(block.der).publicKey;
    } else {
      key = parsePublicKeyPem(pem);
    }
  } catch (e) {
    throw withContext(e, `loading public key ${o.publicKey}`);
  }
  const hex = await hashFile(o.artifact, o.hash);
  const client = new RekorClient(o.rekorUrl, {
    log: (e) => {
      if (e.level !== 'debug') process.stderr.write(`${e.message}\n`);
    },
  });
  try {
    const { entry, created } = await client.createEntry(
      hashedRekordProposal({
        signature: sig,
        verifierPem: pem,
        digest: { algorithm: o.hash, hex },
      })
    );
    // Check what the log says it logged before telling the user it did.
    verifyEntryBodyBinding(entry.body, {
      signature: sig,
      digest: { algorithm: o.hash, hex },
      ...(certificate !== undefined ? { certificate } : { publicKey: key }),
    });
    const trusted = await loadLogKeys(o.rekorPublicKey);
    const logKeys =
      trusted.length > 0 ? trusted : [(await client.getPublicKey()).key];
    const v = verifyLogEntry(entry, logKeys, {
      requireSET: true,
      now: new Date(),
    });
    const id = entryIdOf(entry);
    if (o.json) printJson(entry);
    else {
      process.stdout.write(
        `${created ? 'Created entry' : 'Entry already exists'} at index ${entry.logIndex}, available at: ${client.baseUrl}/api/v1/log/entries/${id}\n`
      );
    }
    reportVerified(v, id);
    if (trusted.length === 0) {
      process.stderr.write(
        'note: checked with the key the log serves; pass --rekor-public-key to check against a trusted key\n'
      );
    }
  } finally {
    await client.close();
  }
}

interface GetOpts {
  logIndex?: string;
  uuid?: string;
  rekorUrl: string;
  rekorPublicKey?: string[];
  json?: boolean;
}

async function get(o: GetOpts): Promise<void> {
  if ((o.logIndex === undefined) === (o.uuid === undefined)) {
    throw new UsageError('give exactly one of --log-index and --uuid');
  }
  if (
    o.logIndex !== undefined &&
    !/^(?:0|[1-9][0-9]{0,18})$/.test(o.logIndex)
  ) {
    throw new UsageError(
      `--log-index ${o.logIndex}: not a non-negative integer`
    );
  }
  const trusted = await loadLogKeys(o.rekorPublicKey);
  const client = new RekorClient(o.rekorUrl);
  try {
    const entry =
      o.logIndex !== undefined
        ? await client.getEntryByIndex(BigInt(o.logIndex))
        : await client.getEntryByUuid(o.uuid as string);
    if (o.json) printJson(entry);
    else printEntry(entry, client.baseUrl);
    if (trusted.length > 0)
      reportVerified(
        verifyLogEntry(entry, trusted, { now: new Date() }),
        entryIdOf(entry)
      );
  } finally {
    await client.close();
  }
}

interface VerifyOpts {
  entry?: string;
  bundle?: string;
  trustedRoot?: string;
  artifact?: string;
  rekorPublicKey?: string[];
  requireProof?: boolean;
}

/** Entry file: a Rekor API LogEntry (`{"<id>": {…}}`) or a bare LogEntryAnon. */
function entryFromApiJson(v: unknown): LogEntry {
  if (typeof v === 'object' && v !== null && 'body' in v)
    return parseRekorLogEntryAnon(v);
  return parseRekorLogEntry(v);
}

/** Bundle file: a Sigstore bundle (all tlog entries) or a cosign bundle annotation. */
function entriesFromBundleJson(
  v: unknown,
  text: () => string
): { entries: LogEntry[]; bundle?: SigstoreBundle } {
  if (typeof v === 'object' && v !== null && 'SignedEntryTimestamp' in v) {
    return { entries: [parseCosignBundle(text())] };
  }
  const b = parseSigstoreBundle(v);
  if (b.tlogEntries.length === 0) {
    throw new SignetError(
      'MALFORMED_INPUT',
      'bundle has no transparency log entries'
    );
  }
  return { entries: [...b.tlogEntries], bundle: b };
}

const BUNDLE_DIGEST_ALGORITHMS: Record<string, string> = {
  SHA2_256: 'sha256',
  SHA2_384: 'sha384',
  SHA2_512: 'sha512',
};

/**
 * `--artifact`: the entry must name this file's digest; with a Sigstore
 * bundle's message signature and certificate, the entry must also be that
 * signature (verifyEntryBodyBinding), so a valid entry of another artifact
 * or signature is refused.
 */
async function checkArtifact(
  entry: LogEntry,
  path: string,
  bundle: SigstoreBundle | undefined
): Promise<string> {
  const named = entryArtifactDigest(entry.body);
  if (named === undefined) {
    throw new VerificationError(
      'TLOG_VERIFICATION',
      `log entry ${entry.logIndex} does not name an artifact digest (only hashedrekord and rekord do)`
    );
  }
  if (!['sha256', 'sha384', 'sha512'].includes(named.algorithm)) {
    throw new VerificationError(
      'TLOG_VERIFICATION',
      `log entry ${entry.logIndex} uses unsupported digest ${named.algorithm}`
    );
  }
  const hex = await hashFile(path, named.algorithm);
  if (hex !== named.hex) {
    throw new VerificationError(
      'TLOG_VERIFICATION',
      `log entry ${entry.logIndex} is for ${named.algorithm}:${named.hex}, not for ${path} (${named.algorithm}:${hex})`
    );
  }
  const ms = bundle?.messageSignature;
  const cert = bundle?.certificates[0];
  if (ms !== undefined) {
    if (
      BUNDLE_DIGEST_ALGORITHMS[ms.digestAlgorithm] !== named.algorithm ||
      ms.digest.toString('hex') !== hex
    ) {
      throw new VerificationError(
        'TLOG_VERIFICATION',
        `bundle message signature is over another digest than ${path}`
      );
    }
    if (cert !== undefined) {
      verifyEntryBodyBinding(entry.body, {
        signature: ms.signature,
        digest: named,
        certificate: cert,
      });
      return `artifact ${path} and the bundle's signature and certificate match the entry`;
    }
  }
  return `artifact ${path} matches the entry's digest`;
}

async function verify(o: VerifyOpts): Promise<void> {
  if ((o.entry === undefined) === (o.bundle === undefined)) {
    throw new UsageError('give exactly one of --entry and --bundle');
  }
  const trusted: (KeyObject | TrustedLog)[] = await loadLogKeys(
    o.rekorPublicKey
  );
  if (o.trustedRoot !== undefined) {
    trusted.push(
      ...trustedLogsFromTrustedRoot(
        await readJsonFile(o.trustedRoot, 'trusted root')
      )
    );
  }
  if (trusted.length === 0) {
    throw new UsageError(
      '--rekor-public-key (or SIGSTORE_REKOR_PUBLIC_KEY) or --trusted-root with a Rekor v1 log is required'
    );
  }
  let entries: LogEntry[];
  let bundle: SigstoreBundle | undefined;
  if (o.entry !== undefined) {
    entries = [entryFromApiJson(await readJsonFile(o.entry, 'log entry'))];
  } else {
    const path = o.bundle as string;
    const { value, text } = await readUserJsonFile(
      path,
      'bundle',
      MAX_ENTRY_FILE_BYTES
    );
    ({ entries, bundle } = entriesFromBundleJson(value, () => text));
  }
  for (const entry of entries) {
    const v = verifyLogEntry(entry, trusted, {
      requireInclusionProof: o.requireProof === true,
      now: new Date(),
    });
    const binding =
      o.artifact !== undefined
        ? await checkArtifact(entry, o.artifact, bundle)
        : undefined;
    const id = entryIdOf(entry);
    process.stdout.write(
      `Verified log entry ${v.logIndex} (${id}) integrated ${isoTime(v.integratedTime)} by log ${v.logID}: ${describeChecks(v)}${binding !== undefined ? `; ${binding}` : ''}\n`
    );
  }
}

interface InfoOpts {
  rekorUrl: string;
  rekorPublicKey?: string[];
  json?: boolean;
  previousCheckpoint?: string;
  checkpointOut?: string;
}

/**
 * Proves the log only grew since a checkpoint seen earlier (same tree):
 * equal sizes need equal roots (else the log shows a split view), larger
 * sizes need a valid RFC 9162 consistency proof from the log.
 */
async function checkConsistency(
  client: RekorClient,
  previous: Checkpoint,
  current: Checkpoint,
  treeId: string
): Promise<string> {
  if (previous.size > current.size) {
    throw new VerificationError(
      'TLOG_VERIFICATION',
      `log shrank from ${previous.size} to ${current.size} entries`
    );
  }
  if (previous.size === current.size) {
    if (!previous.rootHash.equals(current.rootHash)) {
      throw new VerificationError(
        'TLOG_VERIFICATION',
        `two checkpoints of size ${current.size} with different roots: the log shows a split view`
      );
    }
    return `unchanged since the previous checkpoint (size ${current.size})`;
  }
  if (previous.size === 0n) {
    return `grew from an empty tree to ${current.size}`;
  }
  const proof = await client.getConsistencyProof(
    previous.size,
    current.size,
    treeId
  );
  if (!proof.rootHash.equals(current.rootHash)) {
    throw new VerificationError(
      'TLOG_VERIFICATION',
      'consistency proof root differs from the signed checkpoint'
    );
  }
  verifyConsistency(
    previous.size,
    current.size,
    proof.hashes,
    previous.rootHash,
    current.rootHash
  );
  return `consistent with the previous checkpoint (size ${previous.size} → ${current.size})`;
}

async function info(o: InfoOpts): Promise<void> {
  const trusted = await loadLogKeys(o.rekorPublicKey);
  const client = new RekorClient(o.rekorUrl);
  try {
    const i = await client.getLogInfo();
    let verifiedBy: string | undefined;
    let verified: { key: KeyObject; cp: Checkpoint } | undefined;
    if (trusted.length > 0) {
      let lastError: unknown;
      for (const key of trusted) {
        try {
          const cp = verifyCheckpoint(i.signedTreeHead, key);
          if (cp.size !== i.treeSize || !cp.rootHash.equals(i.rootHash)) {
            throw new VerificationError(
              'TLOG_VERIFICATION',
              'log info tree size or root hash differs from its signed checkpoint'
            );
          }
          verifiedBy = cp.origin;
          verified = { key, cp };
          break;
        } catch (e) {
          lastError = e;
        }
      }
      if (verifiedBy === undefined) throw lastError;
    }
    let consistency: string | undefined;
    if (o.previousCheckpoint !== undefined) {
      if (verified === undefined) {
        throw new UsageError('--previous-checkpoint needs --rekor-public-key');
      }
      const text = (
        await readUserFile(o.previousCheckpoint, 'checkpoint', 1024 * 1024)
      ).toString('utf8');
      const previous = verifyCheckpoint(text, verified.key, {
        origin: verified.cp.origin,
      });
      consistency = await checkConsistency(
        client,
        previous,
        verified.cp,
        i.treeID
      );
    }
    if (o.checkpointOut !== undefined) {
      await writeUserFile(o.checkpointOut, i.signedTreeHead);
    }
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            rootHash: i.rootHash.toString('hex'),
            treeSize: Number(i.treeSize),
            signedTreeHead: i.signedTreeHead,
            treeID: i.treeID,
            inactiveShards: i.inactiveShards.map((s) => ({
              rootHash: s.rootHash.toString('hex'),
              treeSize: Number(s.treeSize),
              signedTreeHead: s.signedTreeHead,
              treeID: s.treeID,
            })),
          },
          null,
          2
        )}\n`
      );
    } else {
      process.stdout.write(
        [
          `Rekor URL: ${client.baseUrl}`,
          `Tree Size: ${i.treeSize}`,
          `Root Hash: ${i.rootHash.toString('hex')}`,
          `TreeID: ${i.treeID}`,
          `Inactive Shards: ${i.inactiveShards.length}`,
          `Checkpoint: ${verifiedBy !== undefined ? `verified (${verifiedBy})` : 'not verified (no --rekor-public-key)'}`,
          ...(consistency !== undefined ? [`Consistency: ${consistency}`] : []),
        ].join('\n') + '\n'
      );
    }
  } finally {
    await client.close();
  }
}

/** Registers `tlog upload`, `tlog get`, `tlog verify` and `tlog info` under `tlog`. */
export function registerTlogClient(tlog: Command): void {
  tlog
    .command('upload')
    .description('upload a signed artifact to the log as a hashedrekord entry')
    .requiredOption('--artifact <file>', 'the signed file')
    .requiredOption(
      '--signature <file>',
      'its signature (base64 text or raw bytes)'
    )
    .requiredOption(
      '--public-key <file>',
      'PEM public key or certificate that verifies it'
    )
    .addOption(
      new Option('--hash <algorithm>', 'digest the signature was made over')
        .choices(['sha256', 'sha384', 'sha512'])
        .default('sha256')
    )
    .addOption(rekorUrlOption())
    .addOption(rekorKeyOption())
    .option('--json', 'print the Rekor log entry JSON')
    .action((o: UploadOpts) => upload(o));

  tlog
    .command('get')
    .description('fetch a log entry by index or UUID')
    .option('--log-index <n>', 'global log index')
    .option('--uuid <id>', 'entry UUID (64 hex) or entry ID (80 hex)')
    .addOption(rekorUrlOption())
    .addOption(rekorKeyOption())
    .option(
      '--json',
      'print the Rekor log entry JSON (input for tlog verify --entry)'
    )
    .action((o: GetOpts) => get(o));

  tlog
    .command('verify')
    .description(
      'verify a log entry offline: SET, checkpoint signature and inclusion proof against trusted log keys'
    )
    .option('--entry <file>', 'Rekor API log entry JSON')
    .option(
      '--bundle <file>',
      'Sigstore bundle JSON or cosign bundle annotation JSON'
    )
    .addOption(rekorKeyOption())
    .option(
      '--artifact <file>',
      'also check the entry is for this file (and, for a bundle, its signature)'
    )
    .option(
      '--trusted-root <file>',
      'Sigstore trusted_root.json: trust its Rekor v1 logs (keys and validity)'
    )
    .option(
      '--require-proof',
      'fail unless the entry carries an inclusion proof'
    )
    .action((o: VerifyOpts) => verify(o));

  tlog
    .command('info')
    .description(
      'show the log size, root hash and checkpoint (verified with --rekor-public-key)'
    )
    .addOption(rekorUrlOption())
    .addOption(rekorKeyOption())
    .option('--json', 'print the log info JSON')
    .option(
      '--previous-checkpoint <file>',
      'a checkpoint saved earlier: prove the log only grew since (needs --rekor-public-key)'
    )
    .option('--checkpoint-out <file>', 'save the current signed checkpoint')
    .action((o: InfoOpts) => info(o));
}
