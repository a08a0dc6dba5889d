/**
 * Several `signet tlog serve --postgres` processes share one log: one
 * sequencer at a time (advisory lock), dense unique indexes, and every
 * process serves proofs for entries appended through the others.
 */
import assert from 'node:assert/strict';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign,
} from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyCheckpoint } from '../../../src/tlog/checkpoint.js';
import { leafHash, verifyInclusion } from '../../../src/tlog/merkle.js';
import { verifySET } from '../../../src/tlog/set.js';
import { startPostgres } from '../../support/postgres.js';
import { startLogServer, type RunningLogServer } from '../../support/tlog.js';

interface Anon {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    inclusionProof: {
      checkpoint: string;
      hashes: string[];
      logIndex: number;
      rootHash: string;
      treeSize: number;
    };
    signedEntryTimestamp: string;
  };
}

describe('tlog serve on shared PostgreSQL', () => {
  it('lets three server processes append to one log concurrently', async () => {
    const pg = await startPostgres();
    const dataDir = mkdtempSync(join(tmpdir(), 'signet-tlog-shared-'));
    try {
      // Same key file, same database: one log behind three processes.
      const servers: RunningLogServer[] = [];
      for (let i = 0; i < 3; i++) {
        servers.push(
          await startLogServer({
            backend: 'postgres',
            postgresUrl: pg.url,
            dataDir,
          })
        );
      }
      try {
        const logKey = createPublicKey(servers[0]?.publicKeyPem as string);
        const signer = generateKeyPairSync('ec', {
          namedCurve: 'P-256',
        }).privateKey;
        const pem = Buffer.from(
          createPublicKey(signer).export({ type: 'spki', format: 'pem' })
        ).toString('base64');
        const N = 90;
        const replies = await Promise.all(
          Array.from({ length: N }, async (_, n) => {
            const a = Buffer.from(`shared ${n}`);
            const s = servers[n % servers.length];
            const res = await fetch(`${s?.url}/api/v1/log/entries`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({
                apiVersion: '0.0.1',
                kind: 'hashedrekord',
                spec: {
                  data: {
                    hash: {
                      algorithm: 'sha256',
                      value: createHash('sha256').update(a).digest('hex'),
                    },
                  },
                  signature: {
                    content: sign('sha256', a, signer).toString('base64'),
                    publicKey: { content: pem },
                  },
                },
              }),
            });
            assert.equal(res.status, 201);
            return Object.entries(
              (await res.json()) as Record<string, Anon>
            )[0] as [string, Anon];
          })
        );
        const indexes = replies
          .map(([, e]) => e.logIndex)
          .sort((a, b) => a - b);
        assert.deepEqual(
          indexes,
          Array.from({ length: N }, (_, i) => i)
        );
        for (const [id, e] of replies) {
          verifySET(
            {
              body: e.body,
              integratedTime: e.integratedTime,
              logID: e.logID,
              logIndex: e.logIndex,
            },
            Buffer.from(e.verification.signedEntryTimestamp, 'base64'),
            logKey
          );
          const p = e.verification.inclusionProof;
          verifyCheckpoint(p.checkpoint, logKey);
          verifyInclusion(
            p.logIndex,
            p.treeSize,
            leafHash(Buffer.from(e.body, 'base64')),
            p.hashes.map((h) => Buffer.from(h, 'hex')),
            Buffer.from(p.rootHash, 'hex')
          );
          // Every process serves every entry, with a proof against the latest tree.
          for (const s of servers) {
            const r = await fetch(`${s.url}/api/v1/log/entries/${id}`);
            assert.equal(r.status, 200);
            const got = Object.values(
              (await r.json()) as Record<string, Anon>
            )[0] as Anon;
            assert.equal(got.verification.inclusionProof.treeSize, N);
          }
        }
        const infos = await Promise.all(
          servers.map(
            async (s) =>
              (await (await fetch(`${s.url}/api/v1/log`)).json()) as {
                rootHash: string;
                treeSize: number;
              }
          )
        );
        for (const i of infos) {
          assert.equal(i.treeSize, N);
          assert.equal(i.rootHash, infos[0]?.rootHash);
        }
      } finally {
        for (const s of servers) await s.stop();
      }
    } finally {
      await pg.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
