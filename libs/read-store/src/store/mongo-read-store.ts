/**
 * ReadStore on MongoDB (official driver). Storage layout and the query/write documents: see mongo-queries.ts.
 *
 * - `init` creates, per listed field, the index `{ field: 1, _id: 1 }` (equality, `in`, keyset sort), and per
 *   `compound` entry `{ a: 1, b: 1, _id: 1 }`; MongoDB's planner picks them. `search`
 *   fields are not indexed: a case-insensitive unanchored `$regex` cannot use an index efficiently.
 * - `commit` sends one unordered `bulkWrite` of guarded replace-upserts per collection, then, only once they all
 *   succeeded, the checkpoint (`$max`). No transaction: if the process dies between the two, the documents are
 *   ahead of the checkpoint and the replay is absorbed by the position guard. Guard rejections surface as E11000
 *   duplicate key errors and are ignored; any other error is rethrown and the checkpoint is not written.
 * - `reset` removes the checkpoint first, then the documents (a crash in between leaves no checkpoint, so the
 *   projection starts over, and must call reset again).
 * - Search is a `$regex` with the text escaped and the `i` option (PCRE case folding, Unicode aware).
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
  isIgnorableBulkWriteError,
  toDoc,
  toPage,
  toStoredDoc,
} from './mongo-queries';
import {
  type CursorKey,
  STREAM_PAGE_SIZE,
  assertCollectionName,
  assertFieldPath,
  effectiveSort,
  sortValue,
} from './query-common';

const WITHOUT_POSITION = { projection: { [POSITION_FIELD]: 0 } };

export class MongoReadStore implements ReadStore {
  private readonly collections = new Set<string>();

  /** connects to `url`; `close()` closes the client */
  static async connect(
    url: string,
    options: { dbName?: string; client?: MongoClientOptions } = {},
  ): Promise<MongoReadStore> {
    const client = new MongoClient(url, options.client);
    await client.connect();
    return new MongoReadStore(client.db(options.dbName), client);
  }

  /** @param ownedClient closed by `close()`; leave it out when the caller owns the client */
  constructor(
    private readonly db: Db,
    private readonly ownedClient?: MongoClient,
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

  async getMany<T extends Doc = Doc>(collection: string, ids: string[]): Promise<Map<string, StoredDoc<T>>> {
    const found = new Map<string, StoredDoc<T>>();
    if (ids.length === 0) return found;
    const cursor = this.collection(collection).find({ _id: { $in: ids }, [DELETED_FIELD]: { $ne: true } });
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
        try {
          await this.db.collection<StoredDocument>(name).bulkWrite(operations, { ordered: false });
        } catch (error) {
          if (!isIgnorableBulkWriteError(error)) throw error;
        }
      }),
    );
    const { filter, update } = buildCheckpointUpdate(projection, checkpoint);
    await this.db
      .collection<StoredDocument>(CHECKPOINTS_COLLECTION)
      .updateOne(filter, update, { upsert: true });
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
    await this.db.command({ ping: 1 });
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
