/**
 * `signet verify --key PUB [-a k=v]... [--check-claims=false]
 *   [-o json|text] [--max-workers N] IMAGE...`
 *
 * cosign-compatible key-based verification of `.sig` signatures (mode A):
 * stderr carries cosign's header and list of checks, stdout the verified
 * payloads (a compact JSON array per image, or the raw payloads with
 * `-o text`). Exit codes as cosign: 10 no signatures, 11 image not found,
 * 12 no matching signature (see docs/exit-codes.md for the rest).
 * Honours COSIGN_REPOSITORY and COSIGN_MAX_ATTACHMENT_SIZE.
 */
import { Option, type Command } from 'commander';
import { SignetError, UsageError } from '../../errors.js';
import { parsePublicKeyPem, verifierFromPublicKey } from '../../keys/index.js';
import { parseAnnotationsFlag } from '../../oci/cosign-layout.js';
import {
  formatReference,
  parseReference,
  parseRepository,
  type Reference,
} from '../../oci/reference.js';
import type { RepoRef } from '../../oci/registry.js';
import {
  DEFAULT_MAX_ATTACHMENT_SIZE,
  parseByteSize,
  verifyImages,
  type ImageVerification,
} from '../../verify/image.js';
import { readUserFile, withContext } from '../password.js';
import {
  addRegistryOptions,
  registryClientFromFlags,
  type RegistryFlags,
} from '../registry-options.js';
import { boolFlag } from '../bool-flags.js';
import {
  addVerifyTlogOptions,
  marshalVerifiedPayload,
  tlogHeaderLines,
  verifyTlogPolicyFromFlags,
  type VerifyTlogFlags,
} from '../verify-tlog-options.js';
import { printEvent } from '../events.js';

interface VerifyFlags extends RegistryFlags, VerifyTlogFlags {
  key: string;
  annotations: string[];
  checkClaims: boolean;
  output: string;
  maxWorkers: number;
}

/** Images verified at once in one invocation (output stays in argument order). */
const IMAGE_CONCURRENCY = 16;

/** `--key`: a PEM public key file, or `env://NAME` holding the PEM (as cosign). */
async function loadVerifier(keyRef: string) {
  let text: string;
  if (keyRef.startsWith('env://')) {
    const name = keyRef.slice('env://'.length);
    const value = process.env[name];
    if (value === undefined || value === '') {
      throw new UsageError(`environment variable ${name} is not set`);
    }
    text = value;
  } else {
    text = (
      await readUserFile(keyRef, 'public key', undefined, 'KEY_MALFORMED')
    ).toString('utf8');
  }
  try {
    return verifierFromPublicKey(parsePublicKeyPem(text));
  } catch (e) {
    throw withContext(e, `loading public key ${keyRef}`);
  }
}

function signatureRepositoryFromEnv(): RepoRef | undefined {
  const v = process.env['COSIGN_REPOSITORY'];
  if (v === undefined || v === '') return undefined;
  try {
    return parseRepository(v);
  } catch (e) {
    throw new SignetError(
      'INVALID_REFERENCE',
      `parsing $COSIGN_REPOSITORY: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    );
  }
}

/** COSIGN_MAX_ATTACHMENT_SIZE; like cosign, an unparsable value means the default. */
function maxAttachmentSizeFromEnv(): number {
  const v = process.env['COSIGN_MAX_ATTACHMENT_SIZE'];
  if (v === undefined) return DEFAULT_MAX_ATTACHMENT_SIZE;
  const n = parseByteSize(v);
  if (n === undefined) {
    printEvent({
      level: 'warn',
      message: `ignoring COSIGN_MAX_ATTACHMENT_SIZE=${JSON.stringify(v)}: not a size; using ${DEFAULT_MAX_ATTACHMENT_SIZE} bytes`,
    });
    return DEFAULT_MAX_ATTACHMENT_SIZE;
  }
  return n;
}

/** cosign PrintVerificationHeader, for key-based verification. */
function header(
  ref: Reference,
  checks: { claims: boolean; annotations: boolean },
  v: ImageVerification
): string {
  const lines = [
    '',
    `Verification for ${formatReference(ref)} --`,
    'The following checks were performed on each of these signatures:',
  ];
  if (checks.claims) {
    if (checks.annotations) {
      lines.push('  - The specified annotations were verified.');
    }
    lines.push('  - The cosign claims were validated');
  }
  // ---- transparency log: cosign's lines for the checks that ran ----------
  lines.push(...tlogHeaderLines(v));
  lines.push(
    '  - The signatures were verified against the specified public key'
  );
  return lines.join('\n') + '\n';
}

/** cosign PrintVerification: stdout for one image. */
function output(v: ImageVerification, format: 'json' | 'text'): string {
  if (format === 'text') {
    return v.signatures.map((s) => `${s.payload.toString('utf8')}\n`).join('');
  }
  const items: string[] = [];
  for (const s of v.signatures) {
    if (s.claims === undefined) {
      // cosign prints the Go decode error instead of the array (only
      // possible with --check-claims=false).
      return 'error decoding the payload: the payload is not a simple-signing document\n';
    }
    // ---- transparency log: cosign adds "Bundle" (the verified
    // dev.sigstore.cosign/bundle annotation) to `optional`. ---------------
    items.push(marshalVerifiedPayload({ ...s, claims: s.claims }));
  }
  return `\n[${items.join(',')}]\n`;
}

async function runVerify(images: string[], flags: VerifyFlags): Promise<void> {
  if (flags.output !== 'json' && flags.output !== 'text') {
    throw new UsageError(
      `invalid output format ${JSON.stringify(flags.output)}: expected json or text`
    );
  }
  const format = flags.output;
  if (!Number.isSafeInteger(flags.maxWorkers) || flags.maxWorkers < 1) {
    throw new UsageError('--max-workers must be a positive integer');
  }
  const annotations =
    flags.annotations.length > 0
      ? parseAnnotationsFlag(flags.annotations)
      : undefined;
  const refs = images.map((i) => parseReference(i));
  const signatureRepository = signatureRepositoryFromEnv();
  const maxAttachmentSize = maxAttachmentSizeFromEnv();
  const verifier = await loadVerifier(flags.key);
  // ---- transparency log: --insecure-ignore-tlog / --offline / --rekor-url
  // and the trusted log keys become a tlog policy (src/cli/verify-tlog-options.ts).
  const tlog = await verifyTlogPolicyFromFlags(
    flags,
    verifier.publicKey,
    printEvent
  );

  const client = registryClientFromFlags(flags);
  try {
    const results = await verifyImages(client, refs, {
      verifier,
      annotations,
      checkClaims: flags.checkClaims,
      signatureRepository,
      maxAttachmentSize,
      maxWorkers: flags.maxWorkers,
      concurrency: IMAGE_CONCURRENCY,
      log: printEvent,
      ...(tlog !== undefined && { tlog: tlog.policy }),
    });
    // As cosign: images in argument order; the first failure ends the run.
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') throw r.reason;
      process.stderr.write(
        header(
          refs[i]!,
          {
            claims: flags.checkClaims,
            annotations: annotations !== undefined,
          },
          r.value
        )
      );
      process.stdout.write(output(r.value, format));
    }
  } finally {
    await client.close();
    await tlog?.close();
  }
}

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .description(
      'verify the signatures of container images (cosign .sig format) with a public key'
    )
    .argument('<image...>', 'image references (tag or digest)')
    .addOption(
      new Option('--key <file>', 'public key file (PEM), or env://VAR')
        .env('COSIGN_KEY')
        .makeOptionMandatory()
    )
    .addOption(
      new Option(
        '-a, --annotations <key=value>',
        'require this key=value in the signed payload (repeatable)'
      )
        .argParser((v: string, prev: string[]) => [...prev, v])
        .default([])
    )
    .addOption(
      new Option(
        '--check-claims [bool]',
        'check the payload names the image digest and the -a annotations'
      )
        .argParser(boolFlag('check-claims'))
        .default(true)
        .preset(true)
        .env('COSIGN_CHECK_CLAIMS')
    )
    .addOption(
      new Option('-o, --output <format>', 'output format: json or text')
        .default('json')
        .env('COSIGN_OUTPUT')
    )
    .addOption(
      new Option(
        '--max-workers <n>',
        'signature layers fetched and verified in parallel per image'
      )
        .argParser((v: string) => Number(v))
        .default(10)
        .env('COSIGN_MAX_WORKERS')
    )
    .action(async (images: string[], flags: VerifyFlags) => {
      await runVerify(images, flags);
    });
  addRegistryOptions(cmd);
  addVerifyTlogOptions(cmd);
}
