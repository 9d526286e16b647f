/**
 * Snapshots of decision states (docs/adr/0008-snapshots.md): a cache of a stream's folded state at a revision, so a
 * cold load reads the snapshot and folds only the events after it. The event stream stays the source of truth: a
 * missing, partial, unreadable or outdated snapshot only means the stream is replayed.
 *
 * The store keeps what the application hands it (docs/adr/0013-snapshots-sealed-per-snapshot.md): a `head` in clear
 * (which key the snapshot is sealed with, nothing personal) and `chunks` of bytes (the state, sealed by the
 * application, each small enough to open and parse between two turns of the event loop).
 */
export interface SnapshotToWrite {
  stream: string;
  /** revision of the last event folded into the state */
  revision: bigint;
  /** the state's schema version: a reader ignores a snapshot of another version */
  version: string;
  head: string;
  chunks: readonly Uint8Array[];
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
  chunks(): AsyncIterable<Uint8Array>;
}

export interface SnapshotStore {
  /** the latest complete snapshot of the stream, or undefined */
  read(stream: string): Promise<StoredSnapshot | undefined>;
  /**
   * Stores it unless the stream already has a snapshot at a later revision. One at the same revision is replaced: a
   * snapshot whose key was shredded (an erasure) is written again although no event came since.
   */
  write(snapshot: SnapshotToWrite): Promise<void>;
  /** entries per chunk this store handles well (KurrentDB: an append's size is bounded) */
  readonly chunkEntries: number;
  /** the largest chunk this store takes, in bytes (KurrentDB: an append's size is bounded) */
  readonly chunkBytes: number;
  close(): Promise<void>;
}

export class SnapshotUnreadableError extends Error {
  constructor(stream: string, why: string) {
    super(`The snapshot of ${stream} cannot be read: ${why}`);
    this.name = 'SnapshotUnreadableError';
  }
}
