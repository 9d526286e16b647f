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
import { readyCollection } from './coherence';
import { conditions } from './predicates';
import { selectParts } from './query-plan';
import type { Collection } from './schema';
import { SqlBuilder } from './sql';
import type { StoreState } from './state';

export function findPage<T extends Doc>(state: StoreState, collection: string, query: Query): Page<T> {
  const c = readyCollection(state, collection, query);
  const limit = pageLimit(query.limit);
  const sort = effectiveSort(query.sort);
  const after = query.cursor === undefined ? undefined : decodeCursor(sort, query.cursor);
  return pageOf(select<T>(state, c, query, sort, limit + 1, after), limit, sort);
}

export function countMatches(
  state: StoreState,
  collection: string,
  query: Omit<Query, 'sort' | 'limit' | 'cursor'>,
): number {
  const c = readyCollection(state, collection, query);
  return state.conn.snapshot(() => {
    const sql = new SqlBuilder();
    const where = conditions(state, c, query, sql);
    const row = state.conn
      .stmt(`SELECT count(*) AS n FROM ${c.table} AS t WHERE ${where}`)
      .get(...sql.params);
    return Number(row?.n ?? 0);
  });
}

/** every match in sort order, a page of STREAM_PAGE_SIZE at a time (each page its own snapshot) */
export async function* streamMatches<T extends Doc>(
  state: StoreState,
  collection: string,
  query: Omit<Query, 'limit' | 'cursor'>,
): AsyncIterable<T> {
  const c = readyCollection(state, collection, query);
  const sort = effectiveSort(query.sort);
  for (let after: CursorKey | null | undefined; after !== null; ) {
    const page = select<T>(state, c, query, sort, STREAM_PAGE_SIZE, after);
    for (const doc of page) yield doc;
    after = nextStreamPage(page, sort);
  }
}

/** every match of each query, in one snapshot (each collection made ready before it opens: that may write) */
export function readTogether(state: StoreState, queries: readonly CollectionQuery[]): Doc[][] {
  const ready = queries.map(({ collection, query }) => readyCollection(state, collection, query));
  return state.conn.snapshot(() =>
    queries.map(({ query }, i) => {
      const sort = effectiveSort(query.sort);
      const docs: Doc[] = [];
      for (let after: CursorKey | null | undefined; after !== null; ) {
        const page = select<Doc>(state, ready[i], query, sort, STREAM_PAGE_SIZE, after);
        for (const doc of page) docs.push(doc);
        after = nextStreamPage(page, sort);
      }
      return docs;
    }),
  );
}

/** the query plan SQLite picks for a find (diagnostics and tests): the plans of its keyset parts, in order */
export function explainFind(state: StoreState, collection: string, query: Query): string[] {
  const c = readyCollection(state, collection);
  const sort = effectiveSort(query.sort);
  const after = query.cursor === undefined ? undefined : decodeCursor(sort, query.cursor);
  return state.conn.snapshot(() =>
    selectParts(state, c, query, sort, after).flatMap((part) =>
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
    for (const part of selectParts(state, c, query, sort, after)) {
      const rows = state.conn.stmt(part.sql).all(...part.params, limit - docs.length);
      for (const row of rows) docs.push(JSON.parse(row.doc as string) as T);
      if (docs.length >= limit) break;
    }
    return docs;
  });
}
