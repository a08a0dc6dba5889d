/**
 * Worker side of ValidationPool: one job per message, no state beyond the
 * parsed-key cache inside entry.ts.
 */
import { parentPort } from 'node:worker_threads';
import { TlogError } from '../../errors.js';
import { parseStrictJson } from '../../core/strict-json.js';
import { canonicalizeEntry } from '../entry.js';
import type { ValidationReply } from './validate-pool.js';

const port = parentPort;
if (port === null) throw new Error('validate-worker must run as a worker');

port.on('message', (m: { id: number; raw: Uint8Array }) => {
  let reply: ValidationReply;
  let proposed;
  try {
    proposed = parseStrictJson(m.raw, {
      what: 'request body',
      maxBytes: Infinity,
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    port.postMessage({
      id: m.id,
      error: { stage: 'json', message },
    } satisfies ValidationReply);
    return;
  }
  try {
    const c = canonicalizeEntry(proposed);
    reply = {
      id: m.id,
      ok: {
        kind: c.kind,
        apiVersion: c.apiVersion,
        body: c.body,
        leafHash: c.leafHash,
        indexKeys: c.indexKeys,
      },
    };
  } catch (e) {
    const entryError = e instanceof TlogError && e.status === 400;
    reply = {
      id: m.id,
      error: {
        stage: entryError ? 'entry' : 'internal',
        message: e instanceof Error ? e.message : String(e),
      },
    };
  }
  port.postMessage(reply);
});
