/**
 * Pieces shared by the ReadStore adapters: validation, limits, the keyset cursor codec, batch de-duplication.
 * Everything here is pure.
 */
import { createHash } from 'node:crypto';
import { type Doc, type DocWrite, type FieldValue, InvalidQueryError, type Query } from '../port';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/** page size `stream()` and `readTogether()` read with */
export const STREAM_PAGE_SIZE = 1000;

const COLLECTION_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
/** top-level or dotted field names; no `$`, quotes or brackets, so they can be embedded in SQL JSON paths */
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** fields the MongoDB adapter stores next to the document; documents may not use them */
export const RESERVED_FIELDS = ['_position', '_deleted'] as const;

export function assertCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name)) {
    throw new InvalidQueryError(
      `invalid collection name ${JSON.stringify(name)} (letters, digits, _; max 63)`,
    );
  }
}

export function assertFieldPath(field: string): void {
  if (!FIELD_PATH.test(field) || (RESERVED_FIELDS as readonly string[]).includes(field.split('.')[0])) {
    throw new InvalidQueryError(`invalid field ${JSON.stringify(field)}`);
  }
}

/** a top-level field name (getMany's `fields`) */
export function assertTopLevelField(field: string): void {
  assertFieldPath(field);
  if (field.includes('.')) throw new InvalidQueryError(`invalid field ${JSON.stringify(field)}: only top-level fields`);
}

/** checks a write before it is applied: a non-empty string id, a JSON-object document without reserved fields */
export function assertWritable(write: DocWrite): void {
  const id = write.kind === 'upsert' ? write.doc._id : write.id;
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`${write.kind} in ${write.collection}: _id must be a non-empty string`);
  }
  if (write.kind === 'upsert') {
    for (const reserved of RESERVED_FIELDS) {
      if (reserved in write.doc)
        throw new TypeError(`${write.collection}/${id}: field ${reserved} is reserved`);
    }
  }
}

/** the page size to use: `limit` defaults to 50 and is capped at 500 */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidQueryError(`limit must be a positive integer, got ${limit}`, 'limit');
  return Math.min(limit, MAX_LIMIT);
}

/** `where` values as a list: equality is membership in a one-element list */
export function whereValues(value: FieldValue | FieldValue[]): FieldValue[] {
  return Array.isArray(value) ? value : [value];
}

/** validates a query's fields; returns the normalised search (undefined when there is nothing to search) */
export function checkQuery(
  query: Omit<Query, 'limit' | 'cursor'>,
): { text: string; fields: string[] } | undefined {
  for (const field of Object.keys(query.where ?? {})) assertFieldPath(field);
  if (query.sort) {
    assertFieldPath(query.sort.field);
    if (query.sort.direction !== 'asc' && query.sort.direction !== 'desc') {
      throw new InvalidQueryError(`sort direction must be asc or desc`, 'sort');
    }
  }
  if (!query.search) return undefined;
  const { text, fields } = query.search;
  if (fields.length === 0) throw new InvalidQueryError('search.fields must not be empty');
  for (const field of fields) assertFieldPath(field);
  // an empty text matches everything: no condition (the adapters agree; a regex '' would skip missing fields)
  return text === '' ? undefined : { text, fields: [...new Set(fields)] };
}

export type SortValue = string | number | boolean | null;

export interface Sort {
  field: string;
  direction: 'asc' | 'desc';
  /**
   * the kind of the field's values, where every document has one: a cursor holding another kind was not given out
   * for this list (a forged history cursor with a string position answered an empty page: probe 37 F6)
   */
  values?: 'number' | 'string';
}

/** the effective sort: the query's, or `_id` ascending */
export function effectiveSort(sort: Query['sort']): Sort {
  return sort ?? { field: '_id', direction: 'asc' };
}

/** the position after which the next page starts: the last item's sort value and id */
export interface CursorKey {
  value: SortValue;
  id: string;
}

/** where the page after `page` (of STREAM_PAGE_SIZE asked) starts; null when `page` was the last */
export function nextStreamPage(page: readonly Doc[], sort: Sort): CursorKey | null {
  if (page.length < STREAM_PAGE_SIZE) return null;
  const last = page[page.length - 1];
  return { value: sort.field === '_id' ? null : sortValue(last, sort.field), id: last._id };
}

interface CursorJson {
  /** `${field}:${direction}`, so a cursor cannot be replayed under another sort */
  s: string;
  v: SortValue;
  id: string;
  /** the list it pages (listOf): absent in a cursor given out before session 47, which is taken as it was */
  l?: string;
}

/** what names the list a page belongs to: the query but for its sort, limit and cursor */
export type ListQuery = Pick<Query, 'where' | 'search' | 'listKey'>;

/**
 * A digest of the list's filter and search (its `where`, membership lists in any order, and `search`), carried by its
 * cursors: a cursor of another workspace's list, or of the same list under another filter, is refused rather than
 * taken as a place in this one (probe 50 F4: it answered 200, a page starting mid-list). Not a secret: the key scopes
 * what a list holds; this only tells a client that it mixed up its cursors.
 */
function listOf(list: ListQuery): string {
  const where = Object.entries(list.where ?? {})
    .map(([field, value]) => [field, Array.isArray(value) ? [...value].map(String).sort() : value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const identity = JSON.stringify([where, list.search?.text ?? null, list.search?.fields ?? null, list.listKey ?? null]);
  return createHash('sha256').update(identity).digest('base64url').slice(0, 12);
}

export function encodeCursor(sort: Sort, key: CursorKey, list: ListQuery): string {
  const json: CursorJson = { s: `${sort.field}:${sort.direction}`, v: key.value, id: key.id, l: listOf(list) };
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

export function decodeCursor(sort: Sort, cursor: string, list: ListQuery): CursorKey {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidQueryError('malformed cursor', 'cursor');
  }
  if (typeof json !== 'object' || json === null) throw new InvalidQueryError('malformed cursor', 'cursor');
  const { s, v, id, l } = json as Partial<CursorJson>;
  if (typeof id !== 'string' || !isSortValue(v)) throw new InvalidQueryError('malformed cursor', 'cursor');
  // the list first: another list's cursor (the history's in the member list) said "another sort" (probe 89 F8)
  if (l !== undefined && l !== listOf(list)) throw new InvalidQueryError('cursor belongs to another list or filter', 'cursor');
  if (s !== `${sort.field}:${sort.direction}`) throw new InvalidQueryError(otherSort(s, sort), 'cursor');
  if (sort.values !== undefined && typeof v !== sort.values) throw new InvalidQueryError(`cursor holds a ${v === null ? 'null' : typeof v} where this sort has a ${sort.values}`, 'cursor');
  return { value: v, id };
}

/** why a cursor of this list is not of this sort: another field, or the same field in the other direction */
function otherSort(given: string | undefined, sort: Sort): string {
  const [field, direction] = (given ?? '').split(':');
  return field === sort.field && (direction === 'asc' || direction === 'desc')
    ? `cursor belongs to the ${direction === 'asc' ? 'ascending' : 'descending'} order: ask with the direction it was given for, or leave it out`
    : 'cursor belongs to another sort';
}

function isSortValue(v: unknown): v is SortValue {
  return (
    v === null ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v))
  );
}

/** the value at a dotted path (through objects only), undefined when absent */
export function getPath(doc: Record<string, unknown>, path: string): unknown {
  let value: unknown = doc;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** a document's sort value; missing counts as null. Sort fields must hold scalars. */
export function sortValue(doc: Doc, field: string): SortValue {
  const value = getPath(doc, field);
  if (value === undefined) return null;
  if (!isSortValue(value)) {
    throw new InvalidQueryError(
      `sort field ${field} of ${doc._id} does not hold a string, number, boolean or null`,
    );
  }
  return value;
}

/** the next-page cursor of a page read with `limit + 1` rows */
export function pageOf<T extends Doc>(
  rows: T[],
  limit: number,
  sort: Sort,
  list: ListQuery,
): { items: T[]; nextCursor?: string } {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const value = sort.field === '_id' ? null : sortValue(last, sort.field);
  return { items, nextCursor: encodeCursor(sort, { value, id: last._id }, list) };
}

/**
 * One write per document: the one with the highest position, the first of those on a tie. Applying these is
 * the same as applying the batch in order under the position guard (a later write with an equal position is
 * ignored), and it spares the store the intermediate versions of documents a batch touches many times.
 */
export function dedupeWrites(writes: DocWrite[]): DocWrite[] {
  if (writes.length < 2) return writes;
  // usually there is nothing to fold (a projector folds its batches): find out without building keys
  const seen = new Map<string, Set<string>>();
  let duplicates = false;
  for (const write of writes) {
    let ids = seen.get(write.collection);
    if (!ids) seen.set(write.collection, (ids = new Set()));
    const id = write.kind === 'upsert' ? write.doc._id : write.id;
    if (ids.has(id)) {
      duplicates = true;
      break;
    }
    ids.add(id);
  }
  if (!duplicates) return writes;
  const latest = new Map<string, DocWrite>();
  for (const write of writes) {
    const key = `${write.collection}\u0000${write.kind === 'upsert' ? write.doc._id : write.id}`;
    const kept = latest.get(key);
    if (kept === undefined || write.position > kept.position) latest.set(key, write);
  }
  return latest.size === writes.length ? writes : [...latest.values()];
}

/** `text` as a literal for SQL LIKE with ESCAPE '\' */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

/** `text` as a literal inside a regular expression (JavaScript and PCRE) */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
