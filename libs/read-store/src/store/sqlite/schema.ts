/**
 * The SQLite read store's schema: metadata tables, one document table per collection, its field indexes, and
 * its search structures (a table of lower-cased text and a trigram index over it). DDL and the passes that
 * (re)build them; no query planning here.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { CollectionSpec } from '../../port';
import { BULK_LOAD_TABLE_SQL } from './bulk-load-marker';
import type { SqliteConnection } from './connection';

export interface IndexSpec {
  name: string;
  fields: string[];
}

/** A collection as the store handles it: names, indexes and search fields, and what this connection knows of its state. */
export interface Collection {
  name: string;
  table: string;
  searchTable: string;
  /** the trigram index of the search table (FTS5; see `createSearchTables`) */
  trigramTable: string;
  /** single-field indexed fields */
  indexes: string[];
  /** every secondary index: single fields and compounds; `_id` is appended to each */
  indexSpecs: IndexSpec[];
  search: string[];
  /** field indexes and search rows are in place (false from `reset` until rebuilt) */
  ready: boolean;
  /** CollectionSpec.readyAtReset: rebuilt right after a reset outside a bulk load */
  readyAtReset: boolean;
  arrayFields: Set<string>;
  /** while not ready, in a bulk load: the field indexes built for lookups so far */
  lookups: Set<string>;
  /** while not ready, in a bulk load: every field index was built before the last writes (they maintain them) */
  indexedEarly?: boolean;
  /** prepared write statements (made on the first commit) */
  writer?: Writer;
  /** prepared `get` (made on the first one) */
  getById?: StatementSync;
}

export interface Writer {
  /** guarded upsert, for collections without search rows to maintain: `changes` says whether it applied */
  upsert: StatementSync;
  /** the same, returning the row's rid (to maintain its search row) */
  upsertReturning: StatementSync;
  /** turns a stored document into a tombstone; nothing when there is no row */
  tombstone: StatementSync;
  /** writes a search row; `changes` is 0 when it held that text already (the trigram index is then left alone) */
  searchUpsert?: StatementSync;
  searchDelete?: StatementSync;
  trigramUpsert?: StatementSync;
  trigramDelete?: StatementSync;
}

export const ARRAY_SEPARATOR = '\u001f';

export const quote = (identifier: string) => `"${identifier}"`;
export const jsonPath = (field: string) => `'$.${field}'`;

export function createMetaTables(db: DatabaseSync): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS rs_checkpoints (projection TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL);
    ${BULK_LOAD_TABLE_SQL};
    CREATE TABLE IF NOT EXISTS rs_collections (
      name TEXT PRIMARY KEY NOT NULL, search_fields TEXT NOT NULL, ready INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS rs_array_fields (
      collection TEXT NOT NULL, field TEXT NOT NULL, PRIMARY KEY (collection, field));
    CREATE TABLE IF NOT EXISTS rs_vacuumed (id INTEGER PRIMARY KEY CHECK (id = 1), erased_through INTEGER NOT NULL);
  `);
}

export function collectionOf(name: string, spec: CollectionSpec): Collection {
  return {
    name,
    table: quote(`rs_doc_${name}`),
    searchTable: quote(`rs_search_${name}`),
    // FTS5 names its shadow tables `<name>_data`, `<name>_idx`...: the ':' (never in a collection name) keeps
    // them from colliding with the trigram table of a collection called, say, `<name>_data`
    trigramTable: quote(`rs_trigram_${name}:`),
    indexes: [...new Set(spec.indexes.filter((field) => field !== '_id'))],
    indexSpecs: indexSpecs(name, spec),
    search: [...new Set(spec.search ?? [])],
    ready: true,
    readyAtReset: spec.readyAtReset === true,
    arrayFields: new Set(),
    lookups: new Set(),
  };
}

function indexSpecs(collection: string, spec: CollectionSpec): IndexSpec[] {
  const singles = [...new Set(spec.indexes.filter((field) => field !== '_id'))].map((field) => ({
    name: `rs_idx_${collection}__${field}`,
    fields: [field],
  }));
  const compounds = (spec.compound ?? [])
    .filter((fields) => fields.length > 0)
    .map((fields) => ({ name: `rs_idx_${collection}__${fields.join('+')}`, fields }));
  return [...singles, ...compounds];
}

export function createDocumentTable(conn: SqliteConnection, c: Collection): void {
  conn.exec(`CREATE TABLE IF NOT EXISTS ${c.table} (
    rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, doc TEXT)`);
}

/** drops the field indexes of `c` that its spec no longer lists */
export function dropUnlistedIndexes(conn: SqliteConnection, c: Collection): void {
  const wanted = new Set(c.indexSpecs.map((index) => index.name));
  const existing = conn
    .stmt(
      `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND name LIKE 'rs\\_idx\\_%' ESCAPE '\\'`,
    )
    .all(`rs_doc_${c.name}`);
  for (const { name: index } of existing) {
    if (!wanted.has(index as string)) conn.exec(`DROP INDEX ${quote(index as string)}`);
  }
}

export function createIndexes(conn: SqliteConnection, c: Collection): void {
  for (const index of c.indexSpecs) createIndex(conn, c, index);
}

export function createIndex(conn: SqliteConnection, c: Collection, index: IndexSpec): void {
  conn.exec(createIndexSql(c, index));
}

/** the DDL of a field index (the bulk load's writer thread runs it too) */
export function createIndexSql(c: Collection, index: IndexSpec): string {
  const keys = index.fields.map((field) => `json_extract(doc, ${jsonPath(field)})`).join(', ');
  return `CREATE INDEX IF NOT EXISTS ${quote(index.name)} ON ${c.table} (${keys}, id) WHERE doc IS NOT NULL`;
}

/** drops the field indexes (a rebuild inserts into bare tables; emptying a table without them is a truncate) */
export function dropIndexes(conn: SqliteConnection, c: Collection): void {
  for (const index of c.indexSpecs) conn.exec(`DROP INDEX IF EXISTS ${quote(index.name)}`);
}

/**
 * (Re)creates the search structures of `c` (dropping what held other fields): `rs_search_<name>(rid, <field>...)`
 * with the lower-cased text of the search fields, and its trigram index, an FTS5 table of the same columns
 * (`rowid` = rid). The index is contentless (the text is in the search table already) with `contentless_delete`
 * (rows replaced or deleted by rowid, without the old text), and case-sensitive: the text is lower-cased by
 * JavaScript before it gets there, and so is the needle, so that a search folds case exactly as it does
 * without the index.
 */
export function createSearchTables(conn: SqliteConnection, c: Collection, replace: boolean): void {
  if (replace) {
    conn.exec(`DROP TABLE IF EXISTS ${c.searchTable}`);
    conn.exec(`DROP TABLE IF EXISTS ${c.trigramTable}`);
  }
  if (c.search.length === 0) return;
  const columns = c.search.map(quote);
  conn.exec(
    `CREATE TABLE IF NOT EXISTS ${c.searchTable} (rid INTEGER PRIMARY KEY, ${columns.map((column) => `${column} TEXT`).join(', ')})`,
  );
  conn.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${c.trigramTable} USING fts5(${columns.join(', ')},
    content='', contentless_delete=1, tokenize='trigram case_sensitive 1')`);
}

/** whether the trigram index of `c` exists (files written before it was introduced lack it: `init` adds it) */
export function hasTrigramTable(conn: SqliteConnection, c: Collection): boolean {
  return (
    conn.stmt(`SELECT 1 FROM sqlite_schema WHERE name = ?`).get(c.trigramTable.slice(1, -1)) !== undefined
  );
}

/** empties the search table and its trigram index */
export function clearSearch(conn: SqliteConnection, c: Collection): void {
  if (c.search.length === 0) return;
  conn.exec(`DELETE FROM ${c.searchTable}`);
  // 'delete-all' empties a contentless index at once (a DELETE would go row by row)
  conn.exec(`INSERT INTO ${c.trigramTable} (${c.trigramTable}) VALUES ('delete-all')`);
}

/**
 * Drops from the trigram index of `c` what it keeps of rows deleted or replaced (rule 12 at rest). In a
 * `contentless_delete` index a delete only records the rowid as a tombstone: the row's trigrams and their offsets,
 * enough to spell its text again, stay in the segment pages until a merge rewrites them (FTS5's 'secure-delete' option
 * does not apply to such an index, and its 'delete' command is refused). 'optimize' merges every segment into one,
 * leaving out the tombstoned rows; the pages of the old segments are freed, hence zeroed (secure_delete). It rewrites
 * the whole index (~0.5 s and ~17 MiB of pages for 100k members, measured on a shared 2-core machine): it runs once
 * after the commits of a user's deletion (ErasurePurge), not on every delete; with nothing tombstoned it costs ~0.1 ms.
 */
export function purgeSearchIndex(conn: SqliteConnection, c: Collection): void {
  if (c.search.length === 0 || !hasTrigramTable(conn, c)) return;
  conn.exec(`INSERT INTO ${c.trigramTable} (${c.trigramTable}) VALUES ('optimize')`);
}

/** (re)fills the search table from the documents, in SQL (`rs_search_text` lower-cases in JavaScript), then its index */
export function fillSearch(conn: SqliteConnection, c: Collection): void {
  if (c.search.length === 0) return;
  clearSearch(conn, c);
  for (const sql of fillSearchSql(c)) conn.exec(sql);
}

/**
 * the statements that fill an empty search table and its trigram index from the documents (the bulk load's writer
 * thread runs them too, with its own `rs_search_text`)
 */
export function fillSearchSql(c: Collection): string[] {
  if (c.search.length === 0) return [];
  const columns = c.search
    .map(
      (field) => `rs_search_text(json_type(doc, ${jsonPath(field)}), json_extract(doc, ${jsonPath(field)}))`,
    )
    .join(', ');
  const names = c.search.map(quote).join(', ');
  return [
    `INSERT INTO ${c.searchTable} SELECT rid, ${columns} FROM ${c.table} WHERE doc IS NOT NULL`,
    `INSERT INTO ${c.trigramTable} (rowid, ${names}) SELECT rid, ${names} FROM ${c.searchTable}`,
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
