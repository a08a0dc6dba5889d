/**
 * Transparency in sign and verify, end to end: the signet CLI against the
 * real registry and our own log server over HTTP (issue 6, spec
 * signature-storage.md §9).
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encryptCosignKey, publicKeyPem } from '../../src/keys/index.js';
import {
  BUNDLE_ANNOTATION,
  signatureTag,
} from '../../src/oci/cosign-layout.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { RegistryClient, type RepoRef } from '../../src/oci/registry.js';
import { MANIFEST_ACCEPT } from '../../src/oci/types.js';
import { signerFromPrivateKey } from '../../src/keys/index.js';
import { logUploader } from '../../src/sign/tlog.js';
import { parseCosignBundle } from '../../src/tlog/bundle.js';
import { RekorClient } from '../../src/tlog/client.js';
import {
  findLayerEntry,
  verifyLayerBundle,
} from '../../src/verify/tlog-bundle.js';
import { verifyLogEntry } from '../../src/verify/tlog.js';
import { pushRandomImage } from '../support/images.js';
import { sharedFixtures } from '../support/paths.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startLogServer, type RunningLogServer } from '../support/tlog.js';
import { runSignet, type CliRun } from '../support/cli.js';

const PASSWORD = 'e2e-tlog';

let reg: RunningRegistry;
let log: RunningLogServer;
let otherLog: RunningLogServer;
let client: RegistryClient;
let dir: string;
let key: string;
let pub: string;
let logPub: string;
let otherLogPub: string;
let n = 0;

function run(
  args: string[],
  env: Record<string, string> = {}
): Promise<CliRun> {
  return runSignet(args, {
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'docker'),
    COSIGN_PASSWORD: PASSWORD,
    ...env,
  });
}

async function image(): Promise<{ repo: RepoRef; ref: string }> {
  n++;
  const repo = { registry: reg.host, repository: `e2e/tlog${n}` };
  const img = await pushRandomImage(client, repo);
  return { repo, ref: `${reg.host}/${repo.repository}@${img.digest}` };
}

async function sign(
  ref: string,
  l: RunningLogServer = log,
  logKey: string = logPub
): Promise<CliRun> {
  const r = await run([
    'sign',
    '--key',
    key,
    '--rekor-url',
    l.url,
    '--rekor-public-key',
    logKey,
    ref,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

function verify(ref: string, extra: string[] = []): Promise<CliRun> {
  return run([
    'verify',
    '--key',
    pub,
    '--rekor-url',
    log.url,
    '--rekor-public-key',
    logPub,
    ...extra,
    ref,
  ]);
}

const OFFLINE_LINE =
  '  - Existence of the claims in the transparency log was verified offline';
const ONLINE_LINE = '  - The claims were present in the transparency log';

/** The signature manifest of `ref` and a way to write a modified copy back. */
async function sigManifest(repo: RepoRef, ref: string) {
  const digest = ref.slice(ref.indexOf('@') + 1);
  const tag = signatureTag(digest);
  const m = await client.getManifest(repo, tag, { accept: MANIFEST_ACCEPT });
  const doc = JSON.parse(m.bytes.toString('utf8')) as {
    layers: { annotations: Record<string, string> }[];
  };
  return {
    doc,
    async put(): Promise<void> {
      await client.putManifest(
        repo,
        tag,
        Buffer.from(JSON.stringify(doc)),
        m.mediaType
      );
    },
  };
}

before(async () => {
  [reg, log, otherLog] = await Promise.all([
    startRegistry(),
    startLogServer(),
    startLogServer(),
  ]);
  client = new RegistryClient({ credentials: staticCredentialProvider({}) });
  dir = mkdtempSync(join(tmpdir(), 'signet-e2e-tlog-'));
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  key = join(dir, 'cosign.key');
  pub = join(dir, 'cosign.pub');
  writeFileSync(
    key,
    encryptCosignKey(pair.privateKey, PASSWORD, { scryptN: 32768 })
  );
  writeFileSync(pub, publicKeyPem(pair.publicKey));
  logPub = join(dir, 'rekor.pub');
  writeFileSync(logPub, log.publicKeyPem);
  otherLogPub = join(dir, 'other-rekor.pub');
  writeFileSync(otherLogPub, otherLog.publicKeyPem);
});

after(async () => {
  await client.close();
  await Promise.all([reg.stop(), log.stop(), otherLog.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('sign uploads to the log and stores the bundle annotation', () => {
  it('signs, stores a cosign bundle and verifies offline from it', async () => {
    const { repo, ref } = await image();
    const s = await sign(ref);
    const idx = /tlog entry created with index: (\d+)/.exec(s.stderr);
    assert.ok(idx, s.stderr);
    const { doc } = await sigManifest(repo, ref);
    const bundle = doc.layers[0]?.annotations[BUNDLE_ANNOTATION];
    assert.ok(bundle !== undefined);
    // cosign's serialisation: key order and encodings (spec §9.1).
    assert.match(
      bundle,
      /^\{"SignedEntryTimestamp":"[A-Za-z0-9+/=]+","Payload":\{"body":"[A-Za-z0-9+/=]+","integratedTime":\d+,"logIndex":\d+,"logID":"[0-9a-f]{64}"\}\}$/
    );
    const entry = parseCosignBundle(bundle);
    assert.equal(entry.logIndex, BigInt(idx[1]!));
    const body = JSON.parse(entry.body.toString('utf8')) as {
      kind: string;
      apiVersion: string;
    };
    assert.equal(body.kind, 'hashedrekord');
    assert.equal(body.apiVersion, '0.0.1');

    const v = await verify(ref);
    assert.equal(v.code, 0, v.stderr);
    assert.ok(v.stderr.includes(`${OFFLINE_LINE}\n`), v.stderr);
    assert.ok(!v.stderr.includes(ONLINE_LINE), v.stderr);
  });

  it('verifies from the bundle with the log stopped', async () => {
    const l = await startLogServer();
    const lp = join(dir, 'stopped-rekor.pub');
    writeFileSync(lp, l.publicKeyPem);
    const { ref } = await image();
    await sign(ref, l, lp);
    await l.stop();
    for (const extra of [[], ['--offline=true']]) {
      const v = await run([
        'verify',
        '--key',
        pub,
        '--rekor-url',
        l.url,
        '--rekor-public-key',
        lp,
        ...extra,
        ref,
      ]);
      assert.equal(v.code, 0, v.stderr);
      assert.ok(v.stderr.includes(OFFLINE_LINE), v.stderr);
    }
    // Without a bundle the log must be asked: unreachable is exit 50
    // (TLOG_UNAVAILABLE), not a verdict on the signature.
    const unlogged = await image();
    const u = await run([
      'sign',
      '--key',
      key,
      '--tlog-upload=false',
      unlogged.ref,
    ]);
    assert.equal(u.code, 0, u.stderr);
    const down = await run([
      'verify',
      '--key',
      pub,
      '--rekor-url',
      l.url,
      '--rekor-public-key',
      lp,
      unlogged.ref,
    ]);
    assert.equal(down.code, 50, down.stderr);
  });

  it('refuses to store an entry whose SET does not verify with the pinned key', async () => {
    const { repo, ref } = await image();
    const r = await run([
      'sign',
      '--key',
      key,
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      otherLogPub,
      ref,
    ]);
    assert.equal(r.code, 53, r.stderr);
    const digest = ref.slice(ref.indexOf('@') + 1);
    assert.equal(
      await client.headManifest(repo, signatureTag(digest)),
      undefined
    );
  });

  it('trusts the key served by the log when none is pinned, with a warning', async () => {
    const { ref } = await image();
    const r = await run(['sign', '--key', key, '--rekor-url', log.url, ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WARNING: no transparency log key pinned/);
    assert.equal((await verify(ref)).code, 0);
  });

  it('handles an entry that is already in the log (409) by fetching it', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = signerFromPrivateKey(pair.privateKey);
    const payload = Buffer.from('{"409":"test"}');
    const signature = await signer.sign(payload);
    const rekor = new RekorClient(log.url);
    try {
      const up = logUploader({
        client: rekor,
        trustedLogs: [createPublicKey(log.publicKeyPem)],
      });
      const input = { payload, signature, publicKey: signer.publicKey };
      const first = await up.record(input);
      const second = await up.record(input);
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.entry.logIndex, first.entry.logIndex);
      assert.deepEqual(second.entry.body, first.entry.body);
      assert.equal(second.entry.integratedTime, first.entry.integratedTime);
      assert.equal(
        second.verification.checks.includes('signed-entry-timestamp'),
        true
      );
    } finally {
      await rekor.close();
    }
  });

  it('logs and verifies signatures of every key type (digest follows the key)', async () => {
    const rekor = new RekorClient(log.url);
    try {
      const logKey = createPublicKey(log.publicKeyPem);
      const up = logUploader({ client: rekor, trustedLogs: [logKey] });
      for (const pair of [
        generateKeyPairSync('ec', { namedCurve: 'P-384' }),
        generateKeyPairSync('ec', { namedCurve: 'P-521' }),
        generateKeyPairSync('ed25519'),
        generateKeyPairSync('rsa', { modulusLength: 2048 }),
      ]) {
        const signer = signerFromPrivateKey(pair.privateKey);
        const payload = Buffer.from(
          `{"key":"${pair.publicKey.asymmetricKeyType}"}`
        );
        const signature = await signer.sign(payload);
        const rec = await up.record({
          payload,
          signature,
          publicKey: signer.publicKey,
        });
        const layer = { payload, signature, annotations: undefined };
        const policy = { trustedLogs: [logKey], publicKey: pair.publicKey };
        assert.equal(
          verifyLayerBundle(rec.bundle, layer, policy).mode,
          'bundle'
        );
        const found = await findLayerEntry(layer, { ...policy, client: rekor });
        assert.equal(found.entry.logIndex, rec.entry.logIndex);
        // Another key's signature does not bind.
        assert.throws(
          () =>
            verifyLayerBundle(rec.bundle, layer, {
              trustedLogs: [logKey],
              publicKey: createPublicKey(otherLog.publicKeyPem),
            }),
          { name: 'VerificationError', code: 'TLOG_VERIFICATION' }
        );
      }
    } finally {
      await rekor.close();
    }
  });

  it('--tlog-upload=false signs without the log; verify then needs --insecure-ignore-tlog', async () => {
    const { repo, ref } = await image();
    const r = await run(['sign', '--key', key, '--tlog-upload=false', ref]);
    assert.equal(r.code, 0, r.stderr);
    const { doc } = await sigManifest(repo, ref);
    assert.equal(doc.layers[0]?.annotations[BUNDLE_ANNOTATION], undefined);
    // Not in the log: the online lookup finds nothing.
    const v = await verify(ref);
    assert.equal(v.code, 12, v.stderr);
    assert.match(v.stderr, /not found in the transparency log/);
    const ok = await run([
      'verify',
      '--key',
      pub,
      '--insecure-ignore-tlog=true',
      ref,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(
      ok.stderr.startsWith(
        'WARNING: Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.\n'
      ),
      ok.stderr
    );
    assert.ok(!ok.stderr.includes('transparency log was'), ok.stderr);
  });

  it('COSIGN_EXPERIMENTAL=1 is accepted (upload stays on)', async () => {
    const { repo, ref } = await image();
    const r = await run(
      [
        'sign',
        '--key',
        key,
        '--rekor-url',
        log.url,
        '--rekor-public-key',
        logPub,
        ref,
      ],
      { COSIGN_EXPERIMENTAL: '1' }
    );
    assert.equal(r.code, 0, r.stderr);
    const { doc } = await sigManifest(repo, ref);
    assert.ok(doc.layers[0]?.annotations[BUNDLE_ANNOTATION] !== undefined);
  });

  it('verify without a pinned log key is a usage error', async () => {
    const { ref } = await image();
    await sign(ref);
    const v = await run(['verify', '--key', pub, '--rekor-url', log.url, ref]);
    assert.equal(v.code, 2, v.stderr);
  });
});

describe('verify rejects bad bundles (exit 12 with the reason)', () => {
  it('tampered SET', async () => {
    const { repo, ref } = await image();
    await sign(ref);
    const m = await sigManifest(repo, ref);
    const layer = m.doc.layers[0]!;
    const b = JSON.parse(layer.annotations[BUNDLE_ANNOTATION]!) as {
      SignedEntryTimestamp: string;
    };
    const set = Buffer.from(b.SignedEntryTimestamp, 'base64');
    set[set.length - 1]! ^= 1;
    b.SignedEntryTimestamp = set.toString('base64');
    layer.annotations[BUNDLE_ANNOTATION] = JSON.stringify(b);
    await m.put();
    const v = await verify(ref);
    assert.equal(v.code, 12, v.stderr);
    assert.match(v.stderr, /bundle/);
  });

  it('tampered integratedTime (SET no longer covers it)', async () => {
    const { repo, ref } = await image();
    await sign(ref);
    const m = await sigManifest(repo, ref);
    const layer = m.doc.layers[0]!;
    const b = JSON.parse(layer.annotations[BUNDLE_ANNOTATION]!) as {
      Payload: { integratedTime: number };
    };
    b.Payload.integratedTime -= 3600;
    layer.annotations[BUNDLE_ANNOTATION] = JSON.stringify(b);
    await m.put();
    const v = await verify(ref);
    assert.equal(v.code, 12, v.stderr);
  });

  it('tampered body', async () => {
    const { repo, ref } = await image();
    await sign(ref);
    const m = await sigManifest(repo, ref);
    const layer = m.doc.layers[0]!;
    const b = JSON.parse(layer.annotations[BUNDLE_ANNOTATION]!) as {
      Payload: { body: string };
    };
    const body = JSON.parse(
      Buffer.from(b.Payload.body, 'base64').toString('utf8')
    ) as { spec: { data: { hash: { value: string } } } };
    const v0 = body.spec.data.hash.value;
    body.spec.data.hash.value = (v0[0] === '0' ? '1' : '0') + v0.slice(1);
    b.Payload.body = Buffer.from(JSON.stringify(body)).toString('base64');
    layer.annotations[BUNDLE_ANNOTATION] = JSON.stringify(b);
    await m.put();
    const v = await verify(ref);
    assert.equal(v.code, 12, v.stderr);
    assert.match(v.stderr, /bundle does not belong to this signature/);
  });

  it('a bundle from another log (different key)', async () => {
    const { ref } = await image();
    await sign(ref, otherLog, otherLogPub);
    const v = await verify(ref, ['--offline=true']);
    assert.equal(v.code, 12, v.stderr);
    assert.match(v.stderr, /untrusted log/);
  });

  it('a valid bundle copied onto a different signature', async () => {
    const a = await image();
    const b = await image();
    await sign(a.ref);
    await sign(b.ref);
    const ma = await sigManifest(a.repo, a.ref);
    const mb = await sigManifest(b.repo, b.ref);
    mb.doc.layers[0]!.annotations[BUNDLE_ANNOTATION] =
      ma.doc.layers[0]!.annotations[BUNDLE_ANNOTATION]!;
    await mb.put();
    const v = await verify(b.ref);
    assert.equal(v.code, 12, v.stderr);
    assert.match(v.stderr, /bundle does not belong to this signature/);
  });
});

describe('online fallback (no bundle annotation)', () => {
  it('looks the entry up and verifies its inclusion proof; --offline refuses', async () => {
    const { repo, ref } = await image();
    await sign(ref);
    const m = await sigManifest(repo, ref);
    delete m.doc.layers[0]!.annotations[BUNDLE_ANNOTATION];
    await m.put();
    const v = await verify(ref);
    assert.equal(v.code, 0, v.stderr);
    assert.ok(v.stderr.includes(`${ONLINE_LINE}\n`), v.stderr);
    assert.ok(!v.stderr.includes(OFFLINE_LINE), v.stderr);
    const off = await verify(ref, ['--offline=true']);
    assert.equal(off.code, 12, off.stderr);
    // The wrong log key fails the checkpoint.
    const wrong = await run([
      'verify',
      '--key',
      pub,
      '--rekor-url',
      log.url,
      '--rekor-public-key',
      otherLogPub,
      ref,
    ]);
    assert.equal(wrong.code, 12, wrong.stderr);
  });
});

describe('the cosign fixture bundle', () => {
  it('verifies against the production Rekor key, and not against another', () => {
    const text = readFileSync(
      join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
      'utf8'
    ).trim();
    const prod = createPublicKey(
      readFileSync(
        join(sharedFixtures, 'rekor/keys/rekor.sigstore.dev.pub.pem'),
        'utf8'
      )
    );
    const entry = parseCosignBundle(text);
    const v = verifyLogEntry(entry, [prod], { requireSET: true });
    assert.equal(v.logIndex, 5179n);
    assert.ok(v.checks.includes('signed-entry-timestamp'));
    assert.throws(
      () => verifyLogEntry(entry, [createPublicKey(log.publicKeyPem)]),
      { name: 'VerificationError', code: 'TLOG_VERIFICATION' }
    );
    // It is a 2021 `rekord` entry: the layer binding refuses any other
    // signature (here: an empty payload and signature).
    assert.throws(
      () =>
        verifyLayerBundle(
          text,
          {
            payload: Buffer.alloc(0),
            signature: Buffer.alloc(0),
            annotations: undefined,
          },
          { trustedLogs: [prod], publicKey: prod }
        ),
      { name: 'VerificationError', code: 'TLOG_VERIFICATION' }
    );
  });
});
