/**
 * `signet verify` as a child process against the real registry: cosign's
 * stderr header, stdout JSON, exit codes, COSIGN_* variables, and the
 * upstream cosign fixture pushed where cosign would have put it.
 */
import assert from 'node:assert/strict';
import {
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ociDigest } from '../../src/core/digest.js';
import { encryptCosignKey, publicKeyPem } from '../../src/keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildSignatureImage,
  signatureTag,
} from '../../src/oci/cosign-layout.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { RegistryClient, type RepoRef } from '../../src/oci/registry.js';
import { MANIFEST_ACCEPT, MediaType } from '../../src/oci/types.js';
import { pushRandomImage } from '../support/images.js';
import { sharedFixtures } from '../support/paths.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startLogServer, type RunningLogServer } from '../support/tlog.js';
import { runSignet, type CliRun } from '../support/cli.js';

const PASSWORD = 'e2e-verify';
/** For signatures made by hand here, which were never put in a log. */
const NO_TLOG = { COSIGN_INSECURE_IGNORE_TLOG: 'true' };

let reg: RunningRegistry;
/** Transparency log: sign records there, verify checks the bundles. */
let tlog: RunningLogServer;
let client: RegistryClient;
let dir: string;
let key: string;
let pub: string;
let otherPub: string;
let privateKey: KeyObject;
let n = 0;

function run(
  args: string[],
  env: Record<string, string> = {}
): Promise<CliRun> {
  return runSignet(args, {
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'docker'),
    COSIGN_PASSWORD: PASSWORD,
    SIGNET_REKOR_URL: tlog.url,
    SIGSTORE_REKOR_PUBLIC_KEY: join(dir, 'rekor.pub'),
    ...env,
  });
}

function repo(): RepoRef {
  n++;
  return { registry: reg.host, repository: `e2e/verify${n}` };
}

function name(r: RepoRef, suffix: string): string {
  return `${r.registry}/${r.repository}${suffix}`;
}

async function sign(image: string, extra: string[] = []): Promise<void> {
  const res = await run(['sign', '--key', key, ...extra, image]);
  assert.equal(res.code, 0, res.stderr);
}

function expectedPayload(
  r: RepoRef,
  digest: string,
  optional = 'null'
): string {
  return `{"critical":{"identity":{"docker-reference":"${r.registry}/${r.repository}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":${optional}}`;
}

/** `{"Bundle":…}`: what cosign adds to `optional` for a layer with a bundle. */
async function bundled(sigRepo: RepoRef, digest: string): Promise<string> {
  const m = await client.getManifest(sigRepo, signatureTag(digest), {
    accept: MANIFEST_ACCEPT,
  });
  const doc = JSON.parse(m.bytes.toString('utf8')) as {
    layers: { annotations: Record<string, string> }[];
  };
  const b = doc.layers[0]?.annotations['dev.sigstore.cosign/bundle'];
  assert.ok(b !== undefined, 'no bundle annotation');
  return `{"Bundle":${b}}`;
}

before(async () => {
  [reg, tlog] = await Promise.all([startRegistry(), startLogServer()]);
  client = new RegistryClient({ credentials: staticCredentialProvider({}) });
  dir = mkdtempSync(join(tmpdir(), 'signet-e2e-verify-'));
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  privateKey = pair.privateKey;
  key = join(dir, 'cosign.key');
  pub = join(dir, 'cosign.pub');
  writeFileSync(
    key,
    encryptCosignKey(pair.privateKey, PASSWORD, { scryptN: 32768 })
  );
  writeFileSync(pub, publicKeyPem(pair.publicKey));
  writeFileSync(join(dir, 'rekor.pub'), tlog.publicKeyPem);
  otherPub = join(dir, 'other.pub');
  writeFileSync(
    otherPub,
    publicKeyPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)
  );
});

after(async () => {
  await client.close();
  await Promise.all([reg.stop(), tlog.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('signet verify', () => {
  it('verifies what signet sign wrote, printing cosign header and JSON', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    await sign(name(r, '@' + img.digest));
    const res = await run(['verify', '--key', pub, name(r, ':v1')]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stderr,
      `\nVerification for ${name(r, ':v1')} --\n` +
        'The following checks were performed on each of these signatures:\n' +
        '  - The cosign claims were validated\n' +
        '  - Existence of the claims in the transparency log was verified offline\n' +
        '  - The signatures were verified against the specified public key\n'
    );
    assert.equal(
      res.stdout,
      `\n[${expectedPayload(r, img.digest, await bundled(r, img.digest))}]\n`
    );
    const byDigest = await run([
      'verify',
      '--key',
      pub,
      name(r, '@' + img.digest),
    ]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.equal(byDigest.stdout, res.stdout);
  });

  it('checks -a annotations, lists them in the header, and prints -o text', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    await sign(name(r, '@' + img.digest), ['-a', 'env=prod', '-a', 'team=sec']);
    const ok = await run([
      'verify',
      '--key',
      pub,
      '-a',
      'env=prod',
      '-o',
      'text',
      name(r, ':v1'),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stderr,
      /\n {2}- The specified annotations were verified\.\n {2}- The cosign claims were validated\n/
    );
    assert.equal(
      ok.stdout,
      expectedPayload(r, img.digest, '{"env":"prod","team":"sec"}') + '\n'
    );
    const bad = await run([
      'verify',
      '--key',
      pub,
      '-a',
      'env=dev',
      name(r, ':v1'),
    ]);
    assert.equal(bad.code, 12);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^Error: no matching signatures/);
  });

  it('skips claims (and annotations) with --check-claims=false', async () => {
    const r = repo();
    const a = await pushRandomImage(client, r, { tag: 'a' });
    const b = await pushRandomImage(client, r, { tag: 'b' });
    await sign(name(r, '@' + a.digest));
    // Replay a's signature manifest onto b's tag.
    const sig = await client.getManifest(r, signatureTag(a.digest), {
      accept: MANIFEST_ACCEPT,
    });
    await client.putManifest(
      r,
      signatureTag(b.digest),
      sig.bytes,
      sig.mediaType
    );
    const strict = await run(['verify', '--key', pub, name(r, ':b')]);
    assert.equal(strict.code, 12);
    assert.match(strict.stderr, /invalid or missing digest in claim/);
    const loose = await run([
      'verify',
      '--key',
      pub,
      '--check-claims=false',
      '-a',
      'x=y',
      name(r, ':b'),
    ]);
    assert.equal(loose.code, 0, loose.stderr);
    assert.doesNotMatch(
      loose.stderr,
      /cosign claims were validated|annotations were verified/
    );
    assert.equal(
      loose.stdout,
      `\n[${expectedPayload(r, a.digest, await bundled(r, a.digest))}]\n`
    );
  });

  it("prints cosign's decode error for a signed non-payload with --check-claims=false", async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    const payload = Buffer.from('not a simple-signing payload');
    const sig = cryptoSign('sha256', payload, privateKey).toString('base64');
    await client.putBlob(r, payload);
    const sigImg = buildSignatureImage(
      [
        {
          mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
          size: payload.length,
          digest: ociDigest(payload),
          annotations: { [SIGNATURE_ANNOTATION]: sig },
        },
      ],
      { docker: false }
    );
    await client.putBlob(r, sigImg.configBytes);
    await client.putManifest(
      r,
      signatureTag(img.digest),
      sigImg.manifestBytes,
      sigImg.mediaType
    );
    const strict = await run(['verify', '--key', pub, name(r, ':v1')]);
    assert.equal(strict.code, 12);
    assert.match(strict.stderr, /signature payload: invalid JSON/);
    const loose = await run(
      ['verify', '--key', pub, '--check-claims=false', name(r, ':v1')],
      NO_TLOG
    );
    assert.equal(loose.code, 0, loose.stderr);
    assert.match(loose.stdout, /^error decoding the payload: /);
    const text = await run(
      [
        'verify',
        '--key',
        pub,
        '--check-claims=false',
        '-o',
        'text',
        name(r, ':v1'),
      ],
      NO_TLOG
    );
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'not a simple-signing payload\n');
  });

  it('exits 10 without signatures, 11 for an unknown tag, 12 for the wrong key', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    const unsigned = await run(['verify', '--key', pub, name(r, ':v1')]);
    assert.equal(unsigned.code, 10, unsigned.stderr);
    assert.match(unsigned.stderr, /^Error: no signatures found/);
    const missing = await run(['verify', '--key', pub, name(r, ':nope')]);
    assert.equal(missing.code, 11, missing.stderr);
    await sign(name(r, '@' + img.digest));
    const wrong = await run(['verify', '--key', otherPub, name(r, ':v1')]);
    assert.equal(wrong.code, 12, wrong.stderr);
    assert.match(wrong.stderr, /invalid signature/);
  });

  it('fails with 12 after the tag is re-pointed and the old signature copied along', async () => {
    const r = repo();
    const good = await pushRandomImage(client, r, { tag: 'v1' });
    await sign(name(r, ':v1'));
    assert.equal((await run(['verify', '--key', pub, name(r, ':v1')])).code, 0);
    // Attacker: push another image under the tag, copy the valid signature.
    const evil = await pushRandomImage(client, r, { tag: 'v1' });
    const sig = await client.getManifest(r, signatureTag(good.digest), {
      accept: MANIFEST_ACCEPT,
    });
    await client.putManifest(
      r,
      signatureTag(evil.digest),
      sig.bytes,
      sig.mediaType
    );
    const res = await run(['verify', '--key', pub, name(r, ':v1')]);
    assert.equal(res.code, 12);
    assert.equal(res.stdout, '');
  });

  it('prints images in order and stops at the first failure', async () => {
    const r = repo();
    const a = await pushRandomImage(client, r, { tag: 'a' });
    await pushRandomImage(client, r, { tag: 'b' });
    const c = await pushRandomImage(client, r, { tag: 'c' });
    await sign(name(r, ':a'));
    await sign(name(r, ':c'));
    const both = await run([
      'verify',
      '--key',
      pub,
      name(r, ':a'),
      name(r, ':c'),
    ]);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(
      both.stdout,
      `\n[${expectedPayload(r, a.digest, await bundled(r, a.digest))}]\n\n[${expectedPayload(r, c.digest, await bundled(r, c.digest))}]\n`
    );
    const res = await run([
      'verify',
      '--key',
      pub,
      name(r, ':a'),
      name(r, ':b'),
      name(r, ':c'),
    ]);
    assert.equal(res.code, 10);
    assert.equal(
      res.stdout,
      `\n[${expectedPayload(r, a.digest, await bundled(r, a.digest))}]\n`
    );
  });

  it('reads signatures from COSIGN_REPOSITORY', async () => {
    const r = repo();
    const sigs = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    const env = { COSIGN_REPOSITORY: name(sigs, '') };
    const s = await run(['sign', '--key', key, name(r, '@' + img.digest)], env);
    assert.equal(s.code, 0, s.stderr);
    const ok = await run(['verify', '--key', pub, name(r, ':v1')], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      `\n[${expectedPayload(r, img.digest, await bundled(sigs, img.digest))}]\n`
    );
    assert.equal(
      (await run(['verify', '--key', pub, name(r, ':v1')])).code,
      10
    );
  });

  it('honours COSIGN_MAX_ATTACHMENT_SIZE', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    await sign(name(r, '@' + img.digest));
    const small = await run(['verify', '--key', pub, name(r, ':v1')], {
      COSIGN_MAX_ATTACHMENT_SIZE: '100',
    });
    assert.equal(small.code, 12);
    assert.match(small.stderr, /exceeds the limit of 100 bytes/);
    const ok = await run(['verify', '--key', pub, name(r, ':v1')], {
      COSIGN_MAX_ATTACHMENT_SIZE: '1KiB',
    });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('takes the key from env:// and refuses a missing or malformed key', async () => {
    const r = repo();
    const img = await pushRandomImage(client, r, { tag: 'v1' });
    await sign(name(r, '@' + img.digest));
    const env = await run(
      ['verify', '--key', 'env://SIGNET_PUB', name(r, ':v1')],
      {
        SIGNET_PUB: readFileSync(pub, 'utf8'),
      }
    );
    assert.equal(env.code, 0, env.stderr);
    const noKey = await run(['verify', name(r, ':v1')]);
    assert.equal(noKey.code, 2);
    const missing = await run([
      'verify',
      '--key',
      join(dir, 'absent.pub'),
      name(r, ':v1'),
    ]);
    assert.equal(missing.code, 3);
    const privateAsPublic = await run(['verify', '--key', key, name(r, ':v1')]);
    assert.notEqual(privateAsPublic.code, 0);
    const badOutput = await run([
      'verify',
      '--key',
      pub,
      '-o',
      'yaml',
      name(r, ':v1'),
    ]);
    assert.equal(badOutput.code, 2);
  });

  it('verifies the upstream cosign fixture pushed where cosign puts it', async () => {
    // fixtures README: legacy-signature/manifest.json is PUT to
    // index.docker.io/namespace/image:sha256-4aa3….sig; here the same bytes
    // go to the local registry's namespace/image.
    const fx = join(sharedFixtures, 'cosign', 'legacy-signature');
    const r: RepoRef = { registry: reg.host, repository: 'namespace/image' };
    const digest =
      'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';
    await client.putBlob(r, readFileSync(join(fx, 'payload.json')));
    await client.putBlob(r, readFileSync(join(fx, 'config.json')));
    const manifest = readFileSync(join(fx, 'manifest.json'));
    const put = await client.putManifest(
      r,
      signatureTag(digest),
      manifest,
      MediaType.OciManifest
    );
    assert.equal(put.digest, ociDigest(manifest));
    assert.equal(
      put.digest,
      'sha256:7eaa0f058d6a36f91ddac7744280dc4ae8bc5fa6cf13930cfe4c1fa9d2aec05e'
    );
    const fixturePub = join(
      sharedFixtures,
      'cosign',
      'keys',
      'pemsigstorekey.pub'
    );
    // By digest: the image itself does not exist, as cosign allows.
    const res = await run(
      ['verify', '--key', fixturePub, `${reg.host}/namespace/image@${digest}`],
      NO_TLOG
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout,
      '\n[{"critical":{"identity":{"docker-reference":"index.docker.io/namespace/image"},"image":{"docker-manifest-digest":"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},"type":"cosign container image signature"},"optional":null}]\n'
    );
    const wrong = await run([
      'verify',
      '--key',
      pub,
      `${reg.host}/namespace/image@${digest}`,
    ]);
    assert.equal(wrong.code, 12);
  });
});
