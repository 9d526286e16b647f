/**
 * `init`: creates or brings up to date each collection's tables, indexes and search structures, following the
 * spec of this run: indexes it no longer lists are dropped; search rows are rebuilt when the search fields changed
 * or the collection was left not ready by a reset.
 */
import { isBusy } from '@rollcall/event-store';
import type { CollectionSpec } from '../../port';
import { assertCollectionName, assertFieldPath } from '../query-common';
import { loadArrayFields } from './coherence';
import { bulkLoadElsewhere } from './bulk-load-marker';
import {
  type Collection,
  collectionOf,
  createDocumentTable,
  createIndexes,
  createSearchTables,
  dropUnlistedIndexes,
  fillSearch,
  hasTrigramTable,
} from './schema';
import type { SqliteConnection } from './connection';
import type { StoreState } from './state';

/**
 * Drops collections no projection writes any more (ReadStore.init `retired`), with their search structures and
 * metadata, in one transaction; secure_delete (connection.ts) zeroes the pages they free, and the WAL is copied back
 * and emptied so that no earlier image of them stays in it. Nothing to do (one lookup) when none is there.
 */
export function dropRetiredCollections(conn: SqliteConnection, names: readonly string[]): void {
  const present = names.filter((name) => conn.stmt('SELECT 1 FROM sqlite_schema WHERE type = ? AND name = ?').get('table', `rs_doc_${name}`) !== undefined);
  if (present.length === 0) return;
  for (const name of present) assertCollectionName(name);
  try {
    conn.transaction(() => {
      for (const name of present) {
        const c = collectionOf(name, { indexes: [] });
        conn.exec(`DROP TABLE IF EXISTS ${c.trigramTable}; DROP TABLE IF EXISTS ${c.searchTable}; DROP TABLE IF EXISTS ${c.table}`);
        conn.stmt('DELETE FROM rs_collections WHERE name = ?').run(name);
        conn.stmt('DELETE FROM rs_array_fields WHERE collection = ?').run(name);
      }
    });
    conn.db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
  } catch (error) {
    // another process holds the write lock: its own start (or the next one here) drops them
    if (!isBusy(error)) throw error;
  }
}

export function initCollections(state: StoreState, collections: Record<string, CollectionSpec>): void {
  // validate everything before creating anything
  for (const [name, spec] of Object.entries(collections)) {
    assertCollectionName(name);
    for (const field of [...spec.indexes, ...(spec.search ?? []), ...(spec.compound ?? []).flat()]) {
      assertFieldPath(field);
    }
  }
  const { conn } = state;
  for (const [name, spec] of Object.entries(collections)) {
    const collection = collectionOf(name, spec);
    const bringUpToDate = () => conn.transaction(() => {
      createDocumentTable(conn, collection);
      const stored = conn.stmt('SELECT search_fields, ready FROM rs_collections WHERE name = ?').get(name);
      // a collection another process is rebuilding (bulk-load-marker.ts): its indexes and search rows are the
      // rebuild's to build at its end; read meanwhile as it is
      if (stored !== undefined && stored.ready !== 1 && bulkLoadElsewhere(conn)) {
        collection.ready = false;
        return;
      }
      const searchFields = JSON.stringify(collection.search);
      const searchChanged = stored?.search_fields !== searchFields;
      // a file written before the trigram index existed gets it here, filled with the search rows below
      const trigramMissing =
        collection.search.length > 0 && !searchChanged && !hasTrigramTable(conn, collection);
      createSearchTables(conn, collection, searchChanged);
      dropUnlistedIndexes(conn, collection);
      createIndexes(conn, collection);
      if (searchChanged || trigramMissing || stored?.ready !== 1) fillSearch(conn, collection);
      conn
        .stmt('INSERT OR REPLACE INTO rs_collections (name, search_fields, ready) VALUES (?, ?, 1)')
        .run(name, searchFields);
    });
    try {
      bringUpToDate();
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (upToDate(conn, collection)) {
        state.collections.set(name, collection);
        loadArrayFields(state, collection);
        continue;
      }
      if (!builtElsewhere(conn, collection)) throw error;
      // another process held the write lock past the busy timeout, most likely building this very collection (a
      // projector completing its reset builds each in one transaction): a start does not fail for it; it is left to
      // that builder, or to a read (which answers from the table as it is meanwhile)
      collection.ready = false;
    }
    state.collections.set(name, collection);
    loadArrayFields(state, collection);
  }
  try {
    conn.exec('PRAGMA optimize');
  } catch (error) {
    // statistics (written: the lock again), for want of which a start does not fail either
    if (!isBusy(error)) throw error;
  }
}

/**
 * whether a collection can be left to another builder: a reset left it not ready, its tables are there, with the
 * search fields of this spec (else `init` must recreate them before anything builds or searches it)
 */
function builtElsewhere(conn: SqliteConnection, c: Collection): boolean {
  const stored = conn.stmt('SELECT search_fields, ready FROM rs_collections WHERE name = ?').get(c.name);
  return stored !== undefined && stored.ready !== 1 && stored.search_fields === JSON.stringify(c.search);
}

/** a ready collection whose tables, search fields and indexes are those of this spec: nothing to write */
function upToDate(conn: SqliteConnection, c: Collection): boolean {
  const stored = conn.stmt('SELECT search_fields, ready FROM rs_collections WHERE name = ?').get(c.name);
  if (stored?.ready !== 1 || stored.search_fields !== JSON.stringify(c.search)) return false;
  if (c.search.length > 0 && !hasTrigramTable(conn, c)) return false;
  const existing = conn
    .stmt(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND name GLOB 'rs_idx_*' ORDER BY name`)
    .all(`rs_doc_${c.name}`)
    .map((row) => row.name as string);
  return JSON.stringify(existing) === JSON.stringify(c.indexSpecs.map((i) => i.name).sort());
}
