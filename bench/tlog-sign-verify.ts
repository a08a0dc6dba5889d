/**
 * What the transparency log costs sign and verify, in the same run: the
 * real registry (CNCF distribution 2.8.2) and signet's own log server
 * (`signet tlog serve`, SQLite), both over loopback HTTP. Library calls
 * with warm clients, interleaved (with log / without log alternate per
 * iteration, so drift affects both alike); medians and the ratio.
 *
 *  - sign: without the log vs with upload + SET/body check + bundle;
 *  - verify: --insecure-ignore-tlog vs the bundle checked offline vs the
 *    online lookup (no bundle: search, fetch, inclusion proof, checkpoint).
 *
 *   node dist/bench/tlog-sign-verify.js [--iterations 30]
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { staticCredentialProvider } from '../src/oci/credentials.js';
import { parseReference, type Reference } from '../src/oci/reference.js';
import { RegistryClient } from '../src/oci/registry.js';
import { signImage } from '../src/sign/index.js';
import { logUploader } from '../src/sign/tlog.js';
import { RekorClient } from '../src/tlog/client.js';
import {
  signerFromPrivateKey,
  verifierFromPublicKey,
} from '../src/keys/index.js';
import { verifyImageSignatures } from '../src/verify/image.js';
import type { TlogPolicy } from '../src/verify/tlog-bundle.js';
import { pushRandomImage } from '../tests/support/images.js';
import { startRegistry } from '../tests/support/registry.js';
import { startLogServer } from '../tests/support/tlog.js';
import { median, numberArg } from './util.js';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function runTlogSignVerifyBench(
  opts: { iterations?: number } = {}
): Promise<void> {
  const iterations = opts.iterations ?? 30;
  const [reg, log] = await Promise.all([startRegistry(), startLogServer()]);
  const client = new RegistryClient({
    credentials: staticCredentialProvider({}),
  });
  const rekor = new RekorClient(log.url);
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
    });
    const signer = signerFromPrivateKey(privateKey);
    const verifier = verifierFromPublicKey(publicKey);
    const logKey = createPublicKey(log.publicKeyPem);
    const tlog = logUploader({ client: rekor, trustedLogs: [logKey] });
    const host = reg.host;
    console.log(
      `tlog sign/verify bench: distribution 2.8.2 on ${host}, signet tlog serve (SQLite) on ${log.url}, ${iterations} iterations, medians (ms)`
    );

    const fresh = async (name: string): Promise<Reference> => {
      const repo = { registry: host, repository: `bench/${name}` };
      const img = await pushRandomImage(client, repo);
      return parseReference(`${host}/${repo.repository}@${img.digest}`);
    };
    // Warm-up: connections, JIT, first log entry.
    await signImage(await fresh('warm-a'), { registry: client, signer });
    await signImage(await fresh('warm-b'), { registry: client, signer, tlog });

    const signPlain: number[] = [];
    const signLog: number[] = [];
    const withBundle: Reference[] = [];
    const withoutBundle: Reference[] = [];
    for (let i = 0; i < iterations; i++) {
      const a = await fresh(`plain${i}`);
      const b = await fresh(`log${i}`);
      signPlain.push(
        await timed(() => signImage(a, { registry: client, signer }))
      );
      signLog.push(
        await timed(() => signImage(b, { registry: client, signer, tlog }))
      );
      withoutBundle.push(a);
      withBundle.push(b);
    }
    // Online lookup: signatures that are in the log but stored WITHOUT a
    // bundle (as cosign ≤ 1.x wrote them): log first (upload=false), then
    // store the same signature with no log.
    const online: Reference[] = [];
    for (let i = 0; i < iterations; i++) {
      const r = await fresh(`online${i}`);
      const [s] = await signImage(r, {
        registry: client,
        signer,
        upload: false,
        tlog,
      });
      // Store the logged signature WITHOUT its bundle (cosign ≤ 1.x style).
      await signImage(r, {
        registry: client,
        signer: { publicKey, sign: () => Promise.resolve(s!.signature) },
      });
      online.push(r);
    }

    const policyOffline: TlogPolicy = { trustedLogs: [logKey], publicKey };
    const policyOnline: TlogPolicy = {
      trustedLogs: [logKey],
      publicKey,
      client: rekor,
    };
    const vPlain: number[] = [];
    const vBundle: number[] = [];
    const vOnline: number[] = [];
    for (let i = 0; i < iterations; i++) {
      vPlain.push(
        await timed(() =>
          verifyImageSignatures(client, withoutBundle[i]!, { verifier })
        )
      );
      vBundle.push(
        await timed(() =>
          verifyImageSignatures(client, withBundle[i]!, {
            verifier,
            tlog: policyOffline,
          })
        )
      );
      vOnline.push(
        await timed(async () => {
          const v = await verifyImageSignatures(client, online[i]!, {
            verifier,
            tlog: policyOnline,
          });
          if (v.signatures[0]?.tlog?.mode !== 'online') {
            throw new Error('expected an online lookup');
          }
        })
      );
    }
    const row = (label: string, xs: number[], base?: number): void => {
      const m = median(xs);
      console.log(
        `  ${label.padEnd(46)} ${m.toFixed(2).padStart(8)}${base !== undefined ? `   ×${(m / base).toFixed(2)}` : ''}`
      );
    };
    const sp = median(signPlain);
    row('sign, no log', signPlain);
    row('sign, log upload + SET check + bundle', signLog, sp);
    const vp = median(vPlain);
    row('verify, --insecure-ignore-tlog', vPlain);
    row('verify, bundle checked offline', vBundle, vp);
    row('verify, online lookup (search, fetch, proof)', vOnline, vp);
  } finally {
    await client.close();
    await rekor.close();
    await Promise.all([reg.stop(), log.stop()]);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runTlogSignVerifyBench({ iterations: numberArg('iterations', 30) });
}
