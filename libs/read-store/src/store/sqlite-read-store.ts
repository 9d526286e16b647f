/**
 * ReadStore on embedded SQLite (`node:sqlite`), one file (the app uses `${ROLLCALL_DATA_DIR}/read.sqlite`).
 * This class holds the store's state and delegates; each operation is in its own file under `sqlite/`.
 *
 * Layout (sqlite/schema.ts)
 * - one table per collection, `rs_doc_<name>(rid INTEGER PRIMARY KEY, id TEXT UNIQUE, position INTEGER, doc TEXT)`:
 *   `doc` is the document as JSONB (SQLite's binary JSON: `json_extract` reads a field without parsing the text,
 *   which halves index builds; rows of older versions hold JSON text, which every function reads as well);
 *   `doc IS NULL` is a tombstone (see sqlite/commit.ts). `rid` is an explicit rowid so it survives VACUUM; the
 *   search tables refer to it.
 * - per field listed in `init(...).indexes`: a partial expression index `(json_extract(doc,'$.field'), id) WHERE
 *   doc IS NOT NULL`. It serves equality/`in` and the sort on that field with `_id` as tie-breaker (keyset).
 *   Per `compound` entry, the same over several fields (`['workspaceId', 'sortName']`: equality, then sort).
 * - per collection with `search` fields: `rs_search_<name>(rid, <field>...)` holding the lower-cased text of those
 *   fields (string elements of arrays joined by U+001F), so a search scans short strings instead of JSON; and
 *   `rs_trigram_<name>:`, a trigram index (FTS5) of that text, in which a search finds its candidates.
 * - `rs_checkpoints(projection, position)`; `rs_collections(name, search_fields, ready)`;
 *   `rs_array_fields(collection, field)`: top-level fields that have held an array in some document.
 *
 * Operations: `init` (sqlite/init.ts); `get`/`getMany`/`checkpoint` (read-documents.ts); `find`/`count`/
 * `stream`/`readTogether`/`explainFind` (find.ts, over query-plan.ts, predicates.ts and search.ts); `commit` (commit.ts);
 * `reset` (reset.ts); the bulk-load capability (bulk-load.ts, with ../sqlite-bulk-writer.ts); what a connection
 * caches about collections, and when it re-reads it (coherence.ts).
 *
 * Durability. WAL with `synchronous=FULL` by default: a commit that returned survives a crash or power loss.
 * Several processes may share the file.
 *
 * Performance (npm run bench:read-store, 100k member documents, 12 indexes; figures on a shared 2-core machine
 * at load ~3): list pages of a 50k-member workspace ~0.1-3 ms, at any depth; searches 0.04-3 ms (rare terms
 * through the trigram index, common ones by the sort order); commits of 1000 new documents ~150-220 ms (of which
 * ~15 ms keep the trigram index), of 1000 updates ~200 ms, of 10 ~3 ms; the rebuild path loads ~80-130k
 * documents/s and then builds the indexes and search rows (~1.8 s for 100k, ~0.35 s of it the trigram index).
 * With the app's projections: npm run bench:query, bench:rebuild.
 *
 * Rebuilds. `reset` drops the collection's documents and also its field indexes and search rows, so a rebuild
 * inserts into bare tables. They are built again, in one pass, by `completeReset` (a projector whose replay reached
 * the head), by `init`, by `buildIndexes()` (the end of a bulk load), or by the first `find`/`count`/`stream` on the
 * collection: finish the bulk load once the rebuild has caught up, rather than reading while it runs.
 */
import type {
  BulkLoadCapability,
  CollectionQuery,
  CollectionSpec,
  Doc,
  DocWrite,
  Page,
  Query,
  ReadStore,
  StoredDoc,
} from '../port';
import {
  buildIndexes,
  completeCollections,
  endBulkLoad,
  indexCollections,
  renewMark,
  startBulkLoad,
  writeSerialized,
} from './sqlite/bulk-load';
import { readDataVersion } from './sqlite/coherence';
import { commitWrites } from './sqlite/commit';
import { SqliteConnection } from './sqlite/connection';
import { countMatches, explainFind, findPage, readTogether, streamMatches } from './sqlite/find';
import { dropRetiredCollections, initCollections } from './sqlite/init';
import { purgeSearchIndex } from './sqlite/schema';
import { getDocument, getDocuments, readCheckpoint } from './sqlite/read-documents';
import { completeReset, resetCollections } from './sqlite/reset';
import type { SqliteReadStoreOptions, StoreState } from './sqlite/state';

export type { SqliteReadStoreOptions } from './sqlite/state';
export { searchText } from './sqlite/schema';

export class SqliteReadStore implements ReadStore {
  private readonly state: StoreState;
  private closed = false;

  /** rebuilds defer this store's indexes and search rows to the end, and write from a second thread meanwhile */
  readonly bulkLoad: BulkLoadCapability = {
    start: () => this.startBulkLoad(),
    write: (projection, collections, checkpoint) =>
      writeSerialized(this.state, projection, collections, checkpoint),
    index: (collections) => indexCollections(this.state, collections),
    keepAlive: () => renewMark(this.state),
    complete: (collections) => completeCollections(this.state, collections),
    finish: () => this.buildIndexes(),
    abort: () => this.endBulkLoad(),
  };

  constructor(options: SqliteReadStoreOptions) {
    const synchronous = options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
    const conn = new SqliteConnection(options.path, {
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      synchronous,
      ...(options.cacheKib !== undefined && { cacheKib: options.cacheKib }),
    });
    this.state = {
      conn,
      options,
      synchronous,
      collections: new Map(),
      dataVersion: readDataVersion({ conn }),
      writesSinceOptimize: 0,
      bulk: false,
      bulkWriter: undefined,
    };
  }

  async init(collections: Record<string, CollectionSpec>, options: { retired?: readonly string[] } = {}): Promise<void> {
    dropRetiredCollections(this.state.conn, options.retired ?? []);
    initCollections(this.state, collections);
  }

  async get<T extends Doc = Doc>(collection: string, id: string): Promise<StoredDoc<T> | undefined> {
    return getDocument<T>(this.state, collection, id);
  }

  async getMany<T extends Doc = Doc>(
    collection: string,
    ids: string[],
    options: { fields?: string[] } = {},
  ): Promise<Map<string, StoredDoc<T>>> {
    return getDocuments<T>(this.state, collection, ids, options.fields);
  }

  async find<T extends Doc = Doc>(collection: string, query: Query): Promise<Page<T>> {
    return findPage<T>(this.state, collection, query);
  }

  async count(collection: string, query: Omit<Query, 'sort' | 'limit' | 'cursor'>): Promise<number> {
    return countMatches(this.state, collection, query);
  }

  stream<T extends Doc = Doc>(collection: string, query: Omit<Query, 'limit' | 'cursor'>, options: { snapshot?: boolean } = {}): AsyncIterable<T> {
    return streamMatches<T>(this.state, collection, query, options.snapshot !== false);
  }

  readTogether(queries: readonly CollectionQuery[]): Promise<Doc[][]> {
    return readTogether(this.state, queries);
  }

  commit(projection: string, writes: DocWrite[], checkpoint: bigint | undefined): Promise<void> {
    return commitWrites(this.state, projection, writes, checkpoint);
  }

  async checkpoint(projection: string): Promise<bigint | undefined> {
    return readCheckpoint(this.state, projection);
  }

  reset(projection: string, collections: string[]): Promise<void> {
    return resetCollections(this.state, projection, collections);
  }

  /** builds the field indexes and search rows that `reset` dropped, once a projector replayed into them (reset.ts) */
  async completeReset(collections: readonly string[]): Promise<void> {
    completeReset(this.state, collections);
  }

  /** starts a bulk load (see sqlite/bulk-load.ts); `bulkLoad.start` */
  startBulkLoad(): void {
    startBulkLoad(this.state);
  }

  /** builds the field indexes and search rows that `reset` dropped, then ends a bulk load; `bulkLoad.finish` */
  buildIndexes(): Promise<void> {
    return buildIndexes(this.state);
  }

  /** ends a bulk load; the indexes not built yet are built by the first read; `bulkLoad.abort` */
  endBulkLoad(): Promise<void> {
    return endBulkLoad(this.state);
  }

  /**
   * secure_delete (sqlite/connection.ts) zeroes deleted content in every page a commit rewrites or frees, but two kinds
   * of copies outlive it:
   * - the trigram indexes keep deleted rows' trigrams until their segments are merged: merged first (purgeSearchIndex);
   * - a page that SQLite rebuilds when a b-tree splits keeps, between its cell pointers and its cells, the bytes of the
   *   cells that moved to its new sibling (its `rebuildPage` zeroes nothing there): a copy of a row that a later erasure
   *   rewrites (the live cell zeroed) stays in the old page (probe 32: the first invitee's first history entry, with
   *   their address, in the first leaf of the history's table, after the table grew past its root page). Only a
   *   `VACUUM`, which writes every page anew, drops those: run once per call with a deletion not vacuumed yet
   *   (`erasedThrough` past the last one recorded in `rs_vacuumed`); deletions committed meanwhile are covered by the
   *   same one.
   * The WAL still holds pages as they were before: a TRUNCATE checkpoint copies it back and empties it.
   */
  async purgeOldVersions(erasedThrough?: bigint): Promise<boolean> {
    for (const c of this.state.collections.values()) purgeSearchIndex(this.state.conn, c);
    if (erasedThrough !== undefined && erasedThrough > (await this.erasuresPurgedThrough())) {
      // the VACUUM's copy of the file in a temporary file (SQLITE_TMPDIR, TMPDIR, else /var/tmp; unlinked as it is
      // opened), not in memory: with the connection's temp_store = MEMORY it took as much memory as the file, which the
      // allocator kept after (m44: a 1 GB read.sqlite, RSS 43 → 981 MB for good; to a file: 179 MB, and 9.6 s against 10.9)
      this.state.conn.exec('PRAGMA temp_store = FILE');
      try {
        this.state.conn.exec('VACUUM');
      } finally {
        this.state.conn.exec('PRAGMA temp_store = MEMORY');
      }
      await this.noteErasuresPurgedThrough(erasedThrough);
    }
    const result = this.state.conn.db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number };
    return result.busy === 0;
  }

  async noteErasuresPurgedThrough(position: bigint): Promise<void> {
    this.state.conn.stmt('INSERT INTO rs_vacuumed (id, erased_through) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET erased_through = excluded.erased_through').run(position);
  }

  async erasuresPurgedThrough(): Promise<bigint> {
    const row = this.state.conn.stmt('SELECT erased_through AS p FROM rs_vacuumed WHERE id = 1').get() as { p: number | bigint } | undefined;
    return row === undefined ? -1n : BigInt(row.p);
  }

  async ping(): Promise<void> {
    this.state.conn.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.endBulkLoad();
      this.state.conn.exec('PRAGMA optimize');
    } finally {
      this.state.conn.close();
    }
  }

  /** the query plan SQLite picks for a find (diagnostics and tests): the plans of its keyset parts, in order */
  explainFind(collection: string, query: Query): string[] {
    return explainFind(this.state, collection, query);
  }
}
