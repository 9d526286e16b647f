import type { Collection, MongoClient, MongoClientOptions } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import { type Lease, type LeaseBackend, leaseId } from './leases';

type LeaseDocument = { _id: string; workspaceId: string; organizationId: string; userId: string; lastSeenAt: Date };

const fromDocument = (d: LeaseDocument): Lease => ({
  workspaceId: d.workspaceId,
  organizationId: d.organizationId,
  userId: d.userId,
  lastSeenAt: d.lastSeenAt.getTime(),
});

/**
 * Production: the collection `presence_leases`, `{ _id: "<ws>:<user>", workspaceId, organizationId, userId,
 * lastSeenAt }`, shared by every API replica (docs/rules.md#presence-details). A save is an unordered bulk of
 * upserts with `$max`, so replicas saving out of order never move a lease back; sweeping reads the index on
 * `lastSeenAt`; a release deletes only a lease not renewed since the lapse it ended.
 */
export class MongoLeaseBackend implements LeaseBackend {
  private readonly client: MongoClient;
  private readonly collection: Collection<LeaseDocument>;
  private ready: Promise<void> | undefined;

  constructor(mongoUrl: string, options: MongoClientOptions = {}) {
    this.client = new (mongoDriver().MongoClient)(mongoUrl, options);
    this.collection = this.client.db().collection<LeaseDocument>('presence_leases');
  }

  /** the index the sweep reads; created once (retried after a failure) */
  private init(): Promise<void> {
    this.ready ??= this.collection
      .createIndex({ lastSeenAt: 1 }, { name: 'presence_leases_last_seen' })
      .then(() => undefined)
      .catch((error: unknown) => {
        this.ready = undefined;
        throw error;
      });
    return this.ready;
  }

  async save(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.init();
    await this.collection.bulkWrite(
      leases.map((l) => ({
        updateOne: {
          filter: { _id: leaseId(l.workspaceId, l.userId) },
          update: {
            $max: { lastSeenAt: new Date(l.lastSeenAt) },
            $setOnInsert: { workspaceId: l.workspaceId, organizationId: l.organizationId, userId: l.userId },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  async get(workspaceId: string, userId: string): Promise<Lease | undefined> {
    const doc = await this.collection.findOne({ _id: leaseId(workspaceId, userId) });
    return doc ? fromDocument(doc) : undefined;
  }

  async getMany(workspaceId: string, userIds: readonly string[]): Promise<Lease[]> {
    if (userIds.length === 0) return [];
    const docs = await this.collection.find({ _id: { $in: userIds.map((userId) => leaseId(workspaceId, userId)) } }).toArray();
    return docs.map(fromDocument);
  }

  async lapsed(before: number, limit: number): Promise<Lease[]> {
    await this.init();
    const docs = await this.collection
      .find({ lastSeenAt: { $lt: new Date(before) } })
      .sort({ lastSeenAt: 1 })
      .limit(limit)
      .toArray();
    return docs.map(fromDocument);
  }

  async release(workspaceId: string, userId: string, notAfter: number): Promise<void> {
    await this.collection.deleteOne({ _id: leaseId(workspaceId, userId), lastSeenAt: { $lte: new Date(notAfter) } });
  }

  async pullBack(after: number, to: number): Promise<number> {
    await this.init();
    return (await this.collection.updateMany({ lastSeenAt: { $gt: new Date(after) } }, { $set: { lastSeenAt: new Date(to) } })).modifiedCount;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
