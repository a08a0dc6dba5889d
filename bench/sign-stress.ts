/**
 * Stress: N concurrent signers (different keys, one RegistryClient each, as
 * separate processes would be) sign the same image, R rounds, against the
 * real registry. Reports signatures lost with Signet's append loop (must be
 * 0) and with a naive cosign-style single read-modify-write measured in the
 * same run, and the HTTP requests each costs.
 *
 *   node dist/bench/sign-stress.js [--signers 100] [--rounds 3]
 *
 * Exit code 1 if Signet lost a signature or gave up (REGISTRY_CONFLICT).
 */
import { generateKeyPairSync } from 'node:crypto';
import { ociDigest } from '../src/core/digest.js';
import { decodeBase64Strict, encodeBase64 } from '../src/core/encoding.js';
import { RegistryError, SignetError } from '../src/errors.js';
import {
  signerFromPrivateKey,
  verifierFromPublicKey,
  type Signer,
  type Verifier,
} from '../src/keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  buildSignatureImage,
  parseSignatureManifest,
  signatureTag,
  simpleSigningPayload,
  type SignatureLayer,
} from '../src/oci/cosign-layout.js';
import { staticCredentialProvider } from '../src/oci/credentials.js';
import { parseReference } from '../src/oci/reference.js';
import { RegistryClient, type RepoRef } from '../src/oci/registry.js';
import { MANIFEST_ACCEPT } from '../src/oci/types.js';
import { isLayerPresent, signImage } from '../src/sign/index.js';
import { pushRandomImage } from '../tests/support/images.js';
import { startRegistry } from '../tests/support/registry.js';
import { numberArg } from './util.js';

interface Key {
  signer: Signer;
  verifier: Verifier;
}

function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  return {
    signer: signerFromPrivateKey(privateKey),
    verifier: verifierFromPublicKey(publicKey),
  };
}

function newClient(): RegistryClient {
  return new RegistryClient({ credentials: staticCredentialProvider({}) });
}

/**
 * cosign's algorithm (spec §3): GET (404 → empty), dedup, append, upload
 * blobs, unconditional PUT. No read-back.
 */
async function naiveSign(
  client: RegistryClient,
  repo: RepoRef,
  digest: string,
  key: Key
): Promise<void> {
  const payload = simpleSigningPayload({
    dockerReference: `${repo.registry}/${repo.repository}`,
    digest,
  });
  const sig = await key.signer.sign(payload);
  const tag = signatureTag(digest);
  let existing: readonly SignatureLayer[] = [];
  let base;
  try {
    const m = await client.getManifest(repo, tag, { accept: MANIFEST_ACCEPT });
    const parsed = parseSignatureManifest(m.bytes);
    existing = parsed.layers;
    base = {
      manifestMediaType: parsed.mediaType ?? m.mediaType,
      configMediaType: parsed.config.mediaType,
    };
  } catch (e) {
    if (!(e instanceof RegistryError && e.code === 'REGISTRY_NOT_FOUND')) {
      throw e;
    }
  }
  const layer = {
    payload,
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    annotations: { [SIGNATURE_ANNOTATION]: encodeBase64(sig) },
    dedupVerifier: key.verifier,
  };
  if (isLayerPresent(layer, ociDigest(payload), existing)) return;
  const img = buildSignatureImage(
    [
      ...existing,
      {
        mediaType: layer.mediaType,
        size: payload.length,
        digest: ociDigest(payload),
        annotations: layer.annotations,
      },
    ],
    { docker: false, base }
  );
  await client.putBlob(repo, payload);
  await client.putBlob(repo, img.configBytes);
  await client.putManifest(repo, tag, img.manifestBytes, img.mediaType);
}

async function countPresent(
  client: RegistryClient,
  repo: RepoRef,
  digest: string,
  keys: readonly Key[]
): Promise<number> {
  const m = await client.getManifest(repo, signatureTag(digest), {
    accept: MANIFEST_ACCEPT,
  });
  const layers = parseSignatureManifest(m.bytes).layers;
  const blobs = new Map<string, Buffer>();
  for (const l of layers) {
    if (!blobs.has(l.digest)) {
      blobs.set(l.digest, await client.getBlob(repo, l.digest));
    }
  }
  let present = 0;
  for (const k of keys) {
    const ok = layers.some((l) => {
      const sig = decodeBase64Strict(
        l.annotations?.[SIGNATURE_ANNOTATION] ?? ''
      );
      return sig !== undefined && k.verifier.verify(blobs.get(l.digest)!, sig);
    });
    if (ok) present++;
  }
  return present;
}

interface RoundResult {
  lost: number;
  failed: number;
  requests: number;
  ms: number;
  conflicts: number;
}

async function round(
  mode: 'signet' | 'naive',
  registry: string,
  n: number,
  r: number
): Promise<RoundResult> {
  const admin = newClient();
  const repo = { registry, repository: `stress/${mode}${r}` };
  const img = await pushRandomImage(admin, repo, { tag: 'v1' });
  const keys = Array.from({ length: n }, () => newKey());
  const clients = keys.map(() => newClient());
  let failed = 0;
  let conflicts = 0;
  const t0 = performance.now();
  await Promise.all(
    keys.map(async (k, i) => {
      const c = clients[i]!;
      try {
        if (mode === 'naive') {
          await naiveSign(c, repo, img.digest, k);
        } else {
          const [s] = await signImage(
            parseReference(`${registry}/${repo.repository}@${img.digest}`),
            { registry: c, signer: k.signer }
          );
          conflicts += s?.upload?.conflicts ?? 0;
        }
      } catch (e) {
        failed++;
        const code = e instanceof SignetError ? e.code : 'unknown';
        console.error(`  ${mode} signer ${i} failed: ${code}: ${String(e)}`);
      }
    })
  );
  const ms = performance.now() - t0;
  const requests = clients.reduce((s, c) => s + c.stats.requests, 0);
  const present = await countPresent(admin, repo, img.digest, keys);
  await Promise.all([...clients, admin].map((c) => c.close()));
  // A signer that failed loudly is not a silent loss; report it separately.
  return { lost: n - present - failed, failed, requests, ms, conflicts };
}

export async function runSignStress(
  opts: { signers?: number; rounds?: number } = {}
): Promise<boolean> {
  const n = opts.signers ?? 100;
  const rounds = opts.rounds ?? 3;
  const reg = await startRegistry();
  let ok = true;
  try {
    console.log(
      `sign-stress: ${n} concurrent signers x ${rounds} rounds, distribution 2.8.2 on ${reg.host}`
    );
    const totals = {
      signet: { lost: 0, failed: 0, req: 0 },
      naive: { lost: 0, failed: 0, req: 0 },
    };
    for (let r = 1; r <= rounds; r++) {
      for (const mode of ['naive', 'signet'] as const) {
        const res = await round(mode, reg.host, n, r);
        totals[mode].lost += res.lost;
        totals[mode].failed += res.failed;
        totals[mode].req += res.requests;
        console.log(
          `  round ${r} ${mode.padEnd(6)}: lost ${String(res.lost).padStart(3)}/${n}, failed ${res.failed}, ` +
            `${(res.requests / n).toFixed(1)} requests/signer, ${(res.ms / 1000).toFixed(1)} s` +
            (mode === 'signet'
              ? `, ${res.conflicts} overwrites detected and merged`
              : '')
        );
      }
    }
    const perSigner = (x: number): string => (x / (n * rounds)).toFixed(2);
    console.log(
      `  total: signet lost ${totals.signet.lost} (failed loudly ${totals.signet.failed}), ` +
        `naive lost ${totals.naive.lost} of ${n * rounds}`
    );
    console.log(
      `  requests/signer: signet ${perSigner(totals.signet.req)}, naive ${perSigner(totals.naive.req)}, ` +
        `extra cost of the guarantee ${perSigner(totals.signet.req - totals.naive.req)} requests/signer`
    );
    ok = totals.signet.lost === 0 && totals.signet.failed === 0;
  } finally {
    await reg.stop();
  }
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ok = await runSignStress({
    signers: numberArg('signers', 100),
    rounds: numberArg('rounds', 3),
  });
  process.exitCode = ok ? 0 : 1;
}
