import type { AnyBulkWriteOperation, Collection, MongoClient, MongoClientOptions } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import type { ActivityKind, ActivityMark, ActivityStore } from './activity-store';

type ActivityDocument = { _id: string; organizationId: string; kind: ActivityKind; id: string; lastOn: string };

const idOf = (organizationId: string, kind: ActivityKind, id: string) => `${organizationId}:${kind}:${id}`;

/**
 * Production: the collection `activity`, one document per key or user, `{ _id: "<org>:<kind>:<id>", organizationId,
 * kind, id, lastOn }`, upserted with `$max` (replicas marking the same day, or one a day behind, keep the later).
 * Read by `_id` (the default index): no index of its own.
 */
export class MongoActivityStore implements ActivityStore {
  private readonly client: MongoClient;
  private readonly collection: Collection<ActivityDocument>;

  constructor(mongoUrl: string, options: MongoClientOptions = {}) {
    this.client = new (mongoDriver().MongoClient)(mongoUrl, options);
    this.collection = this.client.db().collection('activity');
  }

  async record(marks: readonly ActivityMark[]): Promise<void> {
    if (marks.length === 0) return;
    const operations: AnyBulkWriteOperation<ActivityDocument>[] = marks.map((m) => ({
      updateOne: {
        filter: { _id: idOf(m.organizationId, m.kind, m.id) },
        update: { $max: { lastOn: m.on }, $setOnInsert: { organizationId: m.organizationId, kind: m.kind, id: m.id } },
        upsert: true,
      },
    }));
    await this.collection.bulkWrite(operations, { ordered: false });
  }

  async lastOn(organizationId: string, kind: ActivityKind, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const docs = await this.collection.find({ _id: { $in: ids.map((id) => idOf(organizationId, kind, id)) } }, { projection: { id: 1, lastOn: 1 } }).toArray();
    return new Map(docs.map((d) => [d.id, d.lastOn]));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
