/**
 * The transparency log: append → sequence → integrate over a Storage, and the
 * read side (entries with inclusion proofs, SETs and signed checkpoints,
 * consistency proofs, index search).
 *
 * Appends are batched: callers queue canonical entries; one flush at a time
 * hands everything queued to `storage.sequence()`, which assigns indexes,
 * stores the tree nodes and commits durably in one transaction (group
 * commit). Only then are the callers answered, each with an inclusion proof
 * against the batch's tree head and a checkpoint signed once per batch, so an
 * acknowledged entry is always integrated (spec §1.5.1, §11).
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey, randomBytes } from 'node:crypto';
import { TlogError } from '../../errors.js';
import { encodeBase64 } from '../../core/encoding.js';
import { encodePem } from '../../core/pem.js';
import {
  computeLogId,
  logSigner,
  signCheckpoint,
  type SignFunction,
} from '../checkpoint.js';
import { signSET } from '../set.js';
import { entryId, type CanonicalEntry } from '../entry.js';
import type { Storage, StoredEntry, TreeHead } from './storage.js';
import {
  consistencyRanges,
  hashRanges,
  inclusionRanges,
  nodesForRanges,
  rangeNodes,
  foldRange,
  nodeKey,
  EMPTY_ROOT,
} from './tree.js';
import type { RekorLogEntryAnon } from '../bundle.js';

/** Rekor's v1 LogEntry: `{ "<entryID>": LogEntryAnon }`. */
export type LogEntryJson = Record<string, LogEntryAnonJson>;

/** Rekor's LogEntryAnon as this server always sends it: SET and proof present. */
export type LogEntryAnonJson = RekorLogEntryAnon & {
  verification: Required<NonNullable<RekorLogEntryAnon['verification']>>;
};

export interface LogInfoJson {
  rootHash: string;
  treeSize: number;
  signedTreeHead: string;
  treeID: string;
}

/** A duplicate submission: HTTP 409 with the existing entry's ID. */
export class DuplicateEntryError extends TlogError {
  override name = 'DuplicateEntryError';
  constructor(readonly entryId: string) {
    super(
      'TLOG_REJECTED',
      `an equivalent entry already exists in the transparency log with UUID ${entryId}`,
      409
    );
  }
}

export interface TransparencyLogOptions {
  readonly storage: Storage;
  readonly privateKey: KeyObject;
  /** Checkpoint origin `<hostname> - <treeID>` and signer name. */
  readonly hostname: string;
  /** Tree ID for a new log (random positive int63 when absent). */
  readonly treeId?: bigint;
  /** Clock for integratedTime (injected in tests). */
  readonly now?: () => Date;
  /** Largest batch per transaction. Default 2000. */
  readonly maxBatch?: number;
}

interface Pending {
  readonly entry: CanonicalEntry;
  resolve(v: LogEntryJson): void;
  reject(e: unknown): void;
}

function randomTreeId(): bigint {
  const v = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn;
  return v === 0n ? 1n : v;
}

export class TransparencyLog {
  readonly treeId: bigint;
  /** Hex SHA-256 of the log key's SPKI DER. */
  readonly logId: string;
  readonly publicKeyPem: string;
  readonly origin: string;
  private readonly storage: Storage;
  private readonly sign: SignFunction;
  private readonly privateKey: KeyObject;
  private readonly hostname: string;
  private readonly now: () => Date;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private flushing = false;
  private rendering = 0;
  private closed = false;
  private cpCache: { size: number; root: string; text: string } | undefined;

  private constructor(opts: TransparencyLogOptions, treeId: bigint) {
    this.storage = opts.storage;
    this.privateKey = opts.privateKey;
    this.sign = logSigner(opts.privateKey);
    this.hostname = opts.hostname;
    this.now = opts.now ?? (() => new Date());
    this.maxBatch = opts.maxBatch ?? 2000;
    this.treeId = treeId;
    const pub = createPublicKey(opts.privateKey);
    this.logId = computeLogId(pub).toString('hex');
    this.publicKeyPem = encodePem(
      'PUBLIC KEY',
      pub.export({ format: 'der', type: 'spki' })
    );
    this.origin = `${opts.hostname} - ${treeId.toString()}`;
  }

  static async open(opts: TransparencyLogOptions): Promise<TransparencyLog> {
    const meta = await opts.storage.open({
      treeId: opts.treeId ?? randomTreeId(),
    });
    return new TransparencyLog(opts, meta.treeId);
  }

  /** Entry ID (80 hex) of a leaf in this tree. */
  entryIdOf(leafHash: Buffer): string {
    return entryId(this.treeId, leafHash);
  }

  /**
   * Appends a canonical entry; resolves once it is durably integrated, with
   * its LogEntry (proof, SET, checkpoint). Rejects with DuplicateEntryError
   * if the leaf is already in the log.
   */
  append(entry: CanonicalEntry): Promise<LogEntryJson> {
    if (this.closed) {
      return Promise.reject(
        new TlogError('TLOG_UNAVAILABLE', 'the log is shutting down', 503)
      );
    }
    return new Promise<LogEntryJson>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Let the event loop collect more concurrent requests first.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.integrate(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async integrate(batch: Pending[]): Promise<void> {
    const integratedTime = Math.floor(this.now().getTime() / 1000);
    let result;
    try {
      result = await this.storage.sequence(
        batch.map((p) => ({
          leafHash: p.entry.leafHash,
          body: p.entry.body,
          indexKeys: p.entry.indexKeys,
        })),
        integratedTime
      );
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    const head: TreeHead = {
      treeSize: result.treeSize,
      rootHash: result.rootHash,
    };
    const added: { p: Pending; e: StoredEntry }[] = [];
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as Pending;
      const o = result.outcomes[i];
      if (o === undefined) {
        p.reject(new TlogError('INTERNAL', 'sequencer lost an entry', 500));
      } else if (o.kind === 'duplicate') {
        p.reject(new DuplicateEntryError(this.entryIdOf(p.entry.leafHash)));
      } else {
        const { leafHash, body } = p.entry;
        added.push({
          p,
          e: { index: o.index, leafHash, body, integratedTime },
        });
      }
    }
    // Answer in the background: the next batch can be sequenced meanwhile.
    this.rendering++;
    void this.renderBatch(added, head).finally(() => {
      this.rendering--;
    });
  }

  /** Proofs for a whole batch from one node read, then SETs. */
  private async renderBatch(
    added: { p: Pending; e: StoredEntry }[],
    head: TreeHead
  ): Promise<void> {
    if (added.length === 0) return;
    let nodes: Map<string, Buffer>;
    try {
      const ranges = added.flatMap(({ e }) =>
        inclusionRanges(e.index, head.treeSize)
      );
      nodes = await this.storage.nodes(nodesForRanges(ranges));
    } catch (e) {
      for (const a of added) a.p.reject(e);
      return;
    }
    for (const { p, e } of added) {
      try {
        const hashes = hashRanges(
          inclusionRanges(e.index, head.treeSize),
          nodes
        );
        p.resolve(this.renderWith(e, head, hashes));
      } catch (err) {
        p.reject(err);
      }
    }
  }

  /** The latest tree head. */
  head(): Promise<TreeHead> {
    return this.storage.head();
  }

  /** Signed checkpoint for a tree head, signed once per size. */
  checkpoint(head: TreeHead): string {
    const root = head.rootHash.toString('hex');
    const c = this.cpCache;
    if (c !== undefined && c.size === head.treeSize && c.root === root) {
      return c.text;
    }
    const text = signCheckpoint(
      { origin: this.origin, size: head.treeSize, rootHash: head.rootHash },
      this.hostname,
      this.privateKey
    );
    this.cpCache = { size: head.treeSize, root, text };
    return text;
  }

  /** Inclusion proof hashes of leaf `index` in the tree of size `size`. */
  async inclusionProof(index: number, size: number): Promise<Buffer[]> {
    const ranges = inclusionRanges(index, size);
    const nodes = await this.storage.nodes(nodesForRanges(ranges));
    return hashRanges(ranges, nodes);
  }

  private async render(e: StoredEntry, head: TreeHead): Promise<LogEntryJson> {
    const hashes = await this.inclusionProof(e.index, head.treeSize);
    return this.renderWith(e, head, hashes);
  }

  private renderWith(
    e: StoredEntry,
    head: TreeHead,
    hashes: readonly Buffer[]
  ): LogEntryJson {
    const body = encodeBase64(e.body);
    const set = signSET(
      {
        body,
        integratedTime: e.integratedTime,
        logID: this.logId,
        logIndex: e.index,
      },
      this.sign
    );
    return {
      [this.entryIdOf(e.leafHash)]: {
        body,
        integratedTime: e.integratedTime,
        logID: this.logId,
        logIndex: e.index,
        verification: {
          inclusionProof: {
            checkpoint: this.checkpoint(head),
            hashes: hashes.map((h) => h.toString('hex')),
            logIndex: e.index,
            rootHash: head.rootHash.toString('hex'),
            treeSize: head.treeSize,
          },
          signedEntryTimestamp: encodeBase64(set),
        },
      },
    };
  }

  private async renderCurrent(
    e: StoredEntry | undefined
  ): Promise<LogEntryJson | undefined> {
    if (e === undefined) return undefined;
    const head = await this.storage.head();
    if (e.index >= head.treeSize) return undefined;
    return this.render(e, head);
  }

  /** Entry at a (global = local, single shard) index, or undefined. */
  async entryByIndex(index: number): Promise<LogEntryJson | undefined> {
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    return this.renderCurrent(await this.storage.entryByIndex(index));
  }

  /** Entry by leaf hash; `treeId` (from an 80-hex ID) must be this tree's. */
  async entryByLeafHash(
    leafHash: Buffer,
    treeId?: bigint
  ): Promise<LogEntryJson | undefined> {
    if (treeId !== undefined && treeId !== this.treeId) return undefined;
    return this.renderCurrent(await this.storage.entryByLeafHash(leafHash));
  }

  async info(): Promise<LogInfoJson> {
    const head = await this.storage.head();
    return {
      rootHash: head.rootHash.toString('hex'),
      treeSize: head.treeSize,
      signedTreeHead: this.checkpoint(head),
      treeID: this.treeId.toString(),
    };
  }

  /** Root hash of the tree at `size` (≤ current size). */
  async rootAt(size: number): Promise<Buffer> {
    if (size === 0) return EMPTY_ROOT;
    const ids = rangeNodes({ start: 0, end: size });
    const nodes = await this.storage.nodes(ids);
    return foldRange(
      ids.map((id) => {
        const h = nodes.get(nodeKey(id));
        if (h === undefined) {
          throw new TlogError(
            'INTERNAL',
            `tree node ${nodeKey(id)} missing`,
            500
          );
        }
        return h;
      })
    );
  }

  /**
   * RFC 6962 consistency proof between sizes (Rekor GET /api/v1/log/proof).
   * Throws TlogError TLOG_REJECTED (400) with Rekor's messages.
   */
  async consistencyProof(
    firstSize: number,
    lastSize: number
  ): Promise<{ rootHash: string; hashes: string[] }> {
    if (firstSize > lastSize) {
      throw new TlogError(
        'TLOG_REJECTED',
        `firstSize(${firstSize}) must be less than lastSize(${lastSize})`,
        400
      );
    }
    const head = await this.storage.head();
    if (lastSize > head.treeSize) {
      throw new TlogError(
        'TLOG_REJECTED',
        `the tree size requested(${lastSize}) was greater than what is currently observable(${head.treeSize})`,
        400
      );
    }
    const ranges = consistencyRanges(firstSize, lastSize);
    const ids = [
      ...nodesForRanges(ranges),
      ...rangeNodes({ start: 0, end: lastSize }),
    ];
    const nodes = await this.storage.nodes(ids);
    const root =
      lastSize === head.treeSize
        ? head.rootHash
        : foldRange(
            rangeNodes({ start: 0, end: lastSize }).map((id) => {
              const h = nodes.get(nodeKey(id));
              if (h === undefined) {
                throw new TlogError(
                  'INTERNAL',
                  `tree node ${nodeKey(id)} missing`,
                  500
                );
              }
              return h;
            })
          );
    return {
      rootHash: root.toString('hex'),
      hashes: hashRanges(ranges, nodes).map((h) => h.toString('hex')),
    };
  }

  /** Entry IDs whose index keys match (`/api/v1/index/retrieve`). */
  async search(
    keys: readonly string[],
    operator: 'and' | 'or',
    limit = 10_000
  ): Promise<string[]> {
    if (keys.length === 0) return [];
    const indexes = await this.storage.search(
      keys.map((k) => k.toLowerCase()),
      operator,
      limit
    );
    const head = await this.storage.head();
    const out: string[] = [];
    for (const i of indexes) {
      if (i >= head.treeSize) continue;
      const e = await this.storage.entryByIndex(i);
      if (e !== undefined) out.push(this.entryIdOf(e.leafHash));
    }
    return out;
  }

  /** Stops accepting appends and waits for queued ones to finish. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.queue.length > 0 || this.rendering > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await this.storage.close();
  }
}
