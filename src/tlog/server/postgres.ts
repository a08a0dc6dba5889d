/**
 * PostgreSQL storage (`pg`): several server processes share one log.
 *
 * Single sequencer: `sequence()` runs one transaction that first takes a
 * transaction-scoped advisory lock (`pg_advisory_xact_lock`), so exactly one
 * process at a time reads the tree size and frontier, assigns the next
 * indexes and writes entries + tree nodes; the lock is released by COMMIT.
 * Each process batches its own concurrent appends into one such transaction
 * (batched integration), so lock hand-overs are per batch, not per entry.
 * Nothing about the tree is cached between transactions: whichever process
 * holds the lock reads the current frontier (≤ 64 rows, one query).
 *
 * Durability: COMMIT returns after the WAL is flushed (synchronous_commit
 * on, PostgreSQL's default — keep it on), so an entry answered 201 survives
 * a crash of the server process or of PostgreSQL.
 */
import pg from 'pg';
import { TlogError } from '../../errors.js';
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
  frontierNodes,
  nodeKey,
  type NodeId,
} from './tree.js';

/** Advisory lock key of the sequencer ("signetsq" as an int64). */
const SEQUENCER_LOCK = 0x7369676e65747371n.toString();
/** Advisory lock key for schema creation. */
const SCHEMA_LOCK = 0x7369676e65747363n.toString();

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tlog_meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tlog_entries (
  idx BIGINT PRIMARY KEY,
  leaf_hash BYTEA NOT NULL UNIQUE,
  body BYTEA NOT NULL,
  integrated_time BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tlog_nodes (
  level SMALLINT NOT NULL,
  idx BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS tlog_index_keys (
  k TEXT NOT NULL,
  idx BIGINT NOT NULL,
  PRIMARY KEY (k, idx)
);
`;

interface EntryRow {
  idx: string;
  leaf_hash: Buffer;
  body: Buffer;
  integrated_time: string;
}

function toEntry(r: EntryRow): StoredEntry {
  return {
    index: Number(r.idx),
    leafHash: r.leaf_hash,
    body: r.body,
    integratedTime: Number(r.integrated_time),
  };
}

function wrap(what: string, e: unknown): TlogError {
  return new TlogError(
    'TLOG_UNAVAILABLE',
    `${what}: ${e instanceof Error ? e.message : String(e)}`,
    503,
    { cause: e }
  );
}

export interface PostgresStorageOptions {
  /** Pool size per process. Default 10. */
  readonly maxConnections?: number;
}

export class PostgresStorage implements Storage {
  private readonly pool: pg.Pool;

  constructor(connectionString: string, opts: PostgresStorageOptions = {}) {
    this.pool = new pg.Pool({
      connectionString,
      max: opts.maxConnections ?? 10,
    });
    // An idle client losing its connection must not crash the server.
    this.pool.on('error', () => undefined);
  }

  async open(init: LogMetadata): Promise<LogMetadata> {
    const c = await this.pool.connect().catch((e: unknown) => {
      throw wrap('connecting to PostgreSQL', e);
    });
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(SCHEMA);
      await c.query(
        `INSERT INTO tlog_meta (k, v) VALUES ('tree_id', $1), ('tree_size', '0'), ('root', $2)
         ON CONFLICT (k) DO NOTHING`,
        [init.treeId.toString(), EMPTY_ROOT.toString('hex')]
      );
      const r = await c.query<{ v: string }>(
        "SELECT v FROM tlog_meta WHERE k = 'tree_id'"
      );
      await c.query('COMMIT');
      return { treeId: BigInt((r.rows[0] as { v: string }).v) };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw wrap('preparing the PostgreSQL schema', e);
    } finally {
      c.release();
    }
  }

  async sequence(
    leaves: readonly PendingLeaf[],
    integratedTime: number
  ): Promise<SequenceResult> {
    const c = await this.pool.connect().catch((e: unknown) => {
      throw wrap('connecting to PostgreSQL', e);
    });
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [SEQUENCER_LOCK]);
      const meta = await c.query<{ k: string; v: string }>(
        "SELECT k, v FROM tlog_meta WHERE k IN ('tree_size', 'root')"
      );
      const m = new Map(meta.rows.map((r) => [r.k, r.v]));
      const size = Number(m.get('tree_size') ?? '0');
      const root = Buffer.from(
        m.get('root') ?? EMPTY_ROOT.toString('hex'),
        'hex'
      );

      const existing = await c.query<{ idx: string; leaf_hash: Buffer }>(
        'SELECT idx, leaf_hash FROM tlog_entries WHERE leaf_hash = ANY($1::bytea[])',
        [leaves.map((l) => l.leafHash)]
      );
      const known = new Map(
        existing.rows.map((r) => [r.leaf_hash.toString('hex'), Number(r.idx)])
      );
      const outcomes: SequenceOutcome[] = [];
      const fresh: PendingLeaf[] = [];
      let next = size;
      for (const leaf of leaves) {
        const hex = leaf.leafHash.toString('hex');
        const idx = known.get(hex);
        if (idx !== undefined) {
          outcomes.push({ kind: 'duplicate', index: idx });
          continue;
        }
        known.set(hex, next);
        outcomes.push({ kind: 'added', index: next });
        fresh.push(leaf);
        next++;
      }
      if (fresh.length === 0) {
        await c.query('COMMIT');
        return { outcomes, treeSize: size, rootHash: root };
      }
      const fIds = frontierNodes(size);
      const fNodes = await this.readNodes(c, fIds);
      const frontier = fIds.map((id) => {
        const h = fNodes.get(nodeKey(id));
        if (h === undefined) {
          throw new TlogError(
            'INTERNAL',
            `frontier node ${nodeKey(id)} missing`,
            500
          );
        }
        return h;
      });
      const appended = appendLeaves(
        size,
        frontier,
        fresh.map((l) => l.leafHash)
      );
      const idxs = fresh.map((_, i) => String(size + i));
      await c.query(
        `INSERT INTO tlog_entries (idx, leaf_hash, body, integrated_time)
         SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[])`,
        [
          idxs,
          fresh.map((l) => l.leafHash),
          fresh.map((l) => l.body),
          fresh.map(() => String(integratedTime)),
        ]
      );
      await c.query(
        `INSERT INTO tlog_nodes (level, idx, hash)
         SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])
         ON CONFLICT (level, idx) DO UPDATE SET hash = EXCLUDED.hash`,
        [
          appended.newNodes.map((n) => n.id.level),
          appended.newNodes.map((n) => String(n.id.index)),
          appended.newNodes.map((n) => n.hash),
        ]
      );
      const keys: string[] = [];
      const keyIdx: string[] = [];
      fresh.forEach((l, i) => {
        for (const k of l.indexKeys) {
          keys.push(k);
          keyIdx.push(idxs[i] as string);
        }
      });
      if (keys.length > 0) {
        await c.query(
          `INSERT INTO tlog_index_keys (k, idx)
           SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`,
          [keys, keyIdx]
        );
      }
      await c.query(
        `UPDATE tlog_meta SET v = CASE k WHEN 'tree_size' THEN $1 ELSE $2 END
         WHERE k IN ('tree_size', 'root')`,
        [String(appended.size), appended.root.toString('hex')]
      );
      await c.query('COMMIT');
      return {
        outcomes,
        treeSize: appended.size,
        rootHash: appended.root,
      };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      if (e instanceof TlogError) throw e;
      throw wrap('writing to PostgreSQL', e);
    } finally {
      c.release();
    }
  }

  private async readNodes(
    c: pg.ClientBase | pg.Pool,
    ids: readonly NodeId[]
  ): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    if (ids.length === 0) return out;
    const r = await c.query<{ level: number; idx: string; hash: Buffer }>(
      `SELECT n.level, n.idx, n.hash FROM tlog_nodes n
       JOIN unnest($1::smallint[], $2::bigint[]) AS q(level, idx)
         ON n.level = q.level AND n.idx = q.idx`,
      [ids.map((i) => i.level), ids.map((i) => String(i.index))]
    );
    for (const row of r.rows) {
      out.set(nodeKey({ level: row.level, index: Number(row.idx) }), row.hash);
    }
    return out;
  }

  async head(): Promise<TreeHead> {
    try {
      const r = await this.pool.query<{ k: string; v: string }>(
        "SELECT k, v FROM tlog_meta WHERE k IN ('tree_size', 'root')"
      );
      const m = new Map(r.rows.map((x) => [x.k, x.v]));
      return {
        treeSize: Number(m.get('tree_size') ?? '0'),
        rootHash: Buffer.from(
          m.get('root') ?? EMPTY_ROOT.toString('hex'),
          'hex'
        ),
      };
    } catch (e) {
      throw wrap('reading the tree head', e);
    }
  }

  async nodes(ids: readonly NodeId[]): Promise<Map<string, Buffer>> {
    try {
      return await this.readNodes(this.pool, ids);
    } catch (e) {
      throw wrap('reading tree nodes', e);
    }
  }

  async entryByIndex(index: number): Promise<StoredEntry | undefined> {
    try {
      const r = await this.pool.query<EntryRow>(
        'SELECT * FROM tlog_entries WHERE idx = $1',
        [String(index)]
      );
      return r.rows[0] === undefined ? undefined : toEntry(r.rows[0]);
    } catch (e) {
      throw wrap('reading an entry', e);
    }
  }

  async entryByLeafHash(leafHash: Buffer): Promise<StoredEntry | undefined> {
    try {
      const r = await this.pool.query<EntryRow>(
        'SELECT * FROM tlog_entries WHERE leaf_hash = $1',
        [leafHash]
      );
      return r.rows[0] === undefined ? undefined : toEntry(r.rows[0]);
    } catch (e) {
      throw wrap('reading an entry', e);
    }
  }

  async search(
    keys: readonly string[],
    operator: 'and' | 'or',
    limit: number
  ): Promise<number[]> {
    try {
      const r =
        operator === 'or'
          ? await this.pool.query<{ idx: string }>(
              `SELECT DISTINCT idx FROM tlog_index_keys WHERE k = ANY($1::text[])
               ORDER BY idx LIMIT $2`,
              [keys, limit]
            )
          : await this.pool.query<{ idx: string }>(
              `SELECT idx FROM tlog_index_keys WHERE k = ANY($1::text[])
               GROUP BY idx HAVING count(DISTINCT k) = $2 ORDER BY idx LIMIT $3`,
              [keys, new Set(keys).size, limit]
            );
      return r.rows.map((x) => Number(x.idx));
    } catch (e) {
      throw wrap('searching the index', e);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
