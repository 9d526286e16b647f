/**
 * Query planning: the SELECTs of a page and the index that drives them.
 *
 * - sort: by one field then `_id`, both in the given direction. Missing and null sort as null: first ascending,
 *   last descending (as MongoDB). Strings compare by code point (UTF-8 bytes), as MongoDB without collation.
 *   Cursors are keyset: a page after a cursor runs as up to three SELECTs that each seek in the sort index
 *   (`selectParts`), so page N costs what page 1 does, in either direction, after a null as after a value.
 * - plans: a compound index whose leading fields are pinned by single-value `where` equalities and whose last
 *   field is the sort field is used directly (a page reads ~limit rows). Otherwise, when every indexed `where`
 *   condition is broad (>= BROAD_FILTER matches, counted through its index) the sort index drives the query
 *   (it stops when the page is full); when one is narrow, SQLite's planner uses it and sorts the few matches.
 */
import type { SQLInputValue } from 'node:sqlite';
import type { Query } from '../../port';
import { type CursorKey, type Sort, whereValues } from '../query-common';
import { arrayAware, conditions, wherePredicate } from './predicates';
import { type Collection, jsonPath, quote } from './schema';
import { type SearchHints, SqlBuilder } from './sql';
import type { StoreState } from './state';

/** a `where` condition matching at least this many documents is broad: the sort index drives the query */
const BROAD_FILTER = 2000;

/**
 * The SELECTs of a page, to run in order until it is full; each takes its LIMIT as the last parameter.
 * A keyset condition `(value, id) > (v, i)` is not something SQLite seeks with an expression index (it reads
 * the index from the start: page N costs O(N)), and `OR value IS NULL` scans too. So a page after a cursor is
 * split into parts that each seek: the rest of the cursor's value (`value = v AND id > i`, ordered by id
 * alone, as SQLite does not see the value as constant), then the values beyond it (`value > v`), and, when
 * descending, the nulls last (`value IS NULL`). After a null ascending, "not null" is `value >= -Infinity`
 * (SQLite orders NULL before every number and string): a range it seeks, where `IS NOT NULL` scans.
 */
export function selectParts(
  state: StoreState,
  c: Collection,
  query: Omit<Query, 'limit' | 'cursor'>,
  sort: Sort,
  after?: CursorKey,
): { sql: string; params: SQLInputValue[] }[] {
  const base = new SqlBuilder();
  const hints: SearchHints = {};
  const where = conditions(state, c, query, base, hints);
  const direction = sort.direction === 'asc' ? 'ASC' : 'DESC';
  const byId = `t.id ${direction}`;
  // SQLite's planner prefers an index on a `where` field and then sorts all its matches, even when they are
  // tens of thousands and walking the sort index would fill the page after a few hundred rows: decide here.
  const index = sortIndex(c, query, sort.field);
  // a few values of a compound's field before the sort field (the history by kinds of change): when they match few
  // documents, that compound seeks each value and the matches are sorted, rather than a shorter compound walked
  // through every document of the pinned fields (probe 72 F7: two rare kinds read a workspace's whole history a page)
  const fewOf = !hints.fewSearchMatches && inListCompound(c, query, sort.field);
  const fewMatches = fewOf !== undefined && fewOf !== false && countUpTo(state, c, query) < BROAD_FILTER;
  const bySort =
    index !== undefined &&
    !hints.fewSearchMatches &&
    !fewMatches &&
    (index.compound ||
      (hints.sparseSearchMatches
        ? filterBreadth(state, c, query) !== 'narrow'
        : filterBreadth(state, c, query) === 'broad'));
  const from = bySort
    ? `${c.table} AS t INDEXED BY ${quote(index.name)}`
    : fewMatches && fewOf
      ? `${c.table} AS t INDEXED BY ${quote(fewOf)}`
      : `${c.table} AS t`;
  const parts: KeysetPart[] =
    sort.field === '_id'
      ? [
          {
            where: after && ((sql) => `t.id ${direction === 'ASC' ? '>' : '<'} ${sql.param(after.id)}`),
            order: byId,
          },
        ]
      : keysetParts(`json_extract(t.doc, ${jsonPath(sort.field)})`, sort.direction, after);
  return parts.map((part) => {
    const sql = base.clone();
    const partWhere = part.where ? `${where} AND ${part.where(sql)}` : where;
    return {
      sql: `SELECT json(t.doc) AS doc FROM ${from} WHERE ${partWhere} ORDER BY ${part.order} LIMIT ?`,
      params: sql.params,
    };
  });
}

/**
 * An index that yields the matches in (field, _id) order: a compound whose leading fields all have a single
 * equality value in `where` and whose last field is the sort field (it reads just the page); else the sort
 * field's own index (walked in order, checking each document).
 */
function sortIndex(
  c: Collection,
  query: Omit<Query, 'limit' | 'cursor'>,
  field: string,
): { name: string; compound: boolean } | undefined {
  if (!c.ready) return undefined;
  const where = query.where ?? {};
  const pinned = (name: string) => name in where && !Array.isArray(where[name]) && !arrayAware(c, name);
  // the one pinning the most fields: (workspaceId, position) also fits a query pinning userId too, and walked the
  // workspace's whole history for a user's two entries where (workspaceId, userId, position) reads them alone
  // (probe 42 F3: ~200 ms at 220,000 entries)
  const compound = c.indexSpecs
    .filter((index) => index.fields.length > 1 && index.fields.at(-1) === field && index.fields.slice(0, -1).every(pinned))
    .sort((a, b) => b.fields.length - a.fields.length)[0];
  if (compound) return { name: compound.name, compound: true };
  if (field === '_id') return { name: `sqlite_autoindex_rs_doc_${c.name}_1`, compound: false };
  return c.indexes.includes(field) ? { name: `rs_idx_${c.name}__${field}`, compound: false } : undefined;
}

/**
 * A compound index ending with the sort field whose other fields are all in `where`: single values but one, which
 * holds several (an IN list); undefined when there is none.
 */
function inListCompound(c: Collection, query: Omit<Query, 'limit' | 'cursor'>, field: string): string | undefined {
  if (!c.ready) return undefined;
  const where = query.where ?? {};
  const inList = (name: string) => name in where && Array.isArray(where[name]) && !arrayAware(c, name);
  const pinned = (name: string) => name in where && !Array.isArray(where[name]) && !arrayAware(c, name);
  return c.indexSpecs.find((index) => {
    const leading = index.fields.slice(0, -1);
    return index.fields.length > 2 && index.fields.at(-1) === field && leading.filter(inList).length === 1 && leading.every((f) => pinned(f) || inList(f));
  })?.name;
}

/** the documents matching the whole `where` of the query (and its search), counted up to BROAD_FILTER */
function countUpTo(state: StoreState, c: Collection, query: Omit<Query, 'limit' | 'cursor'>): number {
  const sql = new SqlBuilder();
  const where = conditions(state, c, query, sql, {});
  const counted = state.conn.stmt(`SELECT count(*) AS n FROM (SELECT 1 FROM ${c.table} AS t WHERE ${where} LIMIT ${BROAD_FILTER})`).get(...sql.params);
  return Number(counted?.n);
}

/**
 * `broad` when every indexed `where` condition matches many documents (counted through its index, up to
 * BROAD_FILTER), so that walking the sort index beats collecting all matches and sorting them; `narrow` when one
 * matches few (SQLite's planner then uses its index); `none` without indexed conditions.
 */
function filterBreadth(
  state: StoreState,
  c: Collection,
  query: Omit<Query, 'limit' | 'cursor'>,
): 'broad' | 'narrow' | 'none' {
  const indexed = Object.entries(query.where ?? {}).filter(
    ([field]) => field === '_id' || (c.indexes.includes(field) && !arrayAware(c, field)),
  );
  if (indexed.length === 0) return 'none';
  if (indexed.some(([field]) => field === '_id')) return 'narrow';
  for (const [field, value] of indexed) {
    const sql = new SqlBuilder();
    const predicate = wherePredicate(c, field, whereValues(value), sql);
    const counted = state.conn
      .stmt(
        `SELECT count(*) AS n FROM (SELECT 1 FROM ${c.table} AS t WHERE t.doc IS NOT NULL AND ${predicate} LIMIT ${BROAD_FILTER})`,
      )
      .get(...sql.params);
    if (Number(counted?.n) < BROAD_FILTER) return 'narrow';
  }
  return 'broad';
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
