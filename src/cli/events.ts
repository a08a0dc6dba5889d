/**
 * How the CLI shows what libraries report through their `log` callbacks:
 * warnings as cosign prints them (`WARNING: …` on stderr), information as
 * is, debug detail only with SIGNET_DEBUG or --verbose.
 */

export interface CliEvent {
  readonly level: 'debug' | 'info' | 'warn';
  readonly message: string;
}

/** SIGNET_DEBUG set (non-empty, not 0), or --verbose among the arguments. */
export function debugEnabled(
  argv: readonly string[] = process.argv.slice(2)
): boolean {
  const env = process.env['SIGNET_DEBUG'];
  return (
    argv.includes('--verbose') ||
    (env !== undefined && env !== '' && env !== '0')
  );
}

export function printEvent(e: CliEvent): void {
  const text = e.message.endsWith('\n') ? e.message : `${e.message}\n`;
  switch (e.level) {
    case 'warn':
      process.stderr.write(`WARNING: ${text}`);
      return;
    case 'info':
      process.stderr.write(text);
      return;
    case 'debug':
      if (debugEnabled()) process.stderr.write(`debug: ${text}`);
      return;
  }
}
