import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from 'node:crypto';
import {
  parseCheckpoint,
  parseSignedNote,
  signCheckpoint,
} from '../../src/tlog/checkpoint.js';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, sharedFixtures } from '../support/paths.js';
import { startLogServer, type RunningLogServer } from '../support/tlog.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function signet(
  args: string[],
  env: Record<string, string> = {}
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { env: { PATH: process.env['PATH'] ?? '', ...env } },
      (err, stdout, stderr) => {
        const code =
          err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      }
    );
  });
}

const rekorPem = join(sharedFixtures, 'rekor/keys/rekor.sigstore.dev.pub.pem');

describe('signet tlog upload/get/verify/info against our log server', () => {
  let log: RunningLogServer;
  let dir: string;
  let logKeyFile: string;
  const files = { artifact: '', sig: '', pub: '', badSig: '' };
  before(async () => {
    log = await startLogServer();
    dir = mkdtempSync(join(tmpdir(), 'signet-tlog-cli-'));
    logKeyFile = join(dir, 'log.pub');
    writeFileSync(logKeyFile, log.publicKeyPem);
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const artifact = randomBytes(1000);
    files.artifact = join(dir, 'artifact.bin');
    files.sig = join(dir, 'artifact.sig');
    files.pub = join(dir, 'key.pub');
    files.badSig = join(dir, 'bad.sig');
    writeFileSync(files.artifact, artifact);
    writeFileSync(
      files.sig,
      sign('sha256', artifact, k.privateKey).toString('base64')
    );
    writeFileSync(
      files.badSig,
      sign('sha256', Buffer.from('other'), k.privateKey).toString('base64')
    );
    writeFileSync(
      files.pub,
      k.publicKey.export({ type: 'spki', format: 'pem' })
    );
  });
  after(async () => {
    await log.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const upload = (sig: string): Promise<Run> =>
    signet([
      'tlog',
      'upload',
      '--artifact',
      files.artifact,
      '--signature',
      sig,
      '--public-key',
      files.pub,
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      logKeyFile,
    ]);

  it('uploads, then reports the existing entry on a second upload', async () => {
    const r1 = await upload(files.sig);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(
      r1.stdout,
      /^Created entry at index \d+, available at: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/log\/entries\/[0-9a-f]{80}\n$/
    );
    assert.match(
      r1.stderr,
      /signed entry timestamp, checkpoint .*inclusion proof/
    );
    const r2 = await upload(files.sig);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /^Entry already exists at index/);
    assert.equal(
      r1.stdout.split('entries/')[1],
      r2.stdout.split('entries/')[1]
    );
  });

  it('refuses a signature that does not verify (exit 52)', async () => {
    const r = await upload(files.badSig);
    assert.equal(r.code, 52, r.stderr);
    assert.match(r.stderr, /^Error: /);
  });

  it('gets an entry that verifies offline, and not once tampered or with another key', async () => {
    const g = await signet([
      'tlog',
      'get',
      '--log-index',
      '0',
      '--rekor-url',
      log.url,
      '--json',
    ]);
    assert.equal(g.code, 0, g.stderr);
    const entryFile = join(dir, 'entry.json');
    writeFileSync(entryFile, g.stdout);
    const ok = await signet([
      'tlog',
      'verify',
      '--entry',
      entryFile,
      '--rekor-public-key',
      logKeyFile,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Verified log entry 0 /);

    const doc = JSON.parse(g.stdout) as Record<
      string,
      { integratedTime: number }
    >;
    const anon = Object.values(doc)[0];
    assert.ok(anon);
    anon.integratedTime += 1;
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(doc));
    const bad = await signet([
      'tlog',
      'verify',
      '--entry',
      tampered,
      '--rekor-public-key',
      logKeyFile,
    ]);
    assert.equal(bad.code, 53, bad.stderr);

    const otherLog = await signet([
      'tlog',
      'verify',
      '--entry',
      entryFile,
      '--rekor-public-key',
      rekorPem,
    ]);
    assert.equal(otherLog.code, 53, otherLog.stderr);

    // The uploaded artifact is what the entry names; another file is not.
    const withArtifact = (artifact: string): Promise<Run> =>
      signet([
        'tlog',
        'verify',
        '--entry',
        entryFile,
        '--rekor-public-key',
        logKeyFile,
        '--artifact',
        artifact,
      ]);
    const mine = await withArtifact(files.artifact);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /matches the entry's digest/);
    assert.equal((await withArtifact(files.pub)).code, 53);
  });

  it('prints a human-readable entry by UUID', async () => {
    const g = await signet([
      'tlog',
      'get',
      '--log-index',
      '0',
      '--rekor-url',
      log.url,
      '--json',
    ]);
    const uuid = Object.keys(JSON.parse(g.stdout) as object)[0] as string;
    const r = await signet([
      'tlog',
      'get',
      '--uuid',
      uuid,
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      logKeyFile,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^LogID: [0-9a-f]{64}\nIndex: 0\nIntegratedTime: \S+\nUUID: [0-9a-f]{80}\nURL: .*\nBody: \{"apiVersion":"0.0.1","kind":"hashedrekord"/
    );
    assert.match(r.stderr, /^Verified log entry 0/);
  });

  it('shows log info with a verified checkpoint, and fails with the wrong key', async () => {
    const r = await signet([
      'tlog',
      'info',
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      logKeyFile,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Tree Size: [1-9]\d*\n/);
    assert.match(r.stdout, /Checkpoint: verified \(127\.0\.0\.1 - \d+\)/);
    const bad = await signet([
      'tlog',
      'info',
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      rekorPem,
    ]);
    assert.equal(bad.code, 53, bad.stderr);
  });

  it('proves the log only grew since a saved checkpoint, and detects a split view', async () => {
    const saved = join(dir, 'checkpoint.txt');
    const r1 = await signet([
      'tlog',
      'info',
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      logKeyFile,
      '--checkpoint-out',
      saved,
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    const before = parseCheckpoint(
      parseSignedNote(readFileSync(saved, 'utf8')).text
    );
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const a = randomBytes(10);
    const af = join(dir, 'a2.bin');
    const sf = join(dir, 'a2.sig');
    const pf = join(dir, 'a2.pub');
    writeFileSync(af, a);
    writeFileSync(sf, sign('sha256', a, k.privateKey).toString('base64'));
    writeFileSync(pf, k.publicKey.export({ type: 'spki', format: 'pem' }));
    const up = await signet([
      'tlog',
      'upload',
      '--artifact',
      af,
      '--signature',
      sf,
      '--public-key',
      pf,
      '--rekor-url',
      log.url,
    ]);
    assert.equal(up.code, 0, up.stderr);
    const r2 = await signet([
      'tlog',
      'info',
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      logKeyFile,
      '--previous-checkpoint',
      saved,
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(
      r2.stdout,
      new RegExp(
        `Consistency: consistent with the previous checkpoint \\(size ${before.size} → ${before.size + 1n}\\)`
      )
    );

    // The log's own key signing another root for the old size: a split view.
    const logPriv = createPrivateKey(
      readFileSync(join(log.dataDir, 'signet-tlog.key'))
    );
    const forged = join(dir, 'forged.txt');
    writeFileSync(
      forged,
      signCheckpoint(
        {
          origin: before.origin,
          size: before.size,
          rootHash: Buffer.alloc(32, 9),
        },
        '127.0.0.1',
        logPriv
      )
    );
    const r3 = await signet([
      'tlog',
      'info',
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      logKeyFile,
      '--previous-checkpoint',
      forged,
    ]);
    assert.equal(r3.code, 53, r3.stderr);
    // Same check without a trusted key is refused, not skipped.
    const r4 = await signet([
      'tlog',
      'info',
      '--rekor-url',
      log.url,
      '--previous-checkpoint',
      saved,
    ]);
    assert.equal(r4.code, 2, r4.stderr);
  });

  it('takes the log URL and key from the environment', async () => {
    const r = await signet(['tlog', 'info'], {
      SIGNET_REKOR_URL: log.url,
      SIGSTORE_REKOR_PUBLIC_KEY: logKeyFile,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Checkpoint: verified/);
  });

  it('reports a missing entry with exit 54', async () => {
    const r = await signet([
      'tlog',
      'get',
      '--log-index',
      '999999',
      '--rekor-url',
      log.url,
    ]);
    assert.equal(r.code, 54, r.stderr);
  });
});

describe('signet tlog verify (offline) on real public-good entries', () => {
  const valid = join(sharedFixtures, 'rekor/v1/valid');
  it('accepts every stored bundle (one process per file, in parallel)', async () => {
    const files = readdirSync(valid);
    assert.equal(files.length, 7);
    const runs = await Promise.all(
      files.map((f) =>
        signet([
          'tlog',
          'verify',
          '--bundle',
          join(valid, f),
          '--rekor-public-key',
          rekorPem,
        ])
      )
    );
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, `${files[i]}: ${r.stderr}`);
      assert.match(r.stdout, /^Verified log entry \d+ /);
    });
  });
  it('accepts the cosign bundle annotation', async () => {
    const r = await signet([
      'tlog',
      'verify',
      '--bundle',
      join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
      '--rekor-public-key',
      rekorPem,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const strict = await signet([
      'tlog',
      'verify',
      '--require-proof',
      '--bundle',
      join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
      '--rekor-public-key',
      rekorPem,
    ]);
    assert.equal(strict.code, 53, strict.stderr);
  });
  it('binds entries to an artifact with --artifact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-tlog-cli-'));
    try {
      // The sigstore-js v2 message-signature bundle signs "hello, world!".
      const hello = join(dir, 'hello.txt');
      writeFileSync(hello, 'hello, world!');
      const other = join(dir, 'other.txt');
      writeFileSync(other, 'hello, world?');
      const run = (bundle: string, artifact: string): Promise<Run> =>
        signet([
          'tlog',
          'verify',
          '--bundle',
          join(valid, bundle),
          '--rekor-public-key',
          rekorPem,
          '--artifact',
          artifact,
        ]);
      const ok = await run(
        'sigstore-js-client-v2-messageSignature.sigstore.json',
        hello
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /signature and certificate match the entry/);
      assert.equal(
        (
          await run(
            'sigstore-js-client-v2-messageSignature.sigstore.json',
            other
          )
        ).code,
        53
      );
      // A valid entry inside a bundle whose signature is over another artifact.
      assert.equal(
        (await run('wrong-hashedrekord-artifact_fail.sigstore.json', hello))
          .code,
        53
      );
      // DSSE entries name no artifact digest.
      assert.equal(
        (await run('sigstore-js-client-v3-dsse.sigstore.json', hello)).code,
        53
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('trusts the Rekor v1 logs of a trusted_root.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-tlog-cli-'));
    try {
      const der = createPublicKey(readFileSync(rekorPem)).export({
        type: 'spki',
        format: 'der',
      });
      const rootFor = (start: string): string =>
        JSON.stringify({
          mediaType:
            'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
          tlogs: [
            {
              baseUrl: 'https://rekor.sigstore.dev',
              hashAlgorithm: 'SHA2_256',
              publicKey: {
                rawBytes: der.toString('base64'),
                keyDetails: 'PKIX_ECDSA_P256_SHA_256',
                validFor: { start },
              },
              logId: { keyId: 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=' },
            },
          ],
        });
      const good = join(dir, 'root.json');
      const late = join(dir, 'late.json');
      writeFileSync(good, rootFor('2021-01-12T11:53:27.000Z'));
      writeFileSync(late, rootFor('2025-01-01T00:00:00Z'));
      const bundle = join(valid, 'happy-path-intoto-in-dsse-v3.sigstore.json');
      const ok = await signet([
        'tlog',
        'verify',
        '--bundle',
        bundle,
        '--trusted-root',
        good,
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const bad = await signet([
        'tlog',
        'verify',
        '--bundle',
        bundle,
        '--trusted-root',
        late,
      ]);
      assert.equal(bad.code, 53, bad.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('rejects a bundle whose checkpoint was tampered with (exit 53)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-tlog-cli-'));
    try {
      const text = readFileSync(
        join(valid, 'happy-path-intoto-in-dsse-v3.sigstore.json'),
        'utf8'
      );
      const f = join(dir, 'b.json');
      writeFileSync(f, text.replace('\\u2014', '-').replace('\u2014', '-'));
      const r = await signet([
        'tlog',
        'verify',
        '--bundle',
        f,
        '--rekor-public-key',
        rekorPem,
      ]);
      assert.equal(r.code, 53, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('needs a trusted key and one input', async () => {
    const bundle = join(valid, 'happy-path-intoto-in-dsse-v3.sigstore.json');
    assert.equal(
      (await signet(['tlog', 'verify', '--bundle', bundle])).code,
      2
    );
    assert.equal(
      (await signet(['tlog', 'verify', '--rekor-public-key', rekorPem])).code,
      2
    );
    assert.equal((await signet(['tlog', 'get', '--log-index', '-1'])).code, 2);
  });
});

describe('signet tlog verify on bad input files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-tlog-cli-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 21 on a bundle that is not JSON or is over the size cap', async () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'not json');
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, Buffer.alloc(65 * 1024 * 1024, 0x20));
    for (const file of [notJson, huge]) {
      const r = await signet([
        'tlog',
        'verify',
        '--bundle',
        file,
        '--rekor-public-key',
        rekorPem,
      ]);
      assert.equal(r.code, 21, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(r.stderr.includes(file), r.stderr);
    }
  });
});
