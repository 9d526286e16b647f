import type { Collection, MongoClient, MongoClientOptions } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import { DEFAULT_IDEMPOTENCY_RETENTION_SECONDS, IdempotencyKeyReusedError, type IdempotencyStore, type StoredAnswer } from '../shared/command-path/idempotency';
export const IDEMPOTENCY_TTL_INDEX = 'idempotency_ttl';
const DUPLICATE_KEY = 11000;
/** createIndexes: an index of that name exists with other options (here: another expireAfterSeconds) */
const INDEX_OPTIONS_CONFLICT = 85;

export interface MongoIdempotencyStoreOptions {
  /** how long an answer is kept, in seconds (default 7 days); MongoDB's TTL monitor deletes about once a minute */
  retentionSeconds?: number;
  client?: MongoClientOptions;
}

type StoredDocument = { _id: string } & StoredAnswer & { createdAt: Date };

/**
 * Production: the collection `idempotency`, `{ _id: key, requestHash, status, body, createdAt, about? }` (`about`:
 * what the write's request was about, since session 44: shared/command-path/idempotency.ts).
 *
 * - First answer wins. `insertOrRead` inserts (w: majority: an answer lost in a failover would let a retry run
 *   the write again); when another replica stored an answer first (E11000), it reads that one and returns it,
 *   so the caller can answer with the stored answer rather than its own (`answer` itself is returned when this
 *   call stored it); when that answer is to another request (a key reused concurrently), it throws
 *   IdempotencyKeyReusedError. `put` is `insertOrRead` behind the port's `put(): Promise<void>`: the port
 *   (shared/command-path/idempotency.ts) has to return the stored answer for `Idempotency.run` to use it.
 * - Answers expire: a TTL index on `createdAt` (`retentionSeconds`), created by `init`, which the first `put`
 *   runs when nobody did; a retention changed since the index was created is applied with `collMod`.
 */
export class MongoIdempotencyStore implements IdempotencyStore {
  private readonly client: MongoClient;
  private readonly collection: Collection<StoredDocument>;
  private readonly retentionSeconds: number;
  private ready: Promise<void> | undefined;

  constructor(mongoUrl: string, options: MongoIdempotencyStoreOptions = {}) {
    this.retentionSeconds = options.retentionSeconds ?? DEFAULT_IDEMPOTENCY_RETENTION_SECONDS;
    if (!Number.isInteger(this.retentionSeconds) || this.retentionSeconds < 1)
      throw new RangeError(
        `idempotency retention must be a positive whole number of seconds, got ${this.retentionSeconds}`,
      );
    this.client = new (mongoDriver().MongoClient)(mongoUrl, options.client);
    this.collection = this.client.db().collection('idempotency');
  }

  /** creates the TTL index (or changes its retention); once, retried after a failure */
  init(): Promise<void> {
    this.ready ??= this.createTtlIndex().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /** one round trip for both forms of the key (the one asked first) */
  async get(key: string, orUnder?: string): Promise<StoredAnswer | undefined> {
    if (orUnder === undefined) {
      const doc = await this.collection.findOne({ _id: key });
      return doc ? answerOf(doc) : undefined;
    }
    const docs = await this.collection.find({ _id: { $in: [key, orUnder] } }).toArray();
    const doc = docs.find((d) => d._id === key) ?? docs[0];
    return doc ? answerOf(doc) : undefined;
  }

  async put(key: string, answer: StoredAnswer): Promise<StoredAnswer> {
    return this.insertOrRead(key, answer);
  }

  /** stores `answer` unless an answer is stored already; returns the stored one (`answer` itself when it won) */
  async insertOrRead(key: string, answer: StoredAnswer): Promise<StoredAnswer> {
    await this.init();
    try {
      await this.collection.insertOne(
        {
          _id: key,
          requestHash: answer.requestHash,
          status: answer.status,
          body: answer.body,
          createdAt: new Date(),
          ...(answer.about && { about: answer.about }),
        },
        { writeConcern: { w: 'majority' } },
      );
      return answer;
    } catch (error) {
      if (!(error instanceof mongoDriver().MongoServerError) || error.code !== DUPLICATE_KEY) throw error;
      const stored = await this.collection.findOne({ _id: key });
      if (!stored) throw error; // expired or removed in between: nothing better to answer with
      if (stored.requestHash !== answer.requestHash) throw new IdempotencyKeyReusedError();
      return answerOf(stored);
    }
  }

  async forget(keys: readonly string[]): Promise<void> {
    await this.init();
    await this.collection.deleteMany({ _id: { $in: [...keys] } }, { writeConcern: { w: 'majority' } });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async createTtlIndex(): Promise<void> {
    try {
      await this.collection.createIndex(
        { createdAt: 1 },
        { name: IDEMPOTENCY_TTL_INDEX, expireAfterSeconds: this.retentionSeconds },
      );
    } catch (error) {
      if (!(error instanceof mongoDriver().MongoServerError) || error.code !== INDEX_OPTIONS_CONFLICT) throw error;
      await this.client.db().command({
        collMod: this.collection.collectionName,
        index: { name: IDEMPOTENCY_TTL_INDEX, expireAfterSeconds: this.retentionSeconds },
      });
    }
  }
}

const answerOf = (doc: StoredDocument): StoredAnswer => ({
  requestHash: doc.requestHash,
  status: doc.status,
  body: doc.body,
  ...(doc.about && typeof doc.about === 'object' && { about: doc.about }),
});
