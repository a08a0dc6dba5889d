import type { Command } from 'commander';
import { publicKeyPem } from '../../keys/index.js';
import { loadPrivateKeyFile } from '../password.js';
import { writeFileAtomic } from './generate-key-pair.js';

export function registerPublicKey(program: Command): void {
  program
    .command('public-key')
    .description('print the public key of an encrypted cosign private key')
    .requiredOption(
      '--key <file>',
      'cosign private key file (ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY), or env://VAR'
    )
    .option('--outfile <file>', 'write the public key to a file, not stdout')
    .action(async (opts: { key: string; outfile?: string }) => {
      const key = await loadPrivateKeyFile(opts.key);
      const pem = publicKeyPem(key);
      if (opts.outfile === undefined) {
        process.stdout.write(pem);
        return;
      }
      await writeFileAtomic(opts.outfile, pem, 0o644, true);
      process.stderr.write(`Public key written to ${opts.outfile}\n`);
    });
}
