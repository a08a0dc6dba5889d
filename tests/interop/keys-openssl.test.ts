/**
 * Cross-checks with the openssl CLI: signatures made by our Signer verify
 * with openssl; signatures made by openssl verify with our Verifier; our
 * import derives the same public keys openssl does. Only public keys and
 * encrypted private keys are written to disk.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  decryptCosignKey,
  generatePrivateKey,
  importPrivateKeyPem,
  parsePublicKeyPem,
  publicKeyDer,
  publicKeyPem,
  signerFromPrivateKey,
  verifierFromPublicKey,
  type SigningAlgorithm,
} from '../../src/keys/index.js';

function openssl(
  args: string[],
  input?: string
): { code: number | null; out: string } {
  const r = spawnSync('openssl', args, {
    encoding: 'utf8',
    input: input ?? '',
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'signet-openssl-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const payload = Buffer.from(
  '{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/demo"},"image":{"docker-manifest-digest":"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},"type":"cosign container image signature"},"optional":null}'
);

describe('our signatures verify with openssl', () => {
  const cases: [SigningAlgorithm, string][] = [
    ['ecdsa-sha2-256-nistp256', '-sha256'],
    ['ecdsa-sha2-384-nistp384', '-sha384'],
    ['ecdsa-sha2-512-nistp521', '-sha512'],
    ['rsa-sign-pkcs1-2048-sha256', '-sha256'],
  ];
  for (const [alg, dgst] of cases) {
    it(`${alg}: openssl dgst ${dgst} -verify`, async () => {
      const signer = signerFromPrivateKey(generatePrivateKey(alg));
      const sig = await signer.sign(payload);
      const base = join(dir, alg);
      writeFileSync(`${base}.pub`, publicKeyPem(signer.publicKey));
      writeFileSync(`${base}.sig`, sig);
      writeFileSync(`${base}.payload`, payload);
      const ok = openssl([
        'dgst',
        dgst,
        '-verify',
        `${base}.pub`,
        '-signature',
        `${base}.sig`,
        `${base}.payload`,
      ]);
      assert.equal(ok.code, 0, ok.out);
      assert.match(ok.out, /Verified OK/);
      writeFileSync(
        `${base}.payload`,
        Buffer.concat([payload, Buffer.from(' ')])
      );
      const bad = openssl([
        'dgst',
        dgst,
        '-verify',
        `${base}.pub`,
        '-signature',
        `${base}.sig`,
        `${base}.payload`,
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.out, /Verification failure/);
    });
  }

  it('ed25519 (pure mode): openssl pkeyutl -verify -rawin', async () => {
    const signer = signerFromPrivateKey(generatePrivateKey('ed25519'), {
      ed25519: 'pure',
    });
    const sig = await signer.sign(payload);
    const base = join(dir, 'ed25519');
    writeFileSync(`${base}.pub`, publicKeyPem(signer.publicKey));
    writeFileSync(`${base}.sig`, sig);
    writeFileSync(`${base}.payload`, payload);
    const ok = openssl([
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      `${base}.pub`,
      '-rawin',
      '-in',
      `${base}.payload`,
      '-sigfile',
      `${base}.sig`,
    ]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /Signature Verified Successfully/);
    // The default Ed25519ph signature is not a pure Ed25519 signature
    // (OpenSSL 3.0 has no Ed25519ph; the RFC 8032 vector covers ph).
    writeFileSync(
      `${base}.sig`,
      await signerFromPrivateKey(generatePrivateKey('ed25519')).sign(payload)
    );
    assert.notEqual(
      openssl([
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        `${base}.pub`,
        '-rawin',
        '-in',
        `${base}.payload`,
        '-sigfile',
        `${base}.sig`,
      ]).code,
      0
    );
  });

  it('the decrypted upstream pemsigstorekey signs; openssl verifies with pemsigstorekey.pub', async () => {
    const keyDir = join(sharedFixtures, 'cosign', 'keys');
    const key = decryptCosignKey(
      readFileSync(join(keyDir, 'pemsigstorekey.key'), 'utf8'),
      'hello'
    );
    const sig = await signerFromPrivateKey(key).sign(payload);
    writeFileSync(join(dir, 'fx.sig'), sig);
    writeFileSync(join(dir, 'fx.payload'), payload);
    const r = openssl([
      'dgst',
      '-sha256',
      '-verify',
      join(keyDir, 'pemsigstorekey.pub'),
      '-signature',
      join(dir, 'fx.sig'),
      join(dir, 'fx.payload'),
    ]);
    assert.equal(r.code, 0, r.out);
  });
});

describe('openssl signatures verify with our Verifier', () => {
  const cases: [string, string[], string][] = [
    [
      'EC P-256',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      '-sha256',
    ],
    [
      'EC P-384',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
      '-sha384',
    ],
    [
      'EC P-521',
      ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
      '-sha512',
    ],
    [
      'RSA 3072',
      ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
      '-sha256',
    ],
  ];
  for (const [name, gen, dgst] of cases) {
    it(name, () => {
      const base = join(dir, `ossl-${name.replace(/\W/g, '')}`);
      // The private key is written encrypted (AES-256, passphrase on argv).
      const g = openssl([
        'genpkey',
        ...gen,
        '-aes-256-cbc',
        '-pass',
        'pass:pw',
        '-out',
        `${base}.key`,
      ]);
      assert.equal(g.code, 0, g.out);
      assert.match(
        readFileSync(`${base}.key`, 'utf8'),
        /ENCRYPTED PRIVATE KEY/
      );
      assert.equal(
        openssl([
          'pkey',
          '-in',
          `${base}.key`,
          '-passin',
          'pass:pw',
          '-pubout',
          '-out',
          `${base}.pub`,
        ]).code,
        0
      );
      writeFileSync(`${base}.payload`, payload);
      const s = openssl([
        'dgst',
        dgst,
        '-sign',
        `${base}.key`,
        '-passin',
        'pass:pw',
        '-out',
        `${base}.sig`,
        `${base}.payload`,
      ]);
      assert.equal(s.code, 0, s.out);
      const v = verifierFromPublicKey(
        parsePublicKeyPem(readFileSync(`${base}.pub`, 'utf8'))
      );
      const sig = readFileSync(`${base}.sig`);
      assert.equal(v.verify(payload, sig), true);
      assert.equal(v.verify(Buffer.from('x'), sig), false);
      // cosign does not import encrypted PKCS#8 either.
      assert.throws(
        () => importPrivateKeyPem(readFileSync(`${base}.key`, 'utf8')),
        {
          name: 'KeyError',
          message: 'unsupported private key',
        }
      );
    });
  }

  it('Ed25519 (pure, openssl pkeyutl -rawin)', () => {
    const base = join(dir, 'ossl-ed');
    assert.equal(
      openssl([
        'genpkey',
        '-algorithm',
        'ED25519',
        '-aes-256-cbc',
        '-pass',
        'pass:pw',
        '-out',
        `${base}.key`,
      ]).code,
      0
    );
    assert.equal(
      openssl([
        'pkey',
        '-in',
        `${base}.key`,
        '-passin',
        'pass:pw',
        '-pubout',
        '-out',
        `${base}.pub`,
      ]).code,
      0
    );
    writeFileSync(`${base}.payload`, payload);
    const s = openssl([
      'pkeyutl',
      '-sign',
      '-inkey',
      `${base}.key`,
      '-passin',
      'pass:pw',
      '-rawin',
      '-in',
      `${base}.payload`,
      '-out',
      `${base}.sig`,
    ]);
    assert.equal(s.code, 0, s.out);
    const v = verifierFromPublicKey(
      parsePublicKeyPem(readFileSync(`${base}.pub`, 'utf8'))
    );
    assert.equal(v.verify(payload, readFileSync(`${base}.sig`)), true);
  });
});

describe('import derives the public key openssl derives', () => {
  for (const f of [
    'validrsa.key',
    'validrsapkcs1.key',
    'validrsapkcs8.key',
    'validecp256.key',
    'validecp384.key',
    'validecp521.key',
    'validecpkcs8.key',
    'ed25519.key',
  ]) {
    it(f, () => {
      const path = join(sharedFixtures, 'cosign', 'import', f);
      const r = spawnSync('openssl', [
        'pkey',
        '-in',
        path,
        '-pubout',
        '-outform',
        'DER',
      ]);
      assert.equal(r.status, 0, r.stderr.toString());
      assert.deepEqual(
        publicKeyDer(importPrivateKeyPem(readFileSync(path, 'utf8'))),
        r.stdout
      );
    });
  }
});
