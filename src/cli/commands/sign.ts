/**
 * `signet sign --key K [-a k=v]... [-r] [--upload=false]
 *   [--output-signature F] [--output-payload F] IMAGE...`
 *
 * cosign-compatible key-based signing into `sha256-<hex>.sig` (mode A),
 * honouring COSIGN_REPOSITORY and COSIGN_DOCKER_MEDIA_TYPES.
 */
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { SignetError } from '../../errors.js';
import { signerFromPrivateKey } from '../../keys/index.js';
import { parseAnnotationsFlag } from '../../oci/cosign-layout.js';
import { parseReference, parseRepository } from '../../oci/reference.js';
import { signImage, type SignedObject } from '../../sign/index.js';
import { boolFlag, parseGoBool } from '../bool-flags.js';
import { loadPrivateKeyFile } from '../password.js';
import {
  addRegistryOptions,
  registryClientFromFlags,
  type RegistryFlags,
} from '../registry-options.js';
import {
  addTlogTrustOptions,
  signTlogFromFlags,
  type TlogTrustFlags,
} from '../tlog-options.js';
import { printEvent } from '../events.js';

interface SignFlags extends RegistryFlags, TlogTrustFlags {
  tlogUpload: boolean;
  key: string;
  annotations: string[];
  recursive: boolean;
  upload: boolean;
  outputSignature?: string;
  outputPayload?: string;
}

/**
 * File name for one signed object: as given when a single object is
 * signed, else with `-sha256-<hex>` appended (cosign with -r, #1257).
 */
export function outputFileName(
  base: string,
  digest: string,
  many: boolean
): string {
  return many ? `${base}-${digest.replace(':', '-')}` : base;
}

async function writeOutputs(
  signed: readonly SignedObject[],
  flags: SignFlags
): Promise<void> {
  const many = signed.length > 1;
  for (const s of signed) {
    if (flags.outputSignature !== undefined) {
      const f = outputFileName(flags.outputSignature, s.digest, many);
      await writeUserFile(f, s.signature.toString('base64'), 'signature');
    }
    if (flags.outputPayload !== undefined) {
      const f = outputFileName(flags.outputPayload, s.digest, many);
      await writeUserFile(f, s.payload, 'payload');
    }
  }
}

async function writeUserFile(
  path: string,
  data: string | Uint8Array,
  what: string
): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new SignetError('IO', `writing ${what} ${path}: ${code}`, {
      cause: e,
    });
  }
}

function targetRepositoryFromEnv():
  { registry: string; repository: string } | undefined {
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

async function runSign(images: string[], flags: SignFlags): Promise<void> {
  const annotations = parseAnnotationsFlag(flags.annotations);
  // Parse every reference before asking for a password.
  const refs = images.map((i) => parseReference(i));
  const targetRepository = targetRepositoryFromEnv();
  const docker =
    parseGoBool(process.env['COSIGN_DOCKER_MEDIA_TYPES'] ?? '') ?? false;
  const key = await loadPrivateKeyFile(flags.key);
  const signer = signerFromPrivateKey(key);
  const client = registryClientFromFlags(flags);
  // ---- transparency log (src/sign/tlog.ts, src/cli/tlog-options.ts) ----
  // On by default (cosign v2+); COSIGN_EXPERIMENTAL=1 (v1: "upload to the
  // log") is accepted and changes nothing; --tlog-upload=false skips it.
  const log = flags.tlogUpload
    ? signTlogFromFlags(flags, printEvent)
    : undefined;
  try {
    const all: SignedObject[] = [];
    for (const ref of refs) {
      const signed = await signImage(ref, {
        registry: client,
        signer,
        annotations,
        recursive: flags.recursive,
        upload: flags.upload,
        dockerMediaTypes: docker,
        log: printEvent,
        ...(targetRepository !== undefined ? { targetRepository } : {}),
        ...(log !== undefined ? { tlog: log.tlog } : {}),
      });
      all.push(...signed);
      for (const s of signed) {
        const u = s.upload;
        if (u !== undefined && u.added === 0) {
          process.stderr.write(
            `Signature for ${s.reference} already present in ${s.signatureRepository}:${s.signatureTag}; nothing added\n`
          );
        } else if (u !== undefined && u.conflicts > 0) {
          process.stderr.write(
            `Signature for ${s.reference} stored after ${u.conflicts} concurrent overwrite(s) were detected and merged\n`
          );
        }
      }
    }
    await writeOutputs(all, flags);
  } finally {
    await client.close();
    await log?.close();
  }
}

export function registerSign(program: Command): void {
  const cmd = program
    .command('sign')
    .description(
      'sign container images and store the signatures in the registry (cosign .sig format)'
    )
    .argument('<image...>', 'image references (tag or digest)')
    .addOption(
      new Option('--key <file>', 'cosign private key file, or env://VAR')
        .env('COSIGN_KEY')
        .makeOptionMandatory()
    )
    .addOption(
      new Option(
        '-a, --annotations <key=value>',
        'extra key=value pairs to sign into the payload (repeatable)'
      )
        .argParser((v: string, prev: string[]) => [...prev, v])
        .default([])
    )
    .option(
      '-r, --recursive',
      'with an index: sign the index and every child manifest',
      false
    )
    .addOption(
      new Option(
        '--upload [bool]',
        'store the signature in the registry (--upload=false: only sign)'
      )
        .argParser(boolFlag('upload'))
        .default(true)
        .preset(true)
        .env('COSIGN_UPLOAD')
    )
    .addOption(
      new Option(
        '--tlog-upload [bool]',
        'record the signature in the transparency log and store its bundle (--tlog-upload=false: skip)'
      )
        .argParser(boolFlag('tlog-upload'))
        .default(true)
        .preset(true)
        .env('COSIGN_TLOG_UPLOAD')
    )
    .option(
      '--output-signature <file>',
      'write the base64 signature to this file'
    )
    .option('--output-payload <file>', 'write the signed payload to this file')
    .action(async (images: string[], flags: SignFlags) => {
      await runSign(images, flags);
    });
  addRegistryOptions(cmd);
  addTlogTrustOptions(cmd);
}
