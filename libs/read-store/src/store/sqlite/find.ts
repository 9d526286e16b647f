/**
 * Queries: `find` (a page), `count`, `stream` (every match, page by page), `readTogether` (every match of several
 * queries in one snapshot) and `explainFind` (the plan).
 */
import type { CollectionQuery, Doc, Page, Query } from '../../port';
import {
  type CursorKey,
  type Sort,
  STREAM_PAGE_SIZE,
  decodeCursor,
  effectiveSort,
  nextStreamPage,
  pageLimit,
  pageOf,
} from '../query-common';
import { readyCollection, readyInSnapshot } from './coherence';
import { SqliteConnection } from './connection';
import { conditions } from './predicates';
import { selectParts } from './query-plan';
import type { Collection } from './schema';
import { SqlBuilder } from './sql';
import type { StoreState } from './state';

export function findPage<T extends Doc>(state: StoreState, collection: string, query: Query): Page<T> {
  const c = readyCollection(state, collection, query);
  const limit = pageLimit(query.limit);
  const sort = effectiveSort(query.sort);
  const after = query.cursor === undefined ? undefined : decodeCursor(sort, query.cursor, query);
  return pageOf(select<T>(state, c, query, sort, limit + 1, after), limit, sort, query);
}

export function countMatches(
  state: StoreState,
  collection: string,
  query: Omit<Query, 'sort' | 'limit' | 'cursor'>,
): number {
  const ready = readyCollection(state, collection, query);
  return state.conn.snapshot(() => {
    const c = readyInSnapshot(state.conn, ready);
    const sql = new SqlBuilder();
    const where = conditions(state, c, query, sql);
    const row = state.conn
      .stmt(`SELECT count(*) AS n FROM ${c.table} AS t WHERE ${where}`)
      .get(...sql.params);
    return Number(row?.n ?? 0);
  });
}

/** every match in sort order, a page of STREAM_PAGE_SIZE at a time (each page its own snapshot) */
/** the page cache of a snapshot connection, KiB: it reads each page once (the store's own connection: CACHE_KIB) */
const SNAPSHOT_CACHE_KIB = 8_192;

/**
 * A connection opened for one read, holding one snapshot until `close` (the store's own connection is shared by every
 * reader, which must not read inside a transaction held open).
 */
function openSnapshot(state: StoreState): { state: StoreState; close(): void } {
  const conn = new SqliteConnection(state.options.path, { busyTimeoutMs: state.options.busyTimeoutMs ?? 5000, synchronous: state.synchronous, cacheKib: SNAPSHOT_CACHE_KIB });
  let end: () => void;
  try {
    end = conn.holdSnapshot();
  } catch (error) {
    conn.close();
    throw error;
  }
  return {
    state: { ...state, conn },
    close: () => {
      try {
        end();
      } finally {
        conn.close();
      }
    },
  };
}

/**
 * Every match, page by page, all read at one point of the log: a stream of more than one page (an export) reads its
 * pages in one snapshot, on a connection opened for it (as `readTogether`), while the event loop and its consumer run
 * between them. Page by page on the store's connection, members renamed during an export of 3,000 came out twice or
 * not at all, and sorted by last seen, heartbeats did the same (probe 39 F2). One page (a team list) is one statement:
 * one snapshot already, and no connection is opened for it.
 */
export async function* streamMatches<T extends Doc>(
  state: StoreState,
  collection: string,
  query: Omit<Query, 'limit' | 'cursor'>,
  atOnePoint = true,
): AsyncIterable<T> {
  const c = readyCollection(state, collection, query);
  if (!atOnePoint) {
    for (const page of pagesOf<T>(state, c, query)) yield* page;
    return;
  }
  const first = select<T>(state, c, query, effectiveSort(query.sort), STREAM_PAGE_SIZE, undefined);
  if (nextStreamPage(first, effectiveSort(query.sort)) === null) {
    yield* first;
    return;
  }
  // more than one page: read again from the start, in one snapshot (the first page read is not yielded)
  if (state.options.path === ':memory:') {
    for (const page of state.conn.snapshot(() => [...pagesOf<T>(state, c, query)])) yield* page;
    return;
  }
  const snapshot = openSnapshot(state);
  try {
    for (const page of pagesOf<T>(snapshot.state, c, query)) yield* page;
  } finally {
    snapshot.close();
  }
}

/** the pages of every match in sort order (keyset pages of STREAM_PAGE_SIZE), each read when asked for */
function* pagesOf<T extends Doc>(state: StoreState, c: Collection, query: Omit<Query, 'limit' | 'cursor'>): Generator<T[]> {
  const sort = effectiveSort(query.sort);
  for (let after: CursorKey | null | undefined; after !== null; ) {
    const page = select<T>(state, c, query, sort, STREAM_PAGE_SIZE, after);
    yield page;
    after = nextStreamPage(page, sort);
  }
}


/**
 * Every match of each query, in one snapshot. On a connection opened for the call, whose read transaction spans the
 * pages while the event loop runs between them: a year of a large workspace's presence is ~10^5 documents, which one
 * synchronous snapshot on the store's connection would read without letting a request in (and that connection's
 * other readers must not read inside a transaction held open). `:memory:` (no second connection): one synchronous
 * snapshot of the store's connection. Each collection is made ready first (that may write).
 */
export async function readTogether(state: StoreState, queries: readonly CollectionQuery[]): Promise<Doc[][]> {
  const ready = queries.map(({ collection, query }) => readyCollection(state, collection, query));
  if (state.options.path === ':memory:')
    return state.conn.snapshot(() => queries.map(({ query }, i) => [...pagesOf<Doc>(state, ready[i]!, query)].flat()));
  const snapshot = openSnapshot(state);
  try {
    const results: Doc[][] = [];
    for (const [i, { query }] of queries.entries()) {
      const docs: Doc[] = [];
      for (const page of pagesOf<Doc>(snapshot.state, ready[i]!, query)) {
        for (const doc of page) docs.push(doc);
        await new Promise((resolve) => setImmediate(resolve));
      }
      results.push(docs);
    }
    return results;
  } finally {
    snapshot.close();
  }
}

/** the query plan SQLite picks for a find (diagnostics and tests): the plans of its keyset parts, in order */
export function explainFind(state: StoreState, collection: string, query: Query): string[] {
  const ready = readyCollection(state, collection);
  const sort = effectiveSort(query.sort);
  const after = query.cursor === undefined ? undefined : decodeCursor(sort, query.cursor, query);
  return state.conn.snapshot(() =>
    selectParts(state, readyInSnapshot(state.conn, ready), query, sort, after).flatMap((part) =>
      state.conn.db
        .prepare(`EXPLAIN QUERY PLAN ${part.sql}`)
        .all(...part.params, pageLimit(query.limit) + 1)
        .map((row) => String(row.detail)),
    ),
  );
}

/** up to `limit` matching documents after `after`, in sort order: the keyset parts one after the other */
function select<T extends Doc>(
  state: StoreState,
  c: Collection,
  query: Omit<Query, 'limit' | 'cursor'>,
  sort: Sort,
  limit: number,
  after?: CursorKey,
): T[] {
  return state.conn.snapshot(() => {
    const docs: T[] = [];
    // (a rebuild may have reset the collection since `c` was made ready: planned as this snapshot sees it)
    for (const part of selectParts(state, readyInSnapshot(state.conn, c), query, sort, after)) {
      const rows = state.conn.stmt(part.sql).all(...part.params, limit - docs.length);
      for (const row of rows) docs.push(JSON.parse(row.doc as string) as T);
      if (docs.length >= limit) break;
    }
    return docs;
  });
}
