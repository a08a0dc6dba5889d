/**
 * Key file costs: decrypting a cosign key (scrypt + secretbox + PKCS#8
 * parse) per scrypt N, encrypting one, and sign/verify per key type.
 * node:crypto's native scrypt is expected near 0.1 s at N=65536.
 *
 *   node dist/bench/keys.js [--iterations 7]
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  SIGNING_ALGORITHMS,
  SCRYPT_N_VALUES,
  decryptCosignKey,
  decryptCosignKeyAsync,
  encryptCosignKey,
  generatePrivateKey,
  signerFromPrivateKey,
  verifierFromPublicKey,
} from '../src/keys/index.js';
import { numberArg } from './util.js';

const iterations = numberArg('--iterations', 7);

/**
 * Median wall time, and median CPU time of this process (which stays close
 * to the uncontended wall time when other processes load the machine; the
 * async scrypt runs on a pool thread and is counted too).
 */
async function median(
  fn: () => unknown
): Promise<{ wall: number; cpu: number }> {
  await fn(); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await fn();
    const d = process.cpuUsage(c);
    wall.push(performance.now() - t);
    cpu.push((d.user + d.system) / 1000);
  }
  const mid = (a: number[]) =>
    a.sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
  return { wall: mid(wall), cpu: mid(cpu) };
}

const fmt = (m: { wall: number; cpu: number }) =>
  `${m.wall.toFixed(1)} ms (cpu ${m.cpu.toFixed(1)} ms)`;

const key = generatePrivateKey();
console.log(
  `cosign key files (median of ${iterations}; load average ${os.loadavg()[0]?.toFixed(1)})`
);
for (const N of SCRYPT_N_VALUES) {
  const pem = encryptCosignKey(key, 'password', { scryptN: N });
  const dec = await median(() => decryptCosignKey(pem, 'password'));
  const decAsync = await median(() => decryptCosignKeyAsync(pem, 'password'));
  const enc = await median(() =>
    encryptCosignKey(key, 'password', { scryptN: N })
  );
  console.log(
    `  N=${String(N).padEnd(6)} decrypt ${fmt(dec)}, async ${fmt(decAsync)}, encrypt ${fmt(enc)}`
  );
}

console.log(`sign / verify of a 250-byte payload (median of ${iterations})`);
const payload = Buffer.alloc(250, 0x61);
for (const alg of SIGNING_ALGORITHMS) {
  const signer = signerFromPrivateKey(generatePrivateKey(alg), {
    ed25519: alg === 'ed25519' ? 'pure' : 'ph',
  });
  const verifier = verifierFromPublicKey(signer.publicKey);
  const sig = await signer.sign(payload);
  const s = await median(() => signer.sign(payload));
  const v = await median(() => verifier.verify(payload, sig));
  console.log(`  ${alg.padEnd(28)} sign ${fmt(s)}, verify ${fmt(v)}`);
}
