/**
 * Multi-process coherence. Several processes may share the file (WAL): the API reads while the projector writes,
 * and a rebuild may reset collections under a reader. What a connection caches about a collection (whether its
 * indexes and search rows are in place, which fields have held arrays) is re-read when another connection has
 * committed since it last looked (`PRAGMA data_version` changes only for other connections' commits). Reads of a
 * collection that a reset left without its indexes build them first.
 */
import { isBusy } from '@rollcall/event-store';
import type { Doc, Query } from '../../port';
import { bulkLoadElsewhere } from './bulk-load-marker';
import type { SqliteConnection } from './connection';
import { type Collection, createIndex, createIndexes, fillSearch } from './schema';
import { type StoreState, collectionNamed } from './state';

export function readDataVersion(state: Pick<StoreState, 'conn'>): number {
  return Number(state.conn.stmt('PRAGMA data_version').get()?.data_version);
}

/** re-reads per-collection state when another connection has committed since we last looked */
export function refreshIfChanged(state: StoreState): void {
  const version = readDataVersion(state);
  if (version === state.dataVersion) return;
  state.dataVersion = version;
  for (const c of state.collections.values()) {
    c.ready = state.conn.stmt('SELECT ready FROM rs_collections WHERE name = ?').get(c.name)?.ready === 1;
    loadArrayFields(state, c);
  }
}

/**
 * `c` as a read transaction of `conn` sees it: another process's reset (a rebuild starting) may have dropped its
 * indexes and search rows after `readyCollection` looked and before the transaction began, and a plan that names one
 * (`INDEXED BY`, the trigram table) then failed with "no such index" (probe 30 F3: 500s from the user list and the
 * presence report while a rebuild ran beside the API). Called inside the snapshot a query runs in: the reset and the
 * build each change the flag and the indexes in one transaction, so what it says holds for the whole snapshot.
 */
export function readyInSnapshot(conn: SqliteConnection, c: Collection): Collection {
  if (!c.ready) return c;
  return conn.stmt('SELECT ready FROM rs_collections WHERE name = ?').get(c.name)?.ready === 1 ? c : { ...c, ready: false };
}

const NONE: string[] = [];

/**
 * the top-level fields of `doc` that hold an array, not known to do so yet: now they are, in this connection;
 * the caller records them in `rs_array_fields` with its write, for the others
 */
export function newArrayFields(c: Collection, doc: Doc): string[] {
  let fields: string[] | undefined;
  for (const key in doc) {
    if (Array.isArray(doc[key]) && !c.arrayFields.has(key)) {
      c.arrayFields.add(key);
      (fields ??= []).push(key);
    }
  }
  return fields ?? NONE;
}

export function loadArrayFields(state: StoreState, c: Collection): void {
  const rows = state.conn.stmt('SELECT field FROM rs_array_fields WHERE collection = ?').all(c.name);
  c.arrayFields = new Set(rows.map((row) => row.field as string));
}

/**
 * a collection for reading: state refreshed, indexes built if a reset dropped them (in a bulk load: only the
 * single-field indexes of the query's `where`)
 */
export function readyCollection(
  state: StoreState,
  name: string,
  query?: Omit<Query, 'sort' | 'limit' | 'cursor'>,
): Collection {
  const c = collectionNamed(state, name);
  refreshIfChanged(state);
  if (c.ready) return c;
  if (state.bulk && query) buildLookups(state, c, Object.keys(query.where ?? {}));
  else materialiseOrReadBare(state, c);
  return c;
}

/**
 * `materialise` for a read, which must not fail for want of the write lock: another process may hold it past the busy
 * timeout, building indexes (a projector completing its reset builds each collection in one transaction; an `init`;
 * another reader). The read then answers from the collection as it is (scans: the same answers, slower), and the
 * next read looks again; whatever the other one built is kept.
 */
function materialiseOrReadBare(state: StoreState, c: Collection): void {
  // a read takes the lock only if it is free now: a builder holds it for its whole build, and waiting the busy
  // timeout at every read of the collection would block the reader's thread that long each time
  state.conn.exec('PRAGMA busy_timeout = 0');
  try {
    materialise(state, c);
  } catch (error) {
    if (!isBusy(error)) throw error;
  } finally {
    state.conn.exec(`PRAGMA busy_timeout = ${state.options.busyTimeoutMs ?? 5000}`);
  }
}

/** in a bulk load: the single-field indexes of `fields` (the projector's lookups), not the others */
function buildLookups(state: StoreState, c: Collection, fields: string[]): void {
  const missing = fields.filter((field) => c.indexes.includes(field) && !c.lookups.has(field));
  if (missing.length === 0) return;
  state.conn.transaction(() => {
    for (const field of missing) {
      const index = c.indexSpecs.find((spec) => spec.fields.length === 1 && spec.fields[0] === field)!;
      createIndex(state.conn, c, index);
    }
  });
  for (const field of missing) c.lookups.add(field);
}

/**
 * builds the field indexes and search rows of a collection that a reset emptied (unless another process did) — not
 * while another process bulk-loads it (a rebuild: bulk-load-marker.ts), which builds them at its end: the collection
 * is then read as it is, without them
 */
export function materialise(state: StoreState, c: Collection): void {
  const { conn } = state;
  // looked at first without the write lock, which a rebuild's writer holds for whole write-outs: a read waiting on it
  // would time out (database is locked); then again in the transaction, to be decided with it
  if (!state.bulk && bulkLoadElsewhere(conn)) return;
  // decided under the write lock: of two builders (a projector completing its reset, a reader, an `init`, in this
  // process or another), the second finds it ready and builds nothing
  const outcome = conn.transaction(() => {
    const stored = conn.stmt('SELECT ready FROM rs_collections WHERE name = ?').get(c.name);
    if (stored?.ready === 1) return 'ready';
    if (!state.bulk && bulkLoadElsewhere(conn)) return 'left';
    createIndexes(conn, c);
    fillSearch(conn, c);
    conn.stmt('UPDATE rs_collections SET ready = 1 WHERE name = ?').run(c.name);
    return 'built';
  });
  if (outcome === 'left') return;
  c.ready = true;
  // statistics by the builder only (another one's took the write lock once more, for nothing)
  if (outcome === 'built') conn.exec(`ANALYZE ${c.table}`);
}
