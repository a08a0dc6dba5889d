/**
 * An independent implementation of cosign's key envelope — Python's
 * hashlib.scrypt (OpenSSL) and PyNaCl (libsodium) — decrypts the files we
 * write, and writes files we decrypt. No Node code on the Python side.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { cliPath, sharedFixtures } from '../support/paths.js';
import {
  decryptCosignKey,
  encryptCosignKey,
  generatePrivateKey,
  type ScryptN,
} from '../../src/keys/index.js';

const PY = '/usr/bin/python3';

/** Decrypts a cosign key file; prints sha256 of the PKCS#8 plaintext. */
const DECRYPT = String.raw`
import base64, hashlib, json, os, re, sys
from nacl.secret import SecretBox
text = open(sys.argv[1]).read()
m = re.search(r'-----BEGIN ([A-Z ]+)-----\s*(.*?)\s*-----END \1-----', text, re.S)
assert m.group(1) in ('ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY')
env = json.loads(base64.b64decode(''.join(m.group(2).split()), validate=True))
assert env['kdf']['name'] == 'scrypt' and env['cipher']['name'] == 'nacl/secretbox'
p = env['kdf']['params']
k = hashlib.scrypt(os.environb[b'KEY_PASSWORD'], salt=base64.b64decode(env['kdf']['salt']),
                   n=p['N'], r=p['r'], p=p['p'], dklen=32, maxmem=256 * p['N'] * p['r'] + 2**20)
der = SecretBox(k).decrypt(base64.b64decode(env['ciphertext']), base64.b64decode(env['cipher']['nonce']))
print(json.dumps({'sha256': hashlib.sha256(der).hexdigest(), 'N': p['N'], 'len': len(der)}))
`;

/** Encrypts stdin (PKCS#8 DER) into a cosign key file (Go field order). */
const ENCRYPT = String.raw`
import base64, hashlib, json, os, sys
from nacl.secret import SecretBox
der = sys.stdin.buffer.read()
n = int(sys.argv[1])
salt, nonce = os.urandom(32), os.urandom(24)
k = hashlib.scrypt(os.environb[b'KEY_PASSWORD'], salt=salt, n=n, r=8, p=1, dklen=32, maxmem=256 * n * 8 + 2**20)
ct = SecretBox(k).encrypt(der, nonce).ciphertext
env = {'kdf': {'name': 'scrypt', 'params': {'N': n, 'r': 8, 'p': 1}, 'salt': base64.b64encode(salt).decode()},
       'cipher': {'name': 'nacl/secretbox', 'nonce': base64.b64encode(nonce).decode()},
       'ciphertext': base64.b64encode(ct).decode()}
b = base64.b64encode(json.dumps(env, separators=(',', ':')).encode()).decode()
lines = '\n'.join(b[i:i + 64] for i in range(0, len(b), 64))
sys.stdout.write('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n' + lines + '\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n')
`;

function pyDecrypt(
  path: string,
  password: string
): { sha256: string; N: number; len: number } {
  const r = spawnSync(PY, ['-c', DECRYPT, path], {
    encoding: 'utf8',
    env: { ...process.env, KEY_PASSWORD: password },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { sha256: string; N: number; len: number };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'signet-pynacl-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('PyNaCl + hashlib.scrypt decrypt our key files', () => {
  it('the driver itself decrypts the upstream cosign vector', () => {
    const r = pyDecrypt(
      join(sharedFixtures, 'cosign', 'keys', 'pemsigstorekey.key'),
      'hello'
    );
    assert.equal(r.N, 32768);
    assert.equal(r.len, 138);
  });

  for (const alg of [
    'ecdsa-sha2-256-nistp256',
    'ecdsa-sha2-512-nistp521',
    'ed25519-ph',
    'rsa-sign-pkcs1-3072-sha256',
  ] as const) {
    it(`${alg}: plaintext is the key's PKCS#8 DER`, () => {
      const key = generatePrivateKey(alg);
      const path = join(dir, `${alg}.key`);
      writeFileSync(path, encryptCosignKey(key, 'pässword'), { mode: 0o600 });
      const r = pyDecrypt(path, 'pässword');
      assert.equal(r.N, 65536);
      const der = key.export({ format: 'der', type: 'pkcs8' });
      assert.equal(r.sha256, createHash('sha256').update(der).digest('hex'));
    });
  }

  it('a key written by `signet generate-key-pair` (empty password) decrypts', () => {
    const prefix = join(dir, 'cli');
    const env: Record<string, string | undefined> = {
      ...process.env,
      COSIGN_PASSWORD: '',
    };
    const g = spawnSync(
      process.execPath,
      [cliPath, 'generate-key-pair', '--output-key-prefix', prefix],
      {
        encoding: 'utf8',
        env,
      }
    );
    assert.equal(g.status, 0, g.stderr);
    const ours = decryptCosignKey(readFileSync(`${prefix}.key`, 'utf8'), '');
    const der = ours.export({ format: 'der', type: 'pkcs8' });
    assert.equal(
      pyDecrypt(`${prefix}.key`, '').sha256,
      createHash('sha256').update(der).digest('hex')
    );
  });
});

describe('we decrypt key files written by PyNaCl + hashlib.scrypt', () => {
  for (const N of [32768, 65536, 131072] as ScryptN[]) {
    it(`N=${N}`, () => {
      const key = generatePrivateKey('ecdsa-sha2-384-nistp384');
      const der = key.export({ format: 'der', type: 'pkcs8' });
      // The DER goes through a pipe, never to disk.
      const r = spawnSync(PY, ['-c', ENCRYPT, String(N)], {
        input: der,
        env: { ...process.env, KEY_PASSWORD: 'py-pass' },
      });
      assert.equal(r.status, 0, r.stderr.toString());
      const back = decryptCosignKey(r.stdout.toString('utf8'), 'py-pass');
      assert.deepEqual(back.export({ format: 'der', type: 'pkcs8' }), der);
      assert.throws(
        () => decryptCosignKey(r.stdout.toString('utf8'), 'py-pas'),
        {
          code: 'KEY_INCORRECT_PASSWORD',
        }
      );
    });
  }
});
