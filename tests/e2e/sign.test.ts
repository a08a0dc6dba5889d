import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBase64Strict } from '../../src/core/encoding.js';
import { ERROR_EXIT_CODES } from '../../src/errors.js';
import {
  encryptCosignKey,
  verifierFromPublicKey,
  type Verifier,
} from '../../src/keys/index.js';
import { signatureTag } from '../../src/oci/cosign-layout.js';
import type { RegistryClient } from '../../src/oci/registry.js';
import { MediaType } from '../../src/oci/types.js';
import { pushIndex, pushRandomImage } from '../support/images.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { countVerified, newClient, readSignatures } from '../sign/support.js';
import { runSignet, type CliRun } from '../support/cli.js';

const PASSWORD = 'e2e-password';

let reg: RunningRegistry;
let client: RegistryClient;
let dir: string;
let keyFile: string;
let verifier: Verifier;

function run(
  args: string[],
  env: Record<string, string> = {}
): Promise<CliRun> {
  return runSignet(args, {
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'docker'),
    COSIGN_PASSWORD: PASSWORD,
    // These tests are about registry storage; the transparency-log
    // upload (on by default, as in cosign v2+) is tested with a local
    // log server elsewhere. Loopback only: no public Rekor.
    COSIGN_TLOG_UPLOAD: 'false',
    ...env,
  });
}

before(async () => {
  reg = await startRegistry();
  client = newClient();
  dir = mkdtempSync(join(tmpdir(), 'signet-e2e-sign-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  keyFile = join(dir, 'cosign.key');
  writeFileSync(
    keyFile,
    encryptCosignKey(privateKey, PASSWORD, { scryptN: 32768 })
  );
  verifier = verifierFromPublicKey(publicKey);
});

after(async () => {
  await client.close();
  await reg.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('signet sign (CLI, real registry)', () => {
  it('signs a tagged image, warns about the tag, and stores a verifiable signature', async () => {
    const repo = { registry: reg.host, repository: 'e2e/tagged' };
    const img = await pushRandomImage(client, repo, { tag: 'v1' });
    const r = await run([
      'sign',
      '--key',
      keyFile,
      `${reg.host}/e2e/tagged:v1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^WARNING: Image reference 127\.0\.0\.1:\d+\/e2e\/tagged:v1 uses a tag, not a digest/m
    );
    assert.match(
      r.stderr,
      new RegExp(`Pushing signature to: ${reg.host}/e2e/tagged`)
    );
    assert.equal(r.stdout, '');
    const stored = await readSignatures(client, repo, signatureTag(img.digest));
    assert.equal(stored.mediaType, MediaType.OciManifest);
    assert.equal(await countVerified(client, repo, stored, verifier), 1);
  });

  it('signs several images in one call with -a annotations (no tag warning by digest)', async () => {
    const repo = { registry: reg.host, repository: 'e2e/many' };
    const a = await pushRandomImage(client, repo);
    const b = await pushRandomImage(client, repo);
    const r = await run([
      'sign',
      '--key',
      keyFile,
      '-a',
      'team=sec',
      '-a',
      'build=42,commit=abc=def',
      `${reg.host}/e2e/many@${a.digest}`,
      `${reg.host}/e2e/many@${b.digest}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /WARNING/);
    for (const d of [a.digest, b.digest]) {
      const stored = await readSignatures(client, repo, signatureTag(d));
      const payload = await client.getBlob(
        repo,
        stored.manifest.layers[0]!.digest
      );
      const doc = JSON.parse(payload.toString()) as { optional: unknown };
      assert.deepEqual(doc.optional, {
        build: '42',
        commit: 'abc=def',
        team: 'sec',
      });
    }
  });

  it('re-signing with the same key adds nothing and says so', async () => {
    const repo = { registry: reg.host, repository: 'e2e/dedup' };
    const img = await pushRandomImage(client, repo);
    const ref = `${reg.host}/e2e/dedup@${img.digest}`;
    assert.equal((await run(['sign', '--key', keyFile, ref])).code, 0);
    const r = await run(['sign', '--key', keyFile, ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /already present/);
    const stored = await readSignatures(client, repo, signatureTag(img.digest));
    assert.equal(stored.manifest.layers.length, 1);
  });

  it('--upload=false writes --output-signature/--output-payload and nothing to the registry', async () => {
    const repo = { registry: reg.host, repository: 'e2e/offline' };
    const img = await pushRandomImage(client, repo, { tag: 't' });
    const sigFile = join(dir, 'offline.sig');
    const payloadFile = join(dir, 'offline.payload');
    const r = await run([
      'sign',
      '--key',
      keyFile,
      '--upload=false',
      '--output-signature',
      sigFile,
      '--output-payload',
      payloadFile,
      `${reg.host}/e2e/offline@${img.digest}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const sig = decodeBase64Strict(readFileSync(sigFile, 'utf8'));
    assert.ok(sig);
    const payload = readFileSync(payloadFile);
    assert.ok(verifier.verify(payload, sig));
    assert.match(payload.toString(), new RegExp(img.digest));
    assert.equal(
      await client.headManifest(repo, signatureTag(img.digest)),
      undefined
    );
  });

  it('-r signs an index and its children, suffixing output files per digest', async () => {
    const repo = { registry: reg.host, repository: 'e2e/index' };
    const idx = await pushIndex(client, repo, { tag: 'multi', platforms: 2 });
    const sigBase = join(dir, 'rec.sig');
    const r = await run([
      'sign',
      '--key',
      keyFile,
      '-r',
      '--output-signature',
      sigBase,
      `${reg.host}/e2e/index:multi`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const d of [idx.digest, ...idx.children]) {
      const stored = await readSignatures(client, repo, signatureTag(d));
      assert.equal(await countVerified(client, repo, stored, verifier), 1);
      assert.ok(existsSync(`${sigBase}-${d.replace(':', '-')}`));
    }
    assert.ok(!existsSync(sigBase));
  });

  it('honours COSIGN_REPOSITORY and COSIGN_DOCKER_MEDIA_TYPES', async () => {
    const repo = { registry: reg.host, repository: 'e2e/app' };
    const sigRepo = { registry: reg.host, repository: 'e2e/signatures' };
    const img = await pushRandomImage(client, repo);
    const r = await run(
      ['sign', '--key', keyFile, `${reg.host}/e2e/app@${img.digest}`],
      {
        COSIGN_REPOSITORY: `${reg.host}/e2e/signatures`,
        COSIGN_DOCKER_MEDIA_TYPES: '1',
      }
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`Pushing signature to: ${reg.host}/e2e/signatures`)
    );
    const stored = await readSignatures(
      client,
      sigRepo,
      signatureTag(img.digest)
    );
    assert.equal(stored.mediaType, MediaType.DockerManifest);
    assert.equal(stored.manifest.config.mediaType, MediaType.DockerConfig);
    assert.equal(await countVerified(client, sigRepo, stored, verifier), 1);
    assert.equal(
      await client.headManifest(repo, signatureTag(img.digest)),
      undefined
    );
  });

  it('exits 11 when the tag does not exist', async () => {
    const r = await run([
      'sign',
      '--key',
      keyFile,
      `${reg.host}/e2e/none:missing`,
    ]);
    assert.equal(r.code, ERROR_EXIT_CODES.IMAGE_NOT_FOUND);
    assert.match(r.stderr, /^Error: /m);
  });

  it('rejects a malformed annotation and a bad COSIGN_REPOSITORY before signing', async () => {
    const ref = `${reg.host}/e2e/x@sha256:${'a'.repeat(64)}`;
    const bad = await run(['sign', '--key', keyFile, '-a', 'k=a,b', ref]);
    assert.equal(bad.code, ERROR_EXIT_CODES.USAGE);
    assert.match(bad.stderr, /unable to parse annotation: b/);
    const repoErr = await run(['sign', '--key', keyFile, ref], {
      COSIGN_REPOSITORY: 'UPPER/Case:tag',
    });
    assert.equal(repoErr.code, ERROR_EXIT_CODES.INVALID_REFERENCE);
    assert.match(repoErr.stderr, /parsing \$COSIGN_REPOSITORY/);
  });

  it('exits with the key error on a wrong password', async () => {
    const r = await run(
      ['sign', '--key', keyFile, `${reg.host}/e2e/x@sha256:${'b'.repeat(64)}`],
      { COSIGN_PASSWORD: 'wrong' }
    );
    assert.equal(r.code, ERROR_EXIT_CODES.KEY_INCORRECT_PASSWORD);
  });
});
