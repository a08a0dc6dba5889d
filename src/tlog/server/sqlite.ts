/**
 * SQLite storage (better-sqlite3), the embedded default.
 *
 * Durability: WAL journal with `synchronous=FULL`, so every commit fsyncs
 * the WAL before `sequence()` returns; an entry answered with 201 survives
 * a process kill *and* an OS crash or power loss (as far as the disk honours
 * fsync). `NORMAL` would survive kill -9 but could lose the last commits on
 * power loss, which breaks the promise a 201 makes, so we do not use it.
 * The cost is one fsync per batch, not per entry: the log batches concurrent
 * appends into one transaction (group commit).
 *
 * One process owns the file: the tree size and frontier are cached in memory,
 * so the connection takes SQLite's EXCLUSIVE locking mode and a second server
 * on the same file fails to open it (SQLITE_BUSY) instead of forking the
 * tree. Use PostgreSQL to run several server processes on one log.
 */
import Database from 'better-sqlite3';
import type {
  LogMetadata,
  PendingLeaf,
  SequenceOutcome,
  SequenceResult,
  Storage,
  StoredEntry,
  TreeHead,
} from './storage.js';
import {
  EMPTY_ROOT,
  appendLeaves,
  foldRange,
  frontierNodes,
  nodeKey,
  type NodeId,
} from './tree.js';
import { TlogError } from '../../errors.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  idx INTEGER PRIMARY KEY,
  leaf_hash BLOB NOT NULL UNIQUE,
  body BLOB NOT NULL,
  integrated_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS index_keys (
  k TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (k, idx)
) WITHOUT ROWID;
`;

interface EntryRow {
  idx: number;
  leaf_hash: Buffer;
  body: Buffer;
  integrated_time: number;
}

function toEntry(r: EntryRow): StoredEntry {
  return {
    index: r.idx,
    leafHash: r.leaf_hash,
    body: r.body,
    integratedTime: r.integrated_time,
  };
}

export interface SqliteStorageOptions {
  /** `synchronous` pragma; FULL unless a benchmark measures the difference. */
  readonly synchronous?: 'FULL' | 'NORMAL';
}

export class SqliteStorage implements Storage {
  private readonly db: Database.Database;
  private readonly st: {
    getMeta: Database.Statement<[string], { v: string }>;
    putMeta: Database.Statement<[string, string]>;
    byIndex: Database.Statement<[number], EntryRow>;
    byLeaf: Database.Statement<[Buffer], EntryRow>;
    idxByLeaf: Database.Statement<[Buffer], { idx: number }>;
    node: Database.Statement<[number, number], { hash: Buffer }>;
    insEntry: Database.Statement<[number, Buffer, Buffer, number]>;
    insNode: Database.Statement<[number, number, Buffer]>;
    insKey: Database.Statement<[string, number]>;
    byKey: Database.Statement<[string, number], { idx: number }>;
  };
  private size = 0;
  private frontier: Buffer[] = [];
  private root: Buffer = EMPTY_ROOT;

  constructor(path: string, opts: SqliteStorageOptions = {}) {
    try {
      this.db = new Database(path);
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      this.db.pragma('busy_timeout = 2000');
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new TlogError(
        'IO',
        `opening log database ${path}: ${(err as Error).message}`,
        undefined,
        { cause: err }
      );
    }
    const db = this.db;
    this.st = {
      getMeta: db.prepare('SELECT v FROM meta WHERE k = ?'),
      putMeta: db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)'),
      byIndex: db.prepare('SELECT * FROM entries WHERE idx = ?'),
      byLeaf: db.prepare('SELECT * FROM entries WHERE leaf_hash = ?'),
      idxByLeaf: db.prepare('SELECT idx FROM entries WHERE leaf_hash = ?'),
      node: db.prepare('SELECT hash FROM nodes WHERE level = ? AND idx = ?'),
      insEntry: db.prepare(
        'INSERT INTO entries (idx, leaf_hash, body, integrated_time) VALUES (?, ?, ?, ?)'
      ),
      insNode: db.prepare(
        'INSERT OR REPLACE INTO nodes (level, idx, hash) VALUES (?, ?, ?)'
      ),
      insKey: db.prepare(
        'INSERT OR IGNORE INTO index_keys (k, idx) VALUES (?, ?)'
      ),
      byKey: db.prepare(
        'SELECT idx FROM index_keys WHERE k = ? ORDER BY idx LIMIT ?'
      ),
    };
  }

  open(init: LogMetadata): Promise<LogMetadata> {
    const tx = this.db.transaction(() => {
      const t = this.st.getMeta.get('tree_id');
      if (t === undefined) {
        this.st.putMeta.run('tree_id', init.treeId.toString());
        this.st.putMeta.run('tree_size', '0');
        return init;
      }
      return { treeId: BigInt(t.v) };
    });
    const meta = tx.immediate();
    this.loadHead();
    return Promise.resolve(meta);
  }

  private loadHead(): void {
    const s = this.st.getMeta.get('tree_size');
    this.size = s === undefined ? 0 : Number(s.v);
    this.frontier = frontierNodes(this.size).map((id) => {
      const r = this.st.node.get(id.level, id.index);
      if (r === undefined) {
        throw new TlogError(
          'INTERNAL',
          `log database is corrupt: frontier node ${nodeKey(id)} missing`
        );
      }
      return r.hash;
    });
    this.root = this.size === 0 ? EMPTY_ROOT : foldRange(this.frontier);
  }

  sequence(
    leaves: readonly PendingLeaf[],
    integratedTime: number
  ): Promise<SequenceResult> {
    const tx = this.db.transaction((): SequenceResult => {
      const outcomes: SequenceOutcome[] = [];
      const fresh: PendingLeaf[] = [];
      const inBatch = new Map<string, number>();
      let next = this.size;
      for (const leaf of leaves) {
        const hex = leaf.leafHash.toString('hex');
        const earlier = inBatch.get(hex);
        if (earlier !== undefined) {
          outcomes.push({ kind: 'duplicate', index: earlier });
          continue;
        }
        const row = this.st.idxByLeaf.get(leaf.leafHash);
        if (row !== undefined) {
          outcomes.push({ kind: 'duplicate', index: row.idx });
          continue;
        }
        inBatch.set(hex, next);
        outcomes.push({ kind: 'added', index: next });
        fresh.push(leaf);
        next++;
      }
      if (fresh.length === 0) {
        return { outcomes, treeSize: this.size, rootHash: this.root };
      }
      const appended = appendLeaves(
        this.size,
        this.frontier,
        fresh.map((l) => l.leafHash)
      );
      let idx = this.size;
      for (const leaf of fresh) {
        this.st.insEntry.run(idx, leaf.leafHash, leaf.body, integratedTime);
        for (const k of leaf.indexKeys) this.st.insKey.run(k, idx);
        idx++;
      }
      for (const n of appended.newNodes) {
        this.st.insNode.run(n.id.level, n.id.index, n.hash);
      }
      this.st.putMeta.run('tree_size', String(appended.size));
      return {
        outcomes,
        treeSize: appended.size,
        rootHash: appended.root,
        frontier: appended.frontier,
      } as SequenceResult & { frontier: Buffer[] };
    });
    try {
      const r = tx.immediate() as SequenceResult & { frontier?: Buffer[] };
      if (r.frontier !== undefined) {
        this.size = r.treeSize;
        this.root = r.rootHash;
        this.frontier = r.frontier;
      }
      return Promise.resolve({
        outcomes: r.outcomes,
        treeSize: r.treeSize,
        rootHash: r.rootHash,
      });
    } catch (err) {
      return Promise.reject(
        new TlogError(
          'TLOG_UNAVAILABLE',
          `writing to the log database: ${(err as Error).message}`,
          500,
          { cause: err }
        )
      );
    }
  }

  head(): Promise<TreeHead> {
    return Promise.resolve({ treeSize: this.size, rootHash: this.root });
  }

  nodes(ids: readonly NodeId[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const id of ids) {
      const r = this.st.node.get(id.level, id.index);
      if (r !== undefined) out.set(nodeKey(id), r.hash);
    }
    return Promise.resolve(out);
  }

  entryByIndex(index: number): Promise<StoredEntry | undefined> {
    const r = this.st.byIndex.get(index);
    return Promise.resolve(r === undefined ? undefined : toEntry(r));
  }

  entryByLeafHash(leafHash: Buffer): Promise<StoredEntry | undefined> {
    const r = this.st.byLeaf.get(leafHash);
    return Promise.resolve(r === undefined ? undefined : toEntry(r));
  }

  search(
    keys: readonly string[],
    operator: 'and' | 'or',
    limit: number
  ): Promise<number[]> {
    const sets = keys.map(
      (k) => new Set(this.st.byKey.all(k, limit).map((r) => r.idx))
    );
    let result: Set<number>;
    if (operator === 'or') {
      result = new Set(sets.flatMap((s) => [...s]));
    } else {
      const [first, ...rest] = sets;
      result = new Set(
        [...(first ?? [])].filter((i) => rest.every((s) => s.has(i)))
      );
    }
    return Promise.resolve([...result].sort((a, b) => a - b).slice(0, limit));
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
