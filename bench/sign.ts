/**
 * Cost of `sign` for one tagged image against the real registry (CNCF
 * distribution 2.8.2, anonymous, loopback): HTTP requests and wall time,
 * as a library call (warm client) and as the CLI end to end (a fresh
 * process: key decryption, ping, everything). Requests are counted on the
 * wire by a pass-through proxy in front of the registry (the library's own
 * RegistryClient.stats agrees). Reference: skopeo 1.9.3 writing one
 * signature attachment (`dir:` with a signature file → `docker://`, the
 * only sigstore write path Debian's skopeo has; interop-peers.md §1, §5.4).
 *
 *   node dist/bench/sign.js [--iterations 5]
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeBase64 } from '../src/core/encoding.js';
import { encryptCosignKey, signerFromPrivateKey } from '../src/keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  simpleSigningPayload,
} from '../src/oci/cosign-layout.js';
import { staticCredentialProvider } from '../src/oci/credentials.js';
import { parseReference } from '../src/oci/reference.js';
import { RegistryClient } from '../src/oci/registry.js';
import { signImage, type AppendTuning } from '../src/sign/index.js';
import { pushRandomImage } from '../tests/support/images.js';
import { profile } from '../tests/support/quirk-profiles.js';
import { startQuirkProxy } from '../tests/support/quirk-proxy.js';
import { startRegistry } from '../tests/support/registry.js';
import { median, numberArg, runCli } from './util.js';

const execFileP = promisify(execFile);

export async function runSignBench(
  opts: { iterations?: number } = {}
): Promise<void> {
  const iterations = opts.iterations ?? 5;
  const reg = await startRegistry();
  const base = profile('distribution');
  const proxy = await startQuirkProxy({
    upstream: reg.url,
    profile: { ...base, proxied: true },
  });
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-sign-'));
  const client = new RegistryClient({
    credentials: staticCredentialProvider({}),
  });
  try {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = signerFromPrivateKey(privateKey);
    const host = proxy.host;
    console.log(
      `sign bench: distribution 2.8.2 behind a counting proxy on ${host}, ${iterations} iterations, medians`
    );

    // Library call, warm client (ping done, connections open).
    const warm = { registry: host, repository: 'bench/warm' };
    await pushRandomImage(client, warm, { tag: 'w' });
    await signImage(parseReference(`${host}/bench/warm:w`), {
      registry: client,
      signer,
    });
    for (const [label, tuning] of [
      ['library, default (settle read-back)', {}],
      ['library, settleMs=0 (immediate read-back)', { settleMs: 0 }],
    ] as [string, AppendTuning][]) {
      const reqs: number[] = [];
      const wire: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const repo = {
          registry: host,
          repository: `bench/lib${label.length}-${i}`,
        };
        await pushRandomImage(client, repo, { tag: 'v1' });
        const s0 = client.stats.requests;
        const w0 = proxy.requests.length;
        const t0 = performance.now();
        await signImage(parseReference(`${host}/${repo.repository}:v1`), {
          registry: client,
          signer,
          append: tuning,
        });
        times.push(performance.now() - t0);
        reqs.push(client.stats.requests - s0);
        wire.push(proxy.requests.length - w0);
      }
      console.log(
        `  ${label.padEnd(44)} ${median(reqs)} requests (wire ${median(wire)}), ${median(times).toFixed(1)} ms`
      );
    }

    // CLI end to end: a fresh process each time (key decryption at cosign's
    // default scrypt N=65536, ping, resolve, upload).
    const keyFile = join(dir, 'cosign.key');
    writeFileSync(keyFile, encryptCosignKey(privateKey, 'bench'));
    {
      const wire: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const repo = { registry: host, repository: `bench/cli${i}` };
        await pushRandomImage(client, repo, { tag: 'v1' });
        const w0 = proxy.requests.length;
        const t0 = performance.now();
        await runCli(
          ['sign', '--key', keyFile, `${host}/${repo.repository}:v1`],
          {
            COSIGN_PASSWORD: 'bench',
            // Registry cost only (no public Rekor from a loopback bench).
            COSIGN_TLOG_UPLOAD: 'false',
            HOME: dir,
            DOCKER_CONFIG: join(dir, 'docker'),
          }
        );
        times.push(performance.now() - t0);
        wire.push(proxy.requests.length - w0);
      }
      console.log(
        `  ${'CLI end to end (new process, cold ping)'.padEnd(44)} ${median(wire)} requests (wire), ${median(times).toFixed(1)} ms`
      );
    }

    // skopeo writing one signature attachment (same registry, same proxy).
    const regd = join(dir, 'registries.d');
    mkdirSync(regd);
    writeFileSync(
      join(regd, 'sigstore.yaml'),
      'default-docker:\n  use-sigstore-attachments: true\n'
    );
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
    const sk = ['--registries.d', regd, '--policy', policy];
    try {
      const wire: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const repo = { registry: host, repository: `bench/skopeo${i}` };
        const img = await pushRandomImage(client, repo, { tag: 'v1' });
        const w = join(dir, `w${i}`);
        await execFileP('skopeo', [
          ...sk,
          'copy',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${host}/${repo.repository}:v1`,
          `dir:${w}`,
        ]);
        const payload = simpleSigningPayload({
          dockerReference: `${host}/${repo.repository}`,
          digest: img.digest,
        });
        const sig = await signer.sign(payload);
        writeFileSync(
          join(w, 'signature-1'),
          Buffer.concat([
            Buffer.from('\0sigstore-json\n'),
            Buffer.from(
              JSON.stringify({
                mimeType: SIMPLE_SIGNING_MEDIA_TYPE,
                payload: encodeBase64(payload),
                annotations: { [SIGNATURE_ANNOTATION]: encodeBase64(sig) },
              })
            ),
          ])
        );
        const w0 = proxy.requests.length;
        const t0 = performance.now();
        await execFileP('skopeo', [
          ...sk,
          'copy',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `dir:${w}`,
          `docker://${host}/${repo.repository}:v1`,
        ]);
        times.push(performance.now() - t0);
        wire.push(proxy.requests.length - w0);
      }
      console.log(
        `  ${'skopeo 1.9.3 copy dir: -> docker:// (+1 sig)'.padEnd(44)} ${median(wire)} requests (wire), ${median(times).toFixed(1)} ms`
      );
    } catch (e) {
      console.log(
        `  skopeo reference skipped: ${e instanceof Error ? e.message : String(e)}`
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
  await runSignBench({ iterations: numberArg('iterations', 5) });
}
