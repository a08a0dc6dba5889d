import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { cliPath, sharedFixtures } from '../support/paths.js';
import {
  decryptCosignKey,
  parseKeyEnvelope,
  publicKeyDer,
  parsePublicKeyPem,
} from '../../src/keys/index.js';
import { encryptCosignKeyDer } from '../../src/keys/envelope.js';
import { decodePemBlocks } from '../../src/core/pem.js';

const keysDir = join(sharedFixtures, 'cosign', 'keys');
const importDir = join(sharedFixtures, 'cosign', 'import');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `password` undefined means COSIGN_PASSWORD is unset. */
function run(
  args: string[],
  opts: {
    password?: string;
    input?: string;
    cwd?: string;
    env?: Record<string, string>;
  } = {}
): Run {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...opts.env,
  };
  delete env['COSIGN_PASSWORD'];
  delete env['SIGNET_DEBUG'];
  if (opts.password !== undefined) env['COSIGN_PASSWORD'] = opts.password;
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8',
    env,
    cwd: opts.cwd,
    input: opts.input ?? '',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A failure is one `Error: …` line and no stack trace. */
function assertOneLineError(r: Run, code: number): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', /^Error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'signet-keys-e2e-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('signet generate-key-pair', () => {
  it('writes an encrypted cosign key (0600) and its public key (0644)', () => {
    const prefix = join(dir, 'gen');
    const r = run(['generate-key-pair', '--output-key-prefix', prefix], {
      password: 'correct horse',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      `Private key written to ${prefix}.key\nPublic key written to ${prefix}.pub\n`
    );
    assert.equal(statSync(`${prefix}.key`).mode & 0o777, 0o600);
    assert.equal(statSync(`${prefix}.pub`).mode & 0o777, 0o644);
    const keyText = readFileSync(`${prefix}.key`, 'utf8');
    const env = parseKeyEnvelope(keyText);
    assert.equal(env.label, 'ENCRYPTED SIGSTORE PRIVATE KEY');
    assert.deepEqual(env.scrypt, { N: 65536, r: 8, p: 1 });
    const key = decryptCosignKey(keyText, 'correct horse');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const pub = readFileSync(`${prefix}.pub`, 'utf8');
    assert.deepEqual(publicKeyDer(parsePublicKeyPem(pub)), publicKeyDer(key));
    // No temporary files are left behind.
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      []
    );
  });

  it('defaults to cosign.key / cosign.pub in the working directory', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const r = run(['generate-key-pair'], { password: 'x', cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(cwd, 'cosign.key')));
    assert.ok(existsSync(join(cwd, 'cosign.pub')));
  });

  it('refuses to overwrite without --yes when there is no terminal', () => {
    const prefix = join(dir, 'exists');
    assert.equal(
      run(['generate-key-pair', '--output-key-prefix', prefix], {
        password: 'a',
      }).code,
      0
    );
    const before = readFileSync(`${prefix}.key`, 'utf8');
    const r = run(['generate-key-pair', '--output-key-prefix', prefix], {
      password: 'a',
    });
    assertOneLineError(r, 34);
    assert.equal(readFileSync(`${prefix}.key`, 'utf8'), before);
    for (const flag of ['--yes', '-f']) {
      const again = run(
        ['generate-key-pair', '--output-key-prefix', prefix, flag],
        { password: 'b' }
      );
      assert.equal(again.code, 0, again.stderr);
    }
    const after = readFileSync(`${prefix}.key`, 'utf8');
    assert.notEqual(after, before);
    assert.equal(statSync(`${prefix}.key`).mode & 0o777, 0o600);
    decryptCosignKey(after, 'b');
  });

  it('reads the password from all of stdin, trailing newline included', () => {
    const prefix = join(dir, 'stdin');
    const r = run(['generate-key-pair', '--output-key-prefix', prefix], {
      input: 'from stdin\n',
    });
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(`${prefix}.key`, 'utf8');
    decryptCosignKey(text, 'from stdin\n');
    assert.throws(() => decryptCosignKey(text, 'from stdin'), {
      code: 'KEY_INCORRECT_PASSWORD',
    });
  });

  it('uses COSIGN_PASSWORD when set to the empty string, ignoring stdin', () => {
    const prefix = join(dir, 'empty');
    const r = run(['generate-key-pair', '--output-key-prefix', prefix], {
      password: '',
      input: 'not this\n',
    });
    assert.equal(r.code, 0, r.stderr);
    decryptCosignKey(readFileSync(`${prefix}.key`, 'utf8'), '');
  });

  it('generates other key types with --signing-algorithm', () => {
    for (const [alg, type] of [
      ['ed25519-ph', 'ed25519'],
      ['ecdsa-sha2-384-nistp384', 'ec'],
    ] as const) {
      const prefix = join(dir, alg);
      const r = run(
        [
          'generate-key-pair',
          '--output-key-prefix',
          prefix,
          '--signing-algorithm',
          alg,
        ],
        { password: 'p' }
      );
      assert.equal(r.code, 0, r.stderr);
      const key = decryptCosignKey(readFileSync(`${prefix}.key`, 'utf8'), 'p');
      assert.equal(key.asymmetricKeyType, type);
    }
    assertOneLineError(
      run(
        [
          'generate-key-pair',
          '--output-key-prefix',
          join(dir, 'bad'),
          '--signing-algorithm',
          'dsa',
        ],
        {
          password: 'p',
        }
      ),
      2
    );
  });

  it('fails with IO when the directory does not exist', () => {
    const r = run(
      [
        'generate-key-pair',
        '--output-key-prefix',
        join(dir, 'no', 'such', 'k'),
      ],
      { password: 'p' }
    );
    assertOneLineError(r, 3);
  });
});

describe('signet public-key', () => {
  for (const name of ['pemsigstorekey', 'pemcosignkey']) {
    it(`prints the public key of ${name}.key (password hello)`, () => {
      const r = run(['public-key', '--key', join(keysDir, `${name}.key`)], {
        password: 'hello',
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        readFileSync(join(keysDir, `${name}.pub`), 'utf8')
      );
    });
  }

  it('reads the password from stdin without a terminal', () => {
    const r = run(
      ['public-key', '--key', join(keysDir, 'pemsigstorekey.key')],
      {
        input: 'hello',
      }
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      readFileSync(join(keysDir, 'pemsigstorekey.pub'), 'utf8')
    );
  });

  it('reads a key from env://VAR and writes --outfile', () => {
    const out = join(dir, 'out.pub');
    const r = run(['public-key', '--key', 'env://MY_KEY', '--outfile', out], {
      password: 'hello',
      env: { MY_KEY: readFileSync(join(keysDir, 'pemcosignkey.key'), 'utf8') },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `Public key written to ${out}\n`);
    assert.equal(
      readFileSync(out, 'utf8'),
      readFileSync(join(keysDir, 'pemcosignkey.pub'), 'utf8')
    );
  });

  const hostile = (): string => {
    const good = readFileSync(join(keysDir, 'pemsigstorekey.key'), 'utf8');
    const block = decodePemBlocks(good)[0];
    assert.ok(block);
    const json = block.der
      .toString('utf8')
      .replace('"N":32768', '"N":1073741824');
    return `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(json).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
  };

  const failures: {
    name: string;
    file: () => string;
    password: string;
    code: number;
    text: RegExp;
  }[] = [
    {
      name: 'a wrong password',
      file: () => join(keysDir, 'pemsigstorekey.key'),
      password: 'hell',
      code: 30,
      text: /incorrect password/,
    },
    {
      name: 'a SEC1 plaintext (pemcosigneckey.key)',
      file: () => join(keysDir, 'pemcosigneckey.key'),
      password: 'hello',
      code: 31,
      text: /use ParseECPrivateKey instead for this key format/,
    },
    {
      name: 'a public key',
      file: () => join(keysDir, 'pemsigstorekey.pub'),
      password: 'hello',
      code: 33,
      text: /public key/,
    },
    {
      name: 'an unencrypted private key',
      file: () => join(importDir, 'validecpkcs8.key'),
      password: 'hello',
      code: 32,
      text: /unsupported pem type: PRIVATE KEY/,
    },
    {
      name: 'a truncated key file',
      file: () => {
        const p = join(dir, 'truncated.key');
        const t = readFileSync(join(keysDir, 'pemsigstorekey.key'), 'utf8');
        writeFileSync(p, t.slice(0, 300));
        return p;
      },
      password: 'hello',
      code: 31,
      text: /invalid pem block/,
    },
    {
      name: 'hostile scrypt parameters (N=2^30)',
      file: () => {
        const p = join(dir, 'hostile.key');
        writeFileSync(p, hostile());
        return p;
      },
      password: 'hello',
      code: 31,
      text: /unsupported scrypt parameters/,
    },
    {
      name: 'an unknown cipher',
      file: () => {
        const p = join(dir, 'cipher.key');
        const t = encryptCosignKeyDer(Buffer.from('x'), 'hello', {
          scryptN: 32768,
        });
        const block = decodePemBlocks(t)[0];
        assert.ok(block);
        const json = block.der
          .toString('utf8')
          .replace('nacl/secretbox', 'aes-256-gcm');
        writeFileSync(
          p,
          `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(json).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`
        );
        return p;
      },
      password: 'hello',
      code: 31,
      text: /unsupported cipher/,
    },
    {
      name: 'a 2 MiB file (size cap)',
      file: () => {
        const p = join(dir, 'huge.key');
        writeFileSync(p, Buffer.alloc(2 * 1024 * 1024, 0x41));
        return p;
      },
      password: 'hello',
      code: 31,
      text: /larger than/,
    },
    {
      name: 'an unset env:// variable',
      file: () => 'env://SIGNET_TEST_NO_SUCH_VARIABLE',
      password: 'hello',
      code: 2,
      text: /SIGNET_TEST_NO_SUCH_VARIABLE is not set/,
    },
    {
      name: 'a missing file',
      file: () => join(dir, 'does-not-exist.key'),
      password: 'hello',
      code: 3,
      text: /ENOENT/,
    },
  ];
  for (const f of failures) {
    it(`fails on ${f.name} with exit ${f.code}, one line`, () => {
      const r = run(['public-key', '--key', f.file()], {
        password: f.password,
      });
      assertOneLineError(r, f.code);
      assert.match(r.stderr, f.text);
      assert.equal(r.stdout, '');
    });
  }

  it('requires --key', () => {
    assertOneLineError(run(['public-key'], { password: 'x' }), 2);
  });
});

describe('signet import-key-pair', () => {
  const accepted = [
    'validrsa.key',
    'validrsapkcs1.key',
    'validrsapkcs8.key',
    'validecp256.key',
    'validecp384.key',
    'validecp521.key',
    'validecpkcs8.key',
    'ed25519.key',
  ];
  for (const f of accepted) {
    it(`imports ${f}; the result loads with hello and keeps the public key`, () => {
      const prefix = join(dir, `imp-${f}`);
      const r = run(
        [
          'import-key-pair',
          '--key',
          join(importDir, f),
          '--output-key-prefix',
          prefix,
        ],
        {
          password: 'hello',
        }
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(statSync(`${prefix}.key`).mode & 0o777, 0o600);
      const text = readFileSync(`${prefix}.key`, 'utf8');
      assert.equal(
        parseKeyEnvelope(text).label,
        'ENCRYPTED SIGSTORE PRIVATE KEY'
      );
      const want = createPublicKey(
        createPrivateKey(readFileSync(join(importDir, f), 'utf8'))
      ).export({ format: 'der', type: 'spki' });
      assert.deepEqual(publicKeyDer(decryptCosignKey(text, 'hello')), want);
      assert.deepEqual(
        publicKeyDer(parsePublicKeyPem(readFileSync(`${prefix}.pub`, 'utf8'))),
        want
      );
    });
  }
  const rejected: [string, number, string][] = [
    ['invalidrsawithpubkey.key', 33, 'unsupported private key'],
    [
      'invalidrsasmallkey.key',
      32,
      'error validating rsa key: key size not supported: 1024',
    ],
    [
      'invalidrsalargekey.key',
      32,
      'error validating rsa key: key size not supported: 5120',
    ],
    [
      'invalidecp224.key',
      32,
      'error validating ecdsa key: ECDSA curve P-224 not allowed',
    ],
    ['invalidecunsupported.key', 32, 'error parsing ecdsa private key'],
    ['invalidkey.key', 31, 'invalid pem block'],
  ];
  for (const [f, code, text] of rejected) {
    it(`rejects ${f}: "${text}" (exit ${code}) and writes nothing`, () => {
      const prefix = join(dir, `rej-${f}`);
      const r = run(
        ['import-key-pair', '-k', join(importDir, f), '-o', prefix],
        {
          password: 'hello',
        }
      );
      assertOneLineError(r, code);
      assert.ok(r.stderr.trimEnd().endsWith(`: ${text}`), r.stderr);
      assert.equal(existsSync(`${prefix}.key`), false);
      assert.equal(existsSync(`${prefix}.pub`), false);
    });
  }

  it('defaults to import-cosign.key and refuses to overwrite without --yes', () => {
    const cwd = mkdtempSync(join(dir, 'imp-cwd-'));
    const args = [
      'import-key-pair',
      '--key',
      join(importDir, 'validecp256.key'),
    ];
    assert.equal(run(args, { password: 'hello', cwd }).code, 0);
    assert.ok(existsSync(join(cwd, 'import-cosign.key')));
    assertOneLineError(run(args, { password: 'hello', cwd }), 34);
    assert.equal(run([...args, '--yes'], { password: 'hello', cwd }).code, 0);
  });
});

/**
 * Drives the CLI on a real pseudo-terminal (Python's pty module, so stdin
 * is a TTY): answers each prompt when its text appears.
 */
const PTY_DRIVER = String.raw`
import json, os, pty, select, sys, time
cfg = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cfg['cwd'])
    os.execve(cfg['argv'][0], cfg['argv'], cfg['env'])
out = b''
seen = 0
i = 0
steps = cfg['steps']
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    while i < len(steps):
        k = out.find(steps[i][0].encode(), seen)
        if k < 0:
            break
        seen = k + len(steps[i][0])
        os.write(fd, steps[i][1].encode())
        i += 1
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'output': out.decode('utf8', 'replace'), 'answered': i}))
`;

function runOnTty(
  args: string[],
  steps: [string, string][],
  cwd: string
): { code: number; output: string; answered: number } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'COSIGN_PASSWORD' && k !== 'SIGNET_DEBUG') {
      env[k] = v;
    }
  }
  const r = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      PTY_DRIVER,
      JSON.stringify({
        argv: [process.execPath, cliPath, ...args],
        env,
        cwd,
        steps,
      }),
    ],
    { encoding: 'utf8' }
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    code: number;
    output: string;
    answered: number;
  };
}

describe('password and overwrite prompts on a terminal', () => {
  const P1 = 'Enter password for private key: ';
  const P2 = 'Enter password for private key again: ';

  it('asks twice without echo and writes a key with that password', () => {
    const cwd = mkdtempSync(join(dir, 'tty-'));
    const r = runOnTty(
      ['generate-key-pair'],
      [
        [P1, 's3cret-tty\r'],
        [P2, 's3cret-tty\r'],
      ],
      cwd
    );
    assert.equal(r.code, 0, r.output);
    assert.equal(r.answered, 2);
    assert.doesNotMatch(r.output, /s3cret-tty/);
    assert.match(r.output, /Private key written to cosign\.key/);
    decryptCosignKey(
      readFileSync(join(cwd, 'cosign.key'), 'utf8'),
      's3cret-tty'
    );
  });

  it('backspace edits the hidden input', () => {
    const cwd = mkdtempSync(join(dir, 'tty-'));
    const r = runOnTty(
      ['generate-key-pair'],
      [
        [P1, 'abX\x7fc\r'],
        [P2, 'abc\r'],
      ],
      cwd
    );
    assert.equal(r.code, 0, r.output);
    decryptCosignKey(readFileSync(join(cwd, 'cosign.key'), 'utf8'), 'abc');
  });

  it('fails with "passwords do not match" and writes nothing', () => {
    const cwd = mkdtempSync(join(dir, 'tty-'));
    const r = runOnTty(
      ['generate-key-pair'],
      [
        [P1, 'one\r'],
        [P2, 'two\r'],
      ],
      cwd
    );
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /Error: passwords do not match/);
    assert.equal(existsSync(join(cwd, 'cosign.key')), false);
  });

  it('asks before overwriting: "n" keeps the file, "y" replaces it', () => {
    const cwd = mkdtempSync(join(dir, 'tty-'));
    writeFileSync(join(cwd, 'cosign.key'), 'old');
    const no = runOnTty(
      ['generate-key-pair'],
      [['File cosign.key already exists. Overwrite?', 'n\r']],
      cwd
    );
    assert.equal(no.code, 34, no.output);
    assert.equal(readFileSync(join(cwd, 'cosign.key'), 'utf8'), 'old');
    const yes = runOnTty(
      ['generate-key-pair'],
      [
        ['File cosign.key already exists. Overwrite?', 'y\r'],
        [P1, 'pw\r'],
        [P2, 'pw\r'],
      ],
      cwd
    );
    assert.equal(yes.code, 0, yes.output);
    decryptCosignKey(readFileSync(join(cwd, 'cosign.key'), 'utf8'), 'pw');
  });

  it('public-key asks once for the password', () => {
    const r = runOnTty(
      ['public-key', '--key', join(keysDir, 'pemsigstorekey.key')],
      [[P1, 'hello\r']],
      dir
    );
    assert.equal(r.code, 0, r.output);
    assert.equal(r.answered, 1);
    assert.doesNotMatch(r.output, /hello/);
    assert.ok(
      r.output
        .replace(/\r\n/g, '\n')
        .includes(readFileSync(join(keysDir, 'pemsigstorekey.pub'), 'utf8'))
    );
  });
});
