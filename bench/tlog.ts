/**
 * Log server benchmark, over loopback against the real `signet tlog serve`
 * process (the compiled CLI):
 *
 *  1. sustained durable appends/s and p50/p99 latency with many concurrent
 *     clients (closed loop), SQLite and PostgreSQL, for ECDSA P-256 and
 *     RSA-2048 hashedrekord entries (the server verifies every signature);
 *  2. p50/p99 latency at a fixed 1,000 appends/s (open loop);
 *  3. inclusion-proof latency and server memory at 1M entries (tree
 *     bulk-loaded through the storage's own sequence()).
 *
 *   node dist/bench/tlog.js [--seconds 8] [--clients 64] [--entries 1000000]
 *                           [--open-rate 1000] [--skip-postgres]
 *
 * Goals (issue 5): ≥ 5,000 durable appends/s on SQLite, p99 < 50 ms at
 * 1,000 appends/s, inclusion proof at 1M entries < 5 ms p99.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { SqliteStorage } from '../src/tlog/server/sqlite.js';
import { TransparencyLog } from '../src/tlog/server/log.js';
import { canonicalizeEntry } from '../src/tlog/entry.js';
import { signSET } from '../src/tlog/set.js';
import { parseStrictJson } from '../src/core/strict-json.js';
import { startPostgres } from '../tests/support/postgres.js';
import {
  startLogServer,
  type RunningLogServer,
} from '../tests/support/tlog.js';
import { numberArg } from './util.js';
import { hashedRekordProposal } from '../src/tlog/bundle.js';

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ] as number;
}

function fmt(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** Pre-signed hashedrekord bodies (signing is client work, not measured). */
function makeBodies(key: KeyObject, n: number, tag: string): Buffer[] {
  const verifierPem = createPublicKey(key)
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const a = Buffer.from(`${tag} ${i} ${randomBytes(8).toString('hex')}`);
    const proposal = hashedRekordProposal({
      signature: sign('sha256', a, key),
      verifierPem,
      digest: {
        algorithm: 'sha256',
        hex: createHash('sha256').update(a).digest('hex'),
      },
    });
    out.push(Buffer.from(JSON.stringify(proposal)));
  }
  return out;
}

async function post(pool: Pool, body: Buffer): Promise<number> {
  const r = await pool.request({
    path: '/api/v1/log/entries',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await r.body.dump();
  return r.statusCode;
}

interface LoadResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  n: number;
}

/** Closed loop: `clients` workers, each posting as soon as its last reply came. */
async function closedLoop(
  url: string,
  bodies: Buffer[],
  clients: number,
  seconds: number
): Promise<LoadResult> {
  const pool = new Pool(url, { connections: clients, pipelining: 1 });
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end && next < bodies.length) {
        const b = bodies[next++] as Buffer;
        const t = performance.now();
        const s = await post(pool, b).catch(() => 0);
        if (s === 201) lat.push(performance.now() - t);
        else errors++;
      }
    })
  );
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  lat.sort((a, b) => a - b);
  return {
    rate: lat.length / elapsed,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    errors,
    n: lat.length,
  };
}

/** Open loop: requests issued at a fixed rate regardless of replies. */
async function openLoop(
  url: string,
  bodies: Buffer[],
  rate: number,
  seconds: number
): Promise<LoadResult> {
  const pool = new Pool(url, { connections: 256, pipelining: 1 });
  const lat: number[] = [];
  let errors = 0;
  const total = Math.min(bodies.length, Math.floor(rate * seconds));
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      post(pool, bodies[i] as Buffer).then(
        (s) => {
          // From the scheduled time: no coordinated omission.
          if (s === 201) lat.push(performance.now() - due);
          else errors++;
        },
        () => {
          errors++;
        }
      )
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  lat.sort((a, b) => a - b);
  return {
    rate: lat.length / elapsed,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    errors,
    n: lat.length,
  };
}

/** User + system CPU seconds a process has used (Linux /proc, 100 Hz ticks). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m === null ? NaN : Number(m[1]) / 1024;
}

async function appendBench(
  label: string,
  log: RunningLogServer,
  seconds: number,
  clients: number
): Promise<void> {
  for (const [kind, key, count] of [
    [
      'ecdsa-p256',
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      Math.min(seconds * 6000, 40_000),
    ],
    [
      'rsa-2048',
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      Math.min(seconds * 2000, 12_000),
    ],
  ] as const) {
    const bodies = makeBodies(key, count + 500, `${label}-${kind}`);
    await closedLoop(log.url, bodies.splice(0, 500), 16, 1); // warm-up
    const cpu0 = cpuSeconds(log.pid);
    const r = await closedLoop(log.url, bodies, clients, seconds);
    const cpuPerAppend = (cpuSeconds(log.pid) - cpu0) / r.n;
    console.log(
      `  ${label} ${kind}: ${r.rate.toFixed(0)} appends/s durable, p50 ${fmt(r.p50)}, p99 ${fmt(r.p99)} (${clients} clients, ${r.n} entries, ${r.errors} errors); server CPU ${(cpuPerAppend * 1e6).toFixed(0)} µs/append (= ${(1 / cpuPerAppend).toFixed(0)} appends/s per fully available core), RSS ${rssMiB(log.pid).toFixed(0)} MiB`
    );
  }
  const bodies = makeBodies(
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    seconds * 1000,
    `${label}-open`
  );
  const rate = numberArg('--open-rate', 1000);
  const o = await openLoop(log.url, bodies, rate, seconds);
  console.log(
    `  ${label} at ${rate} appends/s offered (open loop, ecdsa-p256): achieved ${o.rate.toFixed(0)}/s, p50 ${fmt(o.p50)}, p99 ${fmt(o.p99)} (${o.n} entries, ${o.errors} errors)`
  );
}

async function proofBench(entries: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-1m-'));
  try {
    const db = join(dir, 'signet-tlog.db');
    const storage = new SqliteStorage(db);
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const log = await TransparencyLog.open({
      storage,
      privateKey: key,
      hostname: 'bench',
    });
    const t0 = performance.now();
    const batch = 20_000;
    for (let done = 0; done < entries; done += batch) {
      const n = Math.min(batch, entries - done);
      const leaves = Array.from({ length: n }, () => {
        const body = randomBytes(120);
        return {
          leafHash: createHash('sha256')
            .update(Buffer.from([0]))
            .update(body)
            .digest(),
          body,
          indexKeys: [],
        };
      });
      await storage.sequence(leaves, Math.floor(Date.now() / 1000));
    }
    console.log(
      `  bulk-loaded ${entries.toLocaleString('en')} leaves in ${((performance.now() - t0) / 1000).toFixed(1)} s`
    );
    // In-process: inclusion proof generation alone (storage reads + hashing).
    const lat: number[] = [];
    const size = (await log.head()).treeSize;
    for (let i = 0; i < 20_000; i++) {
      const idx = Math.floor(Math.random() * size);
      const t = performance.now();
      await log.inclusionProof(idx, size);
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    console.log(
      `  inclusion proof at ${size.toLocaleString('en')} entries (in-process): p50 ${fmt(pct(lat, 50))}, p99 ${fmt(pct(lat, 99))}`
    );
    await log.close();

    // Over HTTP: GET by index returns the entry with proof, SET and checkpoint.
    const server = await startLogServer({ dataDir: dir });
    try {
      const pool = new Pool(server.url, { connections: 8 });
      const http: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const idx = Math.floor(Math.random() * size);
        const t = performance.now();
        const r = await pool.request({
          path: `/api/v1/log/entries?logIndex=${idx}`,
          method: 'GET',
        });
        await r.body.dump();
        if (r.statusCode !== 200)
          throw new Error(`GET ${idx}: ${r.statusCode}`);
        http.push(performance.now() - t);
      }
      http.sort((a, b) => a - b);
      console.log(
        `  GET entry with inclusion proof at ${size.toLocaleString('en')} entries (HTTP, sequential): p50 ${fmt(pct(http, 50))}, p99 ${fmt(pct(http, 99))}; server RSS ${rssMiB(server.pid).toFixed(0)} MiB`
      );
      await pool.close();
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(fn: () => void, n: number): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    fn();
    t.push(performance.now() - a);
  }
  t.sort((x, y) => x - y);
  return pct(t, 50);
}

/**
 * Per-append CPU broken down, in-process, as medians (robust to a busy
 * machine): what bounds the append rate.
 */
function costBreakdown(): void {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const logKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const parts: string[] = [];
  for (const [name, key] of [
    ['P-256', p256],
    ['RSA-2048', rsa],
  ] as const) {
    const bodies = makeBodies(key, 400, `cost-${name}`);
    let i = 0;
    const ms = median(() => {
      canonicalizeEntry(parseStrictJson(bodies[i++ % bodies.length] as Buffer));
    }, 399);
    parts.push(`validate+canonicalise ${name} ${fmt(ms)}`);
  }
  const set = median(() => {
    signSET(
      {
        body: 'eyJhIjoxfQ==',
        integratedTime: 1,
        logID: 'ab'.repeat(32),
        logIndex: 5,
      },
      logKey
    );
  }, 500);
  parts.push(`SET signature ${fmt(set)}`);
  console.log(`  per-append CPU (in-process medians): ${parts.join(', ')}`);
}

/** Cost of one durable SQLite commit here: the floor of any append's latency. */
function fsyncMs(): number {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-fsync-'));
  try {
    const s = new SqliteStorage(join(dir, 'x.db'));
    const t = performance.now();
    const n = 100;
    for (let i = 0; i < n; i++) {
      const body = randomBytes(100);
      void s.sequence(
        [
          {
            leafHash: createHash('sha256').update(body).digest(),
            body,
            indexKeys: [],
          },
        ],
        0
      );
    }
    const ms = (performance.now() - t) / n;
    void s.close();
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runTlogBench(): Promise<void> {
  const seconds = numberArg('--seconds', 8);
  const clients = numberArg('--clients', 64);
  const entries = numberArg('--entries', 1_000_000);
  console.log(
    `tlog server (loopback, one server process, pre-signed entries); ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start`
  );
  costBreakdown();
  const fsync = fsyncMs();
  console.log(
    `  SQLite WAL commit with fsync (synchronous=FULL) on this disk: ${fmt(fsync)} per commit`
  );
  const sqlite = await startLogServer();
  try {
    await appendBench('sqlite', sqlite, seconds, clients);
  } finally {
    await sqlite.stop();
  }
  if (!process.argv.includes('--skip-postgres')) {
    const pg = await startPostgres({ fsync: true });
    try {
      const server = await startLogServer({
        backend: 'postgres',
        postgresUrl: pg.url,
      });
      try {
        await appendBench('postgres', server, seconds, clients);
      } finally {
        await server.stop();
      }
    } finally {
      await pg.stop();
    }
  }
  await proofBench(entries);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runTlogBench();
}
