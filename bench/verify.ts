/**
 * Cost of `verify` against the real registry (CNCF distribution 2.8.2,
 * anonymous, loopback), requests counted on the wire by a pass-through
 * proxy (RegistryClient.stats agrees):
 *
 *  - one tagged image, library call with a warm client (goal ≤ 4 requests);
 *  - one tagged image, the CLI end to end (a fresh process: ping, resolve,
 *    signature manifest, payload);
 *  - 200 signed images verified in one call (goal ≥ 500 images/s), as a
 *    library call (by tag and by digest) and as one CLI invocation.
 *
 *   node dist/bench/verify.js [--iterations 5] [--images 200]
 */
import { Agent, request } from 'undici';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  publicKeyPem,
  signerFromPrivateKey,
  verifierFromPublicKey,
} from '../src/keys/index.js';
import { staticCredentialProvider } from '../src/oci/credentials.js';
import { parseReference, type Reference } from '../src/oci/reference.js';
import { RegistryClient } from '../src/oci/registry.js';
import { signImage } from '../src/sign/index.js';
import { verifyImageSignatures, verifyImages } from '../src/verify/image.js';
import { pushRandomImage } from '../tests/support/images.js';
import { profile } from '../tests/support/quirk-profiles.js';
import { startQuirkProxy } from '../tests/support/quirk-proxy.js';
import { startRegistry } from '../tests/support/registry.js';
import { median, numberArg, runCli } from './util.js';

export async function runVerifyBench(
  opts: { iterations?: number; images?: number } = {}
): Promise<void> {
  const iterations = opts.iterations ?? 5;
  const batch = opts.images ?? 200;
  const reg = await startRegistry();
  const proxy = await startQuirkProxy({
    upstream: reg.url,
    profile: { ...profile('distribution'), proxied: true },
  });
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-verify-'));
  const client = new RegistryClient({
    credentials: staticCredentialProvider({}),
  });
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
    });
    const signer = signerFromPrivateKey(privateKey);
    const verifier = verifierFromPublicKey(publicKey);
    const pubFile = join(dir, 'cosign.pub');
    writeFileSync(pubFile, publicKeyPem(publicKey));
    const host = proxy.host;
    // Registry cost only: these signatures carry no log bundle (the log
    // path is measured by bench/tlog-sign-verify.ts).
    const env = {
      HOME: dir,
      DOCKER_CONFIG: join(dir, 'docker'),
      COSIGN_INSECURE_IGNORE_TLOG: 'true',
    };
    console.log(
      `verify bench: distribution 2.8.2 behind a counting proxy on ${host}, ${iterations} iterations (medians), batch of ${batch}`
    );

    const signed = async (repository: string): Promise<Reference> => {
      const repo = { registry: host, repository };
      const img = await pushRandomImage(client, repo, { tag: 'v1' });
      await signImage(parseReference(`${host}/${repository}@${img.digest}`), {
        registry: client,
        signer,
      });
      return parseReference(`${host}/${repository}:v1`);
    };

    // One tagged image, library call, warm client (ping done, connections open).
    {
      await verifyImageSignatures(client, await signed('bench/warm'), {
        verifier,
      });
      const reqs: number[] = [];
      const wire: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const ref = await signed(`bench/lib${i}`);
        const s0 = client.stats.requests;
        const w0 = proxy.requests.length;
        const t0 = performance.now();
        await verifyImageSignatures(client, ref, { verifier });
        times.push(performance.now() - t0);
        reqs.push(client.stats.requests - s0);
        wire.push(proxy.requests.length - w0);
      }
      console.log(
        `  ${'one tagged image, library (warm client)'.padEnd(44)} ${median(reqs)} requests (wire ${median(wire)}), ${median(times).toFixed(1)} ms`
      );
    }

    // One tagged image, CLI end to end (new process, cold ping).
    {
      const wire: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const ref = await signed(`bench/cli${i}`);
        const w0 = proxy.requests.length;
        const t0 = performance.now();
        await runCli(
          ['verify', '--key', pubFile, `${host}/${ref.repository}:v1`],
          env
        );
        times.push(performance.now() - t0);
        wire.push(proxy.requests.length - w0);
      }
      console.log(
        `  ${'one tagged image, CLI end to end'.padEnd(44)} ${median(wire)} requests (wire), ${median(times).toFixed(1)} ms`
      );
    }

    // A batch of signed images verified in one call.
    const refs: Reference[] = [];
    for (let i = 0; i < batch; i++) refs.push(await signed(`bench/batch${i}`));
    const byDigest: Reference[] = [];
    for (const ref of refs) {
      const head = await client.headManifest(ref, 'v1');
      byDigest.push(
        parseReference(`${host}/${ref.repository}@${head!.digest}`)
      );
    }
    for (const [label, list, concurrency] of [
      [`${batch} images by tag, library`, refs, 16],
      [`${batch} images by tag, library, concurrency 32`, refs, 32],
      [`${batch} images by digest, library`, byDigest, 16],
    ] as [string, Reference[], number][]) {
      const rates: number[] = [];
      const wire: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const w0 = proxy.requests.length;
        const t0 = performance.now();
        const res = await verifyImages(client, list, { verifier, concurrency });
        const ms = performance.now() - t0;
        const bad = res.filter((r) => r.status === 'rejected').length;
        if (bad > 0) throw new Error(`${bad} images failed to verify`);
        rates.push((list.length / ms) * 1000);
        wire.push(proxy.requests.length - w0);
      }
      console.log(
        `  ${label.padEnd(44)} ${median(rates).toFixed(0)} images/s (${median(wire)} requests)`
      );
    }
    {
      // The same batch served from memory (bytes fetched from the registry
      // beforehand): Signet's own cost per image — parsing, digests, ECDSA,
      // claims — without the registry's latency.
      const manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
      const blobs = new Map<string, Buffer>();
      const tagOf = new Map<string, string>();
      for (const ref of refs) {
        const d = (await client.headManifest(ref, 'v1'))!.digest;
        tagOf.set(ref.repository, d);
        const tag = `sha256-${d.slice('sha256:'.length)}.sig`;
        const m = await client.getManifest(ref, tag);
        manifests.set(`${ref.repository}:${tag}`, m);
        const layers = (
          JSON.parse(m.bytes.toString()) as { layers: { digest: string }[] }
        ).layers;
        for (const l of layers) {
          blobs.set(l.digest, await client.getBlob(ref, l.digest));
        }
      }
      const memory = {
        headManifest: (r: { repository: string }) =>
          Promise.resolve({ digest: tagOf.get(r.repository)! }),
        getManifest: (r: { repository: string }, tag: string) =>
          Promise.resolve(manifests.get(`${r.repository}:${tag}`)!),
        getBlob: (_r: unknown, digest: string) =>
          Promise.resolve(blobs.get(digest)!),
      };
      const rates: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now();
        const res = await verifyImages(memory, refs, { verifier });
        const ms = performance.now() - t0;
        if (res.some((r) => r.status === 'rejected')) {
          throw new Error('in-memory verification failed');
        }
        rates.push((refs.length / ms) * 1000);
      }
      console.log(
        `  ${`${batch} images by tag, bytes in memory (no IO)`.padEnd(44)} ${median(rates).toFixed(0)} images/s (Signet's own cost)`
      );
      // Baseline in the same run: the registry's own ceiling. The same three
      // requests per image (HEAD tag, GET .sig manifest, GET payload blob),
      // sent raw with undici straight to the registry (no proxy), bodies
      // read and discarded, nothing parsed or verified; then Signet on the
      // same direct connection. The ratio is Signet's share of the ceiling.
      const direct = refs.map((r) =>
        parseReference(`${reg.host}/${r.repository}:v1`)
      );
      const agent = new Agent({ connections: 16 });
      const rawRates: number[] = [];
      const ourRates: number[] = [];
      const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
      const rawOne = async (ref: Reference): Promise<void> => {
        const base = `${reg.url}/v2/${ref.repository}`;
        const d = tagOf.get(ref.repository)!;
        const tag = `sha256-${d.slice('sha256:'.length)}.sig`;
        const layers = (
          JSON.parse(
            manifests.get(`${ref.repository}:${tag}`)!.bytes.toString()
          ) as { layers: { digest: string }[] }
        ).layers;
        for (const [method, url] of [
          ['HEAD', `${base}/manifests/v1`],
          ['GET', `${base}/manifests/${tag}`],
          ['GET', `${base}/blobs/${layers[0]!.digest}`],
        ] as const) {
          const res = await request(url, {
            method,
            headers: accept,
            dispatcher: agent,
          });
          await res.body.dump();
        }
      };
      const directClient = new RegistryClient({
        credentials: staticCredentialProvider({}),
      });
      try {
        await verifyImages(directClient, direct.slice(0, 4), { verifier });
        for (let i = 0; i < iterations; i++) {
          let next = 0;
          const t0 = performance.now();
          await Promise.all(
            Array.from({ length: 16 }, async () => {
              while (next < direct.length) await rawOne(direct[next++]!);
            })
          );
          rawRates.push((direct.length / (performance.now() - t0)) * 1000);
          const t1 = performance.now();
          const res = await verifyImages(directClient, direct, {
            verifier,
            concurrency: 16,
          });
          if (res.some((r) => r.status === 'rejected')) {
            throw new Error('direct verification failed');
          }
          ourRates.push((direct.length / (performance.now() - t1)) * 1000);
        }
      } finally {
        await directClient.close();
        await agent.close();
      }
      const raw = median(rawRates);
      const ours = median(ourRates);
      console.log(
        `  ${`${batch} images, raw undici, same 3 requests`.padEnd(44)} ${raw.toFixed(0)} images/s (registry ceiling, ${(raw * 3).toFixed(0)} requests/s, no proxy)`
      );
      console.log(
        `  ${`${batch} images by tag, library, no proxy`.padEnd(44)} ${ours.toFixed(0)} images/s (${(ours / raw).toFixed(2)}× the ceiling)`
      );
    }
    {
      const rates: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now();
        await runCli(
          [
            'verify',
            '--key',
            pubFile,
            ...refs.map((r) => `${host}/${r.repository}:v1`),
          ],
          env
        );
        rates.push((refs.length / (performance.now() - t0)) * 1000);
      }
      console.log(
        `  ${`${batch} images by tag, one CLI invocation`.padEnd(44)} ${median(rates).toFixed(0)} images/s (incl. process start)`
      );
    }
  } finally {
    await client.close();
    await proxy.stop();
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runVerifyBench({
    iterations: numberArg('iterations', 5),
    images: numberArg('images', 200),
  });
}
