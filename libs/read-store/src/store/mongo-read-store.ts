/**
 * ReadStore on MongoDB (official driver). Storage layout and the query/write documents: see mongo-queries.ts.
 *
 * - `init` creates, per listed field, the index `{ field: 1, _id: 1 }` (equality, `in`, keyset sort), and per
 *   `compound` entry `{ a: 1, b: 1, _id: 1 }`; MongoDB's planner picks them. `search`
 *   fields are not indexed: a case-insensitive unanchored `$regex` cannot use an index efficiently.
 * - `commit` sends one unordered `bulkWrite` of guarded replace-upserts per collection, then, only once they all
 *   were applied, the checkpoint (`$max`). No transaction: if the process dies between the two, the documents are
 *   ahead of the checkpoint and the replay is absorbed by the position guard. A bulk counts as applied only when
 *   the server accounts for every statement: matched + upserted + refused by the guard (E11000) = statements
 *   (`assertBulkApplied`). Any other write error, a write concern error or a short count (a server that stopped
 *   at the first failed statement) fails the commit, and the checkpoint is not written.
 * - `reset` removes the checkpoint first, then the documents (a crash in between leaves no checkpoint, so the
 *   projection starts over, and must call reset again).
 * - Search is a `$regex` with the text escaped and the `i` option (PCRE case folding, Unicode aware).
 * - `ping` gives up after `pingTimeoutMs` (default 2 s: a health check must not wait for the driver's 30 s
 *   server selection timeout).
 */
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import type { CollectionSpec, Doc, DocWrite, Page, Query, ReadStore, StoredDoc } from '../port';
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
import {
  type CursorKey,
  STREAM_PAGE_SIZE,
  assertCollectionName,
  assertFieldPath,
  assertTopLevelField,
  effectiveSort,
  sortValue,
} from './query-common';

const WITHOUT_POSITION = { projection: { [POSITION_FIELD]: 0 } };
export const DEFAULT_PING_TIMEOUT_MS = 2000;

export interface MongoReadStoreOptions {
  /** how long `ping` waits, server selection included (default 2000 ms) */
  pingTimeoutMs?: number;
}

export class MongoReadStore implements ReadStore {
  private readonly collections = new Set<string>();

  /** connects to `url`; `close()` closes the client */
  static async connect(
    url: string,
    options: { dbName?: string; client?: MongoClientOptions } & MongoReadStoreOptions = {},
  ): Promise<MongoReadStore> {
    const client = new MongoClient(url, options.client);
    await client.connect();
    return new MongoReadStore(client.db(options.dbName), client, options);
  }

  /** @param ownedClient closed by `close()`; leave it out when the caller owns the client */
  constructor(
    private readonly db: Db,
    private readonly ownedClient?: MongoClient,
    private readonly options: MongoReadStoreOptions = {},
  ) {}

  async init(collections: Record<string, CollectionSpec>): Promise<void> {
    for (const [name, spec] of Object.entries(collections)) {
      assertCollectionName(name);
      for (const field of [...spec.indexes, ...(spec.search ?? []), ...(spec.compound ?? []).flat()]) {
        assertFieldPath(field);
      }
    }
    for (const [name, spec] of Object.entries(collections)) {
      const indexes = buildIndexes(spec.indexes, spec.compound);
      if (indexes.length > 0) await this.db.collection<StoredDocument>(name).createIndexes(indexes);
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
    const cursor = this.collection(collection).find({ _id: { $in: ids }, [DELETED_FIELD]: { $ne: true } }, projection);
    for await (const raw of cursor) {
      const stored = toStoredDoc<T>(raw);
      if (stored) found.set(stored.doc._id, stored);
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

  async *stream<T extends Doc = Doc>(
    collection: string,
    query: Omit<Query, 'limit' | 'cursor'>,
  ): AsyncIterable<T> {
    const sort = effectiveSort(query.sort);
    const sortDocument = buildSort(query.sort);
    let after: CursorKey | undefined;
    for (;;) {
      const raw = await this.collection(collection)
        .find(buildFilter(query, sort, after), {
          ...WITHOUT_POSITION,
          sort: sortDocument,
          limit: STREAM_PAGE_SIZE,
        })
        .toArray();
      const docs = raw.map((stored) => toDoc<T>(stored));
      for (const doc of docs) yield doc;
      if (docs.length < STREAM_PAGE_SIZE) return;
      const last = docs[docs.length - 1];
      after = { value: sort.field === '_id' ? null : sortValue(last, sort.field), id: last._id };
    }
  }

  async commit(projection: string, writes: DocWrite[], checkpoint: bigint): Promise<void> {
    for (const write of writes) this.collection(write.collection);
    const batches = buildWrites(writes);
    await Promise.all(
      [...batches].map(async ([name, operations]) => {
        const outcome = await this.db
          .collection<StoredDocument>(name)
          .bulkWrite(operations, { ordered: false })
          .then(
            (result) => ({ result }),
            (error: unknown) => ({ error }),
          );
        assertBulkApplied(name, operations.length, outcome);
      }),
    );
    const { filter, update } = buildCheckpointUpdate(projection, checkpoint);
    const written = await this.db
      .collection<StoredDocument>(CHECKPOINTS_COLLECTION)
      .updateOne(filter, update, { upsert: true });
    assertCheckpointWritten(projection, written);
  }

  async checkpoint(projection: string): Promise<bigint | undefined> {
    const stored = await this.db
      .collection<StoredDocument>(CHECKPOINTS_COLLECTION)
      .findOne({ _id: projection });
    return stored ? fromStoredPosition(stored.position) : undefined;
  }

  async reset(projection: string, collections: string[]): Promise<void> {
    for (const name of collections) this.collection(name);
    await this.db.collection<StoredDocument>(CHECKPOINTS_COLLECTION).deleteOne({ _id: projection });
    for (const name of collections) await this.db.collection<StoredDocument>(name).deleteMany({});
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
