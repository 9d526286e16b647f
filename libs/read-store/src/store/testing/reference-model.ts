/**
 * The query semantics of the ReadStore port, written as plain functions over in-memory documents. Tests compare
 * the adapters against it. Sort fields are assumed to hold one scalar type (or null / missing) per test.
 */
import type { Doc, FieldValue, Query } from '../../port';
import { getPath } from '../query-common';

/** code point order (= UTF-8 byte order), which SQLite and MongoDB use; JavaScript's `<` compares UTF-16 units */
export function compareStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function compareValues(a: unknown, b: unknown): number {
  const x = a ?? null;
  const y = b ?? null;
  if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
  if (typeof x === 'string' && typeof y === 'string') return compareStrings(x, y);
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'boolean' && typeof y === 'boolean') return Number(x) - Number(y);
  throw new Error(`reference model: cannot compare ${JSON.stringify(x)} with ${JSON.stringify(y)}`);
}

export function compareDocs(sort: Query['sort']): (a: Doc, b: Doc) => number {
  const field = sort?.field ?? '_id';
  const sign = sort?.direction === 'desc' ? -1 : 1;
  return (a, b) => {
    const byField = field === '_id' ? 0 : compareValues(getPath(a, field), getPath(b, field));
    return sign * (byField !== 0 ? byField : compareStrings(a._id, b._id));
  };
}

function equalsValue(stored: unknown, wanted: FieldValue): boolean {
  if (wanted === null) return stored === null || stored === undefined;
  return stored === wanted;
}

export function matchesWhere(doc: Doc, where: Query['where']): boolean {
  return Object.entries(where ?? {}).every(([field, value]) => {
    const wanted = Array.isArray(value) ? value : [value];
    const stored = getPath(doc, field);
    // an array matches when one of its elements equals a wanted value (null included)
    if (Array.isArray(stored)) return stored.some((element) => wanted.includes(element as FieldValue));
    return wanted.some((w) => equalsValue(stored, w));
  });
}

export function matchesSearch(doc: Doc, search: Query['search']): boolean {
  if (!search || search.text === '') return true;
  const needle = search.text.toLowerCase();
  const hit = (value: unknown) => typeof value === 'string' && value.toLowerCase().includes(needle);
  return search.fields.some((field) => {
    const value = getPath(doc, field);
    return Array.isArray(value) ? value.some(hit) : hit(value);
  });
}

/** what a full (unpaged) query returns */
export function expectedResult(docs: Doc[], query: Omit<Query, 'limit' | 'cursor'>): Doc[] {
  return docs
    .filter((doc) => matchesWhere(doc, query.where) && matchesSearch(doc, query.search))
    .sort(compareDocs(query.sort));
}
