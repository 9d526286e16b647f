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
  return {
    event,
    eventId: recorded.id,
    stream: recorded.stream,
    position: recorded.position,
    metadata: recorded.metadata,
    ...(recorded.sealedUnder && { sealedUnder: recorded.sealedUnder }),
  };
}

type FieldIndex = Map<unknown, Set<string>>;

/** findBy looks up strings: documents whose field holds anything else are left out of the index */
const addTo = (index: FieldIndex, value: unknown, id: string): void => {
  if (typeof value !== 'string') return;
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
  /** collection → id → the document's last write in this batch */
  private readonly pending = new Map<string, Map<string, DocWrite>>();
  /** collection → field → value → ids: pending upserts by field, built on the first findBy and kept up to date */
  private readonly fieldIndexes = new Map<string, Map<string, FieldIndex>>();
  /** position of the last event applied (or skipped) in this batch; the checkpoint to commit */
  lastPosition: bigint | undefined;
  /** events seen by this batch (applied or skipped) */
  events = 0;

  readonly reader: ProjectionReader;

  constructor(
    readonly projection: Projection,
    private source: DocSource,
  ) {
    this.reader = {
      get: async <T extends Doc>(collection: string, id: string) => {
        const write = this.pending.get(collection)?.get(id);
        if (write) return (write.kind === 'upsert' ? write.doc : undefined) as T | undefined;
        return (await this.source.get(collection, id)) as T | undefined;
      },
      findBy: async <T extends Doc>(collection: string, field: string, value: string) => {
        const mine = this.pending.get(collection);
        const found = new Map<string, Doc>();
        // the stored versions, except those this batch rewrote; then its own that match
        for (const d of await this.source.findBy(collection, field, value)) if (!mine?.has(d._id)) found.set(d._id, d);
        for (const id of this.pendingIndex(collection, field).get(value) ?? []) {
          const write = mine?.get(id);
          if (write?.kind === 'upsert') found.set(id, write.doc);
        }
        return [...found.values()] as T[];
      },
    };
  }

  /** read what this batch has not written from `source` from now on (the batch it read through is committed) */
  readThrough(source: DocSource): void {
    this.source = source;
  }

  get size(): number {
    let size = 0;
    for (const byId of this.pending.values()) size += byId.size;
    return size;
  }

  /** applies one event; throws what the projection throws (then nothing of that event is kept) */
  async apply(e: ProjectedEvent): Promise<void> {
    const writes = await this.projection.apply(e, this.reader);
    const owned = this.projection.collections;
    for (const w of writes) {
      if (!(w.collection in owned))
        throw new Error(`projection ${this.projection.name} wrote to ${w.collection}, which it does not own`);
    }
    const position = e.position;
    for (const w of writes) {
      let byId = this.pending.get(w.collection);
      if (!byId) this.pending.set(w.collection, (byId = new Map()));
      const indexes = this.fieldIndexes.get(w.collection);
      if (w.kind === 'upsert') {
        const id = w.doc._id;
        if (indexes) this.reindex(indexes, id, byId.get(id), w.doc);
        byId.set(id, { kind: 'upsert', collection: w.collection, doc: w.doc, position });
      } else {
        if (indexes) this.reindex(indexes, w.id, byId.get(w.id), undefined);
        byId.set(w.id, { kind: 'delete', collection: w.collection, id: w.id, position });
      }
    }
    this.skip(position);
  }

  /** an event this projection does not react to: only the checkpoint moves */
  skip(position: bigint): void {
    this.lastPosition = position;
    this.events++;
  }

  /** pending upserts of `collection` by value of `field`, built on the first findBy and kept up to date */
  private pendingIndex(collection: string, field: string): FieldIndex {
    let fields = this.fieldIndexes.get(collection);
    if (!fields) this.fieldIndexes.set(collection, (fields = new Map()));
    let index = fields.get(field);
    if (!index) {
      index = new Map();
      fields.set(field, index);
      for (const [id, write] of this.pending.get(collection) ?? []) if (write.kind === 'upsert') addTo(index, write.doc[field], id);
    }
    return index;
  }

  /** moves `id` in the field indexes of its collection from its previous pending version to `doc` (none: deleted) */
  private reindex(indexes: Map<string, FieldIndex>, id: string, previous: DocWrite | undefined, doc: Doc | undefined): void {
    for (const [field, index] of indexes) {
      if (previous?.kind === 'upsert') index.get(previous.doc[field])?.delete(id);
      if (doc) addTo(index, doc[field], id);
    }
  }

  writes(): DocWrite[] {
    const all: DocWrite[] = [];
    for (const byId of this.pending.values()) for (const write of byId.values()) all.push(write);
    return all;
  }
}
