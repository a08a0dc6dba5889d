/**
 * The log's signing key (SETs and checkpoints): ECDSA P-256, like the public
 * Rekor instance.
 *
 * Storage choice: the key is a *server* key, read unattended at every start,
 * so it is stored as an unencrypted PKCS#8 PEM with mode 0600 (created with
 * O_EXCL, so two servers starting at once cannot both write one). A
 * password-encrypted file would need the password in the server's
 * environment or command line, which protects nothing against someone who
 * can read the data directory. Keep the file on the server's own disk, back
 * it up with the database: losing it means clients must trust a new key.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { KeyError } from '../../errors.js';

export interface LoadedLogKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** True when this call generated and wrote the key. */
  readonly created: boolean;
  /** True when the file is readable by group or others. */
  readonly looseMode: boolean;
}

/** Reads a PEM private key (PKCS#8 or SEC 1); throws KeyError KEY_MALFORMED. */
export function parseLogPrivateKey(pem: string, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new KeyError(
      'KEY_MALFORMED',
      `log signing key ${path} is not an unencrypted PEM private key`,
      { cause: e }
    );
  }
  const t = key.asymmetricKeyType;
  if (t !== 'ec' && t !== 'ed25519' && t !== 'rsa') {
    throw new KeyError(
      'KEY_UNSUPPORTED',
      `log signing key ${path} has unsupported type ${String(t)}`
    );
  }
  return key;
}

/** Loads the key at `path`, generating an ECDSA P-256 key there if absent. */
export function loadOrCreateLogKey(path: string): LoadedLogKey {
  let pem: string | undefined;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new KeyError(
        'IO',
        `reading log signing key ${path}: ${(e as Error).message}`,
        { cause: e }
      );
    }
  }
  if (pem !== undefined) {
    const privateKey = parseLogPrivateKey(pem, path);
    const mode = statSync(path).mode & 0o777;
    return {
      privateKey,
      publicKey: createPublicKey(privateKey),
      created: false,
      looseMode: (mode & 0o077) !== 0,
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  const out = privateKey.export({ format: 'pem', type: 'pkcs8' });
  try {
    writeFileSync(path, out, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      // Another process created it between our read and write: use theirs.
      return loadOrCreateLogKey(path);
    }
    throw new KeyError(
      'IO',
      `writing log signing key ${path}: ${(e as Error).message}`,
      { cause: e }
    );
  }
  return { privateKey, publicKey, created: true, looseMode: false };
}
