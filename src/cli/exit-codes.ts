import { ERROR_EXIT_CODES, SignetError } from '../errors.js';

/** Exit code for anything thrown out of a command (cosign: 1 when unknown). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof SignetError) return ERROR_EXIT_CODES[err.code];
  return ERROR_EXIT_CODES.INTERNAL;
}

/** The one-line message printed for an error; never a stack trace. */
export function messageFor(err: unknown): string {
  if (err instanceof SignetError) return oneLine(err.message);
  if (err instanceof Error) return oneLine(`internal error: ${err.message}`);
  return oneLine(`internal error: ${String(err)}`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
