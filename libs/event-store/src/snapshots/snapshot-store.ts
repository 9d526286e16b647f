/**
 * Snapshots of decision states (docs/adr/0008-snapshots.md): a cache of a stream's folded state at a revision, so a
 * cold load reads the snapshot and folds only the events after it. The event stream stays the source of truth: a
 * missing, partial, unreadable or outdated snapshot only means the stream is replayed.
 *
 * The store keeps text only (the application encodes and seals the state): a `head` and `chunks` (parts of the
 * state, each small enough to parse and decrypt between two turns of the event loop).
 */
export interface SnapshotToWrite {
  stream: string;
  /** revision of the last event folded into the state */
  revision: bigint;
  /** the state's schema version: a reader ignores a snapshot of another version */
  version: string;
  head: string;
  chunks: readonly string[];
}

export interface StoredSnapshot {
  stream: string;
  revision: bigint;
  version: string;
  head: string;
  chunkCount: number;
  /**
   * The chunks in order, read one at a time. Throws SnapshotUnreadableError when a chunk is gone (a newer snapshot
   * replaced this one meanwhile): the reader replays the stream instead.
   */
  chunks(): AsyncIterable<string>;
}

export interface SnapshotStore {
  /** the latest complete snapshot of the stream, or undefined */
  read(stream: string): Promise<StoredSnapshot | undefined>;
  /** stores it unless the stream already has a snapshot at this or a later revision */
  write(snapshot: SnapshotToWrite): Promise<void>;
  /** entries per chunk this store handles well (KurrentDB: an append's size is bounded) */
  readonly chunkEntries: number;
  close(): Promise<void>;
}

export class SnapshotUnreadableError extends Error {
  constructor(stream: string, why: string) {
    super(`The snapshot of ${stream} cannot be read: ${why}`);
    this.name = 'SnapshotUnreadableError';
  }
}
