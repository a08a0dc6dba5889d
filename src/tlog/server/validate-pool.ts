/**
 * Entry validation on worker threads. Verifying the client's signature is
 * the dominant CPU cost of an append (src/tlog/prehashed.ts), and Node runs
 * one thread per process: a pool of workers lets the HTTP thread keep
 * parsing, sequencing and signing while other cores verify.
 *
 * Each job is the raw request body; the worker parses it strictly,
 * canonicalises and verifies it (src/tlog/entry.ts) and returns the
 * canonical entry or the reason it was rejected.
 */
import { Worker } from 'node:worker_threads';
import { TlogError } from '../../errors.js';
import type { CanonicalEntry, EntryKind } from '../entry.js';

/** What a worker sends back. */
export type ValidationReply =
  | {
      id: number;
      ok: {
        kind: EntryKind;
        apiVersion: string;
        body: Uint8Array;
        leafHash: Uint8Array;
        indexKeys: string[];
      };
    }
  | {
      id: number;
      error: { stage: 'json' | 'entry' | 'internal'; message: string };
    };

interface Slot {
  worker: Worker;
  pending: Map<
    number,
    { resolve(c: CanonicalEntry): void; reject(e: unknown): void }
  >;
}

const toBuf = (u: Uint8Array): Buffer =>
  Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class ValidationPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./validate-worker.js', import.meta.url));
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (m: ValidationReply) => {
      const p = slot.pending.get(m.id);
      if (p === undefined) return;
      slot.pending.delete(m.id);
      if ('ok' in m) {
        p.resolve({
          kind: m.ok.kind,
          apiVersion: m.ok.apiVersion,
          body: toBuf(m.ok.body),
          leafHash: toBuf(m.ok.leafHash),
          indexKeys: m.ok.indexKeys,
        });
      } else if (m.error.stage === 'json') {
        p.reject(
          new TlogError(
            'TLOG_REJECTED',
            `parsing body body from "" failed, because ${m.error.message}`,
            400
          )
        );
      } else if (m.error.stage === 'entry') {
        p.reject(
          new TlogError(
            'TLOG_REJECTED',
            `error processing entry: ${m.error.message}`,
            400
          )
        );
      } else {
        p.reject(new TlogError('INTERNAL', m.error.message, 500));
      }
    });
    const fail = (e: unknown): void => {
      for (const p of slot.pending.values()) p.reject(e);
      slot.pending.clear();
      const i = this.slots.indexOf(slot);
      if (!this.closed && i >= 0) this.slots[i] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) {
        fail(
          new TlogError(
            'INTERNAL',
            `validation worker exited with ${code}`,
            500
          )
        );
      }
    });
    worker.unref();
    return slot;
  }

  /** Parses, validates and canonicalises a ProposedEntry request body. */
  canonicalize(raw: Buffer): Promise<CanonicalEntry> {
    if (this.closed) {
      return Promise.reject(
        new TlogError('TLOG_UNAVAILABLE', 'shutting down', 503)
      );
    }
    let slot = this.slots[0] as Slot;
    for (const s of this.slots) {
      if (s.pending.size < slot.pending.size) slot = s;
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, raw });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
