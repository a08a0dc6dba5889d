/**
 * Durability: kill -9 the server while many clients append, restart it on
 * the same storage, and check that every entry acknowledged with 201 is
 * there unchanged and that every checkpoint served before the crash is
 * consistent with the new tree (consistency proof verified).
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
import { verifyConsistency } from '../../../src/tlog/merkle.js';
import { startPostgres, type RunningPostgres } from '../../support/postgres.js';
import { startLogServer } from '../../support/tlog.js';
import { BACKENDS } from './backends.js';

interface Ack {
  id: string;
  index: number;
  body: string;
}

for (const backend of BACKENDS) {
  describe(`tlog serve durability (${backend})`, () => {
    it('keeps every acknowledged entry and stays consistent with served checkpoints across kill -9', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'signet-tlog-crash-'));
      let pg: RunningPostgres | undefined;
      if (backend === 'postgres') pg = await startPostgres();
      const opts = {
        backend,
        dataDir,
        ...(pg === undefined ? {} : { postgresUrl: pg.url }),
      };
      try {
        const signer = generateKeyPairSync('ec', {
          namedCurve: 'P-256',
        }).privateKey;
        const pem = Buffer.from(
          createPublicKey(signer).export({ type: 'spki', format: 'pem' })
        ).toString('base64');
        const entryFor = (n: number): string => {
          const a = Buffer.from(`crash test artifact ${n}`);
          return JSON.stringify({
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
          });
        };

        const log = await startLogServer(opts);
        const logKey = createPublicKey(log.publicKeyPem);
        const acks: Ack[] = [];
        const checkpoints: { size: number; root: Buffer }[] = [];
        let next = 0;
        let crashed = false;
        const worker = async (): Promise<void> => {
          while (!crashed) {
            const n = next++;
            try {
              const res = await fetch(`${log.url}/api/v1/log/entries`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: entryFor(n),
              });
              const text = await res.text();
              if (res.status === 201) {
                const [id, e] = Object.entries(
                  JSON.parse(text) as Record<
                    string,
                    { logIndex: number; body: string }
                  >
                )[0] as [string, { logIndex: number; body: string }];
                acks.push({ id, index: e.logIndex, body: e.body });
              }
            } catch {
              // Connection reset by the crash: not acknowledged, may or may not be logged.
            }
          }
        };
        const watcher = async (): Promise<void> => {
          while (!crashed) {
            try {
              const res = await fetch(`${log.url}/api/v1/log`);
              const info = (await res.json()) as { signedTreeHead: string };
              const cp = verifyCheckpoint(info.signedTreeHead, logKey);
              checkpoints.push({
                size: Number(cp.size),
                root: Buffer.from(cp.rootHash),
              });
            } catch {
              // the crash
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        const workers = [...Array.from({ length: 16 }, worker), watcher()];
        // Crash once a few hundred entries are acknowledged, with requests in flight.
        while (acks.length < 300) await new Promise((r) => setTimeout(r, 10));
        await log.kill9();
        crashed = true;
        await Promise.all(workers);
        assert.ok(checkpoints.length > 0);

        const again = await startLogServer(opts);
        try {
          assert.equal(again.publicKeyPem, log.publicKeyPem);
          const info = (await (
            await fetch(`${again.url}/api/v1/log`)
          ).json()) as {
            treeSize: number;
            rootHash: string;
          };
          const maxIndex = Math.max(...acks.map((a) => a.index));
          assert.ok(info.treeSize > maxIndex);
          for (const a of acks) {
            const res = await fetch(`${again.url}/api/v1/log/entries/${a.id}`);
            assert.equal(res.status, 200, `acknowledged entry ${a.id} lost`);
            const [id, e] = Object.entries(
              (await res.json()) as Record<
                string,
                { logIndex: number; body: string }
              >
            )[0] as [string, { logIndex: number; body: string }];
            assert.equal(id, a.id);
            assert.equal(e.logIndex, a.index);
            assert.equal(e.body, a.body);
          }
          const root2 = Buffer.from(info.rootHash, 'hex');
          for (const cp of checkpoints) {
            if (cp.size === 0) continue;
            const res = await fetch(
              `${again.url}/api/v1/log/proof?firstSize=${cp.size}&lastSize=${info.treeSize}`
            );
            assert.equal(res.status, 200);
            const p = (await res.json()) as {
              rootHash: string;
              hashes: string[];
            };
            assert.equal(p.rootHash, info.rootHash);
            verifyConsistency(
              cp.size,
              info.treeSize,
              p.hashes.map((h) => Buffer.from(h, 'hex')),
              cp.root,
              root2
            );
          }
          // The restarted log keeps appending on the same tree.
          const res = await fetch(`${again.url}/api/v1/log/entries`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: entryFor(next + 1000),
          });
          assert.equal(res.status, 201);
        } finally {
          await again.stop();
        }
      } finally {
        if (pg !== undefined) await pg.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
