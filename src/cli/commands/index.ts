import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every command, in the order `signet --help` lists them, one line each.
 * Modules load lazily: a run of `signet sign` imports the signing code only,
 * not the log server, SQLite or PostgreSQL (start-up is most of a short
 * command's wall time).
 */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  ['tlog', async () => (await import('./tlog.js')).registerTlog],
  [
    'generate-key-pair',
    async () =>
      (await import('./generate-key-pair.js')).registerGenerateKeyPair,
  ],
  [
    'import-key-pair',
    async () => (await import('./import-key-pair.js')).registerImportKeyPair,
  ],
  [
    'public-key',
    async () => (await import('./public-key.js')).registerPublicKey,
  ],
  ['sign', async () => (await import('./sign.js')).registerSign],
  ['verify', async () => (await import('./verify.js')).registerVerify],
  ['digest', async () => (await import('./manifest.js')).registerDigest],
  ['manifest', async () => (await import('./manifest.js')).registerManifest],
];

/**
 * Registers the command named by the first operand of `argv`, or every
 * command when there is none or it is unknown (help, errors).
 */
export async function registerCommands(
  program: Command,
  argv: readonly string[]
): Promise<void> {
  const first = argv.find((a) => !a.startsWith('-'));
  const chosen = COMMANDS.filter(([name]) => name === first);
  for (const [, load] of chosen.length > 0 ? chosen : COMMANDS) {
    (await load())(program);
  }
}
