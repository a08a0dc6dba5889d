/**
 * Interop with an independent implementation of cosign's `.sig` attachment
 * format: skopeo 1.9.3 (containers/image 5.23), see
 * spec/interop-peers.md. skopeo reads and writes the attachments for real;
 * the cryptography on skopeo's side is done by OpenSSL (Debian's skopeo has
 * its sigstore signer stubbed out, §1).
 *
 * skopeo always runs with a private registries.d (use-sigstore-attachments)
 * and policy file, and a private HOME, never the system configuration.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ociDigest } from '../../src/core/digest.js';
import { encryptCosignKey, publicKeyPem } from '../../src/keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  parseSignatureManifest,
  signatureTag,
} from '../../src/oci/cosign-layout.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { RegistryClient, type RepoRef } from '../../src/oci/registry.js';
import { MANIFEST_ACCEPT } from '../../src/oci/types.js';
import { pushRandomImage } from '../support/images.js';
import { cliPath } from '../support/paths.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const PASSWORD = 'interop-password';
/** containers/image `dir:` sigstore signature file prefix (interop-peers.md §1). */
const SIGSTORE_PREFIX = Buffer.from('\0sigstore-json\n');

let reg: RunningRegistry;
let client: RegistryClient;
let dir: string;
let signetKey: string;
let signetPub: string;
let opensslKey: string;
let opensslPub: string;
let n = 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(
  cmd: string,
  args: string[],
  env: Record<string, string> = {}
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: dir,
        XDG_RUNTIME_DIR: dir,
        XDG_CONFIG_HOME: join(dir, 'config'),
        DOCKER_CONFIG: join(dir, 'docker'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** skopeo with the private containers configuration (spec §5.2). */
function skopeo(args: string[]): Promise<Run> {
  return exec('/usr/bin/skopeo', [
    '--registries.d',
    join(dir, 'registries.d'),
    '--policy',
    join(dir, 'policy-insecure.json'),
    '--tmpdir',
    join(dir, 'tmp'),
    ...args,
  ]);
}

async function skopeoOk(args: string[]): Promise<Run> {
  const r = await skopeo(args);
  assert.equal(r.code, 0, `skopeo ${args.join(' ')}\n${r.stderr}`);
  return r;
}

function signet(args: string[]): Promise<Run> {
  return exec(process.execPath, [cliPath, ...args], {
    COSIGN_PASSWORD: PASSWORD,
    // Storage-format interop with skopeo; skopeo writes no log entries, and
    // the log path is tested in tests/e2e/tlog-sign-verify.test.ts.
    COSIGN_TLOG_UPLOAD: 'false',
    COSIGN_INSECURE_IGNORE_TLOG: 'true',
  });
}

function openssl(args: string[]): Promise<Run> {
  return exec('/usr/bin/openssl', args);
}

function repo(): RepoRef {
  n++;
  return { registry: reg.host, repository: `interop/skopeo${n}` };
}

function name(r: RepoRef, suffix: string): string {
  return `${r.registry}/${r.repository}${suffix}`;
}

function workDir(label: string): string {
  return join(dir, `${label}-${n}`);
}

interface SigstoreFile {
  mimeType: string;
  payload: Buffer;
  annotations: Record<string, string>;
}

/** Reads a containers/image `dir:` sigstore signature file. */
function readSigstoreFile(path: string): SigstoreFile {
  const raw = readFileSync(path);
  assert.ok(raw.subarray(0, SIGSTORE_PREFIX.length).equals(SIGSTORE_PREFIX));
  const j = JSON.parse(
    raw.subarray(SIGSTORE_PREFIX.length).toString('utf8')
  ) as {
    mimeType: string;
    payload: string;
    annotations: Record<string, string>;
  };
  return {
    mimeType: j.mimeType,
    payload: Buffer.from(j.payload, 'base64'),
    annotations: j.annotations,
  };
}

/** Writes one as skopeo expects it in a `dir:` image (recipe §5.4). */
function writeSigstoreFile(
  path: string,
  payload: Buffer,
  signatureB64: string
): void {
  const body = JSON.stringify({
    mimeType: SIMPLE_SIGNING_MEDIA_TYPE,
    payload: payload.toString('base64'),
    annotations: { [SIGNATURE_ANNOTATION]: signatureB64 },
  });
  writeFileSync(path, Buffer.concat([SIGSTORE_PREFIX, Buffer.from(body)]));
}

/** The cosign payload, written out by hand (not by Signet's builder). */
function cosignPayload(r: RepoRef, digest: string): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":"${r.registry}/${r.repository}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`
  );
}

/** ECDSA P-256 / SHA-256 signature by OpenSSL, base64 of the DER. */
async function opensslSign(payload: Buffer, keyPath: string): Promise<string> {
  const p = join(dir, `payload-${n}.json`);
  const s = join(dir, `sig-${n}.der`);
  writeFileSync(p, payload);
  const r = await openssl(['dgst', '-sha256', '-sign', keyPath, '-out', s, p]);
  assert.equal(r.code, 0, r.stderr);
  return readFileSync(s).toString('base64');
}

before(async () => {
  reg = await startRegistry();
  client = new RegistryClient({ credentials: staticCredentialProvider({}) });
  dir = mkdtempSync(join(tmpdir(), 'signet-interop-skopeo-'));
  mkdirSync(join(dir, 'registries.d'));
  mkdirSync(join(dir, 'tmp'));
  writeFileSync(
    join(dir, 'registries.d', 'sigstore-attachments.yaml'),
    'default-docker:\n  use-sigstore-attachments: true\n'
  );
  writeFileSync(
    join(dir, 'policy-insecure.json'),
    '{"default":[{"type":"insecureAcceptAnything"}]}'
  );
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  signetKey = join(dir, 'cosign.key');
  signetPub = join(dir, 'cosign.pub');
  writeFileSync(
    signetKey,
    encryptCosignKey(pair.privateKey, PASSWORD, { scryptN: 32768 })
  );
  writeFileSync(signetPub, publicKeyPem(pair.publicKey));
  opensslKey = join(dir, 'openssl.key');
  opensslPub = join(dir, 'openssl.pub');
  let r = await openssl([
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    opensslKey,
  ]);
  assert.equal(r.code, 0, r.stderr);
  r = await openssl(['pkey', '-in', opensslKey, '-pubout', '-out', opensslPub]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await client.close();
  await reg.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('skopeo writes, signet verify reads', () => {
  it('verifies a signature skopeo stored from dir: signature files', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    const w = workDir('write');
    await skopeoOk([
      'copy',
      '--all',
      '--preserve-digests',
      '--src-tls-verify=false',
      `docker://${name(r, ':v1')}`,
      `dir:${w}`,
    ]);
    const digest = (
      await skopeoOk(['manifest-digest', join(w, 'manifest.json')])
    ).stdout.trim();
    assert.equal(digest, img.digest);
    const payload = cosignPayload(r, digest);
    writeSigstoreFile(
      join(w, 'signature-1'),
      payload,
      await opensslSign(payload, opensslKey)
    );
    await skopeoOk([
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `dir:${w}`,
      `docker://${name(r, ':v1')}`,
    ]);

    // skopeo wrote the attachment in its own layout (descriptor order, config).
    const stored = await client.getManifest(r, signatureTag(digest), {
      accept: MANIFEST_ACCEPT,
    });
    assert.match(
      stored.bytes.toString(),
      /"mediaType":"application\/vnd\.dev\.cosign\.simplesigning\.v1\+json","digest":/
    );

    const res = await signet(['verify', '--key', opensslPub, name(r, ':v1')]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `\n[${payload.toString()}]\n`);
    const wrong = await signet(['verify', '--key', signetPub, name(r, ':v1')]);
    assert.equal(wrong.code, 12, wrong.stderr);
  });

  it('verifies each signature of an attachment skopeo merged', async () => {
    const r = repo();
    await pushRandomImage(client, r, { tag: 'v1' });
    // First signature by signet, second appended by skopeo (OpenSSL key).
    const s = await signet(['sign', '--key', signetKey, name(r, ':v1')]);
    assert.equal(s.code, 0, s.stderr);
    const w = workDir('merge');
    await skopeoOk([
      'copy',
      '--all',
      '--preserve-digests',
      '--src-tls-verify=false',
      `docker://${name(r, ':v1')}`,
      `dir:${w}`,
    ]);
    assert.ok(existsSync(join(w, 'signature-1')));
    assert.ok(!existsSync(join(w, 'signature-2')));
    const digest = (
      await skopeoOk(['manifest-digest', join(w, 'manifest.json')])
    ).stdout.trim();
    const payload = cosignPayload(r, digest);
    writeSigstoreFile(
      join(w, 'signature-2'),
      payload,
      await opensslSign(payload, opensslKey)
    );
    await skopeoOk([
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `dir:${w}`,
      `docker://${name(r, ':v1')}`,
    ]);
    const stored = await client.getManifest(r, signatureTag(digest), {
      accept: MANIFEST_ACCEPT,
    });
    assert.equal(parseSignatureManifest(stored.bytes).layers.length, 2);
    for (const key of [signetPub, opensslPub]) {
      const res = await signet(['verify', '--key', key, name(r, ':v1')]);
      assert.equal(res.code, 0, res.stderr);
    }
  });

  it("uses skopeo's own sigstore signer when it has one, else fails as Debian documents", async () => {
    // Debian's skopeo stubs the signer out (interop-peers.md §1); an upstream
    // skopeo signs with the cosign key and signet must verify the result.
    const r = repo();
    await pushRandomImage(client, r, { tag: 'v1' });
    const passFile = join(dir, 'passphrase');
    writeFileSync(passFile, `${PASSWORD}\n`);
    const res = await skopeo([
      'copy',
      '--sign-by-sigstore-private-key',
      signetKey,
      '--sign-passphrase-file',
      passFile,
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${name(r, ':v1')}`,
      `docker://${name(r, ':signed')}`,
    ]);
    if (res.code === 0) {
      const v = await signet([
        'verify',
        '--key',
        signetPub,
        name(r, ':signed'),
      ]);
      assert.equal(v.code, 0, v.stderr);
    } else {
      assert.match(res.stderr, /Debian-local change: sigstore disabled/);
    }
  });
});

describe('signet writes, skopeo reads', () => {
  it('skopeo reads back payload and annotations intact', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    const s = await signet([
      'sign',
      '--key',
      signetKey,
      '-a',
      'env=prod',
      name(r, ':v1'),
    ]);
    assert.equal(s.code, 0, s.stderr);
    // What signet stored, read with Signet's client.
    const stored = await client.getManifest(r, signatureTag(img.digest), {
      accept: MANIFEST_ACCEPT,
    });
    const layer = parseSignatureManifest(stored.bytes).layers[0]!;
    const blob = await client.getBlob(r, layer.digest);

    const out = workDir('read');
    await skopeoOk([
      'copy',
      '--multi-arch',
      'index-only',
      '--preserve-digests',
      '--src-tls-verify=false',
      `docker://${name(r, ':v1')}`,
      `dir:${out}`,
    ]);
    const digest = (
      await skopeoOk(['manifest-digest', join(out, 'manifest.json')])
    ).stdout.trim();
    assert.equal(digest, img.digest);
    assert.ok(!existsSync(join(out, 'signature-2')));
    const sig = readSigstoreFile(join(out, 'signature-1'));
    assert.equal(sig.mimeType, SIMPLE_SIGNING_MEDIA_TYPE);
    assert.deepEqual(sig.payload, blob);
    assert.equal(ociDigest(sig.payload), layer.digest);
    assert.deepEqual(sig.annotations, { ...layer.annotations });
    const claims = JSON.parse(sig.payload.toString()) as {
      critical: { image: { 'docker-manifest-digest': string }; type: string };
      optional: Record<string, string>;
    };
    assert.equal(claims.critical.image['docker-manifest-digest'], digest);
    assert.equal(claims.critical.type, 'cosign container image signature');
    assert.deepEqual(claims.optional, { env: 'prod' });
    // Independent crypto check of what skopeo handed over.
    const p = join(out, 'payload.json');
    const d = join(out, 'sig.der');
    writeFileSync(p, sig.payload);
    writeFileSync(
      d,
      Buffer.from(sig.annotations[SIGNATURE_ANNOTATION]!, 'base64')
    );
    const v = await openssl([
      'dgst',
      '-sha256',
      '-verify',
      signetPub,
      '-signature',
      d,
      p,
    ]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Verified OK/);
  });

  it('signatures survive skopeo copying the image to another repository', async () => {
    const src = repo();
    const dst = repo();
    const img = await pushRandomImage(client, src, { tag: 'v1' });
    const s = await signet(['sign', '--key', signetKey, name(src, ':v1')]);
    assert.equal(s.code, 0, s.stderr);
    const c = await skopeoOk([
      'copy',
      '--all',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${name(src, ':v1')}`,
      `docker://${name(dst, ':v1')}`,
    ]);
    assert.match(c.stderr + c.stdout, /Storing signatures/);
    // The attachment now exists in the destination repository too.
    const copied = await client.getManifest(dst, signatureTag(img.digest), {
      accept: MANIFEST_ACCEPT,
    });
    assert.equal(parseSignatureManifest(copied.bytes).layers.length, 1);
    const res = await signet(['verify', '--key', signetPub, name(dst, ':v1')]);
    assert.equal(res.code, 0, res.stderr);
    // The payload still names the repository that was signed (cosign
    // semantics: identity is not checked).
    assert.equal(
      res.stdout,
      `\n[${cosignPayload(src, img.digest).toString()}]\n`
    );
  });
});
