import type { Command } from 'commander';
import { importPrivateKeyPem } from '../../keys/index.js';
import { readUserFile, withContext } from '../password.js';
import { confirmOverwrite, writeKeyPair } from './generate-key-pair.js';

export function registerImportKeyPair(program: Command): void {
  program
    .command('import-key-pair')
    .description(
      'import a PEM private key (PKCS#8, SEC1 EC or PKCS#1 RSA) into the cosign key format'
    )
    .requiredOption('-k, --key <file>', 'PEM private key to import')
    .option(
      '-o, --output-key-prefix <prefix>',
      'write <prefix>.key and <prefix>.pub',
      'import-cosign'
    )
    .option('-y, --yes', 'overwrite existing files without asking')
    .option('-f, --force', 'same as --yes')
    .addHelpText(
      'after',
      '\nPassword for the new key: COSIGN_PASSWORD if set (even empty), else a prompt on a terminal, else all of standard input.'
    )
    .action(
      async (opts: {
        key: string;
        outputKeyPrefix: string;
        yes?: boolean;
        force?: boolean;
      }) => {
        const text = (
          await readUserFile(opts.key, 'key', undefined, 'KEY_MALFORMED')
        ).toString('utf8');
        let key;
        try {
          key = importPrivateKeyPem(text);
        } catch (e) {
          throw withContext(e, `importing ${opts.key}`);
        }
        const prefix = opts.outputKeyPrefix;
        const overwrite = await confirmOverwrite(
          [`${prefix}.key`, `${prefix}.pub`],
          opts.yes === true || opts.force === true
        );
        await writeKeyPair(key, prefix, overwrite);
      }
    );
}
