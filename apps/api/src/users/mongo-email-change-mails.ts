import type { Collection, MongoClient, MongoClientOptions, ObjectId } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import type { EmailChangeMails, TakenSlot } from './email-change-mails';

type MailDocument = { _id?: ObjectId; organizationId: string; userId: string; mailedAt: Date; requestKey?: string };

/** how long MongoDB keeps a slot: the limit's window (an hour), and a margin for the clocks of the replicas */
const KEPT_SECONDS = 2 * 3600;

/**
 * Production: the collection `email_change_mails`, one document per slot taken, `{ organizationId, userId, mailedAt }`,
 * read by the index `(organizationId, userId, mailedAt)`; MongoDB's TTL monitor removes a document two hours after its
 * `mailedAt`. A take inserts its slot first, then reads the user's slots of the hour in order (`mailedAt`, then `_id`):
 * the first `limit` are the ones that stand, and a slot past them is deleted again and refused — so replicas taking
 * slots at the same moment never let more than `limit` through (at worst one of them is refused a slot a given-back
 * one freed meanwhile). A slot taken for a request's key (`requestKey`) after one of the same key that stands is that
 * request's twin: deleted again, `sameRequest` (the earlier of the two keeps its place). The indexes are made on first
 * use, once per process.
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

  /** (`since` bounds the read; the TTL index forgets old slots) */
  async take(organizationId: string, userId: string, at: number, since: number, limit: number, requestKey?: string): Promise<TakenSlot> {
    await this.indexes();
    const { insertedId } = await this.collection.insertOne({ organizationId, userId, mailedAt: new Date(at), ...(requestKey !== undefined && { requestKey }) });
    const slots = await this.collection
      .find({ organizationId, userId, mailedAt: { $gte: new Date(since) } }, { projection: { mailedAt: 1, requestKey: 1 }, sort: { mailedAt: 1, _id: 1 } })
      .toArray();
    const mine = slots.findIndex((s) => s._id.equals(insertedId));
    if (requestKey !== undefined && slots.slice(0, mine < 0 ? slots.length : mine).some((s) => s.requestKey === requestKey)) {
      await this.collection.deleteOne({ _id: insertedId });
      return { sameRequest: true };
    }
    const standing = slots.slice(0, limit);
    if (standing.some((s) => s._id.equals(insertedId))) return { slot: insertedId.toHexString() };
    await this.collection.deleteOne({ _id: insertedId });
    return { taken: standing.map((s) => s.mailedAt.getTime()) };
  }

  async giveBack(slot: string): Promise<void> {
    await this.collection.deleteOne({ _id: new (mongoDriver().ObjectId)(slot) });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
