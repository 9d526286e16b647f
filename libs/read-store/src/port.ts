/**
 * The ReadStore port: documents of read models, each guarded by the global position of the last
 * event applied to it, plus per-projection checkpoints. Adapters: embedded SQLite (default), MongoDB.
 */

export type Doc = Record<string, unknown> & { _id: string };

/** A stored document with its position guard. */
export interface StoredDoc<T extends Doc = Doc> {
  doc: T;
  /** global position of the last event applied to this document */
  position: bigint;
}

/** One write of a batch. Applied only when `position` is greater than the stored document's position. */
export type DocWrite<T extends Doc = Doc> =
  | { kind: 'upsert'; collection: string; doc: T; position: bigint }
  | { kind: 'delete'; collection: string; id: string; position: bigint };

export type FieldValue = string | number | boolean | null;

export interface Query {
  /** equality (value) or membership (array of values); a field holding an array matches when it contains the value */
  where?: Record<string, FieldValue | FieldValue[]>;
  /** case-insensitive substring search over these fields */
  search?: { text: string; fields: string[] };
  /**
   * sort field, then _id as tie-breaker for stable cursor pagination. The field holds one scalar type (or null or
   * nothing) across the collection: MongoDB's keyset `$gt`/`$lt` compare within a type only (a page after a number
   * would skip the strings), where SQLite compares across types.
   */
  sort?: { field: string; direction: 'asc' | 'desc'; values?: 'number' | 'string' };
  /** page size: default 50, larger values are capped at 500; must be a positive integer */
  limit?: number;
  /** opaque cursor returned by a previous page */
  cursor?: string;
  /**
   * what else names the list its cursors page, beyond `where` and `search`: a filter the caller applies outside the
   * query (the history's time range). A cursor given out under another one is refused (query-common.ts listOf)
   */
  listKey?: string;
}

/** How a collection is queried; passed to `init`. */
export interface CollectionSpec {
  /** fields the collection is filtered (`where`) or sorted by; each gets an index (with `_id` for keyset sorts) */
  indexes: string[];
  /**
   * fields the collection is searched by (`search.fields`). Optional: adapters may keep a search structure for
   * them (the SQLite adapter keeps a lower-cased copy; searching other fields still works, but scans).
   */
  search?: string[];
  /**
   * compound indexes for frequent filter + sort combinations, e.g. `['workspaceId', 'sortName']`: equality on the
   * leading fields, sort on the last (`_id` is appended). A page of one workspace's members sorted by name then
   * reads just that page, however large the workspace.
   */
  compound?: string[][];
  /**
   * Its indexes and search structures are built again as soon as a projector's reset empties it (outside a rebuild's
   * bulk load), not once the replay reaches the head (the SQLite adapter's default: the replay writes bare rows, the
   * projector builds them at its end, `completeReset`; a read meanwhile builds them on the reader's thread). For a
   * collection the API reads at once, during a replay too.
   */
  readyAtReset?: boolean;
}

/** A query the store cannot run: malformed or foreign cursor, invalid field name or limit, empty search fields. */
export class InvalidQueryError extends Error {
  override readonly name = 'InvalidQueryError';

  /** @param field the parameter of the request at fault (`cursor`, `limit`, `from`…), where one is */
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * A commit the store refused for its size or its duration (MongoDB: a transaction too large for its cache, or past its
 * lifetime): the same commit would fail the same way again. The projector commits fewer events at a time
 * (projector/batch-size.ts); one event refused stays refused (the projection is reported degraded).
 */
export class CommitTooLargeError extends Error {
  override readonly name = 'CommitTooLargeError';
}

/** one UTC day in milliseconds (the day-based reads and projections: presence days, inclusive date ranges) */
export const DAY_MS = 86_400_000;

export interface Page<T extends Doc = Doc> {
  items: T[];
  nextCursor?: string;
}

/** one query of `readTogether`: every match of `query` in `collection` */
export interface CollectionQuery {
  collection: string;
  query: Omit<Query, 'limit' | 'cursor'>;
}

export interface ReadStore {
  /**
   * create collections/indexes. `indexes` lists the fields each collection is queried or sorted by. `retired`: the
   * collections of earlier versions no projection writes any more, dropped with everything they held (their documents
   * may hold personal data no deletion reaches: probe 37b, `member_invitations`' addresses)
   */
  init(collections: Record<string, CollectionSpec>, options?: { retired?: readonly string[] }): Promise<void>;
  get<T extends Doc = Doc>(collection: string, id: string): Promise<StoredDoc<T> | undefined>;
  /**
   * the documents with these ids (missing ones are left out). With `fields` (top-level names), each document holds
   * only `_id` and those fields: less to read and parse when a query needs a few fields of many documents (the team
   * invite lookup). A field a document lacks is absent or null.
   */
  getMany<T extends Doc = Doc>(collection: string, ids: string[], options?: { fields?: string[] }): Promise<Map<string, StoredDoc<T>>>;
  find<T extends Doc = Doc>(collection: string, query: Query): Promise<Page<T>>;
  count(collection: string, query: Omit<Query, 'sort' | 'limit' | 'cursor'>): Promise<number>;
  /**
   * all matching documents in sort order, in bounded memory, read at one point of the log (more than one page: one
   * snapshot, probe 39 F2). `snapshot: false`: page by page, each at its moment — for the projector, the store's one
   * writer, whose lookups by field see what it committed and need not open a connection each.
   */
  stream<T extends Doc = Doc>(collection: string, query: Omit<Query, 'limit' | 'cursor'>, options?: { snapshot?: boolean }): AsyncIterable<T>;
  /**
   * Every match of each query, in its sort order, all read at one point of the log (one snapshot): for a reader
   * that joins collections one commit changes together. The presence report needs it: a closing interval leaves
   * `presence_open` and lands in `presence_daily` in one commit, and two reads on either side of that commit saw it
   * in neither (it vanished from the report). In memory: for bounded results. A standalone MongoDB server has no
   * snapshots: there the queries read one after the other (as its commits go without transactions).
   */
  readTogether(queries: readonly CollectionQuery[]): Promise<Doc[][]>;
  /**
   * write documents (position-guarded) and the projection's checkpoint together; the checkpoint never gets ahead.
   * Without a checkpoint (undefined), the documents only: a rebuild's write-outs before its last, which leave the
   * read model at no position of the log (a projection without a checkpoint is reset when a projector starts).
   * `projection` here and below is the projection's checkpoint key (`checkpointKey`: its name, and version from 2 on).
   */
  commit(projection: string, writes: DocWrite[], checkpoint: bigint | undefined): Promise<void>;
  checkpoint(projection: string): Promise<bigint | undefined>;
  /** drop a projection's collections and its checkpoint (rebuild) */
  reset(projection: string, collections: string[]): Promise<void>;
  /**
   * A projector that reset these collections has replayed the log into them (its catch-up reached the head): what
   * the reset deferred is built now, by the caller, in one pass per collection, rather than by the first read on the
   * reader's thread. Nothing in a bulk load (it builds at its end), nor for a collection another process
   * bulk-loads; building what another process built already changes nothing. Absent: the adapter defers nothing
   * (MongoDB keeps its indexes through a reset).
   */
  completeReset?(collections: readonly string[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Rule 12 at rest: drops what the store still keeps of documents deleted or overwritten before now (old versions of
   * pages in its log, copies its pages keep of moved rows); the projector calls it once a user's deletion is
   * committed, with the deletion's position (`erasedThrough`: every deletion up to it is committed), and as it starts.
   * false: not now (readers held on to an older snapshot), call again later. Absent: the adapter keeps no such copies
   * within its reach (MongoDB's are its storage engine's).
   */
  purgeOldVersions?(erasedThrough?: bigint): Promise<boolean>;
  /** with purgeOldVersions: the position up to which every deletion's copies are gone from the file (-1n: none yet) */
  erasuresPurgedThrough?(): Promise<bigint>;
  /** with purgeOldVersions: the log holds no deletion after erasuresPurgedThrough up to `position` */
  noteErasuresPurgedThrough?(position: bigint): Promise<void>;
  /** present when the adapter has a faster mode for loading a whole read model (the SQLite adapter does) */
  readonly bulkLoad?: BulkLoadCapability;
}

/** A document write serialized by the caller: `JSON.stringify` of a document `commit` would accept, or null for a delete. */
export interface SerializedWrite {
  id: string;
  position: bigint;
  json: string | null;
}

/** Serialized writes to one collection, each id once, with the top-level fields holding an array in some of them. */
export interface SerializedWrites {
  collection: string;
  writes: SerializedWrite[];
  arrayFields: string[];
}

/**
 * Loading whole read models at once (a rebuild after `reset`), faster than commit by commit: the adapter may defer
 * indexes and search structures to the end and relax durability meanwhile. Between `start` and `finish` the
 * caller commits and writes in log order (each after the last, as a projector does), and reads only what its
 * projections look up.
 */
export interface BulkLoadCapability {
  /** enters the mode (nothing when in it already) */
  start(): void;
  /**
   * `commit` for documents the caller serialized, in collections emptied by `reset` since `start`: the writes
   * (each guarded by its position; a delete leaves nothing where nothing is stored) and the projection's
   * checkpoint (none: undefined, as for `commit`), atomically. Resolves once committed; the caller may prepare its
   * next writes meanwhile.
   */
  write(projection: string, collections: readonly SerializedWrites[], checkpoint: bigint | undefined): Promise<void>;
  /**
   * most of the collections' documents are written and few will change: their indexes may be built now, behind the
   * writes handed over before, and maintained by the writes after (resolves once built)
   */
  index?(collections: readonly string[]): Promise<void>;
  /**
   * the collections get no more writes in this load: what was deferred for them may be built now, behind the
   * writes handed over before (resolves once built; `finish` builds whatever is left)
   */
  complete?(collections: readonly string[]): Promise<void>;
  /** builds what the load deferred, then leaves the mode with the normal durability restored */
  finish(): Promise<void>;
  /** the load goes on (called as it reports progress): what it claims of the store for itself holds */
  keepAlive?(): void;
  /** leaves the mode without building (the load failed): what was deferred is built by the first read */
  abort(): Promise<void>;
}
