/**
 * What the operations of a `SqliteReadStore` share: its connection, its options, the collections it was
 * initialised with (and what it knows of their state), and the bulk-load mode. Each operation is a function of
 * this state in its own file; the store class only holds it and delegates.
 */
import type { BulkWriter } from '../sqlite-bulk-writer';
import type { SqliteConnection } from './connection';
import type { Collection } from './schema';

export interface SqliteReadStoreOptions {
  /** database file; `:memory:` for a private in-memory store */
  path: string;
  /** `FULL` (default): a returned commit survives power loss. `NORMAL`: the last commits may be lost, never corrupted. */
  synchronous?: 'FULL' | 'NORMAL';
  /** how long to wait for another process's write lock, ms (default 5000) */
  busyTimeoutMs?: number;
  /** the page cache of its connection, KiB (default CACHE_KIB: 64 MiB) */
  cacheKib?: number;
  /**
   * In a bulk load, write from a second connection in a worker thread, so that the caller prepares its next
   * batch meanwhile (default true; never for `:memory:`, which a second connection cannot open).
   */
  bulkWriterThread?: boolean;
}

export interface StoreState {
  readonly conn: SqliteConnection;
  readonly options: SqliteReadStoreOptions;
  readonly synchronous: 'FULL' | 'NORMAL';
  readonly collections: Map<string, Collection>;
  /** `PRAGMA data_version` when the per-collection state was last read (see coherence.ts) */
  dataVersion: number;
  writesSinceOptimize: number;
  /** in a bulk load (`startBulkLoad` until `buildIndexes`/`endBulkLoad`) */
  bulk: boolean;
  /** the writer thread of a bulk load, when there is one */
  bulkWriter: BulkWriter | undefined;
  /** renews a bulk load's mark while the event loop is free (its tail: the writer thread's builds) */
  bulkMarkRenewal?: NodeJS.Timeout;
}

export function collectionNamed(state: StoreState, name: string): Collection {
  const c = state.collections.get(name);
  if (!c)
    throw new Error(`read-store collection ${JSON.stringify(name)} is not initialised: call init() first`);
  return c;
}
