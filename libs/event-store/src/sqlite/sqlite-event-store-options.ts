/** The options of SqliteEventStore (sqlite-event-store.ts). */
export type Durability = 'full' | 'normal';

export interface SqliteEventStoreOptions {
  /**
   * 'full' (default): SQLite `synchronous=FULL`, the WAL is fsynced at every commit, so an
   * acknowledged append survives a power loss. 'normal': fsync only at checkpoints; an acknowledged
   * append survives a process crash but the last commits may be lost on a power loss.
   */
  durability?: Durability;
  /** rows fetched per query by readStream / readAll / subscriptions (default 1000) */
  pageSize?: number;
  /** how long a write waits for another process's write lock before failing, in ms (default 5000) */
  busyTimeoutMs?: number;
  /** SQLite page cache of the connection, in KiB (default 32 MiB: keeps the id and stream indexes hot) */
  cacheSizeKiB?: number;
  /**
   * 'commit' (default): the commit that takes the WAL past 1,000 pages copies it back into the file, on the caller's
   * thread. 'thread': a thread of its own does it every 100 ms (wal-checkpointer.ts), so commits only append to the
   * WAL (the API's store: its commits run on the event loop); the commits take over only past 10,000 pages.
   */
  checkpoints?: 'commit' | 'thread';
  /**
   * 'inline' (default): the group commit runs on the caller's thread. 'thread': on a thread of its own, with its own
   * connection (commit-thread.ts; the API's store): its INSERTs and its COMMIT's fsync leave the event loop free; a
   * commit is then visible to this process's reads before its append's promise settles. A file, not ':memory:'.
   */
  writer?: 'inline' | 'thread';
  /** told how many data keys the first open of a file written before session 42 moved into their tables (ADR 0026) */
  onKeysMoved?: (count: number, ms: number) => void;
  /** told how long the first open of a file written before session 63 took to index its log by organization (ADR 0021) */
  onOrganizationIndexBuilt?: (ms: number) => void;
}
