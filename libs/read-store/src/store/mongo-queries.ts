/**
 * Pure builders of the MongoDB filter, sort and write documents the MongoDB ReadStore sends. Kept apart from the
 * adapter so they can be checked without a server (see mongo-queries.spec.ts).
 *
 * Storage. A document is stored as `{ ...doc, _position: Int64 }` (`_id` is the document's own string id); a
 * deleted document as the tombstone `{ _id, _position: Int64, _deleted: true }`, so an older upsert replayed
 * later fails the position guard instead of resurrecting it. Every query filters tombstones out.
 * `_position` is a BSON Int64 (`Long`): exact for any bigint position up to 2^63 - 1.
 * Checkpoints live in the `read_store_checkpoints` collection as `{ _id: projection, position: Int64 }`.
 */
import type { AnyBulkWriteOperation, BulkWriteResult, Document, Filter, Long, UpdateResult } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import type { DeclaredIndex } from './mongo-indexes';
import { type Doc, type DocWrite, InvalidQueryError, type Page, type Query, type StoredDoc } from '../port';
import {
  type CursorKey,
  type Sort,
  assertWritable,
  checkQuery,
  type ListQuery,
  decodeCursor,
  dedupeWrites,
  effectiveSort,
  escapeRegex,
  pageLimit,
  pageOf,
  whereValues,
} from './query-common';

/** a document as stored: string `_id`, the document's fields, `_position`, maybe `_deleted` */
export type StoredDocument = Document & { _id: string };

export const POSITION_FIELD = '_position';
export const DELETED_FIELD = '_deleted';
export const CHECKPOINTS_COLLECTION = 'read_store_checkpoints';

export function toStoredPosition(position: bigint): Long {
  return mongoDriver().Long.fromBigInt(position);
}

/** a stored position (Int64, or a plain number when promoted by the driver) as a bigint */
export function fromStoredPosition(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (mongoDriver().Long.isLong(value)) return value.toBigInt();
  throw new TypeError(`not a stored position: ${String(value)}`);
}

// --- queries -----------------------------------------------------------------------------------------------

/** the filter of `where` and `search` (plus the keyset condition of a page after `after`) */
export function buildFilter(
  query: Omit<Query, 'sort' | 'limit' | 'cursor'>,
  sort?: Sort,
  after?: CursorKey,
): Filter<StoredDocument> {
  const search = checkQuery(query);
  const and: Filter<StoredDocument>[] = [{ [DELETED_FIELD]: { $ne: true } }];
  for (const [field, value] of Object.entries(query.where ?? {})) {
    const values = whereValues(value);
    // MongoDB equality on an array field already means "contains"; null matches null and missing
    and.push({ [field]: values.length === 1 ? values[0] : { $in: values } });
  }
  if (search) {
    const pattern = regexLiteral(search.text);
    and.push({ $or: search.fields.map((field) => ({ [field]: { $regex: pattern, $options: 'i' } })) });
  }
  if (sort && after) and.push(buildKeyset(sort, after));
  return and.length === 1 ? and[0] : { $and: and };
}

/** the longest `$regex` pattern the server takes, in bytes (RegexMatchExpression::kMaxPatternSize) */
export const MAX_REGEX_BYTES = 32_764;

/**
 * `text` as a `$regex` matching it literally: metacharacters escaped, and NUL written `\x00`, since the server
 * refuses a pattern holding a NUL byte (BadValue "Regular expression cannot contain an embedded null byte": a
 * 500 for what is the client's input) while PCRE reads `\x00` as that character. A pattern longer than the
 * server takes is an InvalidQueryError (a 400), not a server error.
 */
export function regexLiteral(text: string): string {
  const pattern = escapeRegex(text).replace(/\0/g, '\\x00');
  const bytes = Buffer.byteLength(pattern, 'utf8');
  if (bytes > MAX_REGEX_BYTES) {
    throw new InvalidQueryError(
      `search text too long: ${bytes} bytes as a pattern, at most ${MAX_REGEX_BYTES}`,
      'q',
    );
  }
  return pattern;
}

/** documents after `after` in (field, _id) order; null and missing sort lowest, as in MongoDB's own sort */
export function buildKeyset(sort: Sort, after: CursorKey): Filter<StoredDocument> {
  const { field } = sort;
  if (sort.direction === 'asc') {
    if (field === '_id') return { _id: { $gt: after.id } };
    return after.value === null
      ? { $or: [{ [field]: null, _id: { $gt: after.id } }, { [field]: { $ne: null } }] }
      : { $or: [{ [field]: { $gt: after.value } }, { [field]: after.value, _id: { $gt: after.id } }] };
  }
  if (field === '_id') return { _id: { $lt: after.id } };
  return after.value === null
    ? { [field]: null, _id: { $lt: after.id } }
    : {
        $or: [
          { [field]: { $lt: after.value } },
          { [field]: after.value, _id: { $lt: after.id } },
          { [field]: null },
        ],
      };
}

/** the sort document: the field, then `_id` in the same direction */
export function buildSort(sort: Query['sort']): Record<string, 1 | -1> {
  const { field, direction } = effectiveSort(sort);
  const order = direction === 'asc' ? 1 : -1;
  return field === '_id' ? { _id: order } : { [field]: order, _id: order };
}

export interface FindPlan {
  filter: Filter<StoredDocument>;
  sort: Record<string, 1 | -1>;
  /** page size */
  limit: number;
  /** documents to read: one more than the page, to know whether there is a next page */
  fetch: number;
  pageSort: Sort;
  /** the list paged (its cursors name it) */
  list: ListQuery;
}

/** everything `find` sends: decode the cursor, build filter and sort, size the page */
export function buildFindPlan(query: Query, limit = pageLimit(query.limit)): FindPlan {
  const pageSort = effectiveSort(query.sort);
  const after = query.cursor === undefined ? undefined : decodeCursor(pageSort, query.cursor, query);
  return {
    filter: buildFilter(query, pageSort, after),
    sort: buildSort(query.sort),
    limit,
    fetch: limit + 1,
    pageSort,
    list: { where: query.where, search: query.search, listKey: query.listKey },
  };
}

/** the page from the documents read with `plan` (at most `plan.fetch` of them, as stored) */
export function toPage<T extends Doc>(stored: Document[], plan: FindPlan): Page<T> {
  return pageOf(
    stored.map((raw) => toDoc<T>(raw)),
    plan.limit,
    plan.pageSort,
    plan.list,
  );
}

/** the document without the adapter's fields */
export function toDoc<T extends Doc>(stored: Document): T {
  const { [POSITION_FIELD]: _position, [DELETED_FIELD]: _deleted, ...doc } = stored;
  return doc as T;
}

export function toStoredDoc<T extends Doc>(stored: Document | null | undefined): StoredDoc<T> | undefined {
  if (!stored || stored[DELETED_FIELD] === true) return undefined;
  return { doc: toDoc<T>(stored), position: fromStoredPosition(stored[POSITION_FIELD]) };
}

// --- writes ------------------------------------------------------------------------------------------------

/**
 * A write as an update whose pipeline replaces the stored document only if it is older than `position` (or was not
 * written by this store), and keeps it otherwise: a stale write matches and changes nothing, never an error (which
 * would abort a transaction). A replacement rather than `$set`, so fields a newer version dropped are gone. The
 * filter is the `_id` alone: two upserts racing to insert one document are retried by the server itself (an E11000
 * on a query that is exactly the unique key, SERVER-37124); a guard in the filter would answer the loser E11000,
 * which does not tell whether the stored document is newer (review, session 25: a newer write lost to an older one
 * of another projector, its checkpoint moved past it). The new document is a `$literal`: a value of the document
 * that reads like an expression (a string starting with `$`) is stored as it is, never evaluated.
 */
export function buildWrite(write: DocWrite): AnyBulkWriteOperation<StoredDocument> {
  const position = toStoredPosition(write.position);
  const id = write.kind === 'upsert' ? write.doc._id : write.id;
  const replacement =
    write.kind === 'upsert' ? { ...write.doc, [POSITION_FIELD]: position } : { _id: id, [POSITION_FIELD]: position, [DELETED_FIELD]: true };
  return {
    updateOne: {
      filter: { _id: id },
      update: [
        {
          $replaceWith: {
            $cond: [{ $lt: [{ $ifNull: [`$${POSITION_FIELD}`, mongoDriver().Long.fromNumber(-1)] }, position] }, { $literal: replacement }, '$$ROOT'],
          },
        },
      ],
      upsert: true,
    },
  };
}

/** a batch as bulk operations per collection (validated first, one write per document) */
export function buildWrites(writes: DocWrite[]): Map<string, AnyBulkWriteOperation<StoredDocument>[]> {
  for (const write of writes) assertWritable(write);
  const byCollection = new Map<string, AnyBulkWriteOperation<StoredDocument>[]>();
  for (const write of dedupeWrites(writes)) {
    const ops = byCollection.get(write.collection) ?? [];
    ops.push(buildWrite(write));
    byCollection.set(write.collection, ops);
  }
  return byCollection;
}

/** the checkpoint only moves forward: `$max`, upserted */
export function buildCheckpointUpdate(
  projection: string,
  position: bigint,
): { filter: Filter<StoredDocument>; update: Document } {
  return { filter: { _id: projection }, update: { $max: { position: toStoredPosition(position) } } };
}

/** a batch the server did not account for in full: it is not taken as applied, and the checkpoint stays */
export class IncompleteWriteError extends Error {
  override readonly name = 'IncompleteWriteError';
}

/** what `bulkWrite` gave: its result, or what it threw */
export type BulkWriteOutcome = { result: BulkWriteResult } | { error: unknown };

/**
 * Passes only when a bulk of `statements` guarded upserts was applied in full: every statement matched (a stale one
 * matches and keeps the stored document) or upserted, i.e. matched + upserted = statements, with no write error and
 * no write concern error. Anything else throws: a write error or a write concern error (the driver's error), a count
 * that falls short (IncompleteWriteError: a server that stopped at a failed statement, or any partial result) or a
 * failure without write errors (network, command error). The commit then fails and its checkpoint stays.
 */
export function assertBulkApplied(collection: string, statements: number, outcome: BulkWriteOutcome): void {
  if ('error' in outcome) throw outcome.error;
  const { result } = outcome;
  const concern = result.getWriteConcernError();
  if (concern) throw new IncompleteWriteError(`${collection}: write concern error ${concern.errmsg}`);
  const { matchedCount: matched, upsertedCount: upserted } = result;
  if (matched + upserted !== statements) {
    throw new IncompleteWriteError(
      `${collection}: ${statements} writes sent, ${matched} matched + ${upserted} upserted reported: the batch is not taken as applied`,
    );
  }
}

/** the checkpoint's `$max` upsert matched or inserted its document (an equal or higher stored one matches) */
export function assertCheckpointWritten(projection: string, result: UpdateResult): void {
  if (result.matchedCount + result.upsertedCount !== 1) {
    throw new IncompleteWriteError(
      `checkpoint of ${projection}: the server reports no document matched or upserted`,
    );
  }
}

/**
 * Per indexed field `{ field: 1, _id: 1 }` (equality, `in`, keyset sort in either direction); per compound
 * `{ a: 1, b: 1, _id: 1 }` (equality on a, sort on b).
 */
export function buildIndexes(fields: string[], compound: string[][] = []): DeclaredIndex[] {
  const keyOf = (path: string[]) => Object.fromEntries([...path.map((field) => [field, 1]), ['_id', 1]]);
  const singles = [...new Set(fields)]
    .filter((field) => field !== '_id')
    .map((field) => ({ key: keyOf([field]), name: `rs_${field}` }));
  const compounds = compound
    .filter((path) => path.length > 0)
    .map((path) => ({ key: keyOf(path), name: `rs_${path.join('+')}` }));
  return [...singles, ...compounds];
}
