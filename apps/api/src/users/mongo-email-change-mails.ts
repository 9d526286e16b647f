import type { Collection, MongoClient, MongoClientOptions } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import type { EmailChangeMails } from './email-change-mails';

type MailDocument = { organizationId: string; userId: string; mailedAt: Date };

/** how long MongoDB keeps a mail's record: the limit's window (an hour), and a margin for the clocks of the replicas */
const KEPT_SECONDS = 2 * 3600;

/**
 * Production: the collection `email_change_mails`, one document per confirmation mailed, `{ organizationId, userId,
 * mailedAt }`, read by the index `(organizationId, userId, mailedAt)`; MongoDB's TTL monitor removes a document two
 * hours after its `mailedAt` (its index on `mailedAt`), so `forgetBefore` is not needed here. The indexes are made on
 * first use, once per process (createIndex of an existing index is a no-op).
 */
export class MongoEmailChangeMails implements EmailChangeMails {
  private readonly client: MongoClient;
  private readonly collection: Collection<MailDocument>;
  private indexed: Promise<unknown> | undefined;

  constructor(mongoUrl: string, options: MongoClientOptions = {}) {
    this.client = new (mongoDriver().MongoClient)(mongoUrl, options);
    this.collection = this.client.db().collection('email_change_mails');
  }

  private indexes(): Promise<unknown> {
    // a failed attempt is tried again at the next call, not kept failed
    this.indexed ??= Promise.all([
      this.collection.createIndex({ organizationId: 1, userId: 1, mailedAt: 1 }, { name: 'by_user' }),
      this.collection.createIndex({ mailedAt: 1 }, { name: 'forgotten', expireAfterSeconds: KEPT_SECONDS }),
    ]).catch((error: unknown) => {
      this.indexed = undefined;
      throw error;
    });
    return this.indexed;
  }

  async since(organizationId: string, userId: string, since: number): Promise<number[]> {
    await this.indexes();
    const docs = await this.collection
      .find({ organizationId, userId, mailedAt: { $gte: new Date(since) } }, { projection: { _id: 0, mailedAt: 1 }, sort: { mailedAt: 1 } })
      .toArray();
    return docs.map((d) => d.mailedAt.getTime());
  }

  /** (`forgetBefore` unused: the TTL index forgets) */
  async mailed(organizationId: string, userId: string, at: number, _forgetBefore?: number): Promise<void> {
    await this.indexes();
    await this.collection.insertOne({ organizationId, userId, mailedAt: new Date(at) });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
