/**
 * ReadStore on MongoDB (official driver). Storage layout and the query/write documents: see mongo-queries.ts.
 *
 * - `init` creates, per listed field, the index `{ field: 1, _id: 1 }` (equality, `in`, keyset sort), and per
 *   `compound` entry `{ a: 1, b: 1, _id: 1 }`; MongoDB's planner picks them. `search`
 *   fields are not indexed: a case-insensitive unanchored `$regex` cannot use an index efficiently. Before, it drops
 *   the store's indexes no declaration has any more (a projection version's), and those declared otherwise than
 *   they stand: mongo-indexes.ts, which says what a rolling upgrade then sees.
 * - `commit` with a checkpoint on a replica set or a sharded cluster (what `hello` says at the first commit), whatever
 *   its size: one transaction (`withTransaction`, which retries it on a transient error) holding, per collection,
 *   one `bulkWrite` of guarded pipeline upserts (`buildWrite`: a stale write changes nothing, never an error, which
 *   would abort the transaction) and then the checkpoint (`$max`). The documents and the checkpoint move together: a failure or a
 *   crash leaves both as they were. (Without it, a bulk applied in part, or a crash before the checkpoint, left
 *   documents ahead of the checkpoint; the replay then read them and counted again what they already held: presence
 *   time added twice, since a replayed batch that ends past a document's position passes the guard.) A transaction the
 *   server will never take (isTransactionTooLarge: too large for its cache, or past its lifetime) fails the commit with
 *   CommitTooLargeError, and the projector commits fewer events at a time (projector/batch-size.ts). A commit without a
 *   checkpoint (a rebuild's write-out) goes without a transaction: nothing is tied to it.
 * - `commit` on a standalone server (no transactions there): one unordered `bulkWrite` of the same guarded pipeline
 *   upserts per collection, then, only once they all were applied, the checkpoint; the hazard above remains (logged
 *   once). A bulk counts as applied only when the server accounts for every statement: matched + upserted =
 *   statements (`assertBulkApplied`). Any write error (a duplicate key too: two projectors racing to insert one
 *   document, which the server did not retry), a write concern error or a short count fails the commit, and the
 *   checkpoint is not written: the projector commits the batch again.
 * - Documents and checkpoints are written at `w: majority` whatever the connection string says (commitWriteConcern).
 * - `reset` marks the checkpoint as resetting (with the collections to empty), empties them, then removes the
 *   checkpoint. A crash in between leaves the mark, which reads as no checkpoint: a projector starting resets every
 *   projection that has none before it projects (Projector.start), so nothing is folded onto what was left.
 * - Search is a `$regex` with the text escaped and the `i` option (PCRE case folding, Unicode aware).
 * - `readTogether` reads in one snapshot session on a replica set or a sharded cluster (one after the other on a
 *   standalone server, which has no snapshots).
 * - `ping` gives up after `pingTimeoutMs` (default 2 s: a health check must not wait for the driver's 30 s
 *   server selection timeout).
 */
import type { ClientSession, Db, MongoClient, MongoClientOptions, WriteConcernSettings } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import { type CollectionQuery, type CollectionSpec, CommitTooLargeError, type Doc, type DocWrite, type Page, type Query, type ReadStore, type StoredDoc } from '../port';
import {
  CHECKPOINTS_COLLECTION,
  DELETED_FIELD,
  POSITION_FIELD,
  type StoredDocument,
  buildCheckpointUpdate,
  buildFilter,
  buildFindPlan,
  buildIndexes,
  buildSort,
  buildWrites,
  fromStoredPosition,
  assertBulkApplied,
  assertCheckpointWritten,
  toDoc,
  toPage,
  toStoredDoc,
} from './mongo-queries';
import { ensureIndexes } from './mongo-indexes';
import {
  type CursorKey,
  STREAM_PAGE_SIZE,
  assertCollectionName,
  assertFieldPath,
  assertTopLevelField,
  effectiveSort,
  nextStreamPage,
} from './query-common';

const WITHOUT_POSITION = { projection: { [POSITION_FIELD]: 0 } };
export const DEFAULT_PING_TIMEOUT_MS = 2000;

export interface MongoReadStoreOptions {
  /** how long `ping` waits, server selection included (default 2000 ms) */
  pingTimeoutMs?: number;
  /** where a warning goes (a standalone server: commits without transactions; an index `init` dropped) */
  warn?: (message: string) => void;
  /** the server's `transactionLifetimeLimitSeconds`, in ms (default 60,000): see isTransactionTooLarge */
  transactionLifetimeMs?: number;
}

/**
 * What a server answers a transaction it will never take (`withTransaction` does not retry these): too large for the
 * storage engine's cache (TransactionTooLargeForCache 388, since 5.0.16/6.2; TransactionTooLarge 257 before 4.2's
 * 16 MB limit went), or older than `transactionLifetimeLimitSeconds` (60 s by default: TransactionExceededLifetimeLimitSeconds
 * 290 to an operation the reaper interrupts). Inside a transaction a write's failure comes back as a write error of the
 * bulk's reply (the driver keeps its `code`, not its name); an interruption, at the top, by name and code.
 */
const TRANSACTION_TOO_LARGE = new Map([
  [388, 'TransactionTooLargeForCache'],
  [257, 'TransactionTooLarge'],
  [290, 'TransactionExceededLifetimeLimitSeconds'],
]);
const NO_SUCH_TRANSACTION = 251;
const DEFAULT_TRANSACTION_LIFETIME_MS = 60_000;

/**
 * Whether a failed transaction is one the server will never take. A transaction the reaper aborted between two of its
 * commands answers the next one NoSuchTransaction (labelled transient: `withTransaction` runs it again until its own
 * two minutes are up): past the lifetime, that is the same verdict.
 */
export function isTransactionTooLarge(error: unknown, elapsedMs: number, lifetimeMs: number): boolean {
  // (a bulk error's `writeErrors` is one error or several)
  const e = error as { code?: unknown; codeName?: unknown; writeErrors?: { code?: unknown } | { code?: unknown }[] };
  const codes = [e.code, ...(e.writeErrors === undefined ? [] : [e.writeErrors].flat().map((w) => w?.code))];
  if (codes.some((code) => TRANSACTION_TOO_LARGE.has(code as number))) return true;
  if ([...TRANSACTION_TOO_LARGE.values()].includes(e.codeName as string)) return true;
  return (e.code === NO_SUCH_TRANSACTION || e.codeName === 'NoSuchTransaction') && elapsedMs >= lifetimeMs;
}

/** ids per `find` of `getMany`: ~1.5 MB of command at the longest ids (128 characters), far below the 16 MB limit */
const GET_MANY_BATCH = 10_000;


/** on a checkpoint document: the collections a reset was emptying (see `reset`) */
const RESETTING_FIELD = 'resetting';

export class MongoReadStore implements ReadStore {
  private readonly collections = new Set<string>();
  private transactional: Promise<boolean> | undefined;

  /** connects to `url`; `close()` closes the client */
  static async connect(
    url: string,
    options: { dbName?: string; client?: MongoClientOptions } & MongoReadStoreOptions = {},
  ): Promise<MongoReadStore> {
    // a field holding `undefined` is left out, as JSON leaves it (the embedded store's documents); BSON wrote a null
    const client = new (mongoDriver().MongoClient)(url, { ignoreUndefined: true, ...options.client });
    await client.connect();
    return new MongoReadStore(client.db(options.dbName), client, options);
  }

  /** @param ownedClient closed by `close()`; leave it out when the caller owns the client */
  constructor(
    private readonly db: Db,
    private readonly ownedClient?: MongoClient,
    private readonly options: MongoReadStoreOptions = {},
  ) {}

  async init(collections: Record<string, CollectionSpec>, options: { retired?: readonly string[] } = {}): Promise<void> {
    // collections no projection writes any more (ReadStore.init): dropped with their documents (the driver answers
    // false for one that does not exist: MongoDB's NamespaceNotFound, or nothing since 7.0)
    for (const name of options.retired ?? []) await this.db.collection(name).drop();
    for (const [name, spec] of Object.entries(collections)) {
      assertCollectionName(name);
      for (const field of [...spec.indexes, ...(spec.search ?? []), ...(spec.compound ?? []).flat()]) {
        assertFieldPath(field);
      }
    }
    for (const [name, spec] of Object.entries(collections)) {
      await ensureIndexes(this.db.collection(name), buildIndexes(spec.indexes, spec.compound), this.options.warn);
      this.collections.add(name);
    }
  }

  async get<T extends Doc = Doc>(collection: string, id: string): Promise<StoredDoc<T> | undefined> {
    return toStoredDoc<T>(await this.collection(collection).findOne({ _id: id }));
  }

  async getMany<T extends Doc = Doc>(collection: string, ids: string[], options: { fields?: string[] } = {}): Promise<Map<string, StoredDoc<T>>> {
    const found = new Map<string, StoredDoc<T>>();
    for (const field of options.fields ?? []) assertTopLevelField(field);
    if (ids.length === 0) return found;
    const projection = options.fields && { projection: Object.fromEntries([...options.fields, POSITION_FIELD, DELETED_FIELD].map((f) => [f, 1])) };
    // in batches: one `$in` of every id of a 200,000-member team's roster is a command over MongoDB's 16 MB limit
    for (let from = 0; from < ids.length; from += GET_MANY_BATCH) {
      const cursor = this.collection(collection).find({ _id: { $in: ids.slice(from, from + GET_MANY_BATCH) }, [DELETED_FIELD]: { $ne: true } }, projection);
      for await (const raw of cursor) {
        const stored = toStoredDoc<T>(raw);
        if (stored) found.set(stored.doc._id, stored);
      }
    }
    return found;
  }

  async find<T extends Doc = Doc>(collection: string, query: Query): Promise<Page<T>> {
    const plan = buildFindPlan(query);
    const raw = await this.collection(collection)
      .find(plan.filter, { ...WITHOUT_POSITION, sort: plan.sort, limit: plan.fetch })
      .toArray();
    return toPage<T>(raw, plan);
  }

  async count(collection: string, query: Omit<Query, 'sort' | 'limit' | 'cursor'>): Promise<number> {
    return this.collection(collection).countDocuments(buildFilter(query));
  }

  /**
   * Every match, in one snapshot session where the server has them (as `readTogether`): page by page without one, an
   * export listed members renamed during it twice or not at all (probe 39 F2, seen over SQLite).
   */
  async *stream<T extends Doc = Doc>(
    collection: string,
    query: Omit<Query, 'limit' | 'cursor'>,
    options: { snapshot?: boolean } = {},
  ): AsyncIterable<T> {
    const session = options.snapshot !== false && (await this.transactions()) ? this.db.client.startSession({ snapshot: true }) : undefined;
    try {
      for await (const page of this.pages<T>(collection, query, session)) yield* page;
    } finally {
      await session?.endSession();
    }
  }

  /**
   * In one snapshot session (`snapshot: true`: the finds after the first read at its `atClusterTime`) on a replica
   * set or a sharded cluster. A standalone server has no snapshots: the queries read one after the other there, the
   * hazard its commits without transactions already carry (logged once).
   */
  async readTogether(queries: readonly CollectionQuery[]): Promise<Doc[][]> {
    const session = (await this.transactions()) ? this.db.client.startSession({ snapshot: true }) : undefined;
    try {
      const results: Doc[][] = [];
      for (const { collection, query } of queries) {
        const docs: Doc[] = [];
        for await (const page of this.pages(collection, query, session)) for (const doc of page) docs.push(doc);
        results.push(docs);
      }
      return results;
    } finally {
      await session?.endSession();
    }
  }

  /** every match in sort order, STREAM_PAGE_SIZE documents at a time (keyset pages) */
  private async *pages<T extends Doc>(
    collection: string,
    query: Omit<Query, 'limit' | 'cursor'>,
    session?: ClientSession,
  ): AsyncIterable<T[]> {
    const sort = effectiveSort(query.sort);
    const sortDocument = buildSort(query.sort);
    for (let after: CursorKey | null | undefined; after !== null; ) {
      const raw = await this.collection(collection)
        .find(buildFilter(query, sort, after), {
          ...WITHOUT_POSITION,
          sort: sortDocument,
          limit: STREAM_PAGE_SIZE,
          ...(session && { session }),
        })
        .toArray();
      const page = raw.map((stored) => toDoc<T>(stored));
      yield page;
      after = nextStreamPage(page, sort);
    }
  }

  async commit(projection: string, writes: DocWrite[], checkpoint: bigint | undefined): Promise<void> {
    for (const write of writes) this.collection(write.collection);
    // without a checkpoint (a rebuild's write-outs, hundreds of thousands of documents: a rebuild that fails is
    // reset) nothing is tied to the documents. With one, whatever its size: a live batch of one fan-out event (a
    // deletion of a user in 20,000 workspaces) written in parts, failing half-way, would be replayed onto what it
    // had written (review, session 25); one too large for a transaction is refused and the projector halves it
    if (checkpoint !== undefined && (await this.transactions())) {
      const started = Date.now();
      try {
        return await this.commitInTransaction(projection, writes, checkpoint);
      } catch (error) {
        if (!isTransactionTooLarge(error, Date.now() - started, this.options.transactionLifetimeMs ?? DEFAULT_TRANSACTION_LIFETIME_MS)) throw error;
        // the same transaction would fail the same way again: the projector commits fewer events at a time. Never
        // written without one instead: a commit failing half-way, replayed, would be folded onto what it had written
        // (a deletion's erasures, read back from documents it had removed, lost: review, session 24)
        throw new CommitTooLargeError(
          `${projection}: MongoDB will not take this commit in one transaction (${(error as Error).message}); fewer events at a time are tried, and one event refused stays refused: raise the server's WiredTiger cache or transactionLifetimeLimitSeconds, or rebuild the projection`,
          { cause: error },
        );
      }
    }
    const batches = buildWrites(writes);
    // every bulk settles before the commit fails: none still running while the projector reads the store again
    const outcomes = await Promise.allSettled(
      [...batches].map(async ([name, operations]) => {
        const outcome = await this.db
          .collection<StoredDocument>(name)
          .bulkWrite(operations, { ordered: false, writeConcern: this.commitWriteConcern() })
          .then(
            (result) => ({ result }),
            (error: unknown) => ({ error }),
          );
        assertBulkApplied(name, operations.length, outcome);
      }),
    );
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
    if (checkpoint !== undefined) await this.writeCheckpoint(projection, checkpoint);
  }

  /** the documents and the checkpoint in one transaction: both move, or neither */
  private async commitInTransaction(projection: string, writes: DocWrite[], checkpoint: bigint | undefined): Promise<void> {
    const batches = buildWrites(writes);
    const session = this.db.client.startSession();
    try {
      // the callback may run more than once (a transient error): it only sends writes, each the same every time
      await session.withTransaction(async () => {
        for (const [name, operations] of batches) {
          const result = await this.db.collection<StoredDocument>(name).bulkWrite(operations, { ordered: true, session });
          assertBulkApplied(name, operations.length, { result });
        }
        if (checkpoint !== undefined) await this.writeCheckpoint(projection, checkpoint, session);
      }, { writeConcern: this.commitWriteConcern() });
    } finally {
      await session.endSession();
    }
  }

  private async writeCheckpoint(projection: string, checkpoint: bigint, session?: ClientSession): Promise<void> {
    const { filter, update } = buildCheckpointUpdate(projection, checkpoint);
    const written = await this.db
      .collection<StoredDocument>(CHECKPOINTS_COLLECTION)
      // in a transaction, its own write concern (an operation in one may not name another)
      .updateOne(filter, update, { upsert: true, ...(session ? { session } : { writeConcern: this.commitWriteConcern() }) });
    assertCheckpointWritten(projection, written);
  }

  /**
   * The write concern of the documents and checkpoints, whatever the connection string says (its `wtimeoutMS` and
   * `journal` kept): majority. A commit acknowledged by the primary alone (MongoDB's default where a replica set has
   * an arbiter is w:1) may be rolled back after a projector read its checkpoint at `majority` and folded on from it
   * onto documents that held the same events (presence counted twice), and a reader's `X-Min-Position` may be
   * answered from data that is then rolled back.
   */
  private commitWriteConcern(): WriteConcernSettings {
    const inherited = this.db.writeConcern;
    return {
      w: 'majority',
      ...(inherited?.wtimeoutMS !== undefined && { wtimeoutMS: inherited.wtimeoutMS }),
      ...(inherited?.journal !== undefined && { journal: inherited.journal }),
    };
  }

  /**
   * Whether the deployment runs transactions (and snapshot reads): a replica set member (`setName`) or a mongos
   * (`msg: 'isdbgrid'`). Asked once, by the first commit or `readTogether`; a standalone server is said once in the log.
   */
  private transactions(): Promise<boolean> {
    this.transactional ??= this.db
      .admin()
      .command({ hello: 1 })
      .then((hello) => {
        const supported = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
        if (!supported)
          this.options.warn?.(
            'MongoDB is a standalone server: the read store commits without transactions (a commit that fails half-way may leave documents ahead of their checkpoint until a rebuild) and reads without snapshots (the presence report reads its two collections apart); run a replica set',
          );
        return supported;
      })
      .catch((error: unknown) => {
        this.transactional = undefined; // asked again at the next commit
        throw error;
      });
    return this.transactional;
  }

  async checkpoint(projection: string): Promise<bigint | undefined> {
    // majority: what a reader waits for (X-Min-Position) is then in every snapshot read after it (`readTogether`
    // reads majority-committed data; a local read could see a checkpoint a snapshot does not yet: review, session 20)
    const stored = await this.db
      .collection<StoredDocument>(CHECKPOINTS_COLLECTION, { readConcern: { level: 'majority' } })
      .findOne({ _id: projection });
    // a reset that did not finish (the process died) reads as no checkpoint: a projector starting resets what has none
    // (never here: readers poll checkpoints, and one must not empty collections a rebuild is writing)
    if (!stored || stored[RESETTING_FIELD] !== undefined) return undefined;
    return fromStoredPosition(stored.position);
  }

  async reset(projection: string, collections: string[]): Promise<void> {
    for (const name of collections) this.collection(name);
    await this.db
      .collection<StoredDocument>(CHECKPOINTS_COLLECTION)
      .replaceOne({ _id: projection }, { [RESETTING_FIELD]: collections }, { upsert: true });
    for (const name of collections) await this.db.collection<StoredDocument>(name).deleteMany({});
    await this.db.collection<StoredDocument>(CHECKPOINTS_COLLECTION).deleteOne({ _id: projection });
  }

  async ping(): Promise<void> {
    // An abort signal: it stops the connecting of a client not yet connected, the server selection and the wait
    // for the reply (closing that connection). The driver's `timeoutMS` would not: in 7.x it has no effect.
    const timeoutMs = this.options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.db.command({ ping: 1 }, { signal });
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new Error(`MongoDB did not answer a ping within ${timeoutMs} ms`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.ownedClient?.close();
  }

  private collection(name: string) {
    if (!this.collections.has(name)) {
      throw new Error(`read-store collection ${JSON.stringify(name)} is not initialised: call init() first`);
    }
    return this.db.collection<StoredDocument>(name);
  }
}
