import { fromStored } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';
import type { Doc, DocWrite } from '../port';
import type { ProjectedEvent, Projection, ProjectionReader } from '../projections/projection';

/** Where a batch reads documents that it has not written itself: the read store (or a test's memory). */
export interface DocSource {
  get(collection: string, id: string): Promise<Doc | undefined>;
  findBy(collection: string, field: string, value: string): Promise<Doc[]>;
}

/** The recorded event as projections see it, upcast; undefined for event types the domain does not know. */
export function toProjectedEvent(recorded: RecordedEvent): ProjectedEvent | undefined {
  const event = fromStored({ type: recorded.type, data: recorded.data, metadata: recorded.metadata });
  if (!event) return undefined;
  return { event, eventId: recorded.id, stream: recorded.stream, position: recorded.position, metadata: recorded.metadata };
}

const keyOf = (collection: string, id: string) => `${collection}\u0000${id}`;

const addTo = (index: Map<unknown, Set<string>>, value: unknown, id: string): void => {
  let ids = index.get(value);
  if (!ids) index.set(value, (ids = new Set()));
  ids.add(id);
};

/**
 * The writes of one projection over one batch of events, folded in memory: one write per document, the last
 * one wins, stamped with the position of the last event applied to that document. Its reader sees these
 * pending writes before the source.
 */
export class ProjectionBatch {
  private readonly pending = new Map<string, DocWrite>();
  private readonly idsByCollection = new Map<string, Set<string>>();
  /** `${collection}\u0000${field}` → value → ids, for findBy over the pending writes */
  private readonly fieldIndexes = new Map<string, Map<unknown, Set<string>>>();
  /** position of the last event applied (or skipped) in this batch; the checkpoint to commit */
  lastPosition: bigint | undefined;
  /** events seen by this batch (applied or skipped) */
  events = 0;

  readonly reader: ProjectionReader;

  constructor(
    readonly projection: Projection,
    private readonly source: DocSource,
  ) {
    this.reader = {
      get: async <T extends Doc>(collection: string, id: string) => {
        const write = this.pending.get(keyOf(collection, id));
        if (write) return (write.kind === 'upsert' ? write.doc : undefined) as T | undefined;
        return (await this.source.get(collection, id)) as T | undefined;
      },
      findBy: async <T extends Doc>(collection: string, field: string, value: string) => {
        const found = new Map((await this.source.findBy(collection, field, value)).map((d) => [d._id, d]));
        // documents of this batch: drop the stored versions it rewrote, add its own that match
        for (const id of found.keys()) if (this.pending.has(keyOf(collection, id))) found.delete(id);
        for (const id of this.pendingIndex(collection, field).get(value) ?? []) {
          const write = this.pending.get(keyOf(collection, id));
          if (write?.kind === 'upsert') found.set(id, write.doc);
        }
        return [...found.values()] as T[];
      },
    };
  }

  get size(): number {
    return this.pending.size;
  }

  /** applies one event; throws what the projection throws (then nothing of that event is kept) */
  async apply(e: ProjectedEvent): Promise<void> {
    const writes = await this.projection.apply(e, this.reader);
    for (const w of writes) {
      if (!(w.collection in this.projection.collections))
        throw new Error(`projection ${this.projection.name} wrote to ${w.collection}, which it does not own`);
    }
    for (const w of writes) {
      const id = w.kind === 'upsert' ? w.doc._id : w.id;
      const key = keyOf(w.collection, id);
      this.unindex(w.collection, id, this.pending.get(key));
      this.pending.set(key, { ...w, position: e.position });
      this.pendingIds(w.collection).add(id);
      if (w.kind === 'upsert') this.index(w.collection, w.doc);
    }
    this.skip(e.position);
  }

  /** an event this projection does not react to: only the checkpoint moves */
  skip(position: bigint): void {
    this.lastPosition = position;
    this.events++;
  }

  /** ids of the documents this batch wrote in `collection` */
  private pendingIds(collection: string): Set<string> {
    let ids = this.idsByCollection.get(collection);
    if (!ids) this.idsByCollection.set(collection, (ids = new Set()));
    return ids;
  }

  /** pending upserts of `collection` by value of `field`, built on the first findBy and kept up to date */
  private pendingIndex(collection: string, field: string): Map<unknown, Set<string>> {
    const name = keyOf(collection, field);
    let index = this.fieldIndexes.get(name);
    if (!index) {
      index = new Map();
      this.fieldIndexes.set(name, index);
      for (const id of this.pendingIds(collection)) {
        const write = this.pending.get(keyOf(collection, id));
        if (write?.kind === 'upsert') addTo(index, write.doc[field], id);
      }
    }
    return index;
  }

  private index(collection: string, doc: Doc): void {
    for (const [name, index] of this.fieldIndexes) {
      const [c, field] = name.split('\u0000') as [string, string];
      if (c === collection) addTo(index, doc[field], doc._id);
    }
  }

  private unindex(collection: string, id: string, previous: DocWrite | undefined): void {
    if (previous?.kind !== 'upsert') return;
    for (const [name, index] of this.fieldIndexes) {
      const [c, field] = name.split('\u0000') as [string, string];
      if (c === collection) index.get(previous.doc[field])?.delete(id);
    }
  }

  writes(): DocWrite[] {
    return [...this.pending.values()];
  }
}
