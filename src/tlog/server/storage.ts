/**
 * What the log server needs from a database. Two backends implement it
 * (sqlite.ts, postgres.ts) with no shared base class; the tree arithmetic
 * they both need is the pure ./tree.ts.
 *
 * Contract every backend keeps:
 * - `sequence()` is the only writer. It runs as ONE transaction under a
 *   single-writer lock (SQLite: the one process; PostgreSQL: an advisory
 *   lock), so indexes are dense and assigned exactly once even when several
 *   server processes share the database.
 * - When `sequence()` resolves, the transaction is durably committed: the
 *   caller may acknowledge the entries (HTTP 201).
 * - Readers see only committed, integrated entries: an entry and the tree
 *   nodes that cover it become visible together.
 */
import type { NodeId } from './tree.js';

/** A leaf waiting to be sequenced. */
export interface PendingLeaf {
  readonly leafHash: Buffer;
  /** Canonical body bytes: the leaf value. */
  readonly body: Buffer;
  /** Search keys (lower-case), see entry.ts indexKeys. */
  readonly indexKeys: readonly string[];
}

export type SequenceOutcome =
  | { readonly kind: 'added'; readonly index: number }
  | { readonly kind: 'duplicate'; readonly index: number };

export interface SequenceResult {
  /** One outcome per input leaf, in input order. */
  readonly outcomes: SequenceOutcome[];
  /** Tree size and root after the transaction. */
  readonly treeSize: number;
  readonly rootHash: Buffer;
}

export interface StoredEntry {
  readonly index: number;
  readonly leafHash: Buffer;
  readonly body: Buffer;
  /** Unix seconds. */
  readonly integratedTime: number;
}

export interface TreeHead {
  readonly treeSize: number;
  readonly rootHash: Buffer;
}

export interface LogMetadata {
  /** Trillian-style tree ID: a positive int64, in checkpoints and entry IDs. */
  readonly treeId: bigint;
}

export interface Storage {
  /** Creates the schema if needed; returns the stored metadata, creating it from `init` on first use. */
  open(init: LogMetadata): Promise<LogMetadata>;
  /**
   * Sequences and integrates a batch in one durable transaction: leaves
   * whose hash is already in the log (or earlier in the batch) come back as
   * duplicates; the rest get the next indexes, and their tree nodes, bodies
   * and index keys are stored.
   */
  sequence(
    leaves: readonly PendingLeaf[],
    integratedTime: number
  ): Promise<SequenceResult>;
  /** The latest committed tree size and root. */
  head(): Promise<TreeHead>;
  /** Hashes of complete subtrees, keyed by tree.nodeKey(); missing ones are absent. */
  nodes(ids: readonly NodeId[]): Promise<Map<string, Buffer>>;
  entryByIndex(index: number): Promise<StoredEntry | undefined>;
  entryByLeafHash(leafHash: Buffer): Promise<StoredEntry | undefined>;
  /** Leaf indexes whose entries carry any (`or`) or all (`and`) of the keys, ascending, at most `limit`. */
  search(
    keys: readonly string[],
    operator: 'and' | 'or',
    limit: number
  ): Promise<number[]>;
  close(): Promise<void>;
}
