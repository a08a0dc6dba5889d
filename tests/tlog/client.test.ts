import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { startLogServer, type RunningLogServer } from '../support/tlog.js';
import { RekorClient } from '../../src/tlog/client.js';
import {
  hashedRekordProposal,
  toRekorLogEntry,
  type LogEntry,
} from '../../src/tlog/bundle.js';
import { computeLogId, verifyCheckpoint } from '../../src/tlog/checkpoint.js';
import { verifyConsistency } from '../../src/tlog/merkle.js';
import {
  verifyEntryBodyBinding,
  verifyLogEntry,
} from '../../src/verify/tlog.js';

const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signerPem = signer.publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

function proposal(
  artifact: Buffer,
  sig?: Buffer
): ReturnType<typeof hashedRekordProposal> {
  return hashedRekordProposal({
    signature: sig ?? sign('sha256', artifact, signer.privateKey),
    verifierPem: signerPem,
    digest: {
      algorithm: 'sha256',
      hex: createHash('sha256').update(artifact).digest('hex'),
    },
  });
}

describe('RekorClient against our log server', () => {
  let log: RunningLogServer;
  let client: RekorClient;
  let logKey: KeyObject;
  before(async () => {
    log = await startLogServer();
    client = new RekorClient(log.url);
    logKey = createPublicKey(log.publicKeyPem);
  });
  after(async () => {
    await client.close();
    await log.stop();
  });

  let first: LogEntry;
  const artifact = randomBytes(100);

  it('creates an entry that verifies offline and binds to the signature', async () => {
    const sig = sign('sha256', artifact, signer.privateKey);
    const r = await client.createEntry(proposal(artifact, sig));
    assert.equal(r.created, true);
    first = r.entry;
    const v = verifyLogEntry(first, [logKey], {
      requireSET: true,
      requireInclusionProof: true,
    });
    assert.deepEqual(v.checks, [
      'log-id',
      'entry-id',
      'signed-entry-timestamp',
      'checkpoint',
      'inclusion-proof',
    ]);
    verifyEntryBodyBinding(first.body, {
      signature: sig,
      digest: {
        algorithm: 'sha256',
        hex: createHash('sha256').update(artifact).digest('hex'),
      },
      publicKey: signer.publicKey,
    });
  });

  it('fetches the existing entry on 409', async () => {
    const again = await client.createEntry(proposal(artifact));
    // ECDSA is randomised: a new signature is a new entry. Re-send the same one.
    assert.equal(again.created, true);
    const dup = await client.createEntry(
      JSON.parse(Buffer.from(first.body).toString()) as unknown
    );
    assert.equal(dup.created, false);
    assert.equal(dup.entry.uuid, first.uuid);
    verifyLogEntry(dup.entry, [logKey], { requireInclusionProof: true });
  });

  it('gets entries by UUID, bare UUID, index and retrieve', async () => {
    const uuid = first.uuid as string;
    assert.equal(uuid.length, 80);
    const a = await client.getEntryByUuid(uuid);
    const b = await client.getEntryByUuid(uuid.slice(16));
    const c = await client.getEntryByIndex(first.logIndex);
    const [d] = await client.retrieveEntries([uuid]);
    for (const e of [a, b, c, d]) {
      assert.ok(e);
      assert.deepEqual(e.body, first.body);
      assert.equal(e.logIndex, first.logIndex);
      verifyLogEntry(e, [logKey], { requireSET: true });
    }
    assert.deepEqual(
      toRekorLogEntry(a)[uuid]?.body,
      first.body.toString('base64')
    );
  });

  it('finds the entry by artifact hash', async () => {
    const hex = createHash('sha256').update(artifact).digest('hex');
    const ids = await client.searchIndex({ hash: `sha256:${hex}` });
    assert.ok(ids.some((id) => id.endsWith((first.uuid as string).slice(16))));
  });

  it('reads a log info whose checkpoint verifies, and consistent growth', async () => {
    const info1 = await client.getLogInfo();
    const cp1 = verifyCheckpoint(info1.signedTreeHead, logKey);
    assert.equal(cp1.size, info1.treeSize);
    assert.deepEqual(cp1.rootHash, info1.rootHash);
    for (let i = 0; i < 5; i++)
      await client.createEntry(proposal(randomBytes(32)));
    const info2 = await client.getLogInfo();
    assert.equal(info2.treeSize, info1.treeSize + 5n);
    const proof = await client.getConsistencyProof(
      info1.treeSize,
      info2.treeSize
    );
    assert.deepEqual(proof.rootHash, info2.rootHash);
    verifyConsistency(
      info1.treeSize,
      info2.treeSize,
      proof.hashes,
      info1.rootHash,
      info2.rootHash
    );
  });

  it('serves the key whose SPKI hash is the log ID', async () => {
    const { key } = await client.getPublicKey();
    assert.deepEqual(computeLogId(key), first.logID);
  });

  it('maps misses and rejections to typed errors', async () => {
    await assert.rejects(client.getEntryByIndex(10n ** 9n), {
      name: 'TlogError',
      code: 'TLOG_NOT_FOUND',
    });
    await assert.rejects(client.getEntryByUuid('ab'.repeat(32)), {
      name: 'TlogError',
      code: 'TLOG_NOT_FOUND',
    });
    await assert.rejects(
      client.createEntry(
        proposal(randomBytes(8), Buffer.from('not a signature'))
      ),
      {
        name: 'TlogError',
        code: 'TLOG_REJECTED',
        status: 400,
      }
    );
    await assert.rejects(client.getEntryByUuid('xyz'), { name: 'UsageError' });
  });
});

// ------------------------------------------------------------------ faults

type Reply =
  | { status: number; headers?: Record<string, string>; body?: string | Buffer }
  | { reset: true }
  | { hang: true }
  | { endless: true };

interface FaultLog {
  url: string;
  paths: string[];
  stop(): Promise<void>;
}

async function faultServer(
  handler: (path: string, n: number) => Reply
): Promise<FaultLog> {
  const paths: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`);
      const r = handler(req.url ?? '/', paths.length);
      if ('reset' in r) {
        req.socket.destroy();
      } else if ('hang' in r) {
        // never answer; the client's timeout must fire
      } else if ('endless' in r) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = (): void => {
          while (res.write(chunk)) {
            /* fill the buffer */
          }
          res.once('drain', pump);
        };
        res.on('error', () => undefined);
        pump();
      } else {
        res.writeHead(r.status, r.headers ?? {});
        res.end(r.body ?? '');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One fixed, well-formed entry (ECDSA is randomised: build it once). */
const fixedEntry = ((): {
  id: string;
  doc: Record<string, Record<string, unknown>>;
} => {
  const body = Buffer.from(JSON.stringify(proposal(Buffer.from('x')))).toString(
    'base64'
  );
  const leaf = createHash('sha256')
    .update(Buffer.from([0]))
    .update(Buffer.from(body, 'base64'))
    .digest('hex');
  const id = `0000000000000001${leaf}`;
  return {
    id,
    doc: {
      [id]: { body, integratedTime: 1, logID: 'ab'.repeat(32), logIndex: 7 },
    },
  };
})();
const realEntryJson = (): typeof fixedEntry => fixedEntry;

describe('RekorClient against hostile and failing servers', () => {
  const delays: number[] = [];
  const opts = {
    retry: { maxAttempts: 3 },
    sleep: (ms: number) => {
      delays.push(ms);
      return Promise.resolve();
    },
  };
  const withServer = async (
    handler: (path: string, n: number) => Reply,
    fn: (c: RekorClient, s: FaultLog) => Promise<void>,
    extra: object = {}
  ): Promise<void> => {
    const s = await faultServer(handler);
    const c = new RekorClient(s.url, { ...opts, ...extra });
    try {
      await fn(c, s);
    } finally {
      await c.close();
      await s.stop();
    }
  };
  const protocol = { name: 'TlogError', code: 'TLOG_PROTOCOL' };
  const unavailable = { name: 'TlogError', code: 'TLOG_UNAVAILABLE' };

  it('rejects a body that is not JSON', () =>
    withServer(
      () => ({ status: 200, body: '<html>' }),
      (c) => assert.rejects(c.getEntryByIndex(1), protocol)
    ));
  it('caps the response size', () =>
    withServer(
      () => ({ status: 200, body: Buffer.alloc(4096, 0x20) }),
      (c) => assert.rejects(c.getLogInfo(), protocol),
      { maxResponseBytes: 1024 }
    ));
  it('stops reading an endless body', () =>
    withServer(
      () => ({ endless: true }),
      (c) => assert.rejects(c.getLogInfo(), protocol),
      { maxResponseBytes: 1 << 20 }
    ));
  it('rejects an entry whose ID is not its leaf hash', () =>
    withServer(
      () => {
        const { doc, id } = realEntryJson();
        return {
          status: 200,
          body: JSON.stringify({
            [id.replace(/.$/, (c) => (c === '0' ? '1' : '0'))]: doc[id],
          }),
        };
      },
      (c) => assert.rejects(c.getEntryByIndex(7), protocol)
    ));
  it('rejects an entry for another index or UUID than asked', async () => {
    await withServer(
      () => ({ status: 200, body: JSON.stringify(realEntryJson().doc) }),
      async (c) => {
        await assert.rejects(c.getEntryByIndex(8), protocol);
        await assert.rejects(c.getEntryByUuid('cd'.repeat(32)), protocol);
        const e = await c.getEntryByIndex(7);
        assert.equal(e.logIndex, 7n);
      }
    );
  });
  it('rejects malformed entries and log info', async () => {
    const { id, doc } = realEntryJson();
    for (const bad of [
      { [id]: { ...doc[id], logIndex: -7 } },
      { [id]: { ...doc[id], logIndex: 2 ** 64 } },
      { [id]: { ...doc[id], body: 42 } },
      [doc],
      null,
      { [id]: doc[id], other: doc[id] },
    ]) {
      await withServer(
        () => ({ status: 200, body: JSON.stringify(bad) }),
        (c) => assert.rejects(c.getEntryByIndex(7), protocol)
      );
    }
    await withServer(
      () => ({
        status: 200,
        body: JSON.stringify({
          rootHash: 'zz',
          treeSize: -1,
          signedTreeHead: 1,
          treeID: 'x',
        }),
      }),
      (c) => assert.rejects(c.getLogInfo(), protocol)
    );
  });
  it('retries 5xx and succeeds', () =>
    withServer(
      (_p, n) =>
        n < 3
          ? { status: n === 1 ? 500 : 503 }
          : { status: 200, body: JSON.stringify(realEntryJson().doc) },
      async (c, s) => {
        await c.getEntryByIndex(7);
        assert.equal(s.paths.length, 3);
      }
    ));
  it('gives up after the last attempt with TLOG_UNAVAILABLE', () =>
    withServer(
      () => ({ status: 502, body: '{"code":502,"message":"bad gateway"}' }),
      async (c, s) => {
        await assert.rejects(c.getLogInfo(), unavailable);
        assert.equal(s.paths.length, 3);
      }
    ));
  it('honours Retry-After on 429', async () => {
    delays.length = 0;
    await withServer(
      (_p, n) =>
        n === 1
          ? { status: 429, headers: { 'retry-after': '2' } }
          : { status: 200, body: JSON.stringify(realEntryJson().doc) },
      async (c) => {
        await c.getEntryByIndex(7);
      }
    );
    assert.deepEqual(delays, [2000]);
  });
  it('does not retry 4xx and keeps the server message', () =>
    withServer(
      () => ({
        status: 400,
        body: '{"code":400,"message":"error processing entry: bad\\nsignature"}',
      }),
      async (c, s) => {
        await assert.rejects(
          c.createEntry({}),
          (e: Error & { code?: string }) => {
            assert.equal(e.name, 'TlogError');
            assert.equal(e.code, 'TLOG_REJECTED');
            assert.ok(!e.message.includes('\n'));
            return true;
          }
        );
        assert.equal(s.paths.length, 1);
      }
    ));
  it('follows a 409 Location to the existing entry', () =>
    withServer(
      (path) => {
        const { id, doc } = realEntryJson();
        if (path === '/api/v1/log/entries') {
          return {
            status: 409,
            headers: { location: `/api/v1/log/entries/${id}` },
            body: '{"code":409,"message":"exists"}',
          };
        }
        return path === `/api/v1/log/entries/${id}`
          ? { status: 200, body: JSON.stringify(doc) }
          : { status: 404 };
      },
      async (c) => {
        const r = await c.createEntry({});
        assert.equal(r.created, false);
        assert.equal(r.entry.logIndex, 7n);
      }
    ));
  it('uses the UUID of the 409 message when Location is missing', () =>
    withServer(
      (path) => {
        const { id, doc } = realEntryJson();
        if (path === '/api/v1/log/entries') {
          return {
            status: 409,
            body: JSON.stringify({
              code: 409,
              message: `an equivalent entry already exists in the transparency log with UUID ${id}`,
            }),
          };
        }
        return { status: 200, body: JSON.stringify(doc) };
      },
      async (c) => {
        assert.equal((await c.createEntry({})).created, false);
      }
    ));
  it('rejects a 409 that names no entry', () =>
    withServer(
      () => ({ status: 409, body: '{}' }),
      (c) => assert.rejects(c.createEntry({}), protocol)
    ));
  it('retries dropped connections, then reports TLOG_UNAVAILABLE', () =>
    withServer(
      () => ({ reset: true }),
      async (c, s) => {
        await assert.rejects(c.getLogInfo(), unavailable);
        assert.equal(s.paths.length, 3);
      }
    ));
  it('times out on a server that never answers', () =>
    withServer(
      () => ({ hang: true }),
      (c) => assert.rejects(c.getLogInfo(), unavailable),
      { timeoutMs: 200, retry: { maxAttempts: 1 } }
    ));
  it('refuses URLs with credentials or other schemes', () => {
    assert.throws(() => new RekorClient('https://user:pw@rekor.example'), {
      code: 'USAGE',
    });
    assert.throws(() => new RekorClient('file:///etc/passwd'), {
      code: 'USAGE',
    });
  });
});
