import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.js';
import { exitCodeFor, messageFor } from './exit-codes.js';
import { registerCommands } from './commands/index.js';
import { normalizeBoolFlags } from './bool-flags.js';
import { debugEnabled } from './events.js';

function packageVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version: string };
  return pkg.version;
}

export async function buildProgram(
  argv: readonly string[] = []
): Promise<Command> {
  const program = new Command('signet')
    .description(
      'Sign and verify container images, cosign-compatible, with a Rekor-compatible transparency log'
    )
    .version(packageVersion(), '--version')
    .option('--verbose', 'print stack traces and debug detail on errors')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: () => {
        /* printed by main() on one line */
      },
    });
  await registerCommands(program, argv);
  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(normalizeBoolFlags(program, argv), {
      from: 'user',
    });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (err.exitCode === 0) return 0;
      const msg = err.message.replace(/^error: /, '');
      process.stderr.write(`Error: ${messageFor(new UsageError(msg))}\n`);
      return 2;
    }
    process.stderr.write(`Error: ${messageFor(err)}\n`);
    if (debugEnabled(argv) && err instanceof Error && err.stack) {
      process.stderr.write(`${err.stack}\n`);
      let cause = err.cause;
      while (cause instanceof Error) {
        process.stderr.write(`caused by: ${cause.stack ?? cause.message}\n`);
        cause = cause.cause;
      }
    }
    return exitCodeFor(err);
  }
}
