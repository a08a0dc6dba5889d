/**
 * Passwords and key files for the CLI (keys.md §3):
 *   1. COSIGN_PASSWORD when the variable is set — set-but-empty is the empty
 *      password;
 *   2. otherwise, on a terminal, a prompt without echo (twice when creating
 *      a key; the two must match);
 *   3. otherwise all of standard input, verbatim (a trailing newline is part
 *      of the password, as in cosign).
 */
import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { KeyError, SignetError, UsageError } from '../errors.js';
import { decryptCosignKeyAsync, parseKeyEnvelope } from '../keys/envelope.js';

/** Larger than any password or cosign key file; stops runaway reads. */
const MAX_STDIN_BYTES = 64 * 1024;
const MAX_KEY_FILE_BYTES = 1024 * 1024;

export const PASSWORD_PROMPT = 'Enter password for private key: ';
export const PASSWORD_AGAIN_PROMPT = 'Enter password for private key again: ';

/** True when prompts can be shown and answered (stdin is a terminal). */
export function canPrompt(): boolean {
  return process.stdin.isTTY;
}

/**
 * The password for a key. `confirm` asks twice on a terminal (creating a
 * key). Never echoes; never logs.
 */
export async function readPassword(opts: {
  confirm: boolean;
  prompt?: string;
}): Promise<Buffer> {
  const env = process.env['COSIGN_PASSWORD'];
  if (env !== undefined) return Buffer.from(env, 'utf8');
  if (canPrompt()) {
    const first = await promptHidden(opts.prompt ?? PASSWORD_PROMPT);
    if (!opts.confirm) return first;
    const second = await promptHidden(PASSWORD_AGAIN_PROMPT);
    const same = first.equals(second);
    second.fill(0);
    if (!same) {
      first.fill(0);
      throw new UsageError('passwords do not match');
    }
    return first;
  }
  return readAllStdin();
}

async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_STDIN_BYTES) {
      throw new UsageError(
        `password on standard input is longer than ${MAX_STDIN_BYTES} bytes`
      );
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads one line from the terminal in raw mode without echo. Backspace
 * edits, Ctrl-C cancels, Enter or Ctrl-D (on an empty line) ends.
 */
function promptHidden(prompt: string): Promise<Buffer> {
  const stdin = process.stdin;
  // Echo goes off before the prompt appears, so nothing typed early is shown.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  return new Promise<Buffer>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) {
        buf.fill(0);
        reject(err);
      } else {
        resolve(buf);
      }
    };
    const onData = (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a) return finish();
        if (byte === 0x03) {
          return finish(new UsageError('password entry cancelled'));
        }
        if (byte === 0x04) {
          if (buf.length === 0) return finish();
          continue;
        }
        if (byte === 0x7f || byte === 0x08) {
          // Remove one UTF-8 character (its continuation bytes too).
          let end = buf.length;
          while (end > 0 && ((buf[end - 1] ?? 0) & 0xc0) === 0x80) end--;
          const next = Buffer.from(buf.subarray(0, Math.max(0, end - 1)));
          buf.fill(0);
          buf = next;
          continue;
        }
        if (byte === 0x15) {
          // Ctrl-U: clear the line.
          buf.fill(0);
          buf = Buffer.alloc(0);
          continue;
        }
        const next = Buffer.concat([buf, Buffer.from([byte])]);
        buf.fill(0);
        buf = next;
      }
      return undefined;
    };
    stdin.resume();
    stdin.on('data', onData);
  });
}

/**
 * Asks a yes/no question on the terminal (echoed, one line). Only call when
 * canPrompt() is true.
 */
export function promptYesNo(question: string): Promise<boolean> {
  const stdin = process.stdin;
  process.stderr.write(`${question} [y/N]: `);
  return new Promise<boolean>((resolve) => {
    let line = '';
    const onData = (chunk: Buffer) => {
      line += chunk.toString('utf8');
      const nl = line.search(/[\r\n]/);
      if (nl >= 0) {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
        resolve(/^\s*y(es)?\s*$/i.test(line.slice(0, nl)));
      }
    };
    const onEnd = () => {
      stdin.off('data', onData);
      resolve(false);
    };
    stdin.resume();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
  });
}

/**
 * Reads a user-named file with a size cap; errors become SignetError IO
 * naming the file, or `tooLarge` (KEY_MALFORMED for key files) over the cap.
 */
export async function readUserFile(
  path: string,
  what: string,
  maxBytes: number = MAX_KEY_FILE_BYTES,
  tooLarge: 'KEY_MALFORMED' | 'MALFORMED_INPUT' = 'MALFORMED_INPUT'
): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new SignetError('IO', `reading ${what} ${path}: ${code}`, {
      cause: e,
    });
  }
  if (data.length > maxBytes) {
    const message = `reading ${what} ${path}: larger than ${maxBytes} bytes`;
    throw tooLarge === 'KEY_MALFORMED'
      ? new KeyError(tooLarge, message)
      : new SignetError(tooLarge, message);
  }
  return data;
}

/** A user-named JSON file (size-capped), parsed; also its text. */
export async function readUserJsonFile(
  path: string,
  what: string,
  maxBytes: number
): Promise<{ value: unknown; text: string }> {
  const text = (await readUserFile(path, what, maxBytes)).toString('utf8');
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch (e) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `reading ${what} ${path}: not JSON`,
      {
        cause: e,
      }
    );
  }
}

/**
 * Loads a cosign encrypted private key: `path` is a file, or `env://NAME`
 * for the PEM text in an environment variable (as cosign's `--key`).
 * The file is validated before the password is asked for, so a wrong file
 * fails without a prompt. Errors name the key and keep their code.
 */
export async function loadPrivateKeyFile(path: string): Promise<KeyObject> {
  let text: string;
  if (path.startsWith('env://')) {
    const name = path.slice('env://'.length);
    const value = process.env[name];
    if (value === undefined || value === '') {
      throw new UsageError(`environment variable ${name} is not set`);
    }
    text = value;
  } else {
    text = (
      await readUserFile(path, 'private key', undefined, 'KEY_MALFORMED')
    ).toString('utf8');
  }
  try {
    parseKeyEnvelope(text);
  } catch (e) {
    throw withContext(e, `loading private key ${path}`);
  }
  const password = await readPassword({ confirm: false });
  try {
    return await decryptCosignKeyAsync(text, password);
  } catch (e) {
    throw withContext(e, `loading private key ${path}`);
  } finally {
    password.fill(0);
  }
}

/** Prefixes a KeyError's message with what we were doing; keeps the code. */
export function withContext(e: unknown, context: string): unknown {
  if (e instanceof KeyError) {
    return new KeyError(e.code, `${context}: ${e.message}`, { cause: e });
  }
  return e;
}
