import { type Collection, MongoClient } from 'mongodb';
import type { IdempotencyStore, StoredAnswer } from '../shared/idempotency';

/** Production: a MongoDB collection (first answer wins: insert, duplicate key ignored). */
export class MongoIdempotencyStore implements IdempotencyStore {
  private readonly client: MongoClient;
  private readonly collection: Collection<{ _id: string } & StoredAnswer & { createdAt: Date }>;

  constructor(mongoUrl: string) {
    this.client = new MongoClient(mongoUrl);
    this.collection = this.client.db().collection('idempotency');
  }

  async get(key: string): Promise<StoredAnswer | undefined> {
    const doc = await this.collection.findOne({ _id: key });
    return doc ? { requestHash: doc.requestHash, status: doc.status, body: doc.body } : undefined;
  }

  async put(key: string, answer: StoredAnswer): Promise<void> {
    try {
      await this.collection.insertOne({ _id: key, ...answer, createdAt: new Date() });
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
