import { randomBytes, type KeyObject } from 'node:crypto';
import { link, open, rename, unlink, access } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { Option, type Command } from 'commander';
import { KeyError, SignetError } from '../../errors.js';
import {
  SIGNING_ALGORITHMS,
  encryptCosignKey,
  generatePrivateKey,
  publicKeyPem,
  DEFAULT_SIGNING_ALGORITHM,
  type SigningAlgorithm,
} from '../../keys/index.js';
import { canPrompt, promptYesNo, readPassword } from '../password.js';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decides whether existing output files may be replaced: yes with --yes,
 * else ask on a terminal (cosign: "File cosign.key already exists.
 * Overwrite?"), else refuse. Returns the overwrite decision; throws
 * KEY_FILE_EXISTS when refused.
 */
export async function confirmOverwrite(
  paths: readonly string[],
  yes: boolean
): Promise<boolean> {
  let any = false;
  for (const p of paths) {
    if (!(await exists(p))) continue;
    any = true;
    if (yes) continue;
    if (!canPrompt()) {
      throw new KeyError(
        'KEY_FILE_EXISTS',
        `file ${p} already exists; pass --yes to overwrite it`
      );
    }
    if (!(await promptYesNo(`File ${p} already exists. Overwrite?`))) {
      throw new KeyError('KEY_FILE_EXISTS', `not overwriting ${p}`);
    }
  }
  return any;
}

/**
 * Writes a file atomically: a new temporary file beside the target, created
 * with the final mode (O_EXCL, so never a pre-existing file or symlink),
 * fsynced, then moved into place. Without `overwrite` the move is a hard
 * link, which fails if the target appeared in the meantime.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
  overwrite: boolean
): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`
  );
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (overwrite) {
      await rename(tmp, path);
    } else {
      try {
        await link(tmp, path);
        await unlink(tmp);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // Filesystems without hard links: check, then rename (a small race).
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') {
          throw e;
        }
        if (await exists(path)) {
          throw Object.assign(new Error('file exists'), { code: 'EEXIST' });
        }
        await rename(tmp, path);
      }
    }
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new KeyError('KEY_FILE_EXISTS', `file ${path} already exists`, {
        cause: e,
      });
    }
    throw new SignetError('IO', `writing ${path}: ${code ?? String(e)}`, {
      cause: e,
    });
  }
}

/**
 * Asks for the new password (twice on a terminal), encrypts the key in
 * cosign's format and writes `<prefix>.key` (0600) and `<prefix>.pub`
 * (0644). The private key reaches the disk only encrypted.
 */
export async function writeKeyPair(
  key: KeyObject,
  prefix: string,
  overwrite: boolean
): Promise<void> {
  const keyPath = `${prefix}.key`;
  const pubPath = `${prefix}.pub`;
  const password = await readPassword({ confirm: true });
  let pem: string;
  try {
    pem = encryptCosignKey(key, password);
  } finally {
    password.fill(0);
  }
  await writeFileAtomic(keyPath, pem, 0o600, overwrite);
  process.stderr.write(`Private key written to ${keyPath}\n`);
  await writeFileAtomic(pubPath, publicKeyPem(key), 0o644, overwrite);
  process.stderr.write(`Public key written to ${pubPath}\n`);
}

export function registerGenerateKeyPair(program: Command): void {
  program
    .command('generate-key-pair')
    .description(
      'generate a key pair: <prefix>.key (encrypted, cosign format) and <prefix>.pub'
    )
    .option(
      '--output-key-prefix <prefix>',
      'write <prefix>.key and <prefix>.pub',
      'cosign'
    )
    .addOption(
      new Option('--signing-algorithm <name>', 'key type and signature scheme')
        .choices(SIGNING_ALGORITHMS)
        .default(DEFAULT_SIGNING_ALGORITHM)
    )
    .option('-y, --yes', 'overwrite existing files without asking')
    .option('-f, --force', 'same as --yes')
    .addHelpText(
      'after',
      '\nPassword: COSIGN_PASSWORD if set (even empty), else a prompt on a terminal, else all of standard input.'
    )
    .action(
      async (opts: {
        outputKeyPrefix: string;
        signingAlgorithm: SigningAlgorithm;
        yes?: boolean;
        force?: boolean;
      }) => {
        const prefix = opts.outputKeyPrefix;
        const overwrite = await confirmOverwrite(
          [`${prefix}.key`, `${prefix}.pub`],
          opts.yes === true || opts.force === true
        );
        const key = generatePrivateKey(opts.signingAlgorithm);
        await writeKeyPair(key, prefix, overwrite);
      }
    );
}
