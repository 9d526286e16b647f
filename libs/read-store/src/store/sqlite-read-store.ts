/**
 * ReadStore on embedded SQLite (`node:sqlite`), one file (the app uses `${ROLLCALL_DATA_DIR}/read.sqlite`).
 *
 * Layout
 * - one table per collection, `rs_doc_<name>(rid INTEGER PRIMARY KEY, id TEXT UNIQUE, position INTEGER, doc TEXT)`:
 *   `doc` is the document as JSONB (SQLite's binary JSON: `json_extract` reads a field without parsing the text,
 *   which halves index builds; rows of older versions hold JSON text, which every function reads as well);
 *   `doc IS NULL` is a tombstone (see "Deletes"). `rid` is an explicit rowid so it survives VACUUM; the search
 *   table refers to it.
 * - per field listed in `init(...).indexes`: a partial expression index `(json_extract(doc,'$.field'), id) WHERE
 *   doc IS NOT NULL`. It serves equality/`in` and the sort on that field with `_id` as tie-breaker (keyset).
 *   Per `compound` entry, the same over several fields (`['workspaceId', 'sortName']`: equality, then sort).
 * - per collection with `search` fields: `rs_search_<name>(rid, <field>...)` holding the lower-cased text of those
 *   fields (string elements of arrays joined by U+001F), so a search scans short strings instead of JSON.
 * - `rs_checkpoints(projection, position)`; `rs_collections(name, search_fields, ready)`;
 *   `rs_array_fields(collection, field)`: top-level fields that have held an array in some document.
 *
 * Writes. `commit` runs in one IMMEDIATE transaction: each write is an `INSERT ... ON CONFLICT(id) DO UPDATE ...
 * WHERE excluded.position > position` (equal or older positions are ignored), then the checkpoint, which only moves
 * forward. A batch is first reduced to one write per document (the highest position), which is equivalent.
 * Deletes. A delete is the same upsert with `doc = NULL`: the row stays as a tombstone carrying the delete's
 * position, so an older upsert replayed later loses against it and cannot resurrect the document. Tombstones are
 * never returned and are dropped by `reset`.
 * Durability. WAL with `synchronous=FULL` by default: a commit that returned survives a crash or power loss.
 *
 * Queries.
 * - `where`: equality / membership. A field that holds an array matches when an element matches (MongoDB
 *   semantics). Fields never seen holding an array (tracked per collection in `rs_array_fields`) are compared
 *   with `json_extract(...) IN (...)` so the expression index applies; others go through `json_each`.
 *   `null` matches null and missing. Numbers, strings and booleans never match each other (1 is not true).
 * - `search`: case-insensitive substring: both sides lower-cased with JavaScript's `toLowerCase` (so Unicode
 *   letters fold too); `%`, `_` and `\` in the text are literals. Over `search` fields declared in `init` it
 *   reads `rs_search_<name>` with LIKE (escaped); a probe decides whether to drive the query from the search
 *   matches (few) or from the sort order (many, so the first page fills quickly). Over other fields it scans the
 *   documents with a JavaScript function (correct, slow). Only string values (or string elements) match.
 * - sort: by one field then `_id`, both in the given direction. Missing and null sort as null: first ascending,
 *   last descending (as MongoDB). Strings compare by code point (UTF-8 bytes), as MongoDB without collation. A
 *   sort field should hold one scalar type; mixed types are ordered differently by SQLite and MongoDB
 *   (booleans sort as 0/1 here). Cursors are keyset: base64url JSON of the sort, the last value and `_id`. A page
 *   after a cursor runs as up to three SELECTs that each seek in the sort index (`selectParts`), so page N costs
 *   what page 1 does, in either direction, after a null as after a value; `stream` pages the same way.
 * - plans: a compound index whose leading fields are pinned by single-value `where` equalities and whose last
 *   field is the sort field is used directly (a page reads ~limit rows). Otherwise, when every indexed `where`
 *   condition is broad (>= 2000 matches, counted through its index) the sort index drives the query (stops when
 *   the page is full); when one is narrow, SQLite's planner uses it and sorts the few matches. `explainFind`
 *   shows the plan.
 * - Performance (npm run bench:read-store, 100k member documents, 12 indexes): list pages of a 50k-member
 *   workspace ~0.1-3 ms, at any depth; searches 1-18 ms (the search table is scanned linearly for rare terms);
 *   commits of 1000 upserts into that heavily indexed collection are 100-200 ms, of 10 upserts ~2 ms; the
 *   rebuild path loads ~125k documents/s and then builds the indexes and search rows (~1.4 s for 100k). With
 *   the app's projections: npm run bench:query, bench:rebuild.
 *
 * Rebuilds. `reset` drops the collection's documents and also its field indexes and search rows, so a rebuild
 * inserts into bare tables (several times faster). They are built again, in one pass, by `init`, by
 * `buildIndexes()`, or by the first `find`/`count`/`stream` on the collection: call `buildIndexes()` once the
 * rebuild has caught up, rather than reading while it runs. A rebuild runs in bulk-load mode (`startBulkLoad`,
 * until `buildIndexes`): no disk syncs, a larger cache, only the lookup indexes the projector reads with, no
 * tombstone for documents never stored, and commits written by a second connection in a worker thread
 * (sqlite-bulk-writer.ts) while the projector applies the next batch. Several processes may share the file
 * (WAL); the per-collection state above is re-read when another connection has committed (`PRAGMA data_version`).
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { CollectionSpec, Doc, DocWrite, FieldValue, Page, Query, ReadStore, StoredDoc } from '../port';
import { BulkWriter, RowMode } from './sqlite-bulk-writer';
import {
  type CursorKey,
  type Sort,
  STREAM_PAGE_SIZE,
  assertCollectionName,
  assertFieldPath,
  assertWritable,
  checkQuery,
  decodeCursor,
  dedupeWrites,
  effectiveSort,
  escapeLike,
  getPath,
  pageLimit,
  pageOf,
  sortValue,
  whereValues,
} from './query-common';

export interface SqliteReadStoreOptions {
  /** database file; `:memory:` for a private in-memory store */
  path: string;
  /** `FULL` (default): a returned commit survives power loss. `NORMAL`: the last commits may be lost, never corrupted. */
  synchronous?: 'FULL' | 'NORMAL';
  /** how long to wait for another process's write lock, ms (default 5000) */
  busyTimeoutMs?: number;
  /**
   * In a bulk load, write from a second connection in a worker thread, so that the caller prepares its next
   * batch meanwhile (default true; never for `:memory:`, which a second connection cannot open).
   */
  bulkWriterThread?: boolean;
}

interface Collection {
  name: string;
  table: string;
  searchTable: string;
  /** single-field indexed fields */
  indexes: string[];
  /** every secondary index: single fields and compounds; `_id` is appended to each */
  indexSpecs: { name: string; fields: string[] }[];
  search: string[];
  /** field indexes and search rows are in place (false from `reset` until rebuilt) */
  ready: boolean;
  arrayFields: Set<string>;
  /** while not ready, in a bulk load: the field indexes built for lookups so far */
  lookups: Set<string>;
  /** prepared write statements (made on the first commit) */
  writer?: Writer;
  /** prepared `get` (made on the first one) */
  getById?: StatementSync;
}

interface Writer {
  /** guarded upsert, for collections without search rows to maintain: `changes` says whether it applied */
  upsert: StatementSync;
  /** the same, returning the row's rid (to maintain its search row) */
  upsertReturning: StatementSync;
  /** turns a stored document into a tombstone; nothing when there is no row */
  tombstone: StatementSync;
  searchUpsert?: StatementSync;
  searchDelete?: StatementSync;
}

/** a `where` condition matching at least this many documents is broad: the sort index drives the query */
const BROAD_FILTER = 2000;
/** above this many search matches, a query is driven by its sort order instead of by the matches */
const SEARCH_PROBE_LIMIT = 2000;
/** page cache of a connection, KiB (`PRAGMA cache_size` when negative) */
const CACHE_KIB = 65_536;
/** page cache during a bulk load: the unique id index of a large table takes random writes */
const BULK_CACHE_KIB = 524_288;
/** run `PRAGMA optimize` (refresh planner statistics) after this many applied writes */
const OPTIMIZE_EVERY_WRITES = 100_000;
const STATEMENT_CACHE_SIZE = 256;
const ARRAY_SEPARATOR = '\u001f';

const quote = (identifier: string) => `"${identifier}"`;
const NONE: string[] = [];
const jsonPath = (field: string) => `'$.${field}'`;

export class SqliteReadStore implements ReadStore {
  private readonly db: DatabaseSync;
  private readonly collections = new Map<string, Collection>();
  private readonly statements = new Map<string, StatementSync>();
  private dataVersion: number;
  private writesSinceOptimize = 0;
  private closed = false;
  private readonly synchronous: 'FULL' | 'NORMAL';
  /** in a bulk load (`startBulkLoad` until `buildIndexes`/`endBulkLoad`) */
  private bulk = false;
  /** the writer thread of a bulk load, when there is one */
  private bulkWriter: BulkWriter | undefined;

  constructor(private readonly options: SqliteReadStoreOptions) {
    this.db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    this.synchronous = options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${this.synchronous};
      PRAGMA cache_size = -${CACHE_KIB};
      PRAGMA temp_store = MEMORY;
      PRAGMA analysis_limit = 1000;
      CREATE TABLE IF NOT EXISTS rs_checkpoints (projection TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS rs_collections (
        name TEXT PRIMARY KEY NOT NULL, search_fields TEXT NOT NULL, ready INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS rs_array_fields (
        collection TEXT NOT NULL, field TEXT NOT NULL, PRIMARY KEY (collection, field));
    `);
    this.db.function('rs_search_text', { deterministic: true }, (type, value) => {
      if (type === 'text') return searchText(value);
      return type === 'array' ? searchText(JSON.parse(value as string)) : null;
    });
    this.db.function('rs_icontains', { deterministic: true }, (haystack, needle) =>
      typeof haystack === 'string' && typeof needle === 'string' && haystack.toLowerCase().includes(needle)
        ? 1
        : 0,
    );
    this.dataVersion = this.readDataVersion();
  }

  async init(collections: Record<string, CollectionSpec>): Promise<void> {
    for (const [name, spec] of Object.entries(collections)) {
      assertCollectionName(name);
      for (const field of [...spec.indexes, ...(spec.search ?? []), ...(spec.compound ?? []).flat()]) {
        assertFieldPath(field);
      }
    }
    for (const [name, spec] of Object.entries(collections)) {
      const collection: Collection = {
        name,
        table: quote(`rs_doc_${name}`),
        searchTable: quote(`rs_search_${name}`),
        indexes: [...new Set(spec.indexes.filter((field) => field !== '_id'))],
        indexSpecs: indexSpecs(name, spec),
        search: [...new Set(spec.search ?? [])],
        ready: true,
        arrayFields: new Set(),
        lookups: new Set(),
      };
      this.transaction(() => {
        this.db.exec(`CREATE TABLE IF NOT EXISTS ${collection.table} (
          rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, doc TEXT)`);
        const stored = this.stmt('SELECT search_fields, ready FROM rs_collections WHERE name = ?').get(name);
        const searchFields = JSON.stringify(collection.search);
        const searchChanged = stored?.search_fields !== searchFields;
        if (searchChanged) {
          this.db.exec(`DROP TABLE IF EXISTS ${collection.searchTable}`);
          if (collection.search.length > 0) {
            const columns = collection.search.map((field) => `${quote(field)} TEXT`).join(', ');
            this.db.exec(`CREATE TABLE ${collection.searchTable} (rid INTEGER PRIMARY KEY, ${columns})`);
          }
        }
        const wanted = new Set(collection.indexSpecs.map((index) => index.name));
        const existing = this.stmt(
          `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND name LIKE 'rs\\_idx\\_%' ESCAPE '\\'`,
        ).all(`rs_doc_${name}`);
        for (const { name: index } of existing) {
          if (!wanted.has(index as string)) this.db.exec(`DROP INDEX ${quote(index as string)}`);
        }
        this.createIndexes(collection);
        if (searchChanged || stored?.ready !== 1) this.fillSearch(collection);
        this.stmt('INSERT OR REPLACE INTO rs_collections (name, search_fields, ready) VALUES (?, ?, 1)').run(
          name,
          searchFields,
        );
      });
      this.collections.set(name, collection);
      this.loadArrayFields(collection);
    }
    this.db.exec('PRAGMA optimize');
  }

  async get<T extends Doc = Doc>(collection: string, id: string): Promise<StoredDoc<T> | undefined> {
    const c = this.collection(collection);
    if (!c.getById) {
      c.getById = this.db.prepare(`SELECT position, json(doc) AS doc FROM ${c.table} WHERE id = ? AND doc IS NOT NULL`);
      c.getById.setReadBigInts(true);
    }
    const row = c.getById.get(id);
    return row ? { doc: JSON.parse(row.doc as string) as T, position: row.position as bigint } : undefined;
  }

  async getMany<T extends Doc = Doc>(collection: string, ids: string[]): Promise<Map<string, StoredDoc<T>>> {
    const c = this.collection(collection);
    const rows = this.stmt(
      `SELECT id, position, json(doc) AS doc FROM ${c.table} WHERE id IN (SELECT value FROM json_each(?)) AND doc IS NOT NULL`,
      true,
    ).all(JSON.stringify(ids));
    const found = new Map<string, StoredDoc<T>>();
    for (const row of rows) {
      found.set(row.id as string, {
        doc: JSON.parse(row.doc as string) as T,
        position: row.position as bigint,
      });
    }
    return found;
  }

  async find<T extends Doc = Doc>(collection: string, query: Query): Promise<Page<T>> {
    const c = this.readyCollection(collection, query);
    const limit = pageLimit(query.limit);
    const sort = effectiveSort(query.sort);
    const after = query.cursor === undefined ? undefined : decodeCursor(sort, query.cursor);
    return pageOf(this.select<T>(c, query, sort, limit + 1, after), limit, sort);
  }

  async count(collection: string, query: Omit<Query, 'sort' | 'limit' | 'cursor'>): Promise<number> {
    const c = this.readyCollection(collection, query);
    return this.snapshot(() => {
      const sql = new SqlBuilder();
      const conditions = this.conditions(c, query, sql);
      const row = this.stmt(`SELECT count(*) AS n FROM ${c.table} AS t WHERE ${conditions}`).get(
        ...sql.params,
      );
      return Number(row?.n ?? 0);
    });
  }

  async *stream<T extends Doc = Doc>(
    collection: string,
    query: Omit<Query, 'limit' | 'cursor'>,
  ): AsyncIterable<T> {
    const c = this.readyCollection(collection, query);
    const sort = effectiveSort(query.sort);
    let after: CursorKey | undefined;
    for (;;) {
      const rows = this.select<T>(c, query, sort, STREAM_PAGE_SIZE, after);
      for (const row of rows) yield row;
      if (rows.length < STREAM_PAGE_SIZE) return;
      const last = rows[rows.length - 1];
      after = { value: sort.field === '_id' ? null : sortValue(last, sort.field), id: last._id };
    }
  }

  async commit(projection: string, writes: DocWrite[], checkpoint: bigint): Promise<void> {
    for (const write of writes) {
      this.collection(write.collection);
      assertWritable(write);
    }
    const batch = dedupeWrites(writes);
    if (this.bulkWriter?.broken) this.bulkWriter = undefined; // write here, then
    if (this.bulkWriter) {
      if (batch.every((write) => !this.collections.get(write.collection)!.ready)) {
        await this.commitInWriter(this.bulkWriter, projection, batch, checkpoint);
        return;
      }
      await this.bulkWriter.drain(); // in order after what the thread has yet to write
    }
    let applied = 0;
    this.transaction(() => {
      this.refreshIfChanged();
      for (const write of batch) {
        const c = this.collections.get(write.collection)!;
        const w = c.writer ?? this.prepareWriter(c);
        // search rows are kept only once the collection is ready (a bulk load fills them at the end)
        const searched = c.ready && w.searchUpsert !== undefined;
        if (write.kind === 'upsert') {
          const json = JSON.stringify(write.doc);
          if (searched) {
            const row = w.upsertReturning.get(write.doc._id, write.position, json);
            if (!row) continue;
            w.searchUpsert!.run(row.rid, ...c.search.map((field) => searchText(getPath(write.doc, field))));
          } else if (w.upsert.run(write.doc._id, write.position, json).changes === 0) continue;
          applied++;
          for (const field of this.newArrayFields(c, write.doc)) {
            this.stmt('INSERT OR IGNORE INTO rs_array_fields (collection, field) VALUES (?, ?)').run(c.name, field);
          }
        } else if (searched) {
          const row = w.upsertReturning.get(write.id, write.position, null);
          if (!row) continue;
          applied++;
          w.searchDelete!.run(row.rid);
        } else if (this.bulk && !c.ready) {
          // bulk load: writes come in log order, so no older upsert can follow: no tombstone for a stranger
          if (w.tombstone.run(write.position, write.id, write.position).changes !== 0) applied++;
        } else if (w.upsert.run(write.id, write.position, null).changes !== 0) applied++;
      }
      this.stmt(
        `INSERT INTO rs_checkpoints (projection, position) VALUES (?, ?)
         ON CONFLICT (projection) DO UPDATE SET position = excluded.position
         WHERE excluded.position > rs_checkpoints.position`,
      ).run(projection, checkpoint);
    });
    this.writesSinceOptimize += applied;
    if (!this.bulk && this.writesSinceOptimize >= OPTIMIZE_EVERY_WRITES) {
      this.writesSinceOptimize = 0;
      this.db.exec('PRAGMA optimize');
    }
  }

  /** a commit of a bulk load, written by the writer thread (collections not ready: no search rows to keep) */
  private async commitInWriter(writer: BulkWriter, projection: string, batch: DocWrite[], checkpoint: bigint): Promise<void> {
    const rows: (string | bigint | null | number)[] = [];
    const arrayFields: [string, string][] = [];
    for (const write of batch) {
      const c = this.collections.get(write.collection)!;
      if (write.kind === 'upsert') {
        rows.push(c.table, write.doc._id, write.position, JSON.stringify(write.doc), RowMode.Upsert);
        for (const field of this.newArrayFields(c, write.doc)) arrayFields.push([c.name, field]);
      } else rows.push(c.table, write.id, write.position, null, RowMode.DeleteIfStored);
    }
    await writer.commit({ projection, rows, arrayFields, checkpoint });
  }

  async checkpoint(projection: string): Promise<bigint | undefined> {
    const row = this.stmt('SELECT position FROM rs_checkpoints WHERE projection = ?', true).get(projection);
    return row ? (row.position as bigint) : undefined;
  }

  async reset(projection: string, collections: string[]): Promise<void> {
    const targets = collections.map((name) => this.collection(name));
    await this.bulkWriter?.drain();
    this.transaction(() => {
      this.stmt('DELETE FROM rs_checkpoints WHERE projection = ?').run(projection);
      for (const c of targets) {
        // indexes first: emptying a table without secondary indexes is a truncate
        for (const index of c.indexSpecs) this.db.exec(`DROP INDEX IF EXISTS ${quote(index.name)}`);
        this.db.exec(`DELETE FROM ${c.table}`);
        if (c.search.length > 0) this.db.exec(`DELETE FROM ${c.searchTable}`);
        this.stmt('DELETE FROM rs_array_fields WHERE collection = ?').run(c.name);
        this.stmt('UPDATE rs_collections SET ready = 0 WHERE name = ?').run(c.name);
      }
    });
    for (const c of targets) {
      c.ready = false;
      c.arrayFields.clear();
      c.lookups.clear();
    }
  }

  /**
   * Builds the field indexes and search rows that `reset` dropped (also done by `init` and the first read),
   * then ends a bulk load.
   */
  async buildIndexes(): Promise<void> {
    if (this.bulkWriter) {
      await this.stopBulkWriter();
      this.db.exec(`PRAGMA cache_size = -${BULK_CACHE_KIB}`); // index builds sort in the page cache
    }
    this.refreshIfChanged();
    for (const c of this.collections.values()) if (!c.ready) this.materialise(c);
    await this.endBulkLoad();
  }

  /**
   * Bulk load (rebuild), on this connection, from now until `buildIndexes()` or `endBulkLoad()`: commits skip
   * the disk syncs (`synchronous = OFF`: a power loss in the meantime may corrupt the file; a crash of the
   * process does not) and use a larger page cache; a read of a collection that `reset` emptied builds only the
   * single-field indexes its `where` uses (the projector's lookups), not all of them and the search rows, which
   * `buildIndexes()` builds once at the end. And in those collections a delete of a document that has no row
   * leaves none: the caller promises to write in log order (each commit after the last, as a projector does),
   * so no older upsert can come after it. The commits to those collections are written by a second connection
   * in a worker thread (`bulkWriterThread`): `commit` resolves once they are committed, and the caller may
   * prepare its next batch meanwhile. Ending it restores the durability setting and checkpoints the WAL,
   * syncing what was written meanwhile.
   */
  startBulkLoad(): void {
    if (this.bulk) return;
    this.bulk = true;
    const path = this.options.path;
    if (this.options.bulkWriterThread !== false && path !== '' && !path.startsWith(':memory:') && !path.includes('mode=memory')) {
      this.bulkWriter = new BulkWriter({ path, busyTimeoutMs: this.options.busyTimeoutMs ?? 5000, cacheKib: BULK_CACHE_KIB });
    }
    // this connection only reads until the indexes are built (every commit of the thread empties its cache)
    this.db.exec(`PRAGMA synchronous = OFF; PRAGMA cache_size = -${this.bulkWriter ? CACHE_KIB : BULK_CACHE_KIB}`);
  }

  /** ends a bulk load (see `startBulkLoad`); the indexes not built yet are built by the first read */
  async endBulkLoad(): Promise<void> {
    await this.stopBulkWriter();
    if (!this.bulk) return;
    this.bulk = false;
    this.db.exec(`PRAGMA synchronous = ${this.synchronous}; PRAGMA cache_size = -${CACHE_KIB};`);
    this.db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get();
    this.writesSinceOptimize = 0;
    this.db.exec('PRAGMA optimize');
  }

  private async stopBulkWriter(): Promise<void> {
    const writer = this.bulkWriter;
    if (!writer) return;
    this.bulkWriter = undefined;
    await writer.close();
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    try {
      await this.endBulkLoad();
      this.db.exec('PRAGMA optimize');
    } finally {
      this.db.close();
    }
  }

  /** the query plan SQLite picks for a find (diagnostics and tests): the plans of its keyset parts, in order */
  explainFind(collection: string, query: Query): string[] {
    const c = this.readyCollection(collection);
    const sort = effectiveSort(query.sort);
    const after = query.cursor === undefined ? undefined : decodeCursor(sort, query.cursor);
    return this.snapshot(() =>
      this.selectParts(c, query, sort, after).flatMap((part) =>
        this.db
          .prepare(`EXPLAIN QUERY PLAN ${part.sql}`)
          .all(...part.params, pageLimit(query.limit) + 1)
          .map((row) => String(row.detail)),
      ),
    );
  }

  // --- queries ---------------------------------------------------------------------------------------------

  /** up to `limit` matching documents after `after`, in sort order: the keyset parts one after the other */
  private select<T extends Doc>(
    c: Collection,
    query: Omit<Query, 'limit' | 'cursor'>,
    sort: Sort,
    limit: number,
    after?: CursorKey,
  ): T[] {
    return this.snapshot(() => {
      const docs: T[] = [];
      for (const part of this.selectParts(c, query, sort, after)) {
        const rows = this.stmt(part.sql).all(...part.params, limit - docs.length);
        for (const row of rows) docs.push(JSON.parse(row.doc as string) as T);
        if (docs.length >= limit) break;
      }
      return docs;
    });
  }

  /**
   * The SELECTs of a page, to run in order until it is full; each takes its LIMIT as the last parameter.
   * A keyset condition `(value, id) > (v, i)` is not something SQLite seeks with an expression index (it reads
   * the index from the start: page N costs O(N)), and `OR value IS NULL` scans too. So a page after a cursor is
   * split into parts that each seek: the rest of the cursor's value (`value = v AND id > i`, ordered by id
   * alone, as SQLite does not see the value as constant), then the values beyond it (`value > v`), and, when
   * descending, the nulls last (`value IS NULL`). After a null ascending, "not null" is `value >= -Infinity`
   * (SQLite orders NULL before every number and string): a range it seeks, where `IS NOT NULL` scans.
   */
  private selectParts(
    c: Collection,
    query: Omit<Query, 'limit' | 'cursor'>,
    sort: Sort,
    after?: CursorKey,
  ): { sql: string; params: SQLInputValue[] }[] {
    const base = new SqlBuilder();
    const hints: SearchHints = {};
    const conditions = this.conditions(c, query, base, hints);
    const direction = sort.direction === 'asc' ? 'ASC' : 'DESC';
    const byId = `t.id ${direction}`;
    // SQLite's planner prefers an index on a `where` field and then sorts all its matches, even when they are
    // tens of thousands and walking the sort index would fill the page after a few hundred rows: decide here.
    const sortIndex = this.sortIndex(c, query, sort.field);
    const bySort =
      sortIndex !== undefined &&
      !hints.fewSearchMatches &&
      (sortIndex.compound || this.broadFilters(c, query));
    const from = bySort ? `${c.table} AS t INDEXED BY ${quote(sortIndex.name)}` : `${c.table} AS t`;
    const parts: KeysetPart[] =
      sort.field === '_id'
        ? [{ where: after && ((sql) => `t.id ${direction === 'ASC' ? '>' : '<'} ${sql.param(after.id)}`), order: byId }]
        : keysetParts(`json_extract(t.doc, ${jsonPath(sort.field)})`, sort.direction, after);
    return parts.map((part) => {
      const sql = base.clone();
      const where = part.where ? `${conditions} AND ${part.where(sql)}` : conditions;
      return { sql: `SELECT json(t.doc) AS doc FROM ${from} WHERE ${where} ORDER BY ${part.order} LIMIT ?`, params: sql.params };
    });
  }

  /** the WHERE clause of a query (documents only, `where`, `search`) */
  private conditions(
    c: Collection,
    query: Omit<Query, 'sort' | 'limit' | 'cursor'>,
    sql: SqlBuilder,
    hints: SearchHints = {},
  ): string {
    const search = checkQuery(query);
    const parts = ['t.doc IS NOT NULL'];
    for (const [field, value] of Object.entries(query.where ?? {})) {
      parts.push(this.wherePredicate(c, field, whereValues(value), sql));
    }
    if (search) parts.push(this.searchPredicate(c, search.text.toLowerCase(), search.fields, sql, hints));
    return parts.join(' AND ');
  }

  /**
   * An index that yields the matches in (field, _id) order: a compound whose leading fields all have a single
   * equality value in `where` and whose last field is the sort field (it reads just the page); else the sort
   * field's own index (walked in order, checking each document).
   */
  private sortIndex(
    c: Collection,
    query: Omit<Query, 'limit' | 'cursor'>,
    field: string,
  ): { name: string; compound: boolean } | undefined {
    if (!c.ready) return undefined;
    const where = query.where ?? {};
    const pinned = (name: string) =>
      name in where && !Array.isArray(where[name]) && !this.arrayAware(c, name);
    const compound = c.indexSpecs.find(
      (index) =>
        index.fields.length > 1 && index.fields.at(-1) === field && index.fields.slice(0, -1).every(pinned),
    );
    if (compound) return { name: compound.name, compound: true };
    if (field === '_id') return { name: `sqlite_autoindex_rs_doc_${c.name}_1`, compound: false };
    return c.indexes.includes(field) ? { name: `rs_idx_${c.name}__${field}`, compound: false } : undefined;
  }

  /**
   * true when every indexed `where` condition matches many documents (counted through its index, up to
   * BROAD_FILTER), so that walking the sort index beats collecting all matches and sorting them.
   */
  private broadFilters(c: Collection, query: Omit<Query, 'limit' | 'cursor'>): boolean {
    const indexed = Object.entries(query.where ?? {}).filter(
      ([field]) => field === '_id' || (c.indexes.includes(field) && !this.arrayAware(c, field)),
    );
    if (indexed.length === 0 || indexed.some(([field]) => field === '_id')) return false;
    for (const [field, value] of indexed) {
      const sql = new SqlBuilder();
      const predicate = this.wherePredicate(c, field, whereValues(value), sql);
      const counted = this.stmt(
        `SELECT count(*) AS n FROM (SELECT 1 FROM ${c.table} AS t WHERE t.doc IS NOT NULL AND ${predicate} LIMIT ${BROAD_FILTER})`,
      ).get(...sql.params);
      if (Number(counted?.n) < BROAD_FILTER) return false;
    }
    return true;
  }

  /** compare with json_each: the field is dotted or has held an array */
  private arrayAware(c: Collection, field: string): boolean {
    return field.includes('.') || c.arrayFields.has(field);
  }

  private wherePredicate(c: Collection, field: string, values: FieldValue[], sql: SqlBuilder): string {
    if (field === '_id') {
      const ids = values.filter((value) => typeof value === 'string');
      return ids.length === 0 ? '0' : `t.id IN (${ids.map((id) => sql.param(id)).join(', ')})`;
    }
    const path = jsonPath(field);
    const scalar = valuePredicate(
      `json_extract(t.doc, ${path})`,
      `json_type(t.doc, ${path})`,
      values,
      'scalar',
      sql,
    );
    if (!this.arrayAware(c, field)) return scalar;
    const element = valuePredicate('e.value', 'e.type', values, 'element', sql);
    return `(CASE json_type(t.doc, ${path}) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(t.doc, ${path}) AS e WHERE ${element}) ELSE ${scalar} END)`;
  }

  private searchPredicate(
    c: Collection,
    needle: string,
    fields: string[],
    sql: SqlBuilder,
    hints: SearchHints,
  ): string {
    if (c.ready && fields.every((field) => c.search.includes(field))) {
      const pattern = `%${escapeLike(needle)}%`;
      const match = (s: SqlBuilder) =>
        `(${fields.map((field) => `s.${quote(field)} LIKE ${s.param(pattern)} ESCAPE '\\'`).join(' OR ')})`;
      const probe = new SqlBuilder();
      const probeSql = `SELECT rid FROM ${c.searchTable} AS s WHERE ${match(probe)} LIMIT ${SEARCH_PROBE_LIMIT + 1}`;
      const rids = this.stmt(probeSql)
        .all(...probe.params)
        .map((row) => row.rid);
      if (rids.length <= SEARCH_PROBE_LIMIT) {
        // few matches: look them up by rid
        hints.fewSearchMatches = true;
        return `t.rid IN (SELECT value FROM json_each(${sql.param(JSON.stringify(rids))}))`;
      }
      // many: check rows as the sort order (or a where index) produces them; the page fills early
      return `EXISTS (SELECT 1 FROM ${c.searchTable} AS s WHERE s.rid = t.rid AND ${match(sql)})`;
    }
    return `(${fields
      .map((field) => {
        const path = jsonPath(field);
        return `(CASE json_type(t.doc, ${path})
          WHEN 'text' THEN rs_icontains(json_extract(t.doc, ${path}), ${sql.param(needle)})
          WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(t.doc, ${path}) AS e
                                    WHERE e.type = 'text' AND rs_icontains(e.value, ${sql.param(needle)}))
          ELSE 0 END)`;
      })
      .join(' OR ')})`;
  }

  // --- state -----------------------------------------------------------------------------------------------

  private collection(name: string): Collection {
    const c = this.collections.get(name);
    if (!c)
      throw new Error(`read-store collection ${JSON.stringify(name)} is not initialised: call init() first`);
    return c;
  }

  /**
   * a collection for reading: state refreshed, indexes built if a reset dropped them (in a bulk load: only the
   * single-field indexes of the query's `where`)
   */
  private readyCollection(name: string, query?: Omit<Query, 'sort' | 'limit' | 'cursor'>): Collection {
    const c = this.collection(name);
    this.refreshIfChanged();
    if (c.ready) return c;
    if (this.bulk && query) this.buildLookups(c, Object.keys(query.where ?? {}));
    else this.materialise(c);
    return c;
  }

  private buildLookups(c: Collection, fields: string[]): void {
    const missing = fields.filter((field) => c.indexes.includes(field) && !c.lookups.has(field));
    if (missing.length === 0) return;
    this.transaction(() => {
      for (const field of missing) {
        const index = c.indexSpecs.find((spec) => spec.fields.length === 1 && spec.fields[0] === field)!;
        this.createIndex(c, index);
      }
    });
    for (const field of missing) c.lookups.add(field);
  }

  private prepareWriter(c: Collection): Writer {
    const upsert = `INSERT INTO ${c.table} (id, position, doc) VALUES (?, ?, jsonb(?))
      ON CONFLICT (id) DO UPDATE SET position = excluded.position, doc = excluded.doc
      WHERE excluded.position > ${c.table}.position`;
    const writer: Writer = {
      upsert: this.db.prepare(upsert),
      upsertReturning: this.db.prepare(`${upsert} RETURNING rid`),
      tombstone: this.db.prepare(`UPDATE ${c.table} SET position = ?, doc = NULL WHERE id = ? AND position < ?`),
    };
    if (c.search.length > 0) {
      writer.searchUpsert = this.db.prepare(
        `INSERT OR REPLACE INTO ${c.searchTable} VALUES (?, ${c.search.map(() => '?').join(', ')})`,
      );
      writer.searchDelete = this.db.prepare(`DELETE FROM ${c.searchTable} WHERE rid = ?`);
    }
    c.writer = writer;
    return writer;
  }

  private materialise(c: Collection): void {
    this.transaction(() => {
      const stored = this.stmt('SELECT ready FROM rs_collections WHERE name = ?').get(c.name);
      if (stored?.ready !== 1) {
        this.createIndexes(c);
        this.fillSearch(c);
        this.stmt('UPDATE rs_collections SET ready = 1 WHERE name = ?').run(c.name);
      }
    });
    c.ready = true;
    this.db.exec(`ANALYZE ${c.table}`);
  }

  private createIndexes(c: Collection): void {
    for (const index of c.indexSpecs) this.createIndex(c, index);
  }

  private createIndex(c: Collection, index: { name: string; fields: string[] }): void {
    const keys = index.fields.map((field) => `json_extract(doc, ${jsonPath(field)})`).join(', ');
    this.db.exec(
      `CREATE INDEX IF NOT EXISTS ${quote(index.name)} ON ${c.table} (${keys}, id) WHERE doc IS NOT NULL`,
    );
  }

  /** (re)fills the search table from the documents, in SQL: `rs_search_text` lower-cases in JavaScript */
  private fillSearch(c: Collection): void {
    if (c.search.length === 0) return;
    this.db.exec(`DELETE FROM ${c.searchTable}`);
    const columns = c.search
      .map(
        (field) =>
          `rs_search_text(json_type(doc, ${jsonPath(field)}), json_extract(doc, ${jsonPath(field)}))`,
      )
      .join(', ');
    this.db.exec(`INSERT INTO ${c.searchTable} SELECT rid, ${columns} FROM ${c.table} WHERE doc IS NOT NULL`);
  }

  /** the top-level fields of `doc` that hold an array, not known to do so yet (now they are; to record) */
  private newArrayFields(c: Collection, doc: Doc): string[] {
    let fields: string[] | undefined;
    for (const key in doc) {
      if (Array.isArray(doc[key]) && !c.arrayFields.has(key)) {
        c.arrayFields.add(key);
        (fields ??= []).push(key);
      }
    }
    return fields ?? NONE;
  }

  private loadArrayFields(c: Collection): void {
    const rows = this.stmt('SELECT field FROM rs_array_fields WHERE collection = ?').all(c.name);
    c.arrayFields = new Set(rows.map((row) => row.field as string));
  }

  /** re-reads per-collection state when another connection has committed since we last looked */
  private refreshIfChanged(): void {
    const version = this.readDataVersion();
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    for (const c of this.collections.values()) {
      c.ready = this.stmt('SELECT ready FROM rs_collections WHERE name = ?').get(c.name)?.ready === 1;
      this.loadArrayFields(c);
    }
  }

  private readDataVersion(): number {
    return Number(this.stmt('PRAGMA data_version').get()?.data_version);
  }

  // --- plumbing --------------------------------------------------------------------------------------------

  private stmt(sql: string, bigints = false): StatementSync {
    const key = bigints ? `B${sql}` : `N${sql}`;
    let statement = this.statements.get(key);
    if (statement) {
      this.statements.delete(key);
    } else {
      statement = this.db.prepare(sql);
      statement.setReadBigInts(bigints);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        this.statements.delete(this.statements.keys().next().value as string);
      }
    }
    this.statements.set(key, statement);
    return statement;
  }

  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** a read transaction, so the search probe and the query see the same data */
  private snapshot<T>(fn: () => T): T {
    this.db.exec('BEGIN');
    try {
      return fn();
    } finally {
      this.db.exec('COMMIT');
    }
  }
}

interface SearchHints {
  /** the search matched few documents, which the query looks up by rid */
  fewSearchMatches?: boolean;
}

function indexSpecs(collection: string, spec: CollectionSpec): { name: string; fields: string[] }[] {
  const singles = [...new Set(spec.indexes.filter((field) => field !== '_id'))].map((field) => ({
    name: `rs_idx_${collection}__${field}`,
    fields: [field],
  }));
  const compounds = (spec.compound ?? [])
    .filter((fields) => fields.length > 0)
    .map((fields) => ({ name: `rs_idx_${collection}__${fields.join('+')}`, fields }));
  return [...singles, ...compounds];
}

/** collects positional parameters while SQL text is built */
class SqlBuilder {
  readonly params: SQLInputValue[] = [];
  clone(): SqlBuilder {
    const copy = new SqlBuilder();
    copy.params.push(...this.params);
    return copy;
  }
  param(value: FieldValue): string {
    this.params.push(typeof value === 'boolean' ? Number(value) : value);
    return '?';
  }
}

/**
 * `expr` equals one of `values`, typed: a JSON string never equals a number, true is not 1. `scalar` compares a
 * json_extract (null also matching a missing field); `element` compares a json_each row.
 */
function valuePredicate(
  expr: string,
  type: string,
  values: FieldValue[],
  mode: 'scalar' | 'element',
  sql: SqlBuilder,
): string {
  const list = (items: FieldValue[]) => items.map((item) => sql.param(item)).join(', ');
  const strings = values.filter((value) => typeof value === 'string');
  const numbers = values.filter((value) => typeof value === 'number');
  const parts: string[] = [];
  if (strings.length > 0) {
    parts.push(
      mode === 'scalar'
        ? `${expr} IN (${list(strings)})`
        : `(${type} = 'text' AND ${expr} IN (${list(strings)}))`,
    );
  }
  if (numbers.length > 0) parts.push(`(${expr} IN (${list(numbers)}) AND ${type} IN ('integer', 'real'))`);
  if (values.includes(true)) parts.push(`(${expr} = 1 AND ${type} = 'true')`);
  if (values.includes(false)) parts.push(`(${expr} = 0 AND ${type} = 'false')`);
  if (values.includes(null)) parts.push(mode === 'scalar' ? `${expr} IS NULL` : `${type} = 'null'`);
  return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
}

/** one SELECT of a page: its keyset condition (none on a first page) and its ORDER BY */
interface KeysetPart {
  where?: (sql: SqlBuilder) => string;
  order: string;
}

/**
 * The parts of a page sorted by `value` then id, after `after`: null is the lowest value (first ascending, last
 * descending), as in MongoDB. Each part seeks in the (value, id) index; together they cover exactly the rows
 * after the cursor, in order.
 */
function keysetParts(value: string, direction: 'asc' | 'desc', after: CursorKey | undefined): KeysetPart[] {
  const dir = direction === 'asc' ? 'ASC' : 'DESC';
  const byId = `t.id ${dir}`;
  const byValue = `${value} ${dir}, t.id ${dir}`;
  if (!after) return [{ order: byValue }];
  const { value: v, id } = after;
  if (direction === 'asc') {
    return v === null
      ? [
          { where: (sql) => `${value} IS NULL AND t.id > ${sql.param(id)}`, order: byId },
          { where: () => `${value} >= -9e999`, order: byValue },
        ]
      : [
          { where: (sql) => `${value} = ${sql.param(v)} AND t.id > ${sql.param(id)}`, order: byId },
          { where: (sql) => `${value} > ${sql.param(v)}`, order: byValue },
        ];
  }
  return v === null
    ? [{ where: (sql) => `${value} IS NULL AND t.id < ${sql.param(id)}`, order: byId }]
    : [
        { where: (sql) => `${value} = ${sql.param(v)} AND t.id < ${sql.param(id)}`, order: byId },
        { where: (sql) => `${value} < ${sql.param(v)}`, order: byValue },
        { where: () => `${value} IS NULL`, order: byId },
      ];
}

/** the lower-cased searchable text of a value: a string, or the string elements of an array */
export function searchText(value: unknown): string | null {
  if (typeof value === 'string') return value.toLowerCase();
  if (Array.isArray(value)) {
    const strings = value.filter((item): item is string => typeof item === 'string');
    return strings.length === 0 ? null : strings.map((item) => item.toLowerCase()).join(ARRAY_SEPARATOR);
  }
  return null;
}
